/*
 * libFuzzer target: reading snapshots (quota_engine_load).
 *
 * The first byte picks how the rest is used:
 * - even: as a snapshot file, as it is. Almost every change is refused by
 *   the header and frame checks, which is what this mode tries.
 * - odd: as records, each [u8 operation][u16 length][payload], which the
 *   target frames with good numbers and checksums and ends with END, so
 *   that the fuzzer reaches the code that applies each record.
 * A load must succeed or fail with a detail, never crash or leak. What an
 * engine holds after a load that succeeded must save, load into a second
 * engine, and save again to a snapshot of the same size (the records are
 * the same; their order follows the hash tables). Any broken promise
 * aborts.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <quota/quota.h>

#include "lib/crc32c.h"
#include "lib/journal.h"

static char path[64], again[64];

static void broken(const char *what)
{
	fprintf(stderr, "fuzz-snapshot: %s: %s\n", what, quota_last_error());
	abort();
}

static int64_t fixed_clock(void *payload)
{
	(void)payload;
	return INT64_C(1700000000000000000);
}

static quota_engine *engine(void)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.clock = fixed_clock;
	o.hash_key[0] = 1;
	o.hash_key[1] = 2;
	o.released_retention_ms = 60000;
	o.stripes = 4;
	if (quota_engine_new(&e, &o) != QUOTA_OK)
		broken("engine");
	return e;
}

/* The snapshot that frames the records of d[0..n). */
static void frame(const uint8_t *d, size_t n, quota__wbuf *w)
{
	quota__put_bytes(w, "LQSNAPS1", 8);
	quota__put_u32(w, 1);
	quota__put_u32(w, 0);
	quota__put_u64(w, 0);
	quota__put_u32(w, 0);
	if (!w->status)
		quota__put_u32(w, quota__crc32c(0, w->p, 28));
	uint64_t seq = 0;
	size_t off = 0;
	while (n - off >= 3) {
		int op = d[off];
		size_t len = (size_t)d[off + 1] | (size_t)d[off + 2] << 8;
		off += 3;
		if (len > n - off)
			len = n - off;
		size_t at = w->n;
		quota__frame_begin(w, op, 0);
		quota__put_bytes(w, d + off, len);
		if (!w->status)
			quota__frame_seal(w, at, ++seq);
		off += len;
	}
	size_t at = w->n;
	quota__frame_begin(w, JOP_SNAP_END, 0);
	quota__put_u64(w, seq);
	if (!w->status)
		quota__frame_seal(w, at, seq + 1);
}

static void write_file(const char *p, const void *buf, size_t n)
{
	FILE *f = fopen(p, "wb");
	if (!f || (n && fwrite(buf, 1, n, f) != n) || fclose(f) != 0)
		broken("write the input");
}

static long size_of(const char *p)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/fuzz-snapshot-%d", (int)getpid());
		snprintf(again, sizeof again, "/tmp/fuzz-snapshot-%d.again", (int)getpid());
	}
	if (n == 0)
		return 0;
	if (d[0] % 2 == 0) {
		write_file(path, d + 1, n - 1);
	} else {
		quota__wbuf w = {0};
		frame(d + 1, n - 1, &w);
		if (w.status)
			broken("frame");
		write_file(path, w.p, w.n);
		quota__put_free(&w);
	}
	quota_engine *a = engine();
	int rc = quota_engine_load(a, path);
	if (rc != QUOTA_OK && !quota_last_error()[0])
		broken("a failure without a detail");
	if (rc == QUOTA_OK) {
		quota_engine *b = engine();
		if (quota_engine_save(a, path) != QUOTA_OK)
			broken("save what was loaded");
		if (quota_engine_load(b, path) != QUOTA_OK)
			broken("load what was saved");
		if (quota_engine_save(b, again) != QUOTA_OK)
			broken("save it again");
		if (size_of(path) != size_of(again))
			broken("the second snapshot differs");
		quota_engine_free(b);
	}
	quota_engine_free(a);
	unlink(path);
	unlink(again);
	return 0;
}
