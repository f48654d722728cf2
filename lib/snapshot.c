/*
 * Snapshots (snapshot.h).
 * SPDX-License-Identifier: MIT
 */
#include "snapshot.h"

#include <errno.h>

#include "alloc.h"
#include "error.h"
#include "io.h"
#include "journal.h"

int quota__snapshot_build(quota_engine *e, uint64_t seq, quota__wbuf *w)
{
	(void)e;
	(void)seq;
	(void)w;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not available in this version");
}

int quota__snapshot_read(quota_engine *e, const char *path, int missing_ok, uint64_t *seq)
{
	(void)e;
	unsigned char *buf;
	size_t n;
	*seq = 0;
	int err = quota__io_read_file(path, &buf, &n);
	if (err == ENOENT && missing_ok)
		return QUOTA_OK;
	quota__free(buf);
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not available in this version");
}

QUOTA_API int quota_engine_save(quota_engine *e, const char *path)
{
	(void)e;
	(void)path;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not available in this version");
}

QUOTA_API int quota_engine_load(quota_engine *e, const char *path)
{
	(void)e;
	(void)path;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "snapshots: not available in this version");
}
