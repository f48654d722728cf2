/*
 * Consumers and their hierarchy: parents, the chain of levels a request is
 * charged at, and the kinds that may receive grants for a type.
 *
 * Only consumers that have a parent or children are stored. Parents change
 * under the config lock held for writing plus every stripe, and only while
 * the moved subtree holds nothing, so usage never has to move between
 * trees; each change bumps the engine's chain_version, which makes every
 * bucket re-read its chain before its next multi-level charge.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "engine.h"
#include "error.h"

static size_t consumer_key(char *buf, const char *kind, const char *ns, const char *name)
{
	const char *part[3] = {kind, quota__str(ns), name};
	size_t len = 0;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(part[i]);
		memcpy(buf + len, part[i], n);
		len += n;
		buf[len++] = '\0';
	}
	return len - 1;
}

static quota__consumer *consumer_find(const quota_engine *e, const char *kind, const char *ns,
				      const char *name)
{
	char key[QUOTA__KEY_MAX + 1];
	size_t len = consumer_key(key, kind, ns, name);
	return (quota__consumer *)quota__table_find(&e->consumers, quota__hash(e, key, len), key,
						   len);
}

static quota__consumer *consumer_new(const quota_engine *e, const quota_ref *r)
{
	char key[QUOTA__KEY_MAX + 1];
	size_t len = consumer_key(key, r->kind, r->ns, r->name);
	quota__consumer *c = quota__calloc(1, sizeof *c + len + 1);
	if (!c)
		return NULL;
	char *k = (char *)(c + 1);
	memcpy(k, key, len + 1);
	c->node.key = k;
	c->node.key_len = len;
	c->node.hash = quota__hash(e, k, len);
	c->kind = k;
	c->ns = k + strlen(k) + 1;
	c->name = c->ns + strlen(c->ns) + 1;
	return c;
}

/* Whether some consumer of kind has a parent (the kind edges count them). */
static int kind_has_parents(const quota_engine *e, const char *kind)
{
	for (uint32_t i = 0; i < e->kind_edge_count; i++)
		if (strcmp(e->kind_edges[i].child, kind) == 0)
			return 1;
	return 0;
}

quota__level quota__level_of(const quota_ref *c, const size_t *len)
{
	const char *ns = quota__str(c->ns);
	if (len)
		return (quota__level){c->kind, ns, c->name, len[1], len[2], len[3], 0};
	return (quota__level){c->kind, ns, c->name, strlen(c->kind), strlen(ns), strlen(c->name), 0};
}

/* The level of a stored consumer, whose strings are the parts of its key. */
static quota__level node_level(const quota__consumer *c)
{
	size_t kind_len = (size_t)(c->ns - c->kind) - 1, ns_len = (size_t)(c->name - c->ns) - 1;
	return (quota__level){c->kind,		c->ns,	c->name, kind_len, ns_len,
			      c->node.key_len - kind_len - ns_len - 2, 0};
}

uint32_t quota__chain(quota_engine *e, const quota_ref *c, const size_t *len, quota__level *lv)
{
	lv[0] = quota__level_of(c, len);
	uint32_t n = 1;
	/* Most consumers have no parent: skip the lookup (a key and a hash). */
	if (!kind_has_parents(e, c->kind))
		return n;
	const quota__consumer *node = consumer_find(e, c->kind, c->ns, c->name);
	for (node = node ? node->parent : NULL; node && n < QUOTA_MAX_DEPTH; node = node->parent)
		lv[n++] = node_level(node);
	return n;
}

static quota__kind_edge *edge_find(const quota_engine *e, const char *child, const char *parent)
{
	for (uint32_t i = 0; i < e->kind_edge_count; i++)
		if (strcmp(e->kind_edges[i].child, child) == 0 &&
		    strcmp(e->kind_edges[i].parent, parent) == 0)
			return &e->kind_edges[i];
	return NULL;
}

int quota__kind_is_ancestor(const quota_engine *e, const char *kind, const char *of_kind)
{
	/* Breadth-first over kind edges, at most QUOTA_MAX_DEPTH - 1 steps up. */
	const char *frontier[64], *next[64];
	uint32_t nf = 1;
	frontier[0] = of_kind;
	for (int step = 1; step < QUOTA_MAX_DEPTH && nf; step++) {
		uint32_t nn = 0;
		for (uint32_t f = 0; f < nf; f++)
			for (uint32_t i = 0; i < e->kind_edge_count; i++) {
				const quota__kind_edge *k = &e->kind_edges[i];
				if (strcmp(k->child, frontier[f]) != 0)
					continue;
				if (strcmp(k->parent, kind) == 0)
					return 1;
				if (nn < 64)
					next[nn++] = k->parent;
			}
		memcpy(frontier, next, nn * sizeof next[0]);
		nf = nn;
	}
	return 0;
}

