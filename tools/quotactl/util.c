/*
 * quotactl: messages, exit codes, and the parsing of arguments and files.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "quotactl.h"

void report(const char *fmt, ...)
{
	va_list ap;
	fputs("quotactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int exit_code(int status)
{
	switch (status) {
	case QUOTA_OK: return EXIT_OK;
	case QUOTA_ERR_EXCEEDED:
	case QUOTA_ERR_RATE_LIMITED: return EXIT_DENIED;
	case QUOTA_ERR_INVALID:
	case QUOTA_ERR_PARSE: return EXIT_INPUT;
	default: return EXIT_ERROR;
	}
}

int input_exit_code(int status)
{
	switch (status) {
	case QUOTA_ERR_INVALID:
	case QUOTA_ERR_PARSE:
	case QUOTA_ERR_UNREGISTERED:
	case QUOTA_ERR_NOT_ALLOWED:
	case QUOTA_ERR_CONFLICT:
	case QUOTA_ERR_OVERFLOW: return EXIT_INPUT;
	default: return exit_code(status);
	}
}

int report_status(int status, const char *what)
{
	const char *detail = quota_last_error();
	if (status == QUOTA_ERR_UNSUPPORTED && !(quota_features() & QUOTA_FEATURE_JSON))
		report("%s: this libquota was built without JSON support", what);
	else
		report("%s: %s", what, *detail ? detail : quota_strerror(status));
	return exit_code(status);
}

/* Milliseconds per unit of a duration. */
static const struct {
	const char *unit;
	int64_t ms;
} duration_units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
};

/* Match the unit at *p (the longest), advance past it and return its size, or 0. */
static int64_t duration_unit(const char **p)
{
	int64_t best = 0;
	size_t best_len = 0;
	for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
		size_t n = strlen(duration_units[i].unit);
		if (n > best_len && strncmp(*p, duration_units[i].unit, n) == 0) {
			best = duration_units[i].ms;
			best_len = n;
		}
	}
	*p += best_len;
	return best;
}

int parse_duration(const char *text, int64_t *ms)
{
	const char *p = text;
	int64_t total = 0;
	if (!*p)
		return -1;
	while (*p) {
		int64_t n = 0;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++)
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, *p - '0', &n))
				return -1;
		int64_t unit = duration_unit(&p);
		if (unit == 0 || __builtin_mul_overflow(n, unit, &n) ||
		    __builtin_add_overflow(total, n, &total))
			return -1;
	}
	if (total <= 0)
		return -1;
	*ms = total;
	return 0;
}

int parse_count(const char *text, int64_t *n)
{
	char *end;
	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || v <= 0)
		return -1;
	*n = v;
	return 0;
}

/* Split buf at '/' into at most max parts; the number of parts, or -1 for an empty one. */
static int split_slashes(char *buf, char **parts, int max)
{
	int n = 0;
	for (char *p = buf;; p++) {
		if (n == max)
			return -1;
		parts[n++] = p;
		p = strchr(p, '/');
		if (!p)
			break;
		*p = '\0';
	}
	for (int i = 0; i < n; i++)
		if (!*parts[i])
			return -1;
	return n;
}

static int copy_arg(const char *text, char *buf, size_t len)
{
	size_t n = strlen(text);
	if (n >= len)
		return -1;
	memcpy(buf, text, n + 1);
	return 0;
}

int parse_consumer(const char *text, char *buf, size_t len, quota_ref *ref)
{
	char *parts[3];
	if (copy_arg(text, buf, len) != 0)
		return -1;
	int n = split_slashes(buf, parts, 3);
	if (n < 2)
		return -1;
	*ref = (quota_ref){.kind = parts[0], .ns = n == 3 ? parts[1] : NULL, .name = parts[n - 1]};
	return 0;
}

int parse_ns_name(const char *text, char *buf, size_t len, const char **ns, const char **name)
{
	char *parts[2];
	if (copy_arg(text, buf, len) != 0)
		return -1;
	int n = split_slashes(buf, parts, 2);
	if (n < 1)
		return -1;
	*ns = n == 2 ? parts[0] : "";
	*name = parts[n - 1];
	return 0;
}

int parse_output(const char *text, enum output_format *out)
{
	if (strcmp(text, "table") == 0)
		*out = OUTPUT_TABLE;
	else if (strcmp(text, "json") == 0)
		*out = OUTPUT_JSON;
	else
		return -1;
	return 0;
}

const char *file_label(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf;

	if (!f) {
		report("%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(cap);
	while (buf && !ferror(f) && !feof(f)) {
		if (n + 1 == cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		n += fread(buf + n, 1, cap - n - 1, f);
	}
	int failed = !buf || ferror(f);
	if (failed)
		report("%s: %s", file_label(path), buf ? strerror(errno) : "out of memory");
	if (f != stdin)
		fclose(f);
	if (failed) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int read_json_doc(const char *path, quota_doc **out)
{
	char *text;
	size_t len;
	if (read_file(path, &text, &len) != 0)
		return EXIT_ERROR;
	int rc = quota_doc_parse_json(text, len, out);
	free(text);
	if (rc != QUOTA_OK)
		return report_status(rc, file_label(path));
	return EXIT_OK;
}

const char *doc_string(const quota_doc *d, const char *path)
{
	const char *s;
	while (d) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		if (quota_doc_map_get(d, path, len, &d) != QUOTA_OK)
			return NULL;
		if (!dot)
			return quota_doc_get_string(d, &s, NULL) == QUOTA_OK ? s : NULL;
		path = dot + 1;
	}
	return NULL;
}

enum {
	OPT_STATE = 0x101,
	OPT_NO_JOURNAL
};

int next_option(struct cli *cli, const struct command *cmd, int argc, char **argv, const char *opts,
		const struct option *longs)
{
	struct option all[16];
	char shorts[32];
	size_t n = 0;

	for (; longs && longs[n].name && n < 12; n++)
		all[n] = longs[n];
	all[n++] = (struct option){"state", required_argument, NULL, OPT_STATE};
	all[n++] = (struct option){"no-journal", no_argument, NULL, OPT_NO_JOURNAL};
	all[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	all[n] = (struct option){NULL, 0, NULL, 0};
	snprintf(shorts, sizeof shorts, ":%sh", opts);
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts, all, NULL);
		switch (c) {
		case OPT_STATE: cli->state_dir = optarg; break;
		case OPT_NO_JOURNAL: cli->no_journal = 1; break;
		case 'h': return OPT_HELP;
		case ':': usage_error(cmd, "option %s needs a value", argv[optind - 1]); return '?';
		case '?': usage_error(cmd, "unknown option %s", argv[optind - 1]); return '?';
		default: return c;
		}
	}
}

int check_file_only(const struct command *cmd, int argc, char **argv, const char *file,
		    const char *what)
{
	if (!file)
		return usage_error(cmd, "-f %s is required", what);
	if (optind < argc)
		return usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	return EXIT_OK;
}

int print_usage(const struct command *cmd)
{
	fputs(cmd->usage, stdout);
	return EXIT_OK;
}

int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "quotactl: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see quotactl %s --help)\n", cmd->name);
	return EXIT_INPUT;
}
