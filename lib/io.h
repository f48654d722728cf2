/*
 * The file calls of the journal and snapshots, through one table that a
 * test may replace (tests link the static library) to fail a chosen call,
 * or to drop what was never synced as a power loss would.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_IO_H
#define QUOTA_LIB_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct quota__io_ops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	ssize_t (*read)(int fd, void *buf, size_t n);
	int (*fsync)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int (*close)(int fd);
} quota__io_ops;

/* The table in use; the system's calls unless a test set another. */
extern const quota__io_ops *quota__io;
extern const quota__io_ops quota__io_system;

/* Write all n bytes; 0, or an errno value (a short write is ENOSPC). */
int quota__io_write_all(int fd, const void *buf, size_t n);
/* Read the whole file at path into a new buffer (quota__free); 0, or an
 * errno value (ENOENT when it does not exist). */
int quota__io_read_file(const char *path, unsigned char **out, size_t *len);
/* fsync the directory that holds path; 0 or an errno value. */
int quota__io_sync_dir(const char *path);
/* Write n bytes to path atomically: path.tmp, fsync, rename, directory
 * fsync; 0 or an errno value (path.tmp removed). With fd non-NULL the file
 * stays open for appending and *fd gets its descriptor. */
int quota__io_replace(const char *path, const void *buf, size_t n, int *fd);

#endif
