/*
 * Rate limiters: amounts per period, rolling (GCRA) or calendar windows.
 *
 * A rolling limiter keeps one number, its theoretical arrival time (TAT):
 * the moment it would be full again. Time is kept scaled by the amount per
 * period (S), so that each unit costs exactly the period (P) in scaled
 * time and no rounding ever creeps in: with now and TAT in ns * S, taking
 * n is allowed when max(TAT, now) + n * P - now <= burst * P. A calendar
 * limiter counts what was taken in the current aligned window.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_RATE_H
#define QUOTA_LIB_RATE_H

#include <stdint.h>

typedef __int128 quota__wide;

/* The TAT of a limiter nothing has been taken from, at any clock. */
#define QUOTA__TAT_RESTED (-((quota__wide)1 << 126))

typedef struct quota__limiter {
	int64_t period_ns;
	int32_t window;   /* QUOTA_WINDOW_* */
	int32_t action;   /* QUOTA_ACTION_* of its grant buckets; 0 = none named */
	int64_t amount;   /* per period; -1 unlimited */
	int64_t burst;    /* rolling: the most at once */
	quota__wide tat;  /* rolling: ns * amount; 0 = rested */
	int64_t win_index; /* calendar: the window counted in win_used */
	int64_t win_used;
} quota__limiter;

/* A limiter read at a moment: what a take of n would find. */
typedef struct quota__rate_view {
	int64_t remaining;      /* after the take when allowed, else before it; -1 unlimited */
	int64_t retry_after_ns; /* when denied: until it would pass; -1 never */
	int64_t reset_after_ns; /* until full again / the window ends */
} quota__rate_view;

/* Whether n may be taken at now: QUOTA_OK, QUOTA_ERR_RATE_LIMITED, or
 * QUOTA_ERR_OVERFLOW when the numbers cannot be represented. v optional. */
int quota__limiter_check(const quota__limiter *l, int64_t n, int64_t now, quota__rate_view *v);
/* Take n at now; over the limit (a WARN action) the limiter saturates at
 * empty rather than running up a debt. */
void quota__limiter_take(quota__limiter *l, int64_t n, int64_t now);
/* Carry the state of old (the same period and window) into l, whose
 * amount or burst may differ: what was taken in the current period stays
 * taken. */
void quota__limiter_carry(quota__limiter *l, const quota__limiter *old, int64_t now);
/* Order by (period, window). */
int quota__limiter_cmp(const quota__limiter *a, const quota__limiter *b);

#endif
