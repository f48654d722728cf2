/*
 * Weakly consistent iteration over the striped tables.
 * SPDX-License-Identifier: MIT
 */
#include "iter.h"

#include <string.h>

#include "alloc.h"
#include "error.h"

quota__iter *quota__iter_new(quota_engine *e, quota__iter_collect collect,
			     const quota_ref *consumer, const char *type, int *rc)
{
	*rc = QUOTA_OK;
	if (!e) {
		*rc = quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
		return NULL;
	}
	if ((consumer && (*rc = quota__check_ref("consumer", consumer))) ||
	    (type && (*rc = quota__check_text("resourceType", type, 1, QUOTA__NAME_MAX))))
		return NULL;
	size_t room = type ? strlen(type) + 1 : 0;
	if (consumer)
		room += strlen(consumer->kind) + strlen(quota__str(consumer->ns)) +
			strlen(consumer->name) + 3;
	quota__iter *it = quota__calloc(1, sizeof *it + room);
	if (!it) {
		*rc = quota__fail(QUOTA_ERR_NOMEM, "iterator: out of memory");
		return NULL;
	}
	it->e = e;
	it->collect = collect;
	char *w = it->filter_buf;
	const char **dst[] = {&it->type, &it->consumer.kind, &it->consumer.ns, &it->consumer.name};
	const char *src[] = {type, consumer ? consumer->kind : NULL,
			     consumer ? quota__str(consumer->ns) : NULL,
			     consumer ? consumer->name : NULL};
	for (int i = 0; i < 4; i++) {
		if (!src[i])
			continue;
		size_t n = strlen(src[i]) + 1;
		memcpy(w, src[i], n);
		*dst[i] = w;
		w += n;
	}
	it->has_consumer = consumer != NULL;
	return it;
}

int quota__iter_match_consumer(const quota__iter *it, const char *kind, const char *ns,
			       const char *name)
{
	return !it->has_consumer ||
	       (strcmp(it->consumer.kind, kind) == 0 && strcmp(it->consumer.ns, ns) == 0 &&
		strcmp(it->consumer.name, name) == 0);
}

int quota__iter_next(quota__iter *it, const void **out)
{
	if (!it || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   it ? "out" : "iterator");
	while (it->pos >= it->count) {
		quota__free(it->items);
		it->items = NULL;
		it->pos = it->count = 0;
		if (it->stripe >= it->e->stripe_count) {
			*out = NULL;
			return QUOTA_ITER_DONE;
		}
		quota__stripe *s = &it->e->stripes[it->stripe];
		quota__pack p = {0};
		void **items = NULL;
		quota__lock_take(&s->lock);
		size_t n = it->collect(it, s, &p, &items);
		if (n) {
			if (quota__pack_begin_write(&p)) {
				quota__lock_release(&s->lock);
				*out = NULL;
				return quota__fail(QUOTA_ERR_NOMEM, "iterator: out of memory");
			}
			it->collect(it, s, &p, &items);
		}
		quota__lock_release(&s->lock);
		it->items = items;
		it->count = n;
		it->stripe++;
	}
	*out = it->items[it->pos++];
	return QUOTA_OK;
}

void quota__iter_free(quota__iter *it)
{
	if (!it)
		return;
	quota__free(it->items);
	quota__free(it);
}
