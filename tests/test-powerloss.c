/*
 * Power loss and failing disks, through the journal's I/O table (lib/io.h;
 * doc/durability.md).
 *
 * The simulated disk of powerfs.h passes every call to the system and
 * keeps what an fsync made durable: each file's bytes, followed through
 * renames, and the directory's names as of its last fsync. A power loss
 * replaces the files by what is durable plus, in some tests, a part of what
 * was only written (the last record torn at every byte, flipped at every
 * byte, or zeros; a rename kept or lost);
 * recovery must then give the state of every acknowledged change and
 * nothing else, cutting the tail or reporting QUOTA_ERR_CORRUPT, and never
 * crash (the ASan stage runs this). The same table fails fsync, fails
 * writes with ENOSPC, and refuses to create files; the tests also give
 * recovery a newer format version and a file that is not a journal.
 *
 * Each test says what makes it fail.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "powerfs.h"

#define CPU "compute.example.com/cpu"
#define MEM "compute.example.com/memory"

static char dir[200];
static char path[300];

static const quota_ref org = {NULL, "Organization", NULL, "acme"};
static const quota_ref projects[2] = {
	{NULL, "Project", "acme", "p0"},
	{NULL, "Project", "acme", "p1"},
};

/* ---- files ---- */

static void fresh_dir(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	CHECK(mkdir(dir, 0700) == 0);
}

static unsigned char *read_file(const char *p, size_t *n)
{
	struct pfs_bytes b = pfs_read_path(p);
	*n = b.n;
	return b.p;
}

static void write_file(const char *p, const unsigned char *buf, size_t n)
{
	CHECK(pfs_write_path(p, buf, n) == 0);
}

/* ---- engines and their state ---- */

static struct test_clock clk;

static quota_engine *open_engine(int *rc)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.hash_key[0] = 7;
	o.hash_key[1] = 11;
	o.journal_path = path;
	o.sync_mode = QUOTA_SYNC_ALWAYS;
	*rc = quota_engine_new(&e, &o);
	return e;
}

/* Every bucket and claim as sorted lines. */
static char *state(quota_engine *e)
{
	char *buf = malloc(65536);
	size_t n = 0;
	buf[0] = '\0';
	test_snapshot_buckets_claims(e, buf, 65536, &n);
	return buf;
}

static void check_state_(const char *file, int line, quota_engine *e, const char *want,
			 const char *when)
{
	char *got = state(e);
	if (strcmp(got, want) != 0)
		check_fail_(file, line, "%s: the state differs:\n--- expected\n%s--- got\n%s", when,
			    want, got);
	free(got);
}

#define CHECK_STATE(e, want, when) check_state_(__FILE__, __LINE__, (e), (want), (when))

static quota_journal_stats stats(quota_engine *e)
{
	quota_journal_stats st;
	quota_journal_stats_init(&st, sizeof st);
	CHECK_RC(quota_journal_stats_get(e, &st), QUOTA_OK);
	return st;
}

static int acquire(quota_engine *e, const char *name, int p, int64_t cpu, int64_t mem)
{
	struct test_claim t;
	test_claim_init(&t, "acme", name, &projects[p]);
	if (cpu)
		test_claim_add(&t, CPU, cpu);
	if (mem)
		test_claim_add(&t, MEM, mem);
	test_clock_advance_ms(&clk, 3);
	return quota_claim_acquire(e, &t.c, NULL);
}

/* A durable engine with a few of every change in its journal. */
static quota_engine *populated(void)
{
	int rc;
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	quota_engine *e = open_engine(&rc);
	CHECK_RC(rc, QUOTA_OK);
	if (!e)
		return NULL;
	CHECK_RC(test_register(e, CPU, NULL, "Project", 10), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, NULL, "Project", 10), QUOTA_OK);
	for (int p = 0; p < 2; p++)
		CHECK_RC(quota_consumer_set_parent(e, &projects[p], &org), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "org-cpu", &org, CPU, 16, NULL), QUOTA_OK);
	CHECK_RC(acquire(e, "a", 0, 2, 1), QUOTA_OK);
	CHECK_RC(acquire(e, "b", 1, 3, 0), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, "acme", "r", &projects[0]);
	test_claim_add(&t, CPU, 4);
	test_claim_add(&t, MEM, 2);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	quota_request q;
	quota_request_init(&q, sizeof q);
	q.resource_type = CPU;
	q.amount = 1; /* settle below the 4 reserved */
	CHECK_RC(quota_claim_commit(e, "acme", "r", &q, 1), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "acme", "b"), QUOTA_OK);
	CHECK_RC(quota_consume(e, &projects[1], MEM, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_give_back(e, &projects[1], MEM, 1), QUOTA_OK);
	return e;
}

