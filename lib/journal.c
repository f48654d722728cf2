/*
 * Durability: the journal, recovery, sync modes and compaction
 * (include/quota/journal.h, lib/journal.h).
 *
 * Files, for a journal at P:
 *   P           the journal: a header, then records
 *   P.snapshot  the state up to a record (snapshot.c); may be missing
 *   P.next      the journal a compaction started; renamed over P at its end
 *   P.lock      held (flock) by the engine that has the journal open
 *
 * A journal header: magic "LQJOURN1", u32 version, u32 flags (0), u64
 * base (the sequence number of the record before its first), u32 zero,
 * u32 CRC-32C of the 28 bytes before it.
 * A record: u32 length of the payload, u32 CRC-32C of the record with this
 * field zero, u64 sequence number (one more than the record before), then
 * the payload: u8 operation, i64 time (ns), and the operation's
 * arguments (codec.h).
 * SPDX-License-Identifier: MIT
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "crc32c.h"
#include "error.h"
#include "io.h"
#include "snapshot.h"
#include "util.h"

#define JOURNAL_MAGIC "LQJOURN1"
#define JOURNAL_VERSION 1u
#define HEADER_SIZE 32
#define FRAME_SIZE 16
#define DEFAULT_INTERVAL_MS 10
#define MAP_CHUNK ((int64_t)1 << 20) /* a mapped journal grows by this much */

struct quota__journal {
	pthread_mutex_t lock; /* the change lock: outermost, one change at a time */
	char *path, *next_path, *lock_path, *snap_path;
	int fd, lock_fd;
	int mode;
	int64_t interval_ns;
	_Atomic uint64_t seq;   /* last record written; written under lock */
	_Atomic uint64_t snapshot_seq;
	int64_t end; /* where the next record goes; under lock */
	/* Group commit. */
	pthread_mutex_t sync_lock; /* inside lock */
	pthread_cond_t sync_cond;
	uint64_t synced_seq;
	int syncing;
	int64_t last_sync_ns;
	atomic_int failed;
	_Atomic uint64_t records, fsyncs, compactions;
	uint64_t replayed, cut_bytes;
	/* QUOTA_SYNC_NONE: records are copied into a shared mapping of the
	 * file's last part [map_off, size), the file grown ahead of them
	 * with zeros; under lock. map NULL: records are written. */
	int mapped; /* the mode maps, and mapping has not failed */
	unsigned char *map;
	int64_t map_off, size;
};

/* The journaled call this thread is in: engine, depth, frozen time. */
static _Thread_local const quota_engine *tl_engine;
static _Thread_local int tl_depth;
static _Thread_local int64_t tl_now;

int quota__jinside(const quota_engine *e)
{
	return tl_engine == e && tl_depth > 0;
}

int64_t quota__jnow(const quota_engine *e)
{
	return tl_engine == e ? tl_now : 0;
}

static void enter(const quota_engine *e, int64_t now)
{
	tl_engine = e;
	tl_depth = 1;
	tl_now = now;
}

