/*
 * quotactl: the command table, the global options and dispatch.
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "quotactl.h"

#define STATE_HELP "      --state DIR     the state directory (default ./quota-state)\n"

static const struct command commands[] = {
	{"apply", "load registrations, grants and claims from Milo JSON objects",
	 "usage: quotactl apply -f FILE|DIR|-\n"
	 "\n"
	 "Load Milo JSON objects (one object, an array, or a List): registrations and\n"
	 "grants are applied, all of a file or none of it; claims are then acquired,\n"
	 "as creating a ResourceClaim asks for it. DIR: every *.json in it, by name.\n"
	 "\n"
	 "  -f, --filename FILE   the file, a directory, or - for standard input\n" STATE_HELP,
	 cmd_apply},
	{"delete", "delete a registration, grant, claim or policy",
	 "usage: quotactl delete KIND NAME\n"
	 "\n"
	 "  registration TYPE     unregister a resource type (refused while in use)\n"
	 "  grant NS/NAME         delete a grant (NAME alone: no namespace)\n"
	 "  claim NS/NAME         release a claim\n"
	 "  claimpolicy NAME      delete a ClaimCreationPolicy\n"
	 "  grantpolicy NAME      delete a GrantCreationPolicy\n" STATE_HELP,
	 cmd_delete},
	{"get", "list registrations, grants, buckets, claims, policies or quotas",
	 "usage: quotactl get registrations|grants|buckets|claims|policies|quotas [options]\n"
	 "\n"
	 "  -o, --output FORMAT   table (default) or json (Milo objects)\n"
	 "      --consumer REF    only this consumer's grants, buckets, claims or quotas:\n"
	 "                        Kind/Name or Kind/Namespace/Name\n" STATE_HELP,
	 cmd_get},
	{"describe", "show one bucket or claim in detail",
	 "usage: quotactl describe bucket CONSUMER TYPE [--selector SELECTOR]\n"
	 "       quotactl describe claim NS/NAME\n"
	 "\n"
	 "  CONSUMER              Kind/Name or Kind/Namespace/Name\n"
	 "      --selector S      a selector bucket, as `get buckets` shows it\n" STATE_HELP,
	 cmd_describe},
	{"reserve", "reserve a claim (held until committed, released or expired)",
	 "usage: quotactl reserve -f CLAIM.json [--ttl DURATION] [--queue] [-o table|json]\n"
	 "\n"
	 "  -f, --filename FILE   ResourceClaim objects (- for standard input)\n"
	 "      --ttl DURATION    the reservation expires if not committed (30s, 2m, 1h)\n"
	 "      --queue           wait as Pending when it does not fit\n"
	 "  -o, --output FORMAT   table (default) or json (the claim as Milo writes it)\n" STATE_HELP,
	 cmd_reserve},
	{"acquire", "reserve and commit a claim in one step",
	 "usage: quotactl acquire -f CLAIM.json [--queue] [-o table|json]\n"
	 "\n"
	 "  -f, --filename FILE   ResourceClaim objects (- for standard input)\n"
	 "      --queue           wait as Pending when it does not fit\n"
	 "  -o, --output FORMAT   table (default) or json\n" STATE_HELP,
	 cmd_reserve},
	{"check", "would a claim fit now? (changes nothing)",
	 "usage: quotactl check -f CLAIM.json [-o table|json]\n"
	 "\n"
	 "  -f, --filename FILE   ResourceClaim objects (- for standard input)\n"
	 "  -o, --output FORMAT   table (default) or json\n" STATE_HELP,
	 cmd_reserve},
	{"commit", "commit a reserved claim", "usage: quotactl commit NS/NAME\n" STATE_HELP,
	 cmd_commit},
	{"release", "release a claim; its capacity returns at once",
	 "usage: quotactl release NS/NAME\n" STATE_HELP, cmd_release},
	{"admit", "admit an object through the claim creation policies",
	 "usage: quotactl admit -f TRIGGER.json [--dry-run] [--user USER.json]\n"
	 "\n"
	 "  -f, --filename FILE   the object being created (- for standard input)\n"
	 "      --dry-run         decide, charge nothing\n"
	 "      --user FILE       the user info the policies see as `user`\n" STATE_HELP,
	 cmd_admit},
	{"sync", "tell the grant creation policies an object was added, updated or deleted",
	 "usage: quotactl sync -f TRIGGER.json [--event added|updated|deleted]\n"
	 "\n"
	 "  -f, --filename FILE   the object (- for standard input)\n"
	 "      --event EVENT     what happened to it (default added)\n" STATE_HELP,
	 cmd_sync},
	{"take", "take from a rate limit",
	 "usage: quotactl take CONSUMER TYPE N\n"
	 "\n"
	 "  CONSUMER              Kind/Name or Kind/Namespace/Name\n" STATE_HELP,
	 cmd_take},
	{"metrics", "print the counters and gauges in the Prometheus text format",
	 "usage: quotactl metrics\n" STATE_HELP, cmd_metrics},
	{"compact", "write a snapshot and start a fresh journal",
	 "usage: quotactl compact\n" STATE_HELP, cmd_compact},
	{"demo", "a narrated tour of libquota in a temporary state directory",
	 "usage: quotactl demo [--keep]\n"
	 "\n"
	 "      --keep            keep the temporary state directory and print its path\n",
	 cmd_demo},
};

static const size_t command_count = sizeof commands / sizeof commands[0];

const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < command_count; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_main_usage(FILE *f)
{
	fputs("usage: quotactl [--state DIR] COMMAND [ARGS]\n"
	      "\n"
	      "Quotas of a libquota engine whose state lives in a directory.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < command_count; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Options:\n"
	      "      --state DIR   the state directory (default ./quota-state)\n"
	      "  -h, --help        this help; `quotactl COMMAND --help` for a command's\n"
	      "      --version     the versions of quotactl and libquota\n"
	      "\n"
	      "Exit status: 0 done, 1 failed, 2 bad input, 3 denied.\n",
	      f);
}

static int print_version(void)
{
	uint64_t features = quota_features();
	printf("quotactl %s (libquota %s%s)\n", QUOTACTL_VERSION, quota_version_string(),
	       (features & QUOTA_FEATURE_JSON) ? ", json" : ", no json");
	return EXIT_OK;
}

enum {
	GLOBAL_STATE = 0x200,
	GLOBAL_NO_JOURNAL,
	GLOBAL_VERSION
};

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"state", required_argument, NULL, GLOBAL_STATE},
		{"no-journal", no_argument, NULL, GLOBAL_NO_JOURNAL},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, GLOBAL_VERSION},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("QUOTACTL_NO_JOURNAL");
	struct cli cli = {
		.state_dir = "./quota-state",
		.no_journal = env && strcmp(env, "1") == 0,
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
		switch (c) {
		case GLOBAL_STATE: cli.state_dir = optarg; break;
		case GLOBAL_NO_JOURNAL: cli.no_journal = 1; break;
		case 'h': print_main_usage(stdout); return EXIT_OK;
		case GLOBAL_VERSION: return print_version();
		case ':': report("option %s needs a value", argv[optind - 1]); return EXIT_INPUT;
		default:
			report("unknown option %s (see quotactl --help)", argv[optind - 1]);
			return EXIT_INPUT;
		}
	}
	if (optind >= argc) {
		report("no command given (see quotactl --help)");
		return EXIT_INPUT;
	}
	const struct command *cmd = find_command(argv[optind]);
	if (!cmd) {
		report("unknown command \"%s\" (see quotactl --help)", argv[optind]);
		return EXIT_INPUT;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* the command parses its own options from a fresh start */
	return cmd->run(&cli, argc, argv);
}
