/*
 * libFuzzer target: journal recovery. The input is a journal file (its
 * 32-byte header is replaced by a valid one). Unless the first byte of the
 * input is odd, every record's length is kept inside the input and its
 * sequence number and CRC-32C are set right, so that the fuzzer reaches
 * the record decoder and replay instead of stopping at the checksum; with
 * an odd first byte the records stay as given, which fuzzes the framing.
 *
 * An engine is created on the file. Nothing may crash or leak; a recovery
 * may fail only with the errors of damage (QUOTA_ERR_CORRUPT), of records
 * it cannot apply (QUOTA_ERR_INVALID ...), never QUOTA_ERR_INTERNAL; and
 * when it succeeds, recovering again from what it left gives the same
 * state (recovery is idempotent).
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <quota/quota.h>

#include "crc32c.h"

#define HEADER 32
#define FRAME 16

static char dir[64];
static char path[128];

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Journal base 0: records are numbered from 1. */
static void header(unsigned char *h)
{
	memset(h, 0, HEADER);
	memcpy(h, "LQJOURN1", 8);
	put32(h + 8, 1);
	put32(h + 28, quota__crc32c(0, h, 28));
}

/* Give each whole record of buf its sequence number and checksum. */
static void seal(unsigned char *buf, size_t n)
{
	uint64_t seq = 1;
	size_t off = HEADER;
	while (n - off >= FRAME + 9) {
		unsigned char *p = buf + off;
		uint32_t len = get32(p);
		if (len < 9 || len > n - off - FRAME)
			break;
		put64(p + 8, seq++);
		put32(p + 4, 0);
		put32(p + 4, quota__crc32c(0, p, FRAME + (size_t)len));
		off += FRAME + (size_t)len;
	}
}

static int write_file(const unsigned char *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(buf, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A clock that stands at 2026-01-01, so that two recoveries see one time. */
static int64_t fixed_clock(void *payload)
{
	(void)payload;
	return INT64_C(1767225600) * 1000000000;
}

/* Recover an engine from the files; *dump gets its state as JSON. */
static int recover(char **dump)
{
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.clock = fixed_clock;
	o.journal_path = path;
	o.sync_mode = QUOTA_SYNC_NONE;
	o.hash_key[0] = 1;
	o.hash_key[1] = 2;
	quota_engine *e = NULL;
	int rc = quota_engine_new(&e, &o);
	*dump = NULL;
	if (rc == QUOTA_OK) {
		quota_doc *d = NULL;
		if (quota_json_dump(e, QUOTA_JSON_ALL, &d) == QUOTA_OK)
			quota_doc_to_json(d, dump, NULL);
		quota_doc_unref(d);
		quota_engine_free(e);
	}
	return rc;
}

static void remove_files(void)
{
	static const char *const suffix[] = {"", ".next", ".snapshot", ".snapshot.tmp", ".tmp"};
	char p[160];
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffix[i]);
		unlink(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/dev/shm/fuzz-journal-XXXXXX");
		if (access("/dev/shm", W_OK) != 0)
			snprintf(dir, sizeof dir, "/tmp/fuzz-journal-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof path, "%s/journal", dir);
	}
	if (size < 1 || size > (1u << 20))
		return 0;
	size_t n = size - 1 < HEADER ? HEADER : size - 1;
	unsigned char *buf = calloc(1, n);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	header(buf);
	if (!(data[0] & 1))
		seal(buf, n);
	remove_files();
	if (write_file(buf, n) != 0)
		abort();
	free(buf);

	char *first, *second;
	int rc = recover(&first);
	if (rc == QUOTA_ERR_INTERNAL) {
		fprintf(stderr, "recovery: internal error: %s\n", quota_last_error());
		abort();
	}
	if (rc == QUOTA_OK) {
		/* What the first recovery left recovers to the same state. */
		if (recover(&second) != QUOTA_OK) {
			fprintf(stderr, "second recovery failed: %s\n", quota_last_error());
			abort();
		}
		if ((first == NULL) != (second == NULL) || (first && strcmp(first, second) != 0)) {
			fprintf(stderr, "recovery is not idempotent:\n%s\n%s\n", first, second);
			abort();
		}
		quota_free(second);
	}
	quota_free(first);
	return 0;
}