static void leave(void)
{
	tl_engine = NULL;
	tl_depth = 0;
	tl_now = 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int io_fail(int err, const char *what, const char *path)
{
	return quota__fail(err == ENOMEM ? QUOTA_ERR_NOMEM : QUOTA_ERR_IO, "journal: %s %s: %s",
			   what, path, strerror(err));
}

/* ---- frames, shared with snapshots ---- */

void quota__frame_begin(quota__wbuf *w, int op, int64_t now)
{
	quota__put_room(w, FRAME_SIZE);
	quota__put_u8(w, (uint8_t)op);
	quota__put_i64(w, now);
}

void quota__frame_seal(quota__wbuf *w, size_t at, uint64_t seq)
{
	unsigned char *p = w->p + at;
	put_u32(p, (uint32_t)(w->n - at - FRAME_SIZE));
	put_u32(p + 4, 0);
	put_u64(p + 8, seq);
	put_u32(p + 4, quota__crc32c(0, p, w->n - at));
}

int quota__frame_next(const unsigned char *buf, size_t n, size_t off, quota__frame *f)
{
	if (n - off < FRAME_SIZE)
		return -1;
	const unsigned char *p = buf + off;
	uint32_t len = get_u32(p);
	if (len > n - off - FRAME_SIZE || len < 9)
		return -1;
	unsigned char head[FRAME_SIZE];
	memcpy(head, p, FRAME_SIZE);
	put_u32(head + 4, 0);
	uint32_t crc = quota__crc32c(0, head, FRAME_SIZE);
	crc = quota__crc32c(crc, p + FRAME_SIZE, len);
	if (crc != get_u32(p + 4))
		return -1;
	f->seq = get_u64(p + 8);
	f->op = p[FRAME_SIZE] & ~QUOTA__FRAME_MAPPED;
	f->mapped = (p[FRAME_SIZE] & QUOTA__FRAME_MAPPED) != 0;
	f->now = (int64_t)get_u64(p + FRAME_SIZE + 1);
	f->args = p + FRAME_SIZE + 9;
	f->args_len = len - 9;
	f->size = FRAME_SIZE + (size_t)len;
	return 0;
}

/* ---- the header ---- */

static void header_make(unsigned char *h, uint64_t base)
{
	memset(h, 0, HEADER_SIZE);
	memcpy(h, JOURNAL_MAGIC, 8);
	put_u32(h + 8, JOURNAL_VERSION);
	put_u64(h + 16, base);
	put_u32(h + 28, quota__crc32c(0, h, 28));
}

/* Check the header of a journal file; *base gets its base. */
static int header_check(const unsigned char *buf, size_t n, const char *path, uint64_t *base)
{
	if (n < HEADER_SIZE || memcmp(buf, JOURNAL_MAGIC, 8) != 0)
		return quota__fail(QUOTA_ERR_INVALID, "journal %s: not a libquota journal", path);
	if (get_u32(buf + 28) != quota__crc32c(0, buf, 28))
		return quota__fail(QUOTA_ERR_CORRUPT, "journal %s: header checksum fails", path);
	uint32_t version = get_u32(buf + 8);
	if (version > JOURNAL_VERSION)
		return quota__fail(QUOTA_ERR_UNSUPPORTED,
				   "journal %s: format version %u is newer than this library's %u",
				   path, version, JOURNAL_VERSION);
	*base = get_u64(buf + 16);
	return QUOTA_OK;
}

/* Create path with an empty journal after base, atomically (a crash
 * leaves either no journal or a whole header). Returns the descriptor,
 * which appends to path, or -errno. */
static int journal_create(const char *path, uint64_t base)
{
	unsigned char h[HEADER_SIZE];
	int fd = -1;
	header_make(h, base);
	int err = quota__io_replace(path, h, sizeof h, &fd);
	return err ? -err : fd;
}

/* ---- the mapped journal (QUOTA_SYNC_NONE) ----
 *
 * A record copied into a MAP_SHARED mapping of the file is in the page
 * cache once the copy ends, as a written one is once write() returns: it
 * survives the process being killed, and fsync(fd) writes it out (on Linux
 * the mapping and the descriptor share the page cache). The copy costs no
 * system call. The file is grown ahead of the records by writing zeros
 * through the I/O table, so that a full disk fails the call that needed
 * the room (a page fault on a hole would be a SIGBUS), and cut back to its
 * records when the journal closes or compacts; recovery cuts the zeros a
 * killed process left, as it cuts any torn tail.
 *
 * A record's length goes in first, the rest after it, and a record taken
 * back is zeroed in the reverse order: a kill in between leaves a record
 * whose checksum fails and only zeros after its end, which recovery takes
 * for a torn tail.
 */

/* Let go of the mapping and cut the file back to its records (a failed
 * cut leaves zeros after them, which recovery cuts). */
static void map_release(quota__journal *j)
{
	if (!j->map)
		return;
	munmap(j->map, (size_t)(j->size - j->map_off));
	j->map = NULL;
	if (quota__io->ftruncate(j->fd, j->end) == 0)
		j->size = j->end;
}

/* Room for n more bytes in the mapping: grow the file with zeros and map
 * its last part again. 0, or an errno value with the file as it was; a
 * mapping that fails turns mapping off for this journal. */
static int map_grow(quota__journal *j, size_t n)
{
	static const unsigned char zero_block[65536];
	int64_t page = (int64_t)sysconf(_SC_PAGESIZE);
	int64_t off = j->end / page * page;
	int64_t size = (j->end + (int64_t)n + MAP_CHUNK - 1) / MAP_CHUNK * MAP_CHUNK;
	for (int64_t at = j->size; at < size;) {
		int64_t left = size - at;
		size_t k = left < (int64_t)sizeof zero_block ? (size_t)left : sizeof zero_block;
		int err = quota__io_write_all(j->fd, zero_block, k);
		if (err) {
			if (quota__io->ftruncate(j->fd, j->size))
				atomic_store(&j->failed, 1);
			return err;
		}
		at += (int64_t)k;
	}
	void *p = mmap(NULL, (size_t)(size - off), PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, off);
	if (p == MAP_FAILED) {
		/* Go on writing records, after the last one. */
		j->mapped = 0;
		if (j->map) {
			map_release(j);
		} else if (quota__io->ftruncate(j->fd, j->end) == 0) {
			j->size = j->end;
		}
		if (j->size != j->end)
			atomic_store(&j->failed, 1);
		return j->size != j->end ? EIO : 0;
	}
	if (j->map)
		munmap(j->map, (size_t)(j->size - j->map_off));
	j->map = p;
	j->map_off = off;
	j->size = size;
	return 0;
}

/* ---- writing records ---- */

/* Append c's record; under lock. 0 or an errno value. */
static int record_write(quota__journal *j, quota__jcall *c, int64_t now)
{
	put_u64(c->w.p + FRAME_SIZE + 1, (uint64_t)now);
	uint64_t seq = atomic_load_explicit(&j->seq, memory_order_relaxed) + 1;
	int err = 0;
	if (j->mapped && j->end + (int64_t)c->w.n > j->size)
		err = map_grow(j, c->w.n);
	if (j->map)
		c->w.p[FRAME_SIZE] |= QUOTA__FRAME_MAPPED;
	quota__frame_seal(&c->w, 0, seq);
	if (!err && j->map) {
		unsigned char *at = j->map + (j->end - j->map_off);
		memcpy(at, c->w.p, 4);
		atomic_signal_fence(memory_order_seq_cst);
		memcpy(at + 4, c->w.p + 4, c->w.n - 4);
	} else if (!err) {
		err = quota__io_write_all(j->fd, c->w.p, c->w.n);
		/* Take back what part of it was written; a journal that keeps
		 * a partial record in its middle must not grow. */
		if (err && quota__io->ftruncate(j->fd, j->end))
			atomic_store(&j->failed, 1);
	}
	if (err)
		return err;
	c->seq = seq;
	c->start = j->end;
	j->end += (int64_t)c->w.n;
	atomic_store_explicit(&j->seq, seq, memory_order_release);
	atomic_fetch_add_explicit(&j->records, 1, memory_order_relaxed);
	return 0;
}

/* Make every record up to seq durable; calls share one fsync. */
static int sync_to(quota_engine *e, quota__journal *j, uint64_t seq)
{
	int err = 0;
	pthread_mutex_lock(&j->sync_lock);
	while (j->synced_seq < seq) {
		if (atomic_load(&j->failed)) {
			err = EIO;
			break;
		}
		if (j->syncing) {
			pthread_cond_wait(&j->sync_cond, &j->sync_lock);
			continue;
		}
		j->syncing = 1;
		uint64_t target = atomic_load_explicit(&j->seq, memory_order_acquire);
		int fd = j->fd;
		pthread_mutex_unlock(&j->sync_lock);
		int rc = quota__io->fsync(fd);
		int saved = errno;
		pthread_mutex_lock(&j->sync_lock);
		j->syncing = 0;
		if (rc) {
			atomic_store(&j->failed, 1);
			err = saved ? saved : EIO;
		} else {
			if (target > j->synced_seq)
				j->synced_seq = target;
			j->last_sync_ns = quota__now(e);
			atomic_fetch_add_explicit(&j->fsyncs, 1, memory_order_relaxed);
		}
		pthread_cond_broadcast(&j->sync_cond);
		if (err)
			break;
	}
	pthread_mutex_unlock(&j->sync_lock);
	return err;
}

/* Zero the mapped records from start on (the last one); 0. */
static int record_unmap(quota__journal *j, int64_t start)
{
	unsigned char *at = j->map + (start - j->map_off);
	memset(at + 4, 0, (size_t)(j->end - start) - 4);
	atomic_signal_fence(memory_order_seq_cst);
	memset(at, 0, 4);
	return 0;
}

void quota__jbegin(quota_engine *e, quota__jcall *c, int op)
{
	/* Every field but the room, which need not be zeroed: the record is
	 * written there, on the stack, unless it outgrows it. */
	c->j = NULL;
	c->w = (quota__wbuf){.p = c->room, .cap = sizeof c->room, .borrowed = 1};
	c->op = c->swept = 0;
	c->seq = 0;
	c->start = 0;
	if (!e || !e->journal || quota__jinside(e))
		return;
	c->j = e->journal;
	c->op = op;
	if (op != JOP_CHECK)
		quota__frame_begin(&c->w, op, 0);
}

int quota__jstart(quota_engine *e, quota__jcall *c)
{
	quota__journal *j = c->j;
	if (!j)
		return QUOTA_OK;
	if (c->w.status == QUOTA_ERR_NOMEM) {
		quota__put_free(&c->w);
		c->j = NULL;
		return quota__fail(QUOTA_ERR_NOMEM, "journal: out of memory for the record");
	}
	pthread_mutex_lock(&j->lock);
	if (atomic_load(&j->failed)) {
		pthread_mutex_unlock(&j->lock);
		quota__put_free(&c->w);
		c->j = NULL;
		return quota__fail(QUOTA_ERR_IO, "journal %s: an earlier write or fsync failed; "
				   "changes are refused until the engine is created again", j->path);
	}
	int64_t now = quota__now(e);
	enter(e, now);
	if (quota__deadline_due(e, now) || atomic_load(&e->sweeping))
		c->swept = quota__sweep(e, now) > 0;
	if (c->op == JOP_CHECK && c->swept) {
		/* The dry run changes nothing, but the sweep before it did: it
		 * is recorded as a tick at this time, whose replay repeats it. */
		quota__frame_begin(&c->w, JOP_TICK, now);
		quota__put_i64(&c->w, 0);
	}
	/* A record that could not be written whole (w.status INVALID) is for
	 * a call that will fail its own checks: it runs without one. */
	if ((c->op == JOP_CHECK && !c->swept) || c->w.status)
		return QUOTA_OK;
	int err = record_write(j, c, now);
	if (err) {
		leave();
		pthread_mutex_unlock(&j->lock);
		quota__put_free(&c->w);
		c->j = NULL;
		return io_fail(err, "write", j->path);
	}
	return QUOTA_OK;
}

int quota__jend(quota_engine *e, quota__jcall *c, int rc)
{
	quota__journal *j = c->j;
	if (!j)
		return rc;
	int kicked = 0;
	if (c->seq && atomic_load(&e->pending_count) > 0) {
		quota__saved_error saved;
		quota__error_save(&saved);
		quota__queue_kick(e);
		quota__error_restore(&saved);
		kicked = 1;
	}
	if (c->seq && rc != QUOTA_OK && !kicked && !c->swept &&
	    (j->map ? record_unmap(j, c->start) : quota__io->ftruncate(j->fd, c->start)) == 0) {
		/* Nothing changed: take the record back (replaying it would
		 * fail the same way, so one left behind does no harm). The
		 * record of a call whose sweep expired something stays: its
		 * replay repeats that sweep. */
		j->end = c->start;
		atomic_store_explicit(&j->seq, c->seq - 1, memory_order_release);
		c->seq = 0;
	}
	if (c->op != JOP_CHECK && c->w.status && rc == QUOTA_OK) {
		/* A change that could not be recorded: stop here. */
		atomic_store(&j->failed, 1);
		rc = quota__fail(QUOTA_ERR_INTERNAL, "journal: a change was made that its record "
				 "could not describe; changes are refused from now on");
	}
	leave();
	uint64_t seq = c->seq;
	pthread_mutex_unlock(&j->lock);
	quota__put_free(&c->w);
	if (seq && j->mode != QUOTA_SYNC_NONE) {
		int due = j->mode == QUOTA_SYNC_ALWAYS;
		if (!due) {
			pthread_mutex_lock(&j->sync_lock);
			due = quota__now(e) - j->last_sync_ns >= j->interval_ns;
			pthread_mutex_unlock(&j->sync_lock);
		}
		int err = due ? sync_to(e, j, seq) : 0;
		if (err)
			rc = io_fail(err, "fsync", j->path);
	}
	quota__after(e);
	return rc;
}

/* ---- recovery ---- */

/* Whether bytes [off, n) are all zero. */
static int zeros(const unsigned char *buf, size_t n, size_t off)
{
	for (; off < n; off++)
		if (buf[off])
			return 0;
	return 1;
}

/* Replay one record: its call at its time, with the sweep before and the
 * queue kick after that the live call had. Only a failure the live call
 * cannot have had stops recovery. */
int quota__jreplay(quota_engine *e, const quota__frame *f)
{
	quota__rmem mem = {0};
	quota__rbuf r = {f->args, f->args_len, 0, 0, &mem};
	int64_t last = atomic_load(&e->last_now);
	if (f->now > last)
		atomic_store(&e->last_now, f->now);
	enter(e, f->now);
	if (quota__deadline_due(e, f->now) || atomic_load(&e->sweeping))
		quota__sweep(e, f->now);
	int rc = quota__jreplay_call(e, f->op, &r);
	if (atomic_load(&e->pending_count) > 0)
		quota__queue_kick(e);
	leave();
	quota__rmem_free(&mem);
	if (r.status == QUOTA_ERR_CORRUPT || (r.status == QUOTA_OK && r.off != r.n))
		return quota__fail(QUOTA_ERR_CORRUPT,
				   "record %llu: its arguments do not read back",
				   (unsigned long long)f->seq);
	if (r.status)
		return quota__fail(r.status, "record %llu: out of memory",
				   (unsigned long long)f->seq);
	if (rc == QUOTA_ERR_NOMEM || rc == QUOTA_ERR_UNSUPPORTED || rc == QUOTA_ERR_INTERNAL)
		return quota__fail_prefix(rc, "record %llu", (unsigned long long)f->seq);
	return QUOTA_OK;
}

/*
 * Replay the journal file at path (when it exists): the records after
 * *seq, which must follow it without a gap; *seq becomes the last.
 * *good gets the size of the part that holds whole records (the rest is a
 * torn tail to cut), *exists whether the file was there.
 */
static int replay_file(quota_engine *e, quota__journal *j, const char *path, uint64_t *seq,
		       size_t *good, int *exists)
{
	unsigned char *buf;
	size_t n;
	*good = 0;
	*exists = 0;
	int err = quota__io_read_file(path, &buf, &n);
	if (err == ENOENT)
		return QUOTA_OK;
	if (err)
		return io_fail(err, "read", path);
	*exists = 1;
	uint64_t base = 0;
	int rc = header_check(buf, n, path, &base);
	if (!rc && base > *seq)
		rc = quota__fail(QUOTA_ERR_CORRUPT,
				 "journal %s: starts after record %llu, but the state before it "
				 "ends at record %llu",
				 path, (unsigned long long)base, (unsigned long long)*seq);
	uint64_t expect = base + 1;
	size_t off = HEADER_SIZE;
	int after_mapped = 0; /* the last good record was copied into a mapping */
	while (!rc && off < n) {
		quota__frame f;
		if (quota__frame_next(buf, n, off, &f)) {
			/* A bad record is a torn tail when nothing follows it, or
			 * when it follows a mapped record: a power loss may have
			 * written the pages after it back and not its own. */
			uint32_t len = n - off >= 4 ? get_u32(buf + off) : 0;
			int tail = n - off < FRAME_SIZE || len > n - off - FRAME_SIZE ||
				   zeros(buf, n, off + FRAME_SIZE + len) || zeros(buf, n, off) ||
				   after_mapped;
			if (!tail)
				rc = quota__fail(QUOTA_ERR_CORRUPT,
						 "journal %s: record %llu at byte %zu is damaged and "
						 "more follows",
						 path, (unsigned long long)expect, off);
			break;
		}
		if (f.seq != expect) {
			rc = quota__fail(QUOTA_ERR_CORRUPT,
					 "journal %s: record at byte %zu has sequence number %llu, "
					 "expected %llu",
					 path, off, (unsigned long long)f.seq,
					 (unsigned long long)expect);
			break;
		}
		if (f.seq > *seq) {
			if ((rc = quota__jreplay(e, &f))) {
				quota__fail_prefix(rc, "journal %s", path);
				break;
			}
			*seq = f.seq;
			j->replayed++;
		}
		after_mapped = f.mapped;
		expect++;
		off += f.size;
	}
	*good = off;
	quota__free(buf);
	return rc;
}

static char *path_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	char *p = quota__malloc(a + b + 1);
	if (p) {
		memcpy(p, path, a);
		memcpy(p + a, suffix, b + 1);
	}
	return p;
}

