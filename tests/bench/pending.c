/*
 * Scenarios whose library features do not exist yet: policy admission
 * (admit) and the journal (journal). Each prints its
 * cases as "pending: feature not built" so that the report shows the gap.
 *
 * When a feature lands, replace its bench_pending() calls with a state, a
 * bench_run_fn and bench_measure() calls, as in cases.c:
 *
 *   admit    a 2 KB JSON trigger with 3 constraints and 2 templates; one op
 *            = the full admission, JSON parse included. 1 thread (and 2).
 *            Goal: <= 100,000 instructions (callgrind mode).
 *   journal  acquire + release (claim scenario, 1 request) with the journal
 *            in sync none, batch and always; compare with claim's in-memory
 *            acquire+release-1req. Goals: none >= 50% of in-memory ops/s,
 *            batch >= 100,000 ops/s.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#define NOT_BUILT "feature not built"

int scenario_admit(void)
{
	for (int t = 1; t <= 2; t++)
		bench_pending("admit", "json-2KB-3c-2t", t, NOT_BUILT " (policy admission)");
	return 0;
}

int scenario_journal(void)
{
	static const char *const sync[] = {"sync-none", "sync-batch", "sync-always"};
	for (int t = 1; t <= 2; t++)
		for (int i = 0; i < 3; i++)
			bench_pending("journal", sync[i], t, NOT_BUILT " (journal)");
	return 0;
}