/* ---- power loss ---- */

/*
 * The power goes at the fsync of the last record (the record was written,
 * the call returns QUOTA_ERR_IO): the journal is its durable bytes plus any
 * prefix of that record, or that record with one byte flipped, or zeros
 * where it was. Recovery gives the state before the record (the tail cut,
 * cut_bytes its length) or, with the whole record, the state after it; a
 * flipped byte may also be QUOTA_ERR_CORRUPT, with the file left as it
 * was. Fails when: recovery fails otherwise; the state has a change that
 * was never made or lacks an acknowledged one; cut_bytes is wrong; a
 * report of damage changed the file; or the engine crashes (ASan).
 */
static void test_torn_last_record(void)
{
	fresh_dir();
	pfs_start(dir);
	quota_engine *e = populated();
	if (!e) {
		pfs_stop();
		return;
	}
	char *before = state(e);
	/* The call in flight when the power goes: its write is the next
	 * call, its fsync the one after. */
	pfs_power_at(PFS_ALL, 2);
	CHECK_RC(acquire(e, "last", 0, 1, 1), QUOTA_ERR_IO);
	char *after = state(e);
	CHECK(pfs.power_off);
	quota_engine_free(e);
	const struct pfs_bytes *d = pfs_durable("journal");
	size_t durable_len = d ? d->n : 0;
	size_t whole_n;
	unsigned char *whole = read_file(path, &whole_n);
	CHECK(d && durable_len < whole_n);
	CHECK(d && whole && memcmp(whole, d->p, durable_len) == 0);
	pfs_stop();
	if (!whole || !d || durable_len >= whole_n) {
		free(whole);
		free(before);
		free(after);
		return;
	}
	size_t rec = whole_n - durable_len;
	int rc;
	for (size_t t = 0; t <= rec; t++) {
		write_file(path, whole, durable_len + t);
		e = open_engine(&rc);
		CHECK_RC(rc, QUOTA_OK);
		if (!e)
			continue;
		CHECK_STATE(e, t == rec ? after : before, "a torn last record");
		CHECK_EQ_INT(stats(e).cut_bytes, t == rec ? 0 : t);
		quota_engine_free(e);
	}
	/* Zeros where the record was (a file extended, its data lost). */
	unsigned char *buf = malloc(whole_n);
	memcpy(buf, whole, whole_n);
	memset(buf + durable_len, 0, rec);
	write_file(path, buf, whole_n);
	e = open_engine(&rc);
	CHECK_RC(rc, QUOTA_OK);
	if (e) {
		CHECK_STATE(e, before, "zeros for the last record");
		CHECK_EQ_INT(stats(e).cut_bytes, rec);
		quota_engine_free(e);
	}
	/* One byte flipped, at every byte of the record. */
	int cut = 0, corrupt = 0;
	for (size_t i = 0; i < rec; i++) {
		memcpy(buf, whole, whole_n);
		buf[durable_len + i] ^= 0x24;
		write_file(path, buf, whole_n);
		e = open_engine(&rc);
		if (rc == QUOTA_OK) {
			cut++;
			CHECK_STATE(e, before, "a flipped byte in the last record");
			quota_engine_free(e);
		} else {
			corrupt++;
			CHECK_RC(rc, QUOTA_ERR_CORRUPT);
			size_t n;
			unsigned char *now = read_file(path, &n);
			CHECK(now && n == whole_n && memcmp(now, buf, n) == 0);
			free(now);
		}
	}
	printf("record of %zu bytes: torn at %zu offsets; a flipped byte was cut %d times, "
	       "reported %d times\n",
	       rec, rec + 1, cut, corrupt);
	CHECK(cut > 0);
	free(buf);
	free(whole);
	free(before);
	free(after);
}

