/*
 * Durability: the journal and snapshots (include/quota/journal.h).
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "engine.h"
#include "error.h"

QUOTA_API int quota_journal_stats_init(quota_journal_stats *s, size_t size)
{
	if (!s || size < sizeof *s)
		return quota__fail(QUOTA_ERR_INVALID, "stats: NULL or size %zu too small", size);
	memset(s, 0, sizeof *s);
	s->size = sizeof *s;
	return QUOTA_OK;
}

QUOTA_API int quota_journal_stats_get(quota_engine *e, quota_journal_stats *s)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	return quota_journal_stats_init(s, s ? s->size : 0);
}

QUOTA_API int quota_engine_sync(quota_engine *e)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	return QUOTA_OK;
}

QUOTA_API int quota_engine_compact(quota_engine *e)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	return quota__fail(QUOTA_ERR_INVALID, "engine: has no journal");
}

QUOTA_API int quota_engine_save(quota_engine *e, const char *path)
{
	(void)e;
	(void)path;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not built yet");
}

QUOTA_API int quota_engine_load(quota_engine *e, const char *path)
{
	(void)e;
	(void)path;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not built yet");
}