static void journal_free(quota__journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		map_release(j);
		quota__io->close(j->fd);
	}
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* lets go of the lock */
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->sync_lock);
	pthread_cond_destroy(&j->sync_cond);
	quota__free(j->path);
	quota__free(j->next_path);
	quota__free(j->lock_path);
	quota__free(j->snap_path);
	quota__free(j);
}

static int recover(quota_engine *e, quota__journal *j)
{
	uint64_t seq = 0;
	int rc = quota__snapshot_read(e, j->snap_path, 1, &seq);
	if (rc)
		return quota__fail_prefix(rc, "recovery");
	atomic_store(&j->snapshot_seq, seq);
	size_t good, next_good;
	int exists, next_exists;
	if ((rc = replay_file(e, j, j->path, &seq, &good, &exists)) ||
	    (rc = replay_file(e, j, j->next_path, &seq, &next_good, &next_exists)))
		return quota__fail_prefix(rc, "recovery");
	quota__events_free(e); /* replayed transitions are not news */
	atomic_store(&j->seq, seq);
	if (next_exists) {
		/* A compaction was cut short: finish one now. */
		j->fd = -1;
		return quota__journal_compact(e, j);
	}
	if (!exists) {
		j->fd = journal_create(j->path, seq);
		if (j->fd < 0)
			return io_fail(-j->fd, "create", j->path);
		j->end = j->size = HEADER_SIZE;
		return QUOTA_OK;
	}
	j->fd = quota__io->open(j->path, O_RDWR | O_APPEND, 0);
	if (j->fd < 0)
		return io_fail(errno, "open", j->path);
	/* The journal's name may not be durable yet: its creation (or a
	 * compaction's rename) can have failed at the directory's fsync. */
	if (quota__io_sync_dir(j->path))
		return io_fail(errno, "sync the directory of", j->path);
	struct stat st;
	if (fstat(j->fd, &st))
		return io_fail(errno, "stat", j->path);
	if ((size_t)st.st_size > good) {
		/* Cut the torn tail, durably, before anything follows it. */
		j->cut_bytes = (uint64_t)st.st_size - good;
		if (quota__io->ftruncate(j->fd, (off_t)good) || quota__io->fsync(j->fd))
			return io_fail(errno, "cut the torn tail of", j->path);
	}
	j->end = j->size = (int64_t)good;
	return QUOTA_OK;
}

