/*
 * File calls through a replaceable table (io.h).
 * SPDX-License-Identifier: MIT
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}

const quota__io_ops quota__io_system = {
	.open = sys_open,
	.write = write,
	.read = read,
	.fsync = fsync,
	.ftruncate = ftruncate,
	.rename = rename,
	.unlink = unlink,
	.close = close,
};

const quota__io_ops *quota__io = &quota__io_system;

int quota__io_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = quota__io->write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno ? errno : EIO;
		}
		if (w == 0)
			return ENOSPC;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int quota__io_read_file(const char *path, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = quota__io->open(path, O_RDONLY, 0);
	if (fd < 0)
		return errno ? errno : EIO;
	size_t cap = 0, n = 0;
	unsigned char *buf = NULL;
	for (;;) {
		if (n == cap) {
			size_t grown = cap ? cap * 2 : 65536;
			unsigned char *p = grown > cap ? quota__malloc(grown) : NULL;
			if (!p) {
				quota__free(buf);
				quota__io->close(fd);
				return ENOMEM;
			}
			if (n)
				memcpy(p, buf, n);
			quota__free(buf);
			buf = p;
			cap = grown;
		}
		ssize_t r = quota__io->read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = errno ? errno : EIO;
			quota__free(buf);
			quota__io->close(fd);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	quota__io->close(fd);
	*out = buf;
	*len = n;
	return 0;
}

int quota__io_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof dir)
			return ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = quota__io->open(dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno ? errno : EIO;
	int rc = quota__io->fsync(fd) ? (errno ? errno : EIO) : 0;
	quota__io->close(fd);
	return rc;
}

int quota__io_replace(const char *path, const void *buf, size_t n, int *fd_out)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return ENAMETOOLONG;
	/* Read and write: a journal in QUOTA_SYNC_NONE maps the file. */
	int fd = quota__io->open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		return errno ? errno : EIO;
	int rc = quota__io_write_all(fd, buf, n);
	if (!rc && quota__io->fsync(fd))
		rc = errno ? errno : EIO;
	if (!rc && quota__io->rename(tmp, path))
		rc = errno ? errno : EIO;
	if (!rc)
		rc = quota__io_sync_dir(path);
	if (rc || !fd_out) {
		if (quota__io->close(fd) && !rc)
			rc = errno ? errno : EIO;
	} else {
		*fd_out = fd;
	}
	if (rc)
		quota__io->unlink(tmp);
	return rc;
}
