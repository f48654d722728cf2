/*
 * Grants, and how they set bucket limits.
 *
 * A change of grants (apply or delete) is prepared first, with every
 * allocation and every check done while only the config lock is held, then
 * committed under the locks of every stripe it touches at once, so that no
 * decision sees a grant half applied and a failure leaves nothing behind.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "engine.h"
#include "error.h"
#include "pack.h"
#include "txn.h"

#define MAX_ALLOWANCES 64
_Static_assert(2 * MAX_ALLOWANCES <= QUOTA__LOCKSET_MAX, "a grant change fits one lock set");
#define MAX_GRANT_BUCKETS 16

QUOTA_API int quota_grant_bucket_init(quota_grant_bucket *b, size_t size)
{
	if (!b || size < sizeof *b)
		return quota__fail(QUOTA_ERR_INVALID, "grant bucket: NULL or size %zu too small",
				   size);
	memset(b, 0, sizeof *b);
	b->size = sizeof *b;
	return QUOTA_OK;
}

QUOTA_API int quota_allowance_init(quota_allowance *a, size_t size)
{
	if (!a || size < sizeof *a)
		return quota__fail(QUOTA_ERR_INVALID, "allowance: NULL or size %zu too small",
				   size);
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	return QUOTA_OK;
}

QUOTA_API int quota_grant_init(quota_grant *g, size_t size)
{
	if (!g || size < sizeof *g)
		return quota__fail(QUOTA_ERR_INVALID, "grant: NULL or size %zu too small", size);
	memset(g, 0, sizeof *g);
	g->size = sizeof *g;
	return QUOTA_OK;
}

/* The selector of src into b, deep. */
static void pack_selector(quota__pack *p, const quota_grant_bucket *src, quota_grant_bucket *b)
{
	b->match_labels = quota__pack_labels(p, src->match_labels, src->match_label_count);
	quota_selector_requirement *mx =
		quota__pack_take(p, src->match_expression_count * sizeof *mx);
	for (uint32_t k = 0; k < src->match_expression_count; k++) {
		const quota_selector_requirement *x = &src->match_expressions[k];
		const char **values = quota__pack_take(p, x->value_count * sizeof *values);
		for (uint32_t v = 0; v < x->value_count; v++) {
			const char *copy = quota__pack_str(p, x->values[v]);
			if (values)
				values[v] = copy;
		}
		quota_selector_requirement r = {quota__pack_str(p, x->key), x->op, x->value_count,
						x->value_count ? values : NULL};
		if (mx)
			mx[k] = r;
	}
	b->match_expressions = src->match_expression_count ? mx : NULL;
}

const quota_allowance *quota__pack_allowances(quota__pack *p, const quota_allowance *src,
					     uint32_t n)
{
	quota_allowance *al = quota__pack_take(p, n * sizeof *al);
	for (uint32_t i = 0; i < n; i++) {
		const quota_allowance *sa = quota__elem(src, i);
		quota_allowance a = {sizeof a, quota__pack_str(p, sa->resource_type), NULL,
				     sa->bucket_count, 0};
		quota_grant_bucket *bk = quota__pack_take(p, sa->bucket_count * sizeof *bk);
		for (uint32_t j = 0; j < sa->bucket_count; j++) {
			const quota_grant_bucket *sb = quota__elem(sa->buckets, j);
			quota_grant_bucket b = *sb;
			b.size = sizeof b;
			pack_selector(p, sb, &b);
			if (bk)
				bk[j] = b;
		}
		a.buckets = bk;
		if (al)
			al[i] = a;
	}
	return al;
}

/* Deep copy with normalised element sizes (our own structs, contiguous). */
static quota_grant *pack_grant(quota__pack *p, const quota_grant *src)
{
	quota_grant g = *src;
	quota_grant *dst = quota__pack_take(p, sizeof g);
	g.size = sizeof g;
	g.ns = quota__pack_str(p, quota__str(src->ns));
	g.name = quota__pack_str(p, src->name);
	g.consumer.api_group = quota__pack_str(p, quota__str(src->consumer.api_group));
	g.consumer.kind = quota__pack_str(p, src->consumer.kind);
	g.consumer.ns = quota__pack_str(p, quota__str(src->consumer.ns));
	g.consumer.name = quota__pack_str(p, src->consumer.name);
	g.allowances = quota__pack_allowances(p, src->allowances, src->allowance_count);
	if (dst)
		*dst = g;
	return dst;
}

static quota_grant *copy_grant(const quota_grant *src)
{
	quota__pack p = {0};
	pack_grant(&p, src);
	if (quota__pack_begin_write(&p))
		return NULL;
	return pack_grant(&p, src);
}

/* The sum an allowance gives (its buckets add up; -1 wins). */
static int allowance_amount(const quota_allowance *a, int64_t *out)
{
	const quota_grant_bucket *b0 = a->buckets;
	return quota__limit_sum(&b0->amount, a->bucket_count, b0->size, out);
}

#define BUCKET_FIELD "grant.allowances[%u].buckets[%u]."

/* The selector of grant bucket (i, j), with r: its keys must be r's
 * allowed dimensions. */
static int check_selector(const quota_grant_bucket *b, uint32_t i, uint32_t j,
			  const quota_registration *r)
{
	char field[64];
	quota__selector *sel;
	if (!quota__has_selector(b))
		return QUOTA_OK;
	snprintf(field, sizeof field, "grant.allowances[%u].buckets[%u]", i, j);
	int rc = quota__selector_compile(field, b, r, &sel);
	quota__free(sel);
	return rc;
}

