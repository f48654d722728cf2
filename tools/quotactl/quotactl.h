/*
 * quotactl: a command-line tool over an embedded libquota engine whose
 * state lives in a directory. Declarations shared by its modules.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTACTL_H
#define QUOTACTL_H

#include <stdint.h>
#include <stdio.h>

#include <quota/quota.h>

/* Exit codes; doc/quotactl.md lists them. */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1, /* anything else: I/O, a busy state directory, not found, ... */
	EXIT_INPUT = 2, /* bad input: a file, a field, a flag */
	EXIT_DENIED = 3 /* denied, exceeded, rate limited */
};

/* Output formats of -o. */
enum output_format {
	OUTPUT_TABLE = 0,
	OUTPUT_JSON = 1
};

/* What every command knows: the global options. */
struct cli {
	const char *state_dir;
	int no_journal;      /* --no-journal or QUOTACTL_NO_JOURNAL=1: the engine lives in memory */
	int memory_fallback; /* the demo: work in memory when the library has no journal yet */
};

/*
 * A command: its name, one line for the command list, its full usage (the
 * text of --help), and the function that runs it with argv[0] the command's
 * name. It returns an exit code.
 */
struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* --- messages and exit codes (util.c) --- */

/* Print "quotactl: <message>" on stderr. */
__attribute__((format(printf, 1, 2))) void report(const char *fmt, ...);
/* The exit code for a library status: 3 for denials, 2 for bad arguments, else 1. */
int exit_code(int status);
/* The exit code for a status met while reading the user's input: 2 unless the
 * failure is not the input's (out of memory, I/O, ...). */
int input_exit_code(int status);
/* Report a failed library call, "quotactl: <what>: <detail>", and return its exit code. */
int report_status(int status, const char *what);

/* --- parsing arguments (util.c) --- */

/* "30s", "500ms", "2m", "1h", "1h30m": whole milliseconds, > 0. 0 or -1 (bad input). */
int parse_duration(const char *text, int64_t *ms);
/* A count > 0. */
int parse_count(const char *text, int64_t *n);
/*
 * "Kind/Name" (cluster-wide) or "Kind/Namespace/Name" into ref, pointing
 * into buf (a copy of text of at least strlen(text) + 1 bytes).
 */
int parse_consumer(const char *text, char *buf, size_t len, quota_ref *ref);
/* "NS/NAME" or "NAME" into ns ("" when none) and name, pointing into buf. */
int parse_ns_name(const char *text, char *buf, size_t len, const char **ns, const char **name);
/* "table" or "json". */
int parse_output(const char *text, enum output_format *out);
/* A whole file ("-" for standard input), NUL-terminated; free() it. 0 or -1 (reported). */
int read_file(const char *path, char **text, size_t *len);
/* The name a file is shown by in messages. */
const char *file_label(const char *path);
/* Read a JSON file into a document: 0, or an exit code with the message printed. */
int read_json_doc(const char *path, quota_doc **out);
/* The string at a dotted path of maps ("metadata.name"), or NULL. Borrowed from d. */
const char *doc_string(const quota_doc *d, const char *path);

/*
 * Options of a command, parsed with getopt_long: --state, --no-journal and
 * --help are accepted by every command. opts is "" or the short options of
 * the command; longs its long options, ending with a zero entry. Returns
 * the option's value (as getopt_long), -1 at the end, or '?' after
 * reporting a bad option.
 */
struct option;
int next_option(struct cli *cli, const struct command *cmd, int argc, char **argv, const char *opts,
		const struct option *longs);
/* Value returned by next_option() for --help. */
#define OPT_HELP 0x100
/*
 * After the options of a command that reads -f FILE and takes no argument:
 * EXIT_OK when the file was given and nothing else, else the usage error's
 * exit code. what names the file in the message ("CLAIM.json").
 */
int check_file_only(const struct command *cmd, int argc, char **argv, const char *file,
		    const char *what);
/* Print the command's usage on stdout; returns EXIT_OK. */
int print_usage(const struct command *cmd);
/* Report a usage error for the command and return EXIT_INPUT. */
__attribute__((format(printf, 2, 3))) int usage_error(const struct command *cmd, const char *fmt,
						      ...);

/* --- the state directory and the engine (state.c) --- */

/*
 * Open the engine on the state directory: the one place that decides how
 * quotactl's engine is made. opts may be NULL or carry a clock and an event
 * callback (the demo's); the journal and sync mode are set here. Returns
 * an exit code; messages are printed.
 */
int engine_open(const struct cli *cli, quota_engine_options *opts, quota_engine **out);

/* --- output (output.c) --- */

/* An amount for people: -1 is "unlimited". buf holds at least 24 bytes. */
const char *amount_text(int64_t v, char *buf, size_t len);
/* A duration for people: "1s", "250ms", "1h". buf holds at least 24 bytes. */
const char *duration_text(int64_t ms, char *buf, size_t len);
/* A consumer as "Kind/ns/name" or "Kind/name". */
const char *ref_text(const quota_ref *r, char *buf, size_t len);
/* A claim state's name: "Reserved", "Granted", ... */
const char *claim_state_text(int32_t state);

/* A table for people: aligned columns, rows sortable. */
struct table {
	size_t columns;
	size_t lines;    /* the header and the rows */
	size_t capacity; /* lines room is made for */
	char **cells;    /* the header, then the rows, row-major */
};
int table_init(struct table *t, size_t columns, const char *const *header);
/* Add a row of t->columns strings (copied). 0 or -1 (out of memory). */
int table_add(struct table *t, const char *const *cells);
/* Sort the rows by their first key_columns columns. */
void table_sort(struct table *t, size_t key_columns);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* Print a document as indented JSON and a newline. 0 or a quota status. */
int print_json(FILE *f, const quota_doc *d);
/* Make {"apiVersion": "v1", "kind": "List", "items": items}, taking over items. */
int list_doc(quota_doc *items, quota_doc **out);

/* --- claim decisions (cmd-claim.c) --- */

enum claim_verb {
	VERB_RESERVE,
	VERB_ACQUIRE,
	VERB_CHECK
};
/*
 * Decide a claim and say how it went: a line on stdout (or the Milo
 * object, with OUTPUT_JSON), a message naming where on stderr for a
 * denial. Returns the exit code.
 */
int report_claim_decision(quota_engine *e, const char *where, const quota_claim *c,
			  enum claim_verb verb, enum output_format format);

/* --- commands --- */

int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_delete(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_describe(struct cli *cli, int argc, char **argv);
int cmd_reserve(struct cli *cli, int argc, char **argv);
int cmd_commit(struct cli *cli, int argc, char **argv);
int cmd_release(struct cli *cli, int argc, char **argv);
int cmd_admit(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_take(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
int cmd_compact(struct cli *cli, int argc, char **argv);
int cmd_demo(struct cli *cli, int argc, char **argv);

/* The buckets as the table of `get buckets` (cmd-get.c), only the consumer's when not NULL. */
int print_buckets(quota_engine *e, const quota_ref *consumer);

/* The command table (main.c); argv[0] of a command names its entry. */
const struct command *find_command(const char *name);

#endif /* QUOTACTL_H */