/* Levels from c up to its root, c included. */
static int depth_of(const quota__consumer *c)
{
	int d = 0;
	for (; c; c = c->parent)
		d++;
	return d;
}

/* Whether node is at or below top. */
static int is_under(const quota__consumer *node, const quota__consumer *top)
{
	for (int i = 0; node && i <= QUOTA_MAX_DEPTH; node = node->parent, i++)
		if (node == top)
			return 1;
	return 0;
}

/* Levels of the subtree under top, top included. */
static int height_of(const quota_engine *e, const quota__consumer *top)
{
	int h = 1;
	for (size_t s = 0; s <= e->consumers.mask; s++)
		for (const quota__node *n = e->consumers.slots[s]; n; n = n->next) {
			int d = 1;
			for (const quota__consumer *c = (const quota__consumer *)n; c && c != top;
			     c = c->parent)
				d++;
			if (is_under((const quota__consumer *)n, top) && d > h)
				h = d;
		}
	return h;
}

/* The first bucket that holds anything and belongs to consumer c or to a
 * consumer below it; caller holds every stripe. c need not be stored yet. */
static const quota__bucket *subtree_busy(const quota_engine *e, const quota__consumer *c)
{
	for (uint32_t i = 0; i < e->stripe_count; i++) {
		const quota__table *t = &e->stripes[i].buckets;
		for (size_t s = 0; s <= t->mask; s++)
			for (const quota__node *n = t->slots[s]; n; n = n->next) {
				const quota__bucket *b = (const quota__bucket *)n;
				if (quota__bucket_idle(b))
					continue;
				quota_ref r = quota__bucket_consumer(b);
				if (strcmp(r.kind, c->kind) == 0 && strcmp(r.ns, c->ns) == 0 &&
				    strcmp(r.name, c->name) == 0)
					return b;
				const quota__consumer *o = consumer_find(e, r.kind, r.ns, r.name);
				if (c->children && o && is_under(o, c))
					return b;
			}
	}
	return NULL;
}

static void consumer_drop_if_alone(quota_engine *e, quota__consumer *c)
{
	if (c && !c->parent && c->children == 0) {
		quota__table_remove(&e->consumers, &c->node);
		quota__free(c);
	}
}

/* Make room for one more kind edge; -1 on no memory. */
static int edges_reserve(quota_engine *e)
{
	if (e->kind_edge_count < e->kind_edge_cap)
		return 0;
	uint32_t cap = e->kind_edge_cap ? 2 * e->kind_edge_cap : 8;
	quota__kind_edge *k = quota__calloc(cap, sizeof *k);
	if (!k)
		return -1;
	if (e->kind_edge_count)
		memcpy(k, e->kind_edges, e->kind_edge_count * sizeof *k);
	quota__free(e->kind_edges);
	e->kind_edges = k;
	e->kind_edge_cap = cap;
	return 0;
}

static void edge_drop(quota_engine *e, const char *child, const char *parent)
{
	quota__kind_edge *k = edge_find(e, child, parent);
	if (!k || --k->count)
		return;
	quota__free(k->child);
	quota__free(k->parent);
	*k = e->kind_edges[--e->kind_edge_count];
}

