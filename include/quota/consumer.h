/*
 * libquota: consumers and their hierarchy.
 *
 * A consumer may have a parent (a Project in an Organization), at most
 * QUOTA_MAX_DEPTH levels in all. Every level above a consumer tracks the
 * usage of its whole subtree in its own bucket; a level constrains a
 * request only when a grant gives it an amount of the type (the
 * registration's own consumer kind is also bound by its default limit).
 * Grants may target the registration's consumer kind or any kind that is
 * an ancestor kind of it through the parents set here.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_CONSUMER_H
#define QUOTA_CONSUMER_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most levels in a consumer hierarchy, the consumer itself included. */
#define QUOTA_MAX_DEPTH 8

/**
 * Set or clear a consumer's parent.
 *
 * @param child   the consumer (kind, ns, name; api_group ignored).
 * @param parent  its new parent, or NULL to make it a root.
 * @return QUOTA_OK (also when nothing changes); QUOTA_ERR_INVALID (bad
 *         ref, a cycle, or a hierarchy deeper than QUOTA_MAX_DEPTH; the
 *         detail says which); QUOTA_ERR_IN_USE while the child or any
 *         consumer below it holds allocations or reservations (moving
 *         usage between trees is not supported: release first);
 *         QUOTA_ERR_NOMEM. On error nothing changed.
 * Thread-safe.
 */
QUOTA_API int quota_consumer_set_parent(quota_engine *e, const quota_ref *child,
					const quota_ref *parent);

/**
 * Read a consumer's parent.
 *
 * @param[out] parent  a copy in one allocation (free with quota_free()),
 *                     or NULL when the consumer has no parent. Its
 *                     api_group is NULL: groups are not part of a
 *                     consumer's identity and the hierarchy keeps none.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_consumer_get_parent(quota_engine *e, const quota_ref *child,
					quota_ref **parent);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_CONSUMER_H */