int quota__journal_open(quota_engine *e, const quota_engine_options *o)
{
	if (o->sync_mode < QUOTA_SYNC_ALWAYS || o->sync_mode > QUOTA_SYNC_NONE)
		return quota__fail(QUOTA_ERR_INVALID, "options.sync_mode: %d is not a QUOTA_SYNC_*",
				   o->sync_mode);
	int rc = quota__check_text("options.journal_path", o->journal_path, 1, PATH_MAX - 16);
	if (rc)
		return rc;
	quota__journal *j = quota__calloc(1, sizeof *j);
	if (!j)
		return quota__fail(QUOTA_ERR_NOMEM, "journal: out of memory");
	j->fd = j->lock_fd = -1;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->sync_lock, NULL);
	pthread_cond_init(&j->sync_cond, NULL);
	j->mode = o->sync_mode;
	j->mapped = j->mode == QUOTA_SYNC_NONE;
	j->interval_ns = (int64_t)(o->sync_interval_ms ? o->sync_interval_ms : DEFAULT_INTERVAL_MS) *
			 1000000;
	j->path = quota__strdup(o->journal_path);
	j->next_path = path_with(o->journal_path, ".next");
	j->lock_path = path_with(o->journal_path, ".lock");
	j->snap_path = path_with(o->journal_path, ".snapshot");
	if (!j->path || !j->next_path || !j->lock_path || !j->snap_path) {
		journal_free(j);
		return quota__fail(QUOTA_ERR_NOMEM, "journal: out of memory");
	}
	j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lock_fd < 0) {
		rc = io_fail(errno, "open", j->lock_path);
	} else if (flock(j->lock_fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK
			     ? quota__fail(QUOTA_ERR_IN_USE,
					   "journal %s: in use by another engine (it holds %s)",
					   j->path, j->lock_path)
			     : io_fail(errno, "lock", j->lock_path);
	}
	if (!rc) {
		e->journal = j;
		rc = recover(e, j);
	}
	if (rc) {
		e->journal = NULL;
		journal_free(j);
		return rc;
	}
	j->synced_seq = atomic_load(&j->seq);
	j->last_sync_ns = quota__now(e);
	return QUOTA_OK;
}