/* Whether e has the CPU registration: QUOTA_OK or QUOTA_ERR_NOT_FOUND. */
static int has_cpu(quota_engine *e)
{
	quota_registration *r = NULL;
	int rc = quota_registration_get(e, CPU, &r);
	quota_free(r);
	return rc;
}

/*
 * The power goes at each call of the journal's creation on an empty
 * directory (P.tmp created, its header written and fsynced, renamed to P,
 * the directory opened and fsynced), and the disk keeps the directory as
 * of its last fsync (the rename or the create lost) or every name change,
 * with the files' synced bytes or all they were given. Each time recovery
 * must come up and hold nothing, and a change acknowledged by it must
 * survive a second power loss that keeps only what was synced. Fails when
 * a leftover P.tmp, a header-only P or a missing P is not recovered; when
 * the table loses the header's file in its rename (P would come back
 * empty: "not a libquota journal"); or when the journal after such a
 * recovery does not keep an acknowledged change.
 */
static void test_power_during_creation(void)
{
	static const struct {
		enum pfs_names names;
		enum pfs_data data;
	} variants[] = {
		{PFS_NAMES_SYNCED, PFS_DATA_SYNCED},
		{PFS_NAMES_WRITTEN, PFS_DATA_SYNCED},
		{PFS_NAMES_WRITTEN, PFS_DATA_WRITTEN},
	};
	int losses = 0, rc;
	for (long n = 1;; n++) {
		int hit = 0;
		for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
			fresh_dir();
			pfs_start(dir);
			pfs_power_at(PFS_ALL, n);
			quota_engine *e = open_engine(&rc);
			hit = pfs.power_off;
			/* Power lost at the last call (closing the directory)
			 * lets the creation succeed. */
			CHECK(rc == QUOTA_OK || (hit && rc == QUOTA_ERR_IO));
			quota_engine_free(e);
			struct pfs_image img;
			pfs_image(&img, variants[v].names, variants[v].data);
			CHECK(pfs_image_write(&img) == 0);
			pfs_image_free(&img);
			losses++;
			e = open_engine(&rc);
			CHECK_RC(rc, QUOTA_OK);
			if (!e)
				continue;
			CHECK_RC(has_cpu(e), QUOTA_ERR_NOT_FOUND);
			CHECK_RC(test_register(e, CPU, NULL, "Project", 10), QUOTA_OK);
			quota_engine_free(e);
			pfs_image(&img, PFS_NAMES_SYNCED, PFS_DATA_SYNCED);
			CHECK(pfs_image_write(&img) == 0);
			pfs_image_free(&img);
			e = open_engine(&rc);
			CHECK_RC(rc, QUOTA_OK);
			if (e)
				CHECK_RC(has_cpu(e), QUOTA_OK);
			quota_engine_free(e);
		}
		pfs_stop();
		if (!hit) {
			printf("creation: power lost at each of its %ld file calls, %d times in all\n",
			       n - 1, losses);
			CHECK(n > 6);
			break;
		}
	}
}

/*
 * A byte flipped in a record that was synced, with more after it, is
 * damage, not a torn tail: QUOTA_ERR_CORRUPT, the detail names the record
 * (its sequence number and byte offset), and the file is not changed.
 * Fails when recovery cuts the journal there (losing acknowledged
 * changes), accepts the record, or touches the file.
 */
