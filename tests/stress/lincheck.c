/*
 * The linearizability checker of lincheck.h: the sequential model of one
 * bucket, and the search.
 *
 * SPDX-License-Identifier: MIT
 */
#include "lincheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sequential model of one bucket -------------------------------- */

enum {
	CLAIM_NONE = 0,
	CLAIM_RESERVED,
	CLAIM_GRANTED,
	CLAIM_RELEASED
};

struct claim_slot {
	int state;
	int64_t amount;
};

struct model {
	int64_t limit;
	int64_t anon;              /* anonymous consumption */
	int64_t granted;           /* sum over granted claims */
	int64_t reserved;          /* sum over reserved claims */
	struct claim_slot *claims; /* indexed by claim number */
};

/* What one step changed, to undo it when the search backtracks. */
struct undo {
	int64_t anon, granted, reserved;
	int claim;
	struct claim_slot slot;
};

static int fits(const struct model *m, int64_t amount)
{
	return m->anon + m->granted + m->reserved + amount <= m->limit;
}

/* Admit a new claim (acquire or reserve) as the recorded result says. */
static int step_admit(struct model *m, const struct lin_op *op, int state)
{
	struct claim_slot *c = &m->claims[op->claim];
	if (c->state != CLAIM_NONE)
		return 0; /* names are used once in the histories checked here */
	if (op->result == LIN_EXCEEDED)
		return !fits(m, op->amount);
	if (op->result != LIN_OK || !fits(m, op->amount))
		return 0;
	c->state = state;
	c->amount = op->amount;
	if (state == CLAIM_GRANTED)
		m->granted += op->amount;
	else
		m->reserved += op->amount;
	return 1;
}

static int step_commit(struct model *m, const struct lin_op *op)
{
	struct claim_slot *c = &m->claims[op->claim];
	switch (op->result) {
	case LIN_NOT_FOUND: return c->state == CLAIM_NONE;
	case LIN_WRONG_STATE: return c->state == CLAIM_RELEASED;
	case LIN_OK:
		if (c->state == CLAIM_GRANTED)
			return 1; /* a repeat: a no-op, settlement ignored */
		if (c->state != CLAIM_RESERVED)
			return 0;
		int64_t settled = op->amount < 0 ? c->amount : op->amount;
		if (settled > c->amount)
			return 0;
		m->reserved -= c->amount;
		m->granted += settled;
		c->amount = settled;
		c->state = CLAIM_GRANTED;
		return 1;
	default: return 0;
	}
}

static int step_release(struct model *m, const struct lin_op *op)
{
	struct claim_slot *c = &m->claims[op->claim];
	if (op->result == LIN_NOT_FOUND)
		return c->state == CLAIM_NONE;
	if (op->result != LIN_OK || c->state == CLAIM_NONE)
		return 0;
	if (c->state == CLAIM_GRANTED)
		m->granted -= c->amount;
	else if (c->state == CLAIM_RESERVED)
		m->reserved -= c->amount;
	c->state = CLAIM_RELEASED;
	return 1;
}

/* Apply op with its recorded result; 1 when the model agrees, else 0. */
static int model_step(struct model *m, const struct lin_op *op)
{
	switch (op->kind) {
	case LIN_ACQUIRE: return step_admit(m, op, CLAIM_GRANTED);
	case LIN_RESERVE: return step_admit(m, op, CLAIM_RESERVED);
	case LIN_COMMIT: return step_commit(m, op);
	case LIN_RELEASE: return step_release(m, op);
	case LIN_CONSUME:
		if (op->result == LIN_EXCEEDED)
			return !fits(m, op->amount);
		if (op->result != LIN_OK || !fits(m, op->amount))
			return 0;
		m->anon += op->amount;
		return 1;
	case LIN_GIVE_BACK:
		if (op->result == LIN_INVALID)
			return op->amount > m->anon;
		if (op->result != LIN_OK || op->amount > m->anon)
			return 0;
		m->anon -= op->amount;
		return 1;
	case LIN_CHECK:
		return op->result == LIN_EXCEEDED ? !fits(m, op->amount)
						  : op->result == LIN_OK && fits(m, op->amount);
	case LIN_READ:
		return op->out_allocated == m->anon + m->granted && op->out_reserved == m->reserved;
	default: return 0;
	}
}

static void model_save(const struct model *m, const struct lin_op *op, struct undo *u)
{
	u->anon = m->anon;
	u->granted = m->granted;
	u->reserved = m->reserved;
	u->claim = op->claim;
	if (op->claim >= 0)
		u->slot = m->claims[op->claim];
}