/* What can be checked without the registration. */
static int check_grant_bucket(const quota_grant_bucket *b, uint32_t i, uint32_t j)
{
	if (b->amount < QUOTA_UNLIMITED)
		return quota__fail(QUOTA_ERR_INVALID, BUCKET_FIELD "amount: must be >= 0 or -1, got %lld",
				   i, j, (long long)b->amount);
	if (b->period_ms < 0 || b->period_ms > QUOTA_PERIOD_MAX)
		return quota__fail(QUOTA_ERR_INVALID,
				   BUCKET_FIELD "period_ms: must be 1-%lld (or 0 for a type that is "
				   "not Rate), got %lld",
				   i, j, (long long)QUOTA_PERIOD_MAX, (long long)b->period_ms);
	if (b->burst < 0)
		return quota__fail(QUOTA_ERR_INVALID, BUCKET_FIELD "burst: must be >= 0, got %lld", i,
				   j, (long long)b->burst);
	if (b->window != QUOTA_WINDOW_ROLLING && b->window != QUOTA_WINDOW_CALENDAR)
		return quota__fail(QUOTA_ERR_INVALID,
				   BUCKET_FIELD "window: %d is not rolling (0) or calendar (1)", i, j,
				   b->window);
	if (b->window == QUOTA_WINDOW_CALENDAR && b->burst)
		return quota__fail(QUOTA_ERR_INVALID,
				   BUCKET_FIELD "burst: a calendar window has no burst (its amount "
				   "is all there is per window)",
				   i, j);
	if (b->violation_action < QUOTA_ACTION_DEFAULT || b->violation_action > QUOTA_ACTION_QUEUE)
		return quota__fail(QUOTA_ERR_INVALID,
				   BUCKET_FIELD "violation_action: %d is not a QUOTA_ACTION_*", i, j,
				   b->violation_action);
	return check_selector(b, i, j, NULL);
}

/* What depends on the registration: rate fields for Rate types only,
 * selectors on allowed dimensions. */
static int check_for_class(const quota_allowance *a, uint32_t i, const quota_registration *r)
{
	int rate = r->resource_class == QUOTA_RESOURCE_RATE;
	for (uint32_t j = 0; j < a->bucket_count; j++) {
		const quota_grant_bucket *b = &a->buckets[j];
		int rc = check_selector(b, i, j, r);
		if (rc)
			return rc;
		if (rate && b->period_ms == 0)
			return quota__fail(QUOTA_ERR_INVALID,
					   BUCKET_FIELD "period_ms: %s is a Rate type; its amounts "
					   "need a period",
					   i, j, a->resource_type);
		if (rate)
			continue;
		const char *field = b->period_ms ? "period_ms"
				    : b->burst	 ? "burst"
				    : b->window	 ? "window"
				    : b->violation_action == QUOTA_ACTION_THROTTLE ? "violation_action"
										   : NULL;
		if (field)
			return quota__fail(QUOTA_ERR_INVALID,
					   BUCKET_FIELD "%s: only Rate types have periods, bursts, "
					   "windows and throttling; %s is not one",
					   i, j, field, a->resource_type);
	}
	return QUOTA_OK;
}

static int check_grant(const quota_grant *g)
{
	char field[96];
	int rc;
	if ((rc = quota__check_text("grant.metadata.namespace", g->ns, 0, QUOTA__NS_MAX)) ||
	    (rc = quota__check_text("grant.metadata.name", g->name, 1, QUOTA__NAME_MAX)) ||
	    (rc = quota__check_ref("grant.consumerRef", &g->consumer)))
		return rc;
	if (g->reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, "grant.reserved_flags: must be 0");
	if (g->allowance_count < 1 || g->allowance_count > MAX_ALLOWANCES)
		return quota__fail(QUOTA_ERR_INVALID, "grant.allowances: %u entries, need 1-%d",
				   g->allowance_count, MAX_ALLOWANCES);
	if ((rc = quota__check_array("grant.allowances", g->allowances, g->allowance_count,
				     sizeof(quota_allowance))))
		return rc;
	for (uint32_t i = 0; i < g->allowance_count; i++) {
		const quota_allowance *a = quota__elem(g->allowances, i);
		snprintf(field, sizeof field, "grant.allowances[%u].resourceType", i);
		if ((rc = quota__check_text_at("grant.allowances", i, ".resourceType",
					       a->resource_type, 1, QUOTA__NAME_MAX)))
			return rc;
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(a->resource_type,
				   ((const quota_allowance *)quota__elem(g->allowances, k))
					   ->resource_type) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   "%s: %s also in grant.allowances[%u]", field,
						   a->resource_type, k);
		if (a->reserved_flags)
			return quota__fail(QUOTA_ERR_INVALID,
					   "grant.allowances[%u].reserved_flags: must be 0", i);
		snprintf(field, sizeof field, "grant.allowances[%u].buckets", i);
		if (a->bucket_count < 1 || a->bucket_count > MAX_GRANT_BUCKETS)
			return quota__fail(QUOTA_ERR_INVALID, "%s: %u entries, need 1-%d", field,
					   a->bucket_count, MAX_GRANT_BUCKETS);
		if ((rc = quota__check_array(field, a->buckets, a->bucket_count,
					     sizeof(quota_grant_bucket))))
			return rc;
		for (uint32_t j = 0; j < a->bucket_count; j++) {
			const quota_grant_bucket *b = quota__elem(a->buckets, j);
			if ((rc = check_grant_bucket(b, i, j)))
				return rc;
		}
		int64_t sum;
		if (allowance_amount(a, &sum))
			return quota__fail(QUOTA_ERR_OVERFLOW,
					   "%s: amounts add up past INT64_MAX", field);
	}
	return QUOTA_OK;
}

/* The same selector, written the same way. */
static int same_selector(const quota_grant_bucket *a, const quota_grant_bucket *b)
{
	if (a->match_label_count != b->match_label_count ||
	    a->match_expression_count != b->match_expression_count)
		return 0;
	for (uint32_t k = 0; k < a->match_label_count; k++)
		if (strcmp(a->match_labels[k].key, b->match_labels[k].key) != 0 ||
		    strcmp(a->match_labels[k].value, b->match_labels[k].value) != 0)
			return 0;
	for (uint32_t k = 0; k < a->match_expression_count; k++) {
		const quota_selector_requirement *x = &a->match_expressions[k];
		const quota_selector_requirement *y = &b->match_expressions[k];
		if (strcmp(x->key, y->key) != 0 || x->op != y->op || x->value_count != y->value_count)
			return 0;
		for (uint32_t v = 0; v < x->value_count; v++)
			if (strcmp(x->values[v], y->values[v]) != 0)
				return 0;
	}
	return 1;
}