static void test_flip_in_synced_record(void)
{
	fresh_dir();
	quota_engine *e = populated();
	if (!e)
		return;
	quota_engine_free(e);
	size_t n;
	unsigned char *whole = read_file(path, &n);
	if (!whole)
		return;
	/* The header is 32 bytes, the first record starts after it; flip a
	 * byte in the payload of the second record. */
	size_t second = 32 + 16 + (whole[32] | whole[33] << 8 | (size_t)whole[34] << 16);
	CHECK(second + 20 < n);
	whole[second + 20] ^= 0x01;
	write_file(path, whole, n);
	int rc;
	e = open_engine(&rc);
	CHECK(e == NULL);
	CHECK_RC(rc, QUOTA_ERR_CORRUPT);
	CHECK_ERR_MENTIONS("record 2 at byte");
	size_t n2;
	unsigned char *now = read_file(path, &n2);
	CHECK(now && n2 == n && memcmp(now, whole, n) == 0);
	free(now);
	free(whole);
	quota_engine_free(e);
}

/*
 * fsync fails: the call returns QUOTA_ERR_IO, quota_journal_stats.failed
 * is 1, every later change is refused with QUOTA_ERR_IO (reads still
 * work) until the engine is created again, which then holds the
 * acknowledged changes and maybe the one whose fsync failed. Fails when a
 * failed fsync is reported as success, or a later change is accepted.
 */
static void test_fsync_failure(void)
{
	fresh_dir();
	pfs_start(dir);
	quota_engine *e = populated();
	if (!e) {
		pfs_stop();
		return;
	}
	char *before = state(e);
	pfs_fail(PFS_FSYNC, 1, EIO, 0);
	CHECK_RC(acquire(e, "doubtful", 1, 1, 0), QUOTA_ERR_IO);
	CHECK_ERR_MENTIONS("fsync");
	char *doubtful = state(e);
	CHECK_EQ_INT(pfs.faults, 1); /* the disk answers again: the engine still refuses */
	quota_journal_stats st = stats(e);
	CHECK_EQ_INT(st.failed, 1);
	CHECK_RC(acquire(e, "later", 1, 1, 0), QUOTA_ERR_IO);
	CHECK_RC(quota_claim_release(e, "acme", "a"), QUOTA_ERR_IO);
	CHECK_RC(quota_engine_sync(e), QUOTA_ERR_IO);
	CHECK_EQ_INT(test_claim_state(e, "acme", "a"), QUOTA_CLAIM_GRANTED); /* reads work */
	CHECK_EQ_INT(test_claim_state(e, "acme", "later"), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);
	pfs_stop();
	int rc;
	e = open_engine(&rc);
	CHECK_RC(rc, QUOTA_OK);
	if (!e)
		goto out;
	char *got = state(e);
	if (strcmp(got, before) != 0 && strcmp(got, doubtful) != 0)
		check_fail_(__FILE__, __LINE__,
			    "after a failed fsync, recovery holds neither the "
			    "state before the call nor after it:\n%s",
			    got);
	free(got);
	CHECK_EQ_INT(stats(e).failed, 0);
	CHECK_RC(acquire(e, "later", 1, 1, 0), QUOTA_OK);
	quota_engine_free(e);
out:
	free(before);
	free(doubtful);
}

/*
 * A full disk: the journal write fails with ENOSPC after a part of the
 * record went in. The call returns QUOTA_ERR_IO and changes nothing (same
 * state, same journal size, not failed); once the disk has room the engine
 * takes changes again, and recovery holds exactly those acknowledged.
 * Fails when the failed call changed the engine, left a part of its
 * record in the journal, or stopped the engine for good.
 */
static void test_disk_full(void)
{
	fresh_dir();
	pfs_start(dir);
	quota_engine *e = populated();
	if (!e) {
		pfs_stop();
		return;
	}
	char *before = state(e);
	quota_journal_stats st0 = stats(e);
	pfs_fail(PFS_WRITE, 1, ENOSPC, 1);
	pfs.fault.partial = 1;
	CHECK_RC(acquire(e, "nospace", 0, 1, 1), QUOTA_ERR_IO);
	CHECK_ERR_MENTIONS("No space left");
	CHECK_RC(quota_consume(e, &projects[0], CPU, 1, NULL), QUOTA_ERR_IO);
	CHECK_STATE(e, before, "after writes failed with ENOSPC");
	quota_journal_stats st1 = stats(e);
	CHECK_EQ_INT(st1.failed, 0);
	CHECK_EQ_INT(st1.bytes, st0.bytes);
	CHECK_EQ_INT(st1.last_seq, st0.last_seq);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size == st0.bytes);
	pfs_fail(0, 0, 0, 0); /* room again */
	CHECK_RC(acquire(e, "nospace", 0, 1, 1), QUOTA_OK);
	char *after = state(e);
	quota_engine_free(e);
	pfs_stop();
	int rc;
	e = open_engine(&rc);
	CHECK_RC(rc, QUOTA_OK);
	if (e) {
		CHECK_STATE(e, after, "recovery after a full disk");
		CHECK_EQ_INT(stats(e).cut_bytes, 0);
		quota_engine_free(e);
	}
	free(before);
	free(after);
}