static void model_restore(struct model *m, const struct undo *u)
{
	m->anon = u->anon;
	m->granted = u->granted;
	m->reserved = u->reserved;
	if (u->claim >= 0)
		m->claims[u->claim] = u->slot;
}

/* ---- fingerprints of (linearized set, state) --------------------------- */

/*
 * The set is hashed incrementally (Zobrist: the XOR of a random word per
 * member), the state's totals mixed in; two independent 64-bit halves make
 * a collision, which could only hide a violation, vanishingly unlikely.
 * The claim states need no hashing: the recorded results fix every
 * operation's effect, so the set determines them.
 */
struct fp {
	uint64_t a, b;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static struct fp state_fp(struct fp set, const struct model *m)
{
	uint64_t s = mix64((uint64_t)m->anon) ^ mix64((uint64_t)m->granted * 3 + 1) ^
		     mix64((uint64_t)m->reserved * 5 + 2);
	struct fp f = {set.a ^ s, set.b ^ mix64(s + UINT64_C(0x9e3779b97f4a7c15))};
	return f;
}

struct memo {
	struct fp *slots; /* {0, 0} is empty */
	size_t cap, used;
};

/* Add f; 1 when it was new, 0 when seen before, -1 out of memory. */
static int memo_add(struct memo *t, struct fp f)
{
	if (f.a == 0 && f.b == 0)
		f.a = 1;
	if ((t->used + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		struct fp *n = calloc(ncap, sizeof *n);
		if (!n)
			return -1;
		for (size_t i = 0; i < t->cap; i++) {
			struct fp g = t->slots[i];
			if (g.a == 0 && g.b == 0)
				continue;
			size_t j = (size_t)g.a & (ncap - 1);
			while (n[j].a || n[j].b)
				j = (j + 1) & (ncap - 1);
			n[j] = g;
		}
		free(t->slots);
		t->slots = n;
		t->cap = ncap;
	}
	size_t j = (size_t)f.a & (t->cap - 1);
	while (t->slots[j].a || t->slots[j].b) {
		if (t->slots[j].a == f.a && t->slots[j].b == f.b)
			return 0;
		j = (j + 1) & (t->cap - 1);
	}
	t->slots[j] = f;
	t->used++;
	return 1;
}

/* ---- the search over one part ------------------------------------------ */

struct entry {
	int64_t time;
	int op; /* index into the part's operations */
	int is_call;
	struct entry *match; /* a call's return entry */
	struct entry *prev, *next;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	/* At equal times calls go first: the operations count as concurrent. */
	if (a->is_call != b->is_call)
		return a->is_call ? -1 : 1;
	return a->op - b->op;
}

static void lift(struct entry *call)
{
	call->prev->next = call->next;
	if (call->next)
		call->next->prev = call->prev;
	struct entry *r = call->match;
	r->prev->next = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void unlift(struct entry *call)
{
	struct entry *r = call->match;
	r->prev->next = r;
	if (r->next)
		r->next->prev = r;
	call->prev->next = call;
	if (call->next)
		call->next->prev = call;
}

struct frame {
	struct entry *call;
	struct undo undo;
	struct fp set;
};

static uint64_t zobrist(uint64_t seed, int op)
{
	return mix64(seed + (uint64_t)op * UINT64_C(0x9e3779b97f4a7c15) + 1);
}

static int check_part(const struct lin_op *const *ops, int n, int64_t limit, int claim_count,
		      uint64_t budget, struct lin_report *rep)
{
	struct entry *ent = calloc((size_t)(2 * n) + 1, sizeof *ent);
	struct frame *stack = calloc((size_t)n + 1, sizeof *stack);
	struct claim_slot *claims = calloc((size_t)claim_count + 1, sizeof *claims);
	struct memo memo = {0};
	int verdict = LIN_VIOLATION;
	if (!ent || !stack || !claims)
		goto out;
	for (int i = 0; i < n; i++) {
		ent[2 * i] = (struct entry){ops[i]->call, i, 1, NULL, NULL, NULL};
		ent[2 * i + 1] = (struct entry){ops[i]->ret, i, 0, NULL, NULL, NULL};
	}
	qsort(ent, (size_t)(2 * n), sizeof *ent, cmp_entry);
	/* Pair each call with its return after sorting moved them. */
	struct entry **ret_of = calloc((size_t)n + 1, sizeof *ret_of);
	if (!ret_of)
		goto out;
	for (int i = 0; i < 2 * n; i++)
		if (!ent[i].is_call)
			ret_of[ent[i].op] = &ent[i];
	struct entry head = {0};
	struct entry *last = &head;
	for (int i = 0; i < 2 * n; i++) {
		if (ent[i].is_call)
			ent[i].match = ret_of[ent[i].op];
		ent[i].prev = last;
		last->next = &ent[i];
		last = &ent[i];
	}
	free(ret_of);

	struct model m = {limit, 0, 0, 0, claims};
	struct fp set = {0, 0};
	int depth = 0;
	uint64_t steps = 0;
	struct entry *e = head.next;
	while (head.next) {
		if (++steps > budget) {
			verdict = LIN_GAVE_UP;
			break;
		}
		if (e->is_call) {
			const struct lin_op *op = ops[e->op];
			struct undo u;
			model_save(&m, op, &u);
			if (model_step(&m, op)) {
				struct fp nset = {set.a ^ zobrist(1, e->op),
						  set.b ^ zobrist(2, e->op)};
				int fresh = memo_add(&memo, state_fp(nset, &m));
				if (fresh < 0) {
					verdict = LIN_GAVE_UP;
					goto out_steps;
				}
				if (fresh) {
					stack[depth++] = (struct frame){e, u, set};
					set = nset;
					lift(e);
					e = head.next;
					continue;
				}
				rep->memo_hits++;
			}
			model_restore(&m, &u);
			e = e->next;
		} else {
			/* A return whose call is not linearized: undo the last choice. */
			if (depth == 0)
				break;
			struct frame *f = &stack[--depth];
			model_restore(&m, &f->undo);
			set = f->set;
			unlift(f->call);
			e = f->call->next;
		}
	}
	if (!head.next)
		verdict = LIN_LINEARIZABLE;
out_steps:
	rep->steps += steps;
out:
	free(memo.slots);
	free(claims);
	free(stack);
	free(ent);
	return verdict;
}

int lin_check(const struct lin_op *ops, int count, const int64_t *limits, int bucket_count,
	      int claim_count, uint64_t step_budget, struct lin_report *report)
{
	const struct lin_op **part = calloc((size_t)count + 1, sizeof *part);
	memset(report, 0, sizeof *report);
	report->bad_bucket = -1;
	if (!part) {
		report->verdict = LIN_GAVE_UP;
		return report->verdict;
	}
	if (step_budget == 0)
		step_budget = 10000000;
	for (int b = 0; b < bucket_count; b++) {
		int n = 0;
		for (int i = 0; i < count; i++)
			if (ops[i].bucket == b)
				part[n++] = &ops[i];
		if (n == 0)
			continue;
		report->parts++;
		if (n > report->longest_part)
			report->longest_part = n;
		int v = check_part(part, n, limits[b], claim_count, step_budget, report);
		if (v != LIN_LINEARIZABLE) {
			/* A violation outranks giving up on another part. */
			if (report->verdict != LIN_VIOLATION)
				report->verdict = v;
			if (report->bad_bucket < 0 || v == LIN_VIOLATION)
				report->bad_bucket = b;
			if (v == LIN_VIOLATION)
				break;
		}
	}
	free(part);
	return report->verdict;
}

void lin_op_format(const struct lin_op *op, char *buf, int cap)
{
	static const char *const kinds[] = {"?",       "acquire",   "reserve", "commit", "release",
					    "consume", "give-back", "check",   "read"};
	static const char *const results[] = {"ok", "exceeded", "wrong-state", "not-found",
					      "invalid"};
	const char *k = op->kind >= 1 && op->kind <= LIN_READ ? kinds[op->kind] : "?";
	const char *r = op->result >= 0 && op->result <= LIN_INVALID ? results[op->result] : "?";
	if (op->kind == LIN_READ)
		snprintf(buf, (size_t)cap,
			 "[%" PRId64 ",%" PRId64 "] bucket %d read -> allocated %" PRId64
			 " reserved %" PRId64,
			 op->call, op->ret, op->bucket, op->out_allocated, op->out_reserved);
	else
		snprintf(buf, (size_t)cap,
			 "[%" PRId64 ",%" PRId64 "] bucket %d %s claim %d amount %" PRId64 " -> %s",
			 op->call, op->ret, op->bucket, k, op->claim, op->amount, r);
}