int quota__allowances_same(const quota_allowance *a, const quota_allowance *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const quota_allowance *x = quota__elem(a, i);
		const quota_allowance *y = quota__elem(b, i);
		if (strcmp(x->resource_type, y->resource_type) != 0 ||
		    x->bucket_count != y->bucket_count)
			return 0;
		for (uint32_t j = 0; j < x->bucket_count; j++) {
			const quota_grant_bucket *p = quota__elem(x->buckets, j);
			const quota_grant_bucket *q = quota__elem(y->buckets, j);
			if (p->amount != q->amount || p->period_ms != q->period_ms ||
			    p->burst != q->burst || p->window != q->window ||
			    p->violation_action != q->violation_action || !same_selector(p, q))
				return 0;
		}
	}
	return 1;
}

static int same_grant(const quota_grant *a, const quota_grant *b)
{
	return quota__streq(a->consumer.kind, b->consumer.kind) &&
	       quota__streq(a->consumer.ns, b->consumer.ns) &&
	       quota__streq(a->consumer.name, b->consumer.name) &&
	       quota__streq(a->consumer.api_group, b->consumer.api_group) &&
	       a->allowance_count == b->allowance_count &&
	       quota__allowances_same(a->allowances, b->allowances, a->allowance_count);
}

static quota__grant *grant_find(quota_engine *e, const char *ns, const char *name)
{
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t len = quota__name_key(key, ns, name);
	return (quota__grant *)quota__table_find(&e->grants, quota__hash(e, key, len), key, len);
}

static int contrib_cmp(const char *ns, const char *name, const quota__contrib *c)
{
	int d = strcmp(ns, c->ns);
	return d ? d : strcmp(name, c->name);
}

/*
 * The contributions old[0..old_n) after grant (ns, name) changes to give
 * amount (or nothing when add is 0). One block, sorted; *out NULL if empty.
 */
static int contribs_rebuild(const quota__contrib *old, uint32_t old_n, const char *ns,
			    const char *name, const quota_allowance *add, uint32_t mask,
			    int64_t amount, int64_t generation, quota__contrib **out,
			    uint32_t *count)
{
	uint32_t n = 0;
	quota__pack p = {0};
	quota__contrib *arr = NULL;
	for (int pass = 0; pass < 2; pass++) {
		arr = quota__pack_take(&p, (old_n + 1) * sizeof *arr);
		n = 0;
		int placed = !add;
		for (uint32_t i = 0; i <= old_n; i++) {
			int cmp = i < old_n ? contrib_cmp(ns, name, &old[i]) : -1;
			if (!placed && cmp <= 0) {
				quota__contrib c = {quota__pack_str(&p, ns), quota__pack_str(&p, name),
						    amount, generation, add, mask};
				if (arr)
					arr[n] = c;
				n++;
				placed = 1;
			}
			if (i < old_n && cmp != 0) {
				quota__contrib c = {quota__pack_str(&p, old[i].ns),
						    quota__pack_str(&p, old[i].name), old[i].amount,
						    old[i].generation, old[i].allowance, old[i].mask};
				if (arr)
					arr[n] = c;
				n++;
			}
		}
		if (pass == 0) {
			if (n == 0)
				break;
			if (quota__pack_begin_write(&p))
				return QUOTA_ERR_NOMEM;
		}
	}
	*out = n ? arr : NULL;
	*count = n;
	return QUOTA_OK;
}

/* The limit contributions make: -1 if any grant bucket gives -1, else the
 * sum. Every finite amount of every grant bucket counts (not only those of
 * the contributions without a -1), so that any change that takes a -1
 * away leaves a limit that fits. */
static int contribs_limit(const quota__contrib *c, uint32_t n, int64_t *limit)
{
	quota__limit_acc a = {0, 0};
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < c[i].allowance->bucket_count; j++)
			if ((c[i].mask & (1u << j)) &&
			    quota__limit_add(&a, c[i].allowance->buckets[j].amount))
				return QUOTA_ERR_OVERFLOW;
	*limit = quota__limit_value(&a);
	return QUOTA_OK;
}

/* The burst a grant bucket gives its limiter. */
static int64_t bucket_burst(const quota_grant_bucket *g)
{
	return g->window == QUOTA_WINDOW_CALENDAR || !g->burst ? g->amount : g->burst;
}

/* Sum into l one grant bucket's limit: amounts and bursts add up, -1
 * (unlimited) wins, the strictest action holds. limiter_fits checked the
 * sums. */
static void limiter_add(quota__limiter *l, const quota_grant_bucket *g)
{
	int64_t amounts[2] = {l->amount, g->amount}, bursts[2] = {l->burst, bucket_burst(g)};
	l->action = quota__action_stricter(l->action, g->violation_action);
	quota__limit_sum(amounts, 2, sizeof amounts[0], &l->amount);
	quota__limit_sum(bursts, 2, sizeof bursts[0], &l->burst);
}

/* Do the finite amounts and bursts of the grant buckets of key's (period,
 * window) add up within int64? Checked apart from the limiter, where a -1
 * absorbs them, so that taking an unlimited grant away always fits. */
static int limiter_fits(const quota__contrib *c, uint32_t n, const quota__limiter *key)
{
	quota__limit_acc amount = {0, 0}, burst = {0, 0};
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < c[i].allowance->bucket_count; j++) {
			const quota_grant_bucket *g = &c[i].allowance->buckets[j];
			if (!(c[i].mask & (1u << j)) || g->period_ms * 1000000 != key->period_ns ||
			    g->window != key->window)
				continue;
			if (quota__limit_add(&amount, g->amount) ||
			    quota__limit_add(&burst, bucket_burst(g)))
				return 0;
		}
	return 1;
}