/*
 * Where the journal cannot be created: a read-only file system (EROFS
 * from the table, which works as root too) and a directory without write
 * permission (chmod 0500; skipped as root, which ignores it). Creation
 * fails with QUOTA_ERR_IO and a detail that names the file. Fails when
 * the engine comes up without a journal, or the status is another.
 */
static void test_read_only(void)
{
	fresh_dir();
	pfs_start(dir);
	pfs_fail(PFS_CREATE, 1, EROFS, 1);
	int rc;
	quota_engine *e = open_engine(&rc);
	pfs_stop();
	CHECK(e == NULL);
	CHECK_RC(rc, QUOTA_ERR_IO);
	CHECK_ERR_MENTIONS("journal|Read-only");
	quota_engine_free(e);

	fresh_dir();
	if (geteuid() == 0) {
		printf("read-only directory: skipped (root ignores the permission)\n");
		return;
	}
	CHECK(chmod(dir, 0500) == 0);
	e = open_engine(&rc);
	CHECK(e == NULL);
	CHECK_RC(rc, QUOTA_ERR_IO);
	CHECK_ERR_MENTIONS("Permission denied");
	quota_engine_free(e);
	CHECK(chmod(dir, 0700) == 0);
}

/* CRC-32C written here from its definition (reflected 0x82F63B78, all
 * ones in and out), to sign a header as the library would. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A journal whose header says format version 2, correctly signed:
 * QUOTA_ERR_UNSUPPORTED naming the version, the file untouched. And a file
 * that is not a journal: QUOTA_ERR_INVALID. Fails when a newer journal is
 * replayed (or cut) as if it were this version's, or a foreign file is
 * taken for a damaged journal.
 */
static void test_foreign_files(void)
{
	fresh_dir();
	int rc;
	quota_engine *e = populated();
	if (!e)
		return;
	quota_engine_free(e);
	size_t n;
	unsigned char *buf = read_file(path, &n);
	if (!buf || n < 32)
		return;
	/* Header: magic[8], u32 version, u32 flags, u64 base, u32 zero, u32
	 * CRC-32C of the 28 bytes before it. */
	CHECK_EQ_INT(get_u32(buf + 28), crc32c(buf, 28));
	CHECK_EQ_INT(get_u32(buf + 8), 1);
	put_u32(buf + 8, 2);
	put_u32(buf + 28, crc32c(buf, 28));
	write_file(path, buf, n);
	e = open_engine(&rc);
	CHECK(e == NULL);
	CHECK_RC(rc, QUOTA_ERR_UNSUPPORTED);
	CHECK_ERR_MENTIONS("version 2");
	size_t n2;
	unsigned char *now = read_file(path, &n2);
	CHECK(now && n2 == n && memcmp(now, buf, n) == 0);
	free(now);
	free(buf);
	quota_engine_free(e);

	static const char text[] = "# a configuration file, not a libquota journal at all\n";
	write_file(path, (const unsigned char *)text, sizeof text - 1);
	e = open_engine(&rc);
	CHECK(e == NULL);
	CHECK_RC(rc, QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("not a libquota journal");
	quota_engine_free(e);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/quota-powerloss-%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof path, "%s/journal", dir);
	RUN(test_power_during_creation);
	RUN(test_torn_last_record);
	RUN(test_flip_in_synced_record);
	RUN(test_fsync_failure);
	RUN(test_disk_full);
	RUN(test_read_only);
	RUN(test_foreign_files);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