void quota__journal_close(quota_engine *e)
{
	quota__journal *j = e->journal;
	if (!j)
		return;
	if (j->mode != QUOTA_SYNC_NONE && !atomic_load(&j->failed))
		sync_to(e, j, atomic_load(&j->seq));
	e->journal = NULL;
	journal_free(j);
}

/* ---- compaction ---- */

/*
 * Under the change lock: copy the state (quota__snapshot_build), start the
 * next journal at P.next after the last record, and let go; then write
 * the snapshot, rename P.next over P. A crash before the snapshot's rename
 * recovers from the old snapshot, P and P.next; after it, from the new
 * snapshot and whichever of P.next or P holds the records after it.
 * j->fd < 0 when called from recovery (no journal open yet).
 */

/* The part under the change lock (or in recovery): the snapshot into
 * snap, what the old journal holds made durable, appends switched to
 * P.next; *seq the record the snapshot holds up to. */
static int compact_begin(quota_engine *e, quota__journal *j, quota__wbuf *snap, uint64_t *seq)
{
	int from_recovery = j->fd < 0;
	*seq = atomic_load(&j->seq);
	int rc = quota__snapshot_build(e, *seq, snap);
	int err = 0, fd = -1;
	if (!rc && !from_recovery)
		/* What the old journal holds must be durable before a record
		 * in the next one can be (calls under way may not have synced
		 * theirs yet, whatever the mode). */
		err = sync_to(e, j, *seq);
	if (!rc && !err) {
		fd = journal_create(j->next_path, *seq);
		if (fd < 0)
			err = -fd;
	}
	if (!rc && !err) {
		pthread_mutex_lock(&j->sync_lock);
		while (j->syncing)
			pthread_cond_wait(&j->sync_cond, &j->sync_lock);
		if (j->fd >= 0) {
			map_release(j);
			quota__io->close(j->fd);
		}
		j->fd = fd;
		j->end = j->size = HEADER_SIZE;
		j->synced_seq = *seq;
		pthread_mutex_unlock(&j->sync_lock);
	}
	if (rc || err) {
		quota__put_free(snap);
		return rc ? rc : io_fail(err, "create", j->next_path);
	}
	return QUOTA_OK;
}

