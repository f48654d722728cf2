/*
 * A simulated disk behind the journal's I/O table (lib/io.h), for the
 * power-loss and fault tests (doc/durability.md).
 *
 * Every call still goes to the real file system, which plays the page
 * cache: what the process sees. Beside it the table keeps what a power
 * loss would leave, the way POSIX promises it and no more:
 * - the durable bytes of each file (an inode, followed through renames by
 *   its inode number): what its contents were at its last fsync;
 * - the durable directory: which name leads to which file as of the last
 *   fsync of the directory. A create, rename or unlink before it may be
 *   lost (the old names come back) or not.
 * An fsync through the table records durability here and does not reach
 * the real disk: the test's disk is this model, and the tests stay quick.
 *
 * Faults: the Nth call of a chosen set fails, once or from then on, with
 * a chosen errno; or the power goes at the Nth call, after which every
 * call fails (the process is as good as dead) and nothing becomes
 * durable. pfs_image() then builds what a power loss leaves, in several
 * legal variants, and pfs_image_write() puts it in place of the directory.
 *
 * One directory, one process, one thread at a time.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_POWERFS_H
#define QUOTA_TESTS_POWERFS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#define PFS_MAX_FILES 32
#define PFS_MAX_FDS 256
#define PFS_NAME_MAX 96
#define PFS_PATH 320 /* pfs_join: at most 200 + 1 + 100 bytes */

/* The calls of the table, as fault targets (bits of pfs.fault.ops). */
enum pfs_op {
	PFS_OPEN = 1 << 0,   /* open without O_CREAT (files and the directory) */
	PFS_CREATE = 1 << 1, /* open with O_CREAT */
	PFS_WRITE = 1 << 2,
	PFS_READ = 1 << 3,
	PFS_FSYNC = 1 << 4,   /* of a file */
	PFS_DIRSYNC = 1 << 5, /* of the directory */
	PFS_FTRUNCATE = 1 << 6,
	PFS_RENAME = 1 << 7,
	PFS_UNLINK = 1 << 8,
	PFS_CLOSE = 1 << 9,
	PFS_ALL = (1 << 10) - 1
};

struct pfs_bytes {
	unsigned char *p;
	size_t n;
};

struct pfs_file {
	ino_t ino;
	struct pfs_bytes durable;
};

struct pfs_entry {
	char name[PFS_NAME_MAX];
	int file; /* index in pfs.files */
};

static struct {
	char dir[256];
	struct pfs_file files[PFS_MAX_FILES];
	int file_count;
	struct pfs_entry names[PFS_MAX_FILES]; /* the directory as of its last fsync */
	int name_count;
	int fd_file[PFS_MAX_FDS]; /* file index + 1; -1: the directory; 0: not ours */
	long calls;               /* calls through the table since pfs_start */
	long faults;              /* faults injected since pfs_start */
	int power_off;            /* every call fails, nothing becomes durable */
	struct {
		unsigned ops; /* which calls count (enum pfs_op); 0: no fault */
		long at;      /* the at-th counted call fails (1-based) */
		long seen;
		int forever; /* and every counted call after it */
		int power;   /* the power goes instead */
		int err;     /* errno of the failure */
		int partial; /* a failing write first writes half of its buffer */
	} fault;
} pfs;

/* ---- plain file helpers (not through the table) ---- */

