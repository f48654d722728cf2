/*
 * Weakly consistent iteration over the striped tables: one stripe at a
 * time, each stripe's matching objects packed under its lock into one
 * block that the iterator owns.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_ITER_H
#define QUOTA_LIB_ITER_H

#include "engine.h"
#include "pack.h"

typedef struct quota__iter quota__iter;

/* Pack the matching objects of stripe s: first an array of n pointers,
 * then the objects; returns n. Runs twice per stripe (measure, write). */
typedef size_t (*quota__iter_collect)(const quota__iter *it, const quota__stripe *s,
				      quota__pack *p, void ***items);

struct quota__iter {
	quota_engine *e;
	quota__iter_collect collect;
	uint32_t stripe;
	size_t pos, count;
	void **items; /* also the block to free */
	/* Filters; consumer strings point into filter_buf. */
	int has_consumer;
	quota_ref consumer;
	const char *type;
	int32_t state;
	char filter_buf[];
};

/* A new iterator with room for the filter strings; NULL on bad input or
 * no memory (detail set, *rc the status). */
quota__iter *quota__iter_new(quota_engine *e, quota__iter_collect collect,
			     const quota_ref *consumer, const char *type, int *rc);
int quota__iter_next(quota__iter *it, const void **out);
void quota__iter_free(quota__iter *it);
/* Whether consumer (kind, ns, name) passes the iterator's filter. */
int quota__iter_match_consumer(const quota__iter *it, const char *kind, const char *ns,
			       const char *name);

#endif