/* The rate limiters the contributions of a Rate-type bucket make: one per
 * (period, window), sorted. *out NULL when there are none. name: the grant
 * the change is for, which an overflow names. */
static int limiters_build(const quota__contrib *c, uint32_t n, const char *name,
			  quota__limiter **out, uint32_t *count)
{
	uint32_t total = 0, k = 0;
	for (uint32_t i = 0; i < n; i++)
		total += (uint32_t)__builtin_popcount(c[i].mask);
	*out = NULL;
	*count = 0;
	if (total == 0)
		return QUOTA_OK;
	quota__limiter *l = quota__calloc(total, sizeof *l);
	if (!l)
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < c[i].allowance->bucket_count; j++) {
			const quota_grant_bucket *g = &c[i].allowance->buckets[j];
			if (!(c[i].mask & (1u << j)))
				continue;
			quota__limiter key = {.period_ns = g->period_ms * 1000000, .window = g->window};
			uint32_t at = 0;
			while (at < k && quota__limiter_cmp(&l[at], &key) < 0)
				at++;
			if (at == k || quota__limiter_cmp(&l[at], &key) != 0) {
				if (!limiter_fits(c, n, &key)) {
					quota__free(l);
					return quota__fail(QUOTA_ERR_OVERFLOW,
							   "grant %s: the rate limit of %s per %lld ms "
							   "would exceed INT64_MAX",
							   name, c[i].allowance->resource_type,
							   (long long)g->period_ms);
				}
				memmove(&l[at + 1], &l[at], (k - at) * sizeof *l);
				l[at] = key;
				l[at].tat = QUOTA__TAT_RESTED;
				k++;
			}
			limiter_add(&l[at], g);
		}
	*out = l;
	*count = k;
	return QUOTA_OK;
}

/* The action a stock bucket's grant buckets name, the strictest. */
static int32_t contribs_action(const quota__contrib *c, uint32_t n)
{
	int32_t action = 0;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < c[i].allowance->bucket_count; j++)
			if (c[i].mask & (1u << j))
				action = quota__action_stricter(
					action, c[i].allowance->buckets[j].violation_action);
	return action;
}

static void changes_discard(quota__change *ch, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		quota__free(ch[i].contribs);
		quota__free(ch[i].limiters);
		quota__free(ch[i].sels_block);
		quota__free(ch[i].ext_block);
		quota__bucket_free(ch[i].dropped);
		if (ch[i].fresh)
			quota__bucket_free(ch[i].bucket);
	}
}

/* The buckets of one allowance grouped by selector: group k gives amount[k]
 * through the grant buckets in mask[k] to the bucket of selector sel[k]
 * (NULL: the base bucket). */
typedef struct groups {
	uint32_t n;
	uint32_t mask[MAX_GRANT_BUCKETS];
	int64_t amount[MAX_GRANT_BUCKETS];
	quota__selector *sel[MAX_GRANT_BUCKETS];
} groups;

static void groups_free(groups *g)
{
	for (uint32_t k = 0; k < g->n; k++)
		quota__free(g->sel[k]);
	g->n = 0;
}

static const char *sel_text(const quota__selector *s)
{
	return s ? s->text : "";
}

static int group_buckets(const quota_allowance *a, groups *g)
{
	g->n = 0;
	for (uint32_t j = 0; j < a->bucket_count; j++) {
		quota__selector *s;
		int rc = quota__selector_compile("grant", &a->buckets[j], NULL, &s);
		if (rc) {
			groups_free(g);
			return rc;
		}
		uint32_t k = 0;
		while (k < g->n && strcmp(sel_text(g->sel[k]), sel_text(s)) != 0)
			k++;
		if (k == g->n) {
			g->sel[g->n] = s;
			g->mask[g->n++] = 0;
		} else {
			quota__free(s);
		}
		g->mask[k] |= 1u << j;
	}
	for (uint32_t k = 0; k < g->n; k++) {
		int64_t v[MAX_GRANT_BUCKETS];
		uint32_t m = 0;
		for (uint32_t j = 0; j < a->bucket_count; j++)
			if (g->mask[k] & (1u << j))
				v[m++] = a->buckets[j].amount;
		quota__limit_sum(v, m, sizeof v[0], &g->amount[k]); /* checked before */
	}
	return QUOTA_OK;
}

/* The base of a selector bucket, NULL for a base. */
static quota__bucket *base_of(const quota__bucket *b)
{
	return b->ext ? b->ext->base : NULL;
}

/* The bucket of (key, selector text) as this grant change will see it: an
 * existing one, or a fresh one an earlier step of the change made. */
static quota__bucket *target_find(quota_engine *e, const quota__change *ch, uint32_t n,
				  const char *key, size_t len, uint64_t hash, const char *text,
				  quota__bucket **base)
{
	*base = quota__bucket_find(e, key, len, hash);
	for (uint32_t i = 0; !*base && i < n; i++)
		if (ch[i].fresh && !quota__bucket_selector(ch[i].bucket) &&
		    ch[i].bucket->node.key_len == len &&
		    memcmp(ch[i].bucket->node.key, key, len) == 0)
			*base = ch[i].bucket;
	if (!*base || !*text)
		return *base;
	quota__bucket *sb = quota__selector_bucket_find(*base, text);
	for (uint32_t i = 0; !sb && i < n; i++)
		if (ch[i].fresh && base_of(ch[i].bucket) == *base &&
		    strcmp(ch[i].bucket->ext->selector->text, text) == 0)
			sb = ch[i].bucket;
	return sb;
}

/* A fresh selector bucket of base, with room for it: the base's array of
 * them when it has none yet, and its side block when it has none either
 * (ext_block comes only with a sels_block). */