int quota__impl_consumer_set_parent(quota_engine *e, const quota_ref *child,
					const quota_ref *parent)
{
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = quota__check_ref("child", child)) ||
	    (parent && (rc = quota__check_ref("parent", parent))))
		return rc;

	if (parent && strcmp(child->kind, parent->kind) == 0 &&
	    quota__streq(child->ns, parent->ns) && strcmp(child->name, parent->name) == 0)
		return quota__fail(QUOTA_ERR_INVALID,
				   "parent: %s/%s/%s cannot be its own parent (a cycle)", child->kind,
				   quota__str(child->ns), child->name);

	quota__consumer *fresh_child = NULL, *fresh_parent = NULL;
	char *edge_child = NULL, *edge_parent = NULL;
	quota__rw_write(&e->config);
	quota__consumer *c = consumer_find(e, child->kind, child->ns, child->name);
	quota__consumer *p = parent ? consumer_find(e, parent->kind, parent->ns, parent->name)
				    : NULL;
	if ((c ? c->parent : NULL) == p && (p || !parent))
		goto out; /* nothing changes */
	if (!c && !parent)
		goto out;
	if (parent && c && p && is_under(p, c)) {
		rc = quota__fail(QUOTA_ERR_INVALID,
				 "parent: %s/%s/%s is below %s/%s/%s: that would make a cycle",
				 parent->kind, quota__str(parent->ns), parent->name, child->kind,
				 quota__str(child->ns), child->name);
		goto out;
	}
	if (parent) {
		int above = p ? depth_of(p) : 1, below = c ? height_of(e, c) : 1;
		if (above + below > QUOTA_MAX_DEPTH) {
			rc = quota__fail(QUOTA_ERR_INVALID,
					 "parent: the hierarchy would be %d levels deep, at most %d",
					 above + below, QUOTA_MAX_DEPTH);
			goto out;
		}
	}
	/* Everything that can fail, before anything changes. */
	if ((!c && !(c = fresh_child = consumer_new(e, child))) ||
	    (parent && !p && !(p = fresh_parent = consumer_new(e, parent))) ||
	    (parent && !edge_find(e, child->kind, parent->kind) &&
	     (edges_reserve(e) || !(edge_child = quota__strdup(child->kind)) ||
	      !(edge_parent = quota__strdup(parent->kind))))) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "consumer: out of memory");
		goto out;
	}

	quota__lock_all(e);
	const quota__bucket *busy = subtree_busy(e, c);
	if (busy) {
		char id[QUOTA_BUCKET_ID_MAX];
		quota__bucket_describe(busy, id, sizeof id);
		quota__unlock_all(e);
		rc = quota__fail(QUOTA_ERR_IN_USE,
				 "child: %s/%s/%s cannot move while bucket %s holds usage",
				 child->kind, quota__str(child->ns), child->name, id);
		goto out;
	}
	if (fresh_child)
		quota__table_insert(&e->consumers, &fresh_child->node);
	if (fresh_parent)
		quota__table_insert(&e->consumers, &fresh_parent->node);
	fresh_child = fresh_parent = NULL;
	/* The new edge is counted before the old one is dropped: moving
	 * between two parents of one kind keeps that edge alive. */
	if (p) {
		p->children++;
		quota__kind_edge *k = edge_find(e, c->kind, p->kind);
		if (k) {
			k->count++;
		} else {
			e->kind_edges[e->kind_edge_count++] =
				(quota__kind_edge){edge_child, edge_parent, 1};
			edge_child = edge_parent = NULL;
		}
	}
	quota__consumer *old = c->parent;
	if (old) {
		old->children--;
		edge_drop(e, c->kind, old->kind);
	}
	c->parent = p;
	atomic_fetch_add(&e->chain_version, 1);
	quota__unlock_all(e);
	consumer_drop_if_alone(e, old);
	consumer_drop_if_alone(e, c);
out:
	quota__rw_write_done(&e->config);
	quota__free(fresh_child);
	quota__free(fresh_parent);
	quota__free(edge_child);
	quota__free(edge_parent);
	return rc;
}

QUOTA_API int quota_consumer_get_parent(quota_engine *e, const quota_ref *child,
					quota_ref **parent)
{
	int rc;
	if (!e || !parent)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   e ? "parent" : "engine");
	*parent = NULL;
	if ((rc = quota__check_ref("child", child)))
		return rc;
	quota__rw_read(&e->config);
	const quota__consumer *c = consumer_find(e, child->kind, child->ns, child->name);
	const quota__consumer *p = c ? c->parent : NULL;
	if (p) {
		size_t n = p->node.key_len + 1;
		quota_ref *r = quota__malloc(sizeof *r + n);
		if (!r) {
			rc = quota__fail(QUOTA_ERR_NOMEM, "consumer: out of memory");
		} else {
			char *k = (char *)(r + 1);
			memcpy(k, p->node.key, n);
			r->api_group = NULL;
			r->kind = k;
			r->ns = k + (p->ns - p->kind);
			r->name = k + (p->name - p->kind);
			*parent = r;
		}
	}
	quota__rw_read_done(&e->config);
	return rc;
}

void quota__consumers_free(quota_engine *e)
{
	quota__table_clear(&e->consumers, quota__node_free);
	for (uint32_t i = 0; i < e->kind_edge_count; i++) {
		quota__free(e->kind_edges[i].child);
		quota__free(e->kind_edges[i].parent);
	}
	quota__free(e->kind_edges);
}