/* The rest, which changes need not wait for: the snapshot written, P.next
 * renamed over P. */
static int compact_finish(quota__journal *j, quota__wbuf *snap, uint64_t seq)
{
	int err = quota__io_replace(j->snap_path, snap->p, snap->n, NULL);
	quota__put_free(snap);
	if (err) {
		/* P.next stays: the next recovery replays P and P.next after the
		 * old snapshot, and compacts again. */
		return io_fail(err, "write", j->snap_path);
	}
	atomic_store(&j->snapshot_seq, seq);
	if (quota__io->rename(j->next_path, j->path) || quota__io_sync_dir(j->path))
		return io_fail(errno, "rename", j->next_path);
	atomic_fetch_add(&j->compactions, 1);
	return QUOTA_OK;
}

int quota__journal_compact(quota_engine *e, quota__journal *j)
{
	quota__wbuf snap = {0};
	uint64_t seq;
	int from_recovery = j->fd < 0;
	if (!from_recovery)
		pthread_mutex_lock(&j->lock);
	int rc = compact_begin(e, j, &snap, &seq);
	if (!from_recovery)
		pthread_mutex_unlock(&j->lock);
	return rc ? rc : compact_finish(j, &snap, seq);
}

int quota__journal_snapshot(quota_engine *e, quota__journal *j, quota__wbuf *w)
{
	pthread_mutex_lock(&j->lock);
	int rc = quota__snapshot_build(e, atomic_load(&j->seq), w);
	pthread_mutex_unlock(&j->lock);
	return rc;
}