static int selector_fresh(quota__change *ch, uint32_t n, quota__bucket *base, quota__selector **sel,
			  quota__change *c)
{
	uint32_t count = quota__bucket_sel_count(base), has_block = base->ext && base->ext->sels;
	for (uint32_t i = 0; i < n; i++)
		if (ch[i].fresh && base_of(ch[i].bucket) == base) {
			count++;
			has_block |= ch[i].sels_block != NULL;
		}
	if (count >= QUOTA__SELS_MAX) {
		char id[QUOTA_BUCKET_ID_MAX];
		quota__bucket_describe(base, id, sizeof id);
		return quota__fail(QUOTA_ERR_INVALID,
				   "grant: bucket %s would have more than %d selector buckets", id,
				   QUOTA__SELS_MAX);
	}
	if (!has_block &&
	    ((!base->ext && !(c->ext_block = quota__calloc(1, sizeof *c->ext_block))) ||
	     !(c->sels_block = quota__calloc(QUOTA__SELS_MAX, sizeof *c->sels_block))))
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	c->bucket = quota__selector_bucket_new(base, *sel);
	*sel = NULL;
	if (!c->bucket)
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	c->fresh = 1;
	return QUOTA_OK;
}

/* A fresh base bucket with no contribution of its own change: a selector
 * bucket of this change needs it. */
static int base_fresh(quota_engine *e, quota__change *ch, uint32_t *n, const quota__reg *r,
		      const char *key, size_t len, uint64_t hash, quota__bucket **base)
{
	quota__change c = {0};
	if (!(c.bucket = quota__bucket_new(e, r, key, len, hash)))
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	c.fresh = 1;
	c.limit = quota__bucket_default(c.bucket);
	ch[(*n)++] = c;
	*base = c.bucket;
	return QUOTA_OK;
}

/* Prepare the change of one (consumer, type, selector): grant op (ns,
 * name) now gives amount through the buckets mask of allowance add, or
 * nothing when add is NULL. Takes *sel when it makes a selector bucket. A
 * bucket an earlier step of the transaction changed is changed further. */
static int change_prepare(quota__txn *t, uint32_t op, const quota_ref *consumer, const char *type,
			  quota__selector **sel, const char *ns, const char *name,
			  const quota_allowance *add, uint32_t mask, int64_t amount,
			  int64_t generation)
{
	quota_engine *e = t->e;
	quota__change *ch = t->changes;
	uint32_t *n = &t->change_count;
	char key[QUOTA__KEY_MAX + 1];
	size_t len = quota__bucket_key(key, consumer, type);
	uint64_t hash = quota__hash(e, key, len);
	quota__bucket *base;
	quota__bucket *b = target_find(e, ch, *n, key, len, hash, sel_text(*sel), &base);
	uint32_t at = *n;
	for (uint32_t i = 0; b && i < *n; i++)
		if (ch[i].bucket == b)
			at = i;
	/* The old spec of a grant whose new spec gave here already: the new
	 * contribution replaced the old one. */
	if (at < *n && !add && ch[at].added_by == op + 1)
		return QUOTA_OK;
	quota__change c = {0};
	c.bucket = b;
	const quota__contrib *from = b ? b->contribs : NULL;
	uint32_t from_n = b ? b->contrib_count : 0;
	const quota__reg *r = quota__reg_find(e, type);
	int rc;
	if (!b) {
		if (!add)
			return QUOTA_OK;
		if (!*sel) {
			if (!(c.bucket = quota__bucket_new(e, r, key, len, hash)))
				return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
			c.fresh = 1;
		} else if ((!base && (rc = base_fresh(e, ch, n, r, key, len, hash, &base))) ||
			   (rc = selector_fresh(ch, *n, base, sel, &c))) {
			changes_discard(&c, 1);
			return rc;
		}
	} else if (at < *n) {
		/* Changed before in this transaction (or a fresh base's
		 * placeholder): take that change over. */
		c = ch[at];
		ch[at] = ch[--*n];
		from = c.contribs;
		from_n = c.contrib_count;
	}
	quota__contrib *prev = c.contribs;
	c.contribs = NULL;
	rc = contribs_rebuild(from, from_n, ns, name, add, mask, amount, generation, &c.contribs,
			      &c.contrib_count);
	quota__free(prev);
	if (rc) {
		changes_discard(&c, 1);
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	}
	if (add)
		c.added_by = op + 1;
	if (c.bucket->rate) {
		quota__free(c.limiters);
		c.limiters = NULL;
		rc = limiters_build(c.contribs, c.contrib_count, name, &c.limiters,
				    &c.limiter_count);
		if (rc) {
			changes_discard(&c, 1);
			return rc;
		}
		c.limit = c.contrib_count ? QUOTA_UNLIMITED : quota__bucket_default(c.bucket);
	} else if (c.contrib_count == 0) {
		c.limit = quota__bucket_default(c.bucket);
	} else if (contribs_limit(c.contribs, c.contrib_count, &c.limit)) {
		char id[QUOTA_BUCKET_ID_MAX];
		quota__bucket_describe(c.bucket, id, sizeof id);
		changes_discard(&c, 1);
		return quota__fail(QUOTA_ERR_OVERFLOW,
				   "grant %s: the limit of bucket %s would exceed INT64_MAX", name,
				   id);
	}
	c.action = contribs_action(c.contribs, c.contrib_count);
	ch[(*n)++] = c;
	return QUOTA_OK;
}

/* Prepare the changes of every allowance of grant g, op of the
 * transaction (add: it gives them; else: it no longer does). */
static int changes_of(quota__txn *t, uint32_t op, const quota_grant *g, const quota_grant *id,
		      int add)
{
	for (uint32_t i = 0; i < g->allowance_count; i++) {
		const quota_allowance *a = &g->allowances[i];
		groups gr;
		int rc = group_buckets(a, &gr);
		for (uint32_t k = 0; k < gr.n && !rc; k++)
			rc = change_prepare(t, op, &g->consumer, a->resource_type, &gr.sel[k],
					    id->ns, id->name, add ? a : NULL, gr.mask[k],
					    gr.amount[k], add ? g->generation : 0);
		groups_free(&gr);
		if (rc)
			return rc;
	}
	return QUOTA_OK;
}

