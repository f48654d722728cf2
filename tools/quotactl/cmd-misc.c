/*
 * quotactl: the engine itself. metrics prints the Prometheus exposition;
 * compact folds the journal into a snapshot.
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <stdlib.h>

#include "quotactl.h"

/* The options of a command that takes no arguments: -1 to go on, else the exit code. */
static int no_arguments(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	int c;
	while ((c = next_option(cli, cmd, argc, argv, "", NULL)) != -1)
		return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	if (optind < argc)
		return usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	return -1;
}

int cmd_metrics(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	int rc = no_arguments(cli, cmd, argc, argv);
	if (rc >= 0)
		return rc;

	quota_engine *e;
	char *text;
	size_t len;
	if ((rc = engine_open(cli, NULL, &e)) != EXIT_OK)
		return rc;
	int status = quota_metrics_prometheus(e, &text, &len);
	if (status == QUOTA_OK) {
		fwrite(text, 1, len, stdout);
		quota_free(text);
	} else {
		rc = report_status(status, "metrics");
	}
	quota_engine_free(e);
	return rc;
}

int cmd_compact(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	int rc = no_arguments(cli, cmd, argc, argv);
	if (rc >= 0)
		return rc;
	if (cli->no_journal) {
		report("compact: the engine has no journal (--no-journal): nothing to compact");
		return EXIT_ERROR;
	}

	quota_engine *e;
	if ((rc = engine_open(cli, NULL, &e)) != EXIT_OK)
		return rc;
	int status = quota_engine_compact(e);
	if (status == QUOTA_OK)
		printf("compacted %s/journal\n", cli->state_dir);
	else
		rc = report_status(status, "compact");
	quota_engine_free(e);
	return rc;
}
