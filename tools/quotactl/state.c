/*
 * quotactl: the state directory and the engine kept in it.
 *
 * DIR/FORMAT     "libquota-state 1\n": this is a quotactl state directory
 * DIR/journal    the engine's journal; the engine keeps journal.snapshot,
 *                journal.lock, ... beside it
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quotactl.h"

static const char format_marker[] = "libquota-state 1\n";

/* Does the directory hold anything but . and ..? 1, 0, or -1 (reported). */
static int dir_has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int found = 0;
	if (!d) {
		report("%s: %s", dir, strerror(errno));
		return -1;
	}
	while (!found && (ent = readdir(d)))
		found = strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0;
	closedir(d);
	return found;
}

/* Write the marker into a new file; fsynced, so that a crash leaves it whole or absent. */
static int write_marker(const char *path)
{
	size_t len = sizeof format_marker - 1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		report("%s: %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	int ok = write(fd, format_marker, len) == (ssize_t)len && fsync(fd) == 0;
	if (!ok)
		report("%s: %s", path, strerror(errno));
	if (close(fd) != 0 && ok) {
		report("%s: %s", path, strerror(errno));
		ok = 0;
	}
	return ok ? EXIT_OK : EXIT_ERROR;
}

/* The marker is there and says what quotactl writes: EXIT_OK, or an exit code (reported). */
static int check_marker(const char *dir, const char *path)
{
	char buf[64];
	FILE *f = fopen(path, "rb");
	if (!f) {
		report("%s: %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		report("%s: %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	buf[n] = '\0';
	if (strcmp(buf, format_marker) != 0) {
		report("%s: not a quotactl state directory, or a format this quotactl does not "
		       "know (%s does not say \"libquota-state 1\")",
		       dir, path);
		return EXIT_INPUT;
	}
	return EXIT_OK;
}

/*
 * Make sure dir is a state directory: create it (mode 0700) with its
 * marker when missing, mark it when empty, and refuse anything else
 * without the marker.
 */
static int prepare_state_dir(const char *dir)
{
	struct stat st;
	char *marker;
	int rc;

	if (asprintf(&marker, "%s/FORMAT", dir) < 0) {
		report("out of memory");
		return EXIT_ERROR;
	}
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0) {
			report("%s: %s", dir, strerror(errno));
			rc = EXIT_ERROR;
		} else {
			rc = write_marker(marker);
		}
	} else if (!S_ISDIR(st.st_mode)) {
		report("%s: not a directory", dir);
		rc = EXIT_INPUT;
	} else if (access(marker, F_OK) == 0) {
		rc = check_marker(dir, marker);
	} else {
		int entries = dir_has_entries(dir);
		if (entries > 0)
			report("%s: not a quotactl state directory (it is not empty and has no "
			       "FORMAT file)",
			       dir);
		rc = entries < 0 ? EXIT_ERROR : entries ? EXIT_INPUT : write_marker(marker);
	}
	free(marker);
	return rc;
}

int engine_open(const struct cli *cli, quota_engine_options *opts, quota_engine **out)
{
	quota_engine_options defaults;
	char *journal = NULL;
	int rc = prepare_state_dir(cli->state_dir);

	*out = NULL;
	if (rc != EXIT_OK)
		return rc;
	if (!opts) {
		quota_engine_options_init(&defaults, sizeof defaults);
		opts = &defaults;
	}
	if (!cli->no_journal) {
		if (asprintf(&journal, "%s/journal", cli->state_dir) < 0) {
			report("out of memory");
			return EXIT_ERROR;
		}
		opts->journal_path = journal;
		opts->sync_mode = QUOTA_SYNC_ALWAYS;
	}
	rc = quota_engine_new(out, opts);
	if (rc == QUOTA_ERR_UNSUPPORTED && journal && cli->memory_fallback) {
		opts->journal_path = NULL;
		rc = quota_engine_new(out, opts);
	}
	opts->journal_path = NULL;
	free(journal);

	switch (rc) {
	case QUOTA_OK: return EXIT_OK;
	case QUOTA_ERR_IN_USE:
		report("%s: the state is in use by another quotactl (or another program); try "
		       "again when it is done (%s)",
		       cli->state_dir, quota_last_error());
		return EXIT_ERROR;
	case QUOTA_ERR_UNSUPPORTED:
		report("%s: the journal was written by a newer libquota (%s)", cli->state_dir,
		       quota_last_error());
		return EXIT_ERROR;
	case QUOTA_ERR_CORRUPT:
		report("%s: the journal is damaged: %s", cli->state_dir, quota_last_error());
		return EXIT_ERROR;
	default:
		report("%s: cannot open the engine: %s", cli->state_dir, quota_last_error());
		return EXIT_ERROR;
	}
}