/* Count what the claims and anonymous use of its base that a new selector
 * bucket matches already hold. Caller holds every stripe. */
static void selector_backfill(quota_engine *e, quota__bucket *sb)
{
	const quota__bucket *base = sb->ext->base;
	const quota__selector *sel = sb->ext->selector;
	if (quota__selector_match(sel, NULL, 0)) {
		sb->allocated += base->anonymous;
		sb->anonymous += base->anonymous;
	}
	for (uint32_t si = 0; si < e->stripe_count; si++) {
		quota__table *t = &e->stripes[si].claims;
		for (size_t slot = 0; slot <= t->mask; slot++)
			for (quota__node *node = t->slots[slot]; node; node = node->next) {
				quota__claim *c = (quota__claim *)node;
				for (uint32_t i = 0; i < c->req_count; i++) {
					const quota__claim_req *q = &c->req[i];
					uint32_t l = 0;
					while (l < q->charged_count && q->charged[l] != base)
						l++;
					if (l == q->charged_count ||
					    !quota__selector_match(sel, q->labels, q->label_count))
						continue;
					if (l == 0 && quota__selector_bucket_before(sb, q->alloc))
						c->req[i].alloc = sb;
					if (c->state == QUOTA_CLAIM_PENDING) {
						sb->pending++;
					} else if (c->state == QUOTA_CLAIM_RESERVED) {
						sb->reserved += q->amount;
						sb->reserved_count++;
					} else {
						sb->allocated += q->amount;
						sb->claim_count++;
					}
				}
			}
	}
}

/* Give b the change's limiters, each with the state of the one it
 * replaces; the old array goes back into the change to be freed. */
static void limiters_swap(quota__bucket *b, quota__change *c, int64_t now)
{
	for (uint32_t i = 0, j = 0; i < c->limiter_count; i++) {
		while (j < b->limiter_count && quota__limiter_cmp(&b->limiters[j], &c->limiters[i]) < 0)
			j++;
		if (j < b->limiter_count && quota__limiter_cmp(&b->limiters[j], &c->limiters[i]) == 0)
			quota__limiter_carry(&c->limiters[i], &b->limiters[j], now);
	}
	quota__limiter *prev = b->limiters;
	b->limiters = c->limiters;
	b->limiter_count = c->limiter_count;
	c->limiters = prev;
}

static int bucket_total(const quota_grant *g)
{
	uint32_t n = 0;
	for (uint32_t i = 0; g && i < g->allowance_count; i++)
		n += g->allowances[i].bucket_count;
	return (int)n;
}

/* Room for one more grant op; 0 or QUOTA_ERR_NOMEM. */
static int grant_op_room(quota__txn *t)
{
	void *ops = t->grants;
	int rc = quota__txn_reserve(&ops, &t->grant_cap, t->grant_count + 1, sizeof *t->grants);
	t->grants = ops;
	return rc;
}

/* A copy of owner for a grant whose owner is now cur, or NULL with *rc
 * QUOTA_OK when nothing changes (no owner given, or the same one). */
static char *owner_dup(const char *owner, const char *cur, int *rc)
{
	char *o = NULL;
	*rc = QUOTA_OK;
	if (owner && !quota__streq(owner, cur) && !(o = quota__strdup(owner)))
		*rc = quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	return o;
}

/* Add to the transaction: grant old (may be NULL) becomes next (may be
 * NULL: deleted; owned on success), made by owner (see quota__txn_grant;
 * owned on success). */
static int grant_op_add(quota__txn *t, quota__grant *old, quota_grant *next, char *owner)
{
	const quota_grant *id = next ? next : old->pub;
	uint32_t op = t->grant_count;
	void *ch = t->changes;
	/* At most one change per grant bucket, plus a fresh base for each. */
	uint32_t need = t->change_count +
			2 * (uint32_t)(bucket_total(next) + bucket_total(old ? old->pub : NULL));
	int rc = grant_op_room(t);
	if (!rc)
		rc = quota__txn_reserve(&ch, &t->change_cap, need, sizeof *t->changes);
	t->changes = ch;
	quota__grant *rec = NULL;
	if (!rc && !old && !(rec = quota__calloc(1, sizeof *rec)))
		rc = QUOTA_ERR_NOMEM;
	if (rc)
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	/* Every allowance of next, then what old had that next drops. */
	if (next)
		rc = changes_of(t, op, next, id, 1);
	if (!rc && old)
		rc = changes_of(t, op, old->pub, id, 0);
	if (rc) {
		quota__free(rec);
		return rc;
	}
	t->grants[t->grant_count++] = (quota__grant_op){old, rec, next, owner, 0};
	return QUOTA_OK;
}

static int grant_op_of(const quota__txn *t, const char *ns, const char *name)
{
	for (uint32_t i = 0; i < t->grant_count; i++) {
		const quota_grant *g = t->grants[i].next ? t->grants[i].next
							 : t->grants[i].old->pub;
		if (quota__streq(g->ns, ns) && strcmp(g->name, name) == 0)
			return 1;
	}
	return 0;
}

/* The registrations grant g needs, and its consumer's kind; against what
 * transaction t (may be NULL) makes of them. Caller holds config. */
static int check_regs(quota_engine *e, const quota__txn *t, const quota_grant *g)
{
	char field[64];
	int rc = QUOTA_OK;
	for (uint32_t i = 0; i < g->allowance_count && !rc; i++) {
		const quota__reg *r = quota__reg_find(e, g->allowances[i].resource_type);
		snprintf(field, sizeof field, "grant.allowances[%u].resourceType", i);
		if (!r)
			rc = quota__fail(QUOTA_ERR_UNREGISTERED, "%s: %s is not registered", field,
					 g->allowances[i].resource_type);
		else if (!quota__kind_is_ancestor(e, g->consumer.kind, r->pub->consumer_type.kind))
			rc = quota__reg_check_consumer(r, &g->consumer, "grant.consumerRef");
		if (!rc)
			rc = check_for_class(&g->allowances[i], i,
					     t ? quota__txn_reg_spec(t, r) : r->pub);
	}
	return rc;
}