static inline void pfs_bytes_free(struct pfs_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static inline struct pfs_bytes pfs_read_fd(int fd)
{
	struct pfs_bytes b = {NULL, 0};
	size_t cap = 0;
	for (;;) {
		if (b.n == cap) {
			cap = cap ? cap * 2 : 4096;
			b.p = realloc(b.p, cap);
		}
		ssize_t r = read(fd, b.p + b.n, cap - b.n);
		if (r <= 0)
			break;
		b.n += (size_t)r;
	}
	return b;
}

/* The contents of path, or {NULL, 0} when it cannot be opened. */
static inline struct pfs_bytes pfs_read_path(const char *path)
{
	struct pfs_bytes b = {NULL, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		b = pfs_read_fd(fd);
		close(fd);
	}
	return b;
}

static inline int pfs_write_path(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = n ? write(fd, p, n) : 0;
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static inline void pfs_join(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%.200s/%.100s", pfs.dir, name);
}

/* Each regular file in the directory, as the real file system has it. */
static inline int pfs_list(struct pfs_entry *out, ino_t *inos, int cap)
{
	int n = 0;
	DIR *d = opendir(pfs.dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < cap) {
		char p[PFS_PATH];
		struct stat st;
		pfs_join(p, sizeof p, de->d_name);
		if (strlen(de->d_name) >= PFS_NAME_MAX || stat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		strcpy(out[n].name, de->d_name);
		out[n].file = -1;
		inos[n++] = st.st_ino;
	}
	closedir(d);
	return n;
}

/* The model's file for an inode; a new one, with durable bytes read from
 * path (NULL: none, a file just created), when it has none yet. */
static inline int pfs_file_of(ino_t ino, const char *path)
{
	for (int i = 0; i < pfs.file_count; i++)
		if (pfs.files[i].ino == ino)
			return i;
	if (pfs.file_count == PFS_MAX_FILES)
		abort();
	struct pfs_file *f = &pfs.files[pfs.file_count];
	f->ino = ino;
	f->durable = path ? pfs_read_path(path) : (struct pfs_bytes){NULL, 0};
	return pfs.file_count++;
}

/* The durable directory becomes what the real one holds now. */
static inline void pfs_sync_names(void)
{
	ino_t inos[PFS_MAX_FILES];
	int n = pfs_list(pfs.names, inos, PFS_MAX_FILES);
	for (int i = 0; i < n; i++) {
		char p[PFS_PATH];
		pfs_join(p, sizeof p, pfs.names[i].name);
		pfs.names[i].file = pfs_file_of(inos[i], p);
	}
	pfs.name_count = n;
}

/* ---- the table ---- */

/* Whether this call fails; errno is set when it does. */
static inline int pfs_fails(unsigned op)
{
	pfs.calls++;
	if (pfs.power_off) {
		errno = EIO;
		return 1;
	}
	if (!(pfs.fault.ops & op))
		return 0;
	long k = ++pfs.fault.seen;
	if (k < pfs.fault.at || (k > pfs.fault.at && !pfs.fault.forever))
		return 0;
	pfs.faults++;
	if (pfs.fault.power) {
		pfs.power_off = 1;
		errno = EIO;
	} else {
		errno = pfs.fault.err;
	}
	return 1;
}

static inline int pfs_ours(const char *path)
{
	size_t n = strlen(pfs.dir);
	return strncmp(path, pfs.dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static inline int pfs_open(const char *path, int flags, mode_t mode)
{
	if (pfs_fails(flags & O_CREAT ? PFS_CREATE : PFS_OPEN))
		return -1;
	struct stat st;
	int existed = stat(path, &st) == 0;
	int fd = quota__io_system.open(path, flags, mode);
	if (fd < 0 || fd >= PFS_MAX_FDS || !pfs_ours(path))
		return fd;
	if (strcmp(path, pfs.dir) == 0) {
		pfs.fd_file[fd] = -1;
	} else if (fstat(fd, &st) == 0) {
		/* A new file may get the inode number of one unlinked before,
		 * which the durable directory may still name. */
		for (int i = 0; i < pfs.file_count && !existed; i++)
			if (pfs.files[i].ino == st.st_ino)
				pfs.files[i].ino = 0;
		pfs.fd_file[fd] = pfs_file_of(st.st_ino, NULL) + 1;
	}
	return fd;
}

static inline ssize_t pfs_write(int fd, const void *buf, size_t n)
{
	int partial = pfs.fault.partial && !pfs.power_off;
	if (pfs_fails(PFS_WRITE)) {
		if (partial && n > 1 && !pfs.power_off) {
			pfs.fault.partial = 0; /* the next write fails whole */
			pfs.fault.forever = 1;
			return write(fd, buf, n / 2);
		}
		return -1;
	}
	return write(fd, buf, n);
}

static inline ssize_t pfs_read(int fd, void *buf, size_t n)
{
	return pfs_fails(PFS_READ) ? -1 : read(fd, buf, n);
}

static inline int pfs_fsync(int fd)
{
	int which = fd >= 0 && fd < PFS_MAX_FDS ? pfs.fd_file[fd] : 0;
	if (pfs_fails(which < 0 ? PFS_DIRSYNC : PFS_FSYNC))
		return -1;
	if (which < 0) {
		pfs_sync_names();
	} else if (which > 0) {
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd); /* fd may be write-only */
		struct pfs_file *f = &pfs.files[which - 1];
		pfs_bytes_free(&f->durable);
		f->durable = pfs_read_path(p);
	} else {
		return fsync(fd);
	}
	return 0;
}

static inline int pfs_ftruncate(int fd, off_t len)
{
	return pfs_fails(PFS_FTRUNCATE) ? -1 : ftruncate(fd, len);
}

static inline int pfs_rename(const char *from, const char *to)
{
	return pfs_fails(PFS_RENAME) ? -1 : rename(from, to);
}

static inline int pfs_unlink(const char *path)
{
	return pfs_fails(PFS_UNLINK) ? -1 : unlink(path);
}

static inline int pfs_close(int fd)
{
	/* A descriptor is gone after close, whatever it answers. */
	int failed = pfs_fails(PFS_CLOSE) && !pfs.power_off;
	int saved = errno;
	if (fd >= 0 && fd < PFS_MAX_FDS)
		pfs.fd_file[fd] = 0;
	int rc = close(fd);
	if (failed) {
		errno = saved;
		return -1;
	}
	return rc;
}

static const quota__io_ops pfs_table = {
	.open = pfs_open,
	.write = pfs_write,
	.read = pfs_read,
	.fsync = pfs_fsync,
	.ftruncate = pfs_ftruncate,
	.rename = pfs_rename,
	.unlink = pfs_unlink,
	.close = pfs_close,
};

static inline void pfs_forget(void)
{
	for (int i = 0; i < pfs.file_count; i++)
		pfs_bytes_free(&pfs.files[i].durable);
	pfs.file_count = pfs.name_count = 0;
}

/*
 * Start modelling dir (no descriptor of it may be open): everything in it
 * now is durable. Installs the table, without a fault.
 */
static inline void pfs_start(const char *dir)
{
	pfs_forget();
	snprintf(pfs.dir, sizeof pfs.dir, "%s", dir);
	memset(pfs.fd_file, 0, sizeof pfs.fd_file);
	memset(&pfs.fault, 0, sizeof pfs.fault);
	pfs.calls = pfs.faults = 0;
	pfs.power_off = 0;
	pfs_sync_names();
	quota__io = &pfs_table;
}

static inline void pfs_stop(void)
{
	quota__io = &quota__io_system;
	pfs_forget();
}

/* From now on, the at-th call among ops fails with err (once, or forever). */
static inline void pfs_fail(unsigned ops, long at, int err, int forever)
{
	memset(&pfs.fault, 0, sizeof pfs.fault);
	pfs.fault.ops = ops;
	pfs.fault.at = at;
	pfs.fault.err = err;
	pfs.fault.forever = forever;
}

/* From now on, the power goes at the at-th call among ops. */
static inline void pfs_power_at(unsigned ops, long at)
{
	pfs_fail(ops, at, EIO, 1);
	pfs.fault.power = 1;
}

/* The durable bytes of the file the real name leads to now (NULL when the
 * name does not exist or the file is not modelled). */
static inline const struct pfs_bytes *pfs_durable(const char *name)
{
	char p[PFS_PATH];
	struct stat st;
	pfs_join(p, sizeof p, name);
	if (stat(p, &st))
		return NULL;
	for (int i = 0; i < pfs.file_count; i++)
		if (pfs.files[i].ino == st.st_ino)
			return &pfs.files[i].durable;
	return NULL;
}

/* ---- what a power loss leaves ---- */

enum pfs_names {
	PFS_NAMES_SYNCED,  /* the directory as of its last fsync */
	PFS_NAMES_WRITTEN, /* every create, rename and unlink made it */
};

enum pfs_data {
	PFS_DATA_SYNCED,  /* each file as of its last fsync */
	PFS_DATA_HALF,    /* and half of what was appended since */
	PFS_DATA_WRITTEN, /* and all of it */
};

struct pfs_image {
	int count;
	struct pfs_entry names[PFS_MAX_FILES];
	struct pfs_bytes data[PFS_MAX_FILES];
};

/* The contents the real file system holds for a file now, if a name
 * still leads to it. */
static inline struct pfs_bytes pfs_current(int file)
{
	struct pfs_entry now[PFS_MAX_FILES];
	ino_t inos[PFS_MAX_FILES];
	int n = pfs_list(now, inos, PFS_MAX_FILES);
	for (int i = 0; i < n; i++) {
		if (inos[i] == pfs.files[file].ino) {
			char p[PFS_PATH];
			pfs_join(p, sizeof p, now[i].name);
			return pfs_read_path(p);
		}
	}
	return (struct pfs_bytes){NULL, 0};
}

/* What a power loss now would leave (descriptors may be open). */
static inline void pfs_image(struct pfs_image *img, enum pfs_names names, enum pfs_data data)
{
	ino_t inos[PFS_MAX_FILES];
	if (names == PFS_NAMES_WRITTEN) {
		img->count = pfs_list(img->names, inos, PFS_MAX_FILES);
		for (int i = 0; i < img->count; i++) {
			char p[PFS_PATH];
			pfs_join(p, sizeof p, img->names[i].name);
			img->names[i].file = pfs_file_of(inos[i], p);
		}
	} else {
		img->count = pfs.name_count;
		memcpy(img->names, pfs.names, sizeof pfs.names);
	}
	for (int i = 0; i < img->count; i++) {
		const struct pfs_bytes *d = &pfs.files[img->names[i].file].durable;
		struct pfs_bytes cur = pfs_current(img->names[i].file);
		size_t keep = d->n;
		/* Appended data may arrive; data the file had before may not
		 * change without an fsync. */
		if (data != PFS_DATA_SYNCED && cur.n > d->n &&
		    (!d->n || !memcmp(cur.p, d->p, d->n)))
			keep = data == PFS_DATA_WRITTEN ? cur.n : d->n + (cur.n - d->n) / 2;
		img->data[i].n = keep;
		img->data[i].p = malloc(keep + 1);
		if (keep > d->n)
			memcpy(img->data[i].p, cur.p, keep);
		else if (keep)
			memcpy(img->data[i].p, d->p, keep);
		pfs_bytes_free(&cur);
	}
}

static inline void pfs_image_free(struct pfs_image *img)
{
	for (int i = 0; i < img->count; i++)
		pfs_bytes_free(&img->data[i]);
	img->count = 0;
}

/* Put img in place of the directory's files (no engine may be open) and
 * model the directory afresh, as after a reboot. */
static inline int pfs_image_write(const struct pfs_image *img)
{
	struct pfs_entry now[PFS_MAX_FILES];
	ino_t inos[PFS_MAX_FILES];
	char p[PFS_PATH];
	int rc = 0;
	int n = pfs_list(now, inos, PFS_MAX_FILES);
	for (int i = 0; i < n; i++) {
		pfs_join(p, sizeof p, now[i].name);
		rc |= unlink(p);
	}
	for (int i = 0; i < img->count; i++) {
		pfs_join(p, sizeof p, img->names[i].name);
		rc |= pfs_write_path(p, img->data[i].p, img->data[i].n);
	}
	char dir[256];
	snprintf(dir, sizeof dir, "%s", pfs.dir);
	pfs_start(dir);
	return rc;
}

#endif /* QUOTA_TESTS_POWERFS_H */
