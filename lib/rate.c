/*
 * Rate limiters (see rate.h for the arithmetic).
 * SPDX-License-Identifier: MIT
 */
#include "rate.h"

#include <quota/quota.h>

/* Divisions round up, for waits: a caller told to wait must then pass. */
static int64_t div_up(quota__wide a, quota__wide b)
{
	return (int64_t)((a + b - 1) / b);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int check_rolling(const quota__limiter *l, int64_t n, int64_t now, quota__rate_view *v)
{
	quota__wide s = l->amount, p = l->period_ns;
	quota__wide now_s = (quota__wide)now * s;
	quota__wide debt = l->tat > now_s ? l->tat - now_s : 0;
	quota__wide room = (quota__wide)l->burst * p;
	quota__wide after = debt + (quota__wide)n * p;
	int ok = after <= room;
	if (v) {
		quota__wide left = ok ? room - after : room - debt;
		v->remaining = (int64_t)(left / p);
		v->reset_after_ns = div_up(ok ? after : debt, s);
		v->retry_after_ns = ok ? 0 : n > l->burst ? -1 : div_up(after - room, s);
	}
	return ok ? QUOTA_OK : QUOTA_ERR_RATE_LIMITED;
}

static int check_calendar(const quota__limiter *l, int64_t n, int64_t now, quota__rate_view *v)
{
	int64_t w = floor_div(now, l->period_ns);
	int64_t used = l->win_index == w ? l->win_used : 0;
	int ok = n <= l->amount - used;
	if (v) {
		quota__wide end = ((quota__wide)w + 1) * l->period_ns;
		v->remaining = l->amount - used - (ok ? n : 0);
		v->reset_after_ns = (int64_t)(end - now);
		v->retry_after_ns = ok ? 0 : n > l->amount ? -1 : v->reset_after_ns;
	}
	return ok ? QUOTA_OK : QUOTA_ERR_RATE_LIMITED;
}

int quota__limiter_check(const quota__limiter *l, int64_t n, int64_t now, quota__rate_view *v)
{
	if (l->amount < 0) {
		if (v)
			*v = (quota__rate_view){-1, 0, 0};
		return QUOTA_OK;
	}
	if (l->amount == 0) {
		if (v)
			*v = (quota__rate_view){0, -1, 0};
		return QUOTA_ERR_RATE_LIMITED;
	}
	return l->window == QUOTA_WINDOW_CALENDAR ? check_calendar(l, n, now, v)
						  : check_rolling(l, n, now, v);
}

void quota__limiter_take(quota__limiter *l, int64_t n, int64_t now)
{
	if (l->amount <= 0)
		return;
	if (l->window == QUOTA_WINDOW_CALENDAR) {
		int64_t w = floor_div(now, l->period_ns);
		if (l->win_index != w) {
			l->win_index = w;
			l->win_used = 0;
		}
		l->win_used = n > l->amount - l->win_used ? l->amount : l->win_used + n;
		return;
	}
	quota__wide now_s = (quota__wide)now * l->amount;
	quota__wide base = l->tat > now_s ? l->tat : now_s;
	quota__wide full = now_s + (quota__wide)l->burst * l->period_ns;
	quota__wide next = base + (quota__wide)n * l->period_ns;
	l->tat = next > full ? full : next;
}

void quota__limiter_carry(quota__limiter *l, const quota__limiter *old, int64_t now)
{
	if (old->amount <= 0 || l->amount <= 0)
		return;
	if (l->window == QUOTA_WINDOW_CALENDAR) {
		l->win_index = old->win_index;
		l->win_used = old->win_used > l->amount ? l->amount : old->win_used;
		return;
	}
	/* The debt, in scaled time, is the units taken times the period
	 * whatever the amount: it carries over as it is, up to empty. */
	quota__wide old_now = (quota__wide)now * old->amount;
	quota__wide debt = old->tat > old_now ? old->tat - old_now : 0;
	quota__wide room = (quota__wide)l->burst * l->period_ns;
	l->tat = (quota__wide)now * l->amount + (debt > room ? room : debt);
}

int quota__limiter_cmp(const quota__limiter *a, const quota__limiter *b)
{
	if (a->period_ns != b->period_ns)
		return a->period_ns < b->period_ns ? -1 : 1;
	return (a->window > b->window) - (a->window < b->window);
}