int quota__grant_check_regs(quota_engine *e, const quota_grant *g)
{
	return check_regs(e, NULL, g);
}

int quota__grant_copy(const quota_grant *in, quota_grant **out)
{
	quota_grant g;
	int rc;
	*out = NULL;
	if ((rc = quota__copy_in("grant", &g, sizeof g, in, sizeof g)) || (rc = check_grant(&g)))
		return rc;
	if (!(*out = copy_grant(&g)))
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	return QUOTA_OK;
}

const char *quota__grant_owner(quota_engine *e, const char *ns, const char *name, int *exists)
{
	quota__grant *g = grant_find(e, ns, name);
	*exists = g != NULL;
	return g ? g->owner : NULL;
}

int quota__txn_grant(quota__txn *t, const quota_grant *in, const char *owner,
		     int64_t *generation)
{
	quota_engine *e = t->e;
	quota_grant g;
	int rc;
	t->broken = 1;
	if ((rc = quota__copy_in("grant", &g, sizeof g, in, sizeof g)) || (rc = check_grant(&g)))
		return rc;
	if (grant_op_of(t, g.ns, g.name))
		return quota__fail(QUOTA_ERR_INVALID, "grant %s/%s: changed twice in one batch",
				   quota__str(g.ns), g.name);
	quota_grant *copy = copy_grant(&g);
	if (!copy)
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	rc = check_regs(e, t, copy);
	quota__grant *old = rc ? NULL : grant_find(e, copy->ns, copy->name);
	char *o = rc ? NULL : owner_dup(owner, old ? old->owner : NULL, &rc);
	if (!rc && old && same_grant(old->pub, copy)) {
		/* Unchanged; only a new owner to record, if any. */
		quota__free(copy);
		if (o && (rc = grant_op_room(t))) {
			quota__free(o);
			return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
		}
		if (o)
			t->grants[t->grant_count++] = (quota__grant_op){old, NULL, NULL, o, 1};
		if (generation)
			*generation = old->pub->generation;
		t->broken = 0;
		return QUOTA_OK;
	}
	if (!rc) {
		copy->generation = old                                ? old->pub->generation + 1
				   : t->restoring && g.generation > 0 ? g.generation
								      : 1;
		rc = grant_op_add(t, old, copy, o);
	}
	if (rc) {
		quota__free(o);
		quota__free(copy);
		return rc;
	}
	if (generation)
		*generation = copy->generation;
	t->broken = 0;
	return QUOTA_OK;
}

int quota__txn_grant_delete(quota__txn *t, const char *ns, const char *name)
{
	int rc;
	t->broken = 1;
	if ((rc = quota__check_text("namespace", ns, 0, QUOTA__NS_MAX)) ||
	    (rc = quota__check_text("name", name, 1, QUOTA__NAME_MAX)))
		return rc;
	if (grant_op_of(t, ns, name))
		return quota__fail(QUOTA_ERR_INVALID, "grant %s/%s: changed twice in one batch",
				   quota__str(ns), name);
	quota__grant *g = grant_find(t->e, ns, name);
	if (!g)
		return quota__fail(QUOTA_ERR_NOT_FOUND, "grant %s/%s: not found", quota__str(ns),
				   name);
	if ((rc = grant_op_add(t, g, NULL, NULL)))
		return rc;
	t->broken = 0;
	return QUOTA_OK;
}

int quota__txn_grants_lock_all(const quota__txn *t, quota__lockset *ls)
{
	/* Only the touched buckets' stripes, so that decisions elsewhere go
	 * on; a new selector bucket counts what claims anywhere hold: all. */
	for (uint32_t i = 0; i < t->change_count; i++) {
		const quota__change *c = &t->changes[i];
		if ((c->fresh && quota__bucket_selector(c->bucket)) ||
		    quota__lockset_add(ls, c->bucket->stripe))
			return 1;
	}
	return 0;
}

void quota__txn_grants_commit(quota__txn *t, int64_t now)
{
	quota_engine *e = t->e;
	quota__change *ch = t->changes;
	uint32_t n = t->change_count;
	for (uint32_t i = 0; i < n; i++)
		if (ch[i].fresh && !quota__bucket_selector(ch[i].bucket))
			quota__table_insert(&e->stripes[ch[i].bucket->stripe].buckets,
					    &ch[i].bucket->node);
	for (uint32_t i = 0; i < n; i++) {
		quota__bucket *b = ch[i].bucket, *base = base_of(b);
		if (!ch[i].fresh || !base)
			continue;
		for (uint32_t k = 0; !(base->ext && base->ext->sels) && k < n; k++)
			if (ch[k].sels_block && base_of(ch[k].bucket) == base) {
				if (!base->ext) {
					base->ext = ch[k].ext_block;
					ch[k].ext_block = NULL;
				}
				base->ext->sels = ch[k].sels_block;
				ch[k].sels_block = NULL;
			}
		quota__selector_bucket_attach(b);
		selector_backfill(e, b);
	}
	for (uint32_t i = 0; i < n; i++) {
		quota__bucket *b = ch[i].bucket;
		quota__contrib *prev = b->contribs;
		b->contribs = ch[i].contribs;
		b->contrib_count = ch[i].contrib_count;
		if (ch[i].limit < 0 || (b->limit >= 0 && ch[i].limit > b->limit) || b->rate)
			quota__capacity_freed(e);
		b->action = (int8_t)ch[i].action;
		limiters_swap(b, &ch[i], now);
		b->limit = ch[i].limit;
		b->observed_generation++;
		b->last_reconciliation_ns = now;
		ch[i].contribs = prev; /* freed below */
		ch[i].fresh = 0;
		/* A selector bucket no grant names any more goes once empty. */
		if (quota__bucket_selector(b) && b->contrib_count == 0 && quota__bucket_idle(b)) {
			quota__selector_bucket_detach(b);
			ch[i].dropped = b;
		}
	}
}