int quota__journal_load(quota_engine *e, quota__journal *j, const char *path)
{
	quota__wbuf snap = {0};
	uint64_t seq;
	pthread_mutex_lock(&j->lock);
	int rc = atomic_load(&j->failed)
			 ? quota__fail(QUOTA_ERR_IO,
				       "journal %s: an earlier failure stopped changes", j->path)
			 : quota__snapshot_load(e, path);
	/* The whole compaction holds the lock: a change after the load
	 * must not reach the journal before the snapshot that holds it. */
	if (!rc)
		rc = compact_begin(e, j, &snap, &seq);
	if (!rc)
		rc = compact_finish(j, &snap, seq);
	if (rc && rc != QUOTA_ERR_WRONG_STATE) {
		/* The engine may hold part of the snapshot, or all of it, that
		 * the journal does not: refuse changes from now on. */
		atomic_store(&j->failed, 1);
	}
	pthread_mutex_unlock(&j->lock);
	return rc;
}

/* ---- the public calls ---- */

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
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = quota_journal_stats_init(s, s ? s->size : 0)))
		return rc;
	quota__journal *j = e->journal;
	if (!j)
		return QUOTA_OK;
	s->durable = 1;
	s->failed = atomic_load(&j->failed);
	pthread_mutex_lock(&j->sync_lock);
	s->synced_seq = j->synced_seq;
	pthread_mutex_unlock(&j->sync_lock);
	s->last_seq = atomic_load(&j->seq);
	s->snapshot_seq = atomic_load(&j->snapshot_seq);
	s->records = atomic_load(&j->records);
	s->fsyncs = atomic_load(&j->fsyncs);
	s->compactions = atomic_load(&j->compactions);
	s->replayed = j->replayed;
	s->cut_bytes = j->cut_bytes;
	pthread_mutex_lock(&j->lock);
	s->bytes = (uint64_t)j->end;
	pthread_mutex_unlock(&j->lock);
	return QUOTA_OK;
}

QUOTA_API int quota_engine_sync(quota_engine *e)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	quota__journal *j = e->journal;
	if (!j)
		return QUOTA_OK;
	if (quota__jinside(e))
		return quota__fail(QUOTA_ERR_WRONG_STATE, "engine: sync from inside a change");
	int err = sync_to(e, j, atomic_load(&j->seq));
	return err ? io_fail(err, "fsync", j->path) : QUOTA_OK;
}

QUOTA_API int quota_engine_compact(quota_engine *e)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if (!e->journal)
		return quota__fail(QUOTA_ERR_INVALID, "engine: has no journal to compact");
	if (quota__jinside(e))
		return quota__fail(QUOTA_ERR_WRONG_STATE, "engine: compact from inside a change");
	if (atomic_load(&e->journal->failed))
		return quota__fail(QUOTA_ERR_IO, "journal %s: an earlier failure stopped changes",
				   e->journal->path);
	return quota__journal_compact(e, e->journal);
}