void quota__txn_grants_finish(quota__txn *t)
{
	quota_engine *e = t->e;
	changes_discard(t->changes, t->change_count);
	t->change_count = 0;
	for (uint32_t k = 0; k < t->grant_count; k++) {
		quota__grant *old = t->grants[k].old, *rec = old ? old : t->grants[k].rec;
		quota_grant *next = t->grants[k].next;
		if (t->grants[k].owner) {
			quota__free(rec->owner);
			rec->owner = t->grants[k].owner;
			t->grants[k].owner = NULL;
		}
		if (t->grants[k].owner_only)
			continue;
		for (uint32_t i = 0; old && i < old->pub->allowance_count; i++)
			quota__reg_find(e, old->pub->allowances[i].resource_type)->grant_uses--;
		for (uint32_t i = 0; next && i < next->allowance_count; i++)
			quota__reg_find(e, next->allowances[i].resource_type)->grant_uses++;
		if (old) {
			quota__free(old->pub);
			if (!next) {
				quota__table_remove(&e->grants, &old->node);
				quota__free(old->owner);
				quota__free(old);
				continue;
			}
		}
		rec->pub = next;
		/* The key lives in the packed copy (ns, NUL, name): follow it. */
		rec->node.key = next->ns;
		if (!old) {
			char key[QUOTA__NAME_KEY_MAX + 1];
			size_t len = quota__name_key(key, next->ns, next->name);
			rec->node.key_len = len;
			rec->node.hash = quota__hash(e, key, len);
			quota__table_insert(&e->grants, &rec->node);
		}
	}
	t->grant_count = 0;
}

void quota__txn_grants_abort(quota__txn *t)
{
	changes_discard(t->changes, t->change_count);
	t->change_count = 0;
	for (uint32_t k = 0; k < t->grant_count; k++) {
		quota__free(t->grants[k].rec);
		quota__free(t->grants[k].next);
		quota__free(t->grants[k].owner);
	}
	t->grant_count = 0;
}

int quota__impl_grant_apply(quota_engine *e, const quota_grant *in, int64_t *generation)
{
	quota__txn t;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	quota__txn_begin(e, &t);
	return quota__txn_end(&t, quota__txn_grant(&t, in, NULL, generation));
}

int quota__impl_grant_delete(quota_engine *e, const char *ns, const char *name)
{
	quota__txn t;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	quota__txn_begin(e, &t);
	return quota__txn_end(&t, quota__txn_grant_delete(&t, ns, name));
}

QUOTA_API int quota_grant_get(quota_engine *e, const char *ns, const char *name, quota_grant **out)
{
	int rc;
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	if ((rc = quota__check_text("namespace", ns, 0, QUOTA__NS_MAX)) ||
	    (rc = quota__check_text("name", name, 1, QUOTA__NAME_MAX)))
		return rc;
	quota__rw_read(&e->config);
	quota__grant *g = grant_find(e, ns, name);
	if (!g)
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "grant %s/%s: not found", quota__str(ns), name);
	else if (!(*out = copy_grant(g->pub)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	quota__rw_read_done(&e->config);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	const quota_grant *x = (*(quota__grant *const *)a)->pub;
	const quota_grant *y = (*(quota__grant *const *)b)->pub;
	int d = strcmp(x->ns, y->ns);
	return d ? d : strcmp(x->name, y->name);
}

static int for_consumer(const quota_grant *g, const quota_ref *c)
{
	return !c || (strcmp(g->consumer.kind, c->kind) == 0 &&
		      strcmp(g->consumer.ns, quota__str(c->ns)) == 0 &&
		      strcmp(g->consumer.name, c->name) == 0);
}

QUOTA_API int quota_grant_list(quota_engine *e, const quota_ref *consumer, quota_grant ***out,
			       size_t *count)
{
	int rc = QUOTA_OK;
	if (!e || !out || !count)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   !e ? "engine" : !out ? "out" : "count");
	*out = NULL;
	*count = 0;
	if (consumer && (rc = quota__check_ref("consumer", consumer)))
		return rc;
	quota__rw_read(&e->config);
	quota__grant **sorted = quota__calloc(e->grants.count + 1, sizeof *sorted);
	if (!sorted) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "grant list: out of memory");
		goto out;
	}
	size_t n = 0;
	for (size_t s = 0; s <= e->grants.mask; s++)
		for (quota__node *node = e->grants.slots[s]; node; node = node->next)
			if (for_consumer(((quota__grant *)node)->pub, consumer))
				sorted[n++] = (quota__grant *)node;
	qsort(sorted, n, sizeof *sorted, by_name);
	quota__pack p = {0};
	for (int pass = 0; pass < 2; pass++) {
		quota_grant **items = quota__pack_take(&p, n * sizeof *items);
		for (size_t i = 0; i < n; i++) {
			quota_grant *g = pack_grant(&p, sorted[i]->pub);
			if (items)
				items[i] = g;
		}
		if (pass == 0 && quota__pack_begin_write(&p)) {
			rc = quota__fail(QUOTA_ERR_NOMEM, "grant list: out of memory");
			break;
		}
		if (pass == 1) {
			*out = items;
			*count = n;
		}
	}
	quota__free(sorted);
out:
	quota__rw_read_done(&e->config);
	return rc;
}

static void grant_node_free(quota__node *n)
{
	quota__free(((quota__grant *)n)->pub);
	quota__free(((quota__grant *)n)->owner);
	quota__free(n);
}

void quota__grants_free(quota_engine *e)
{
	quota__table_clear(&e->grants, grant_node_free);
}
