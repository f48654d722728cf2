/*
 * Scenarios whose library features do not exist yet: the journal
 * (journal). Each prints its cases as "pending: feature not built" so that
 * the report shows the gap.
 *
 * When a feature lands, replace its bench_pending() calls with a state, a
 * bench_run_fn and bench_measure() calls, as in cases.c (admit.c did so
 * for policy admission):
 *
 *   journal  acquire + release (claim scenario, 1 request) with the journal
 *            in sync none, batch and always; compare with claim's in-memory
 *            acquire+release-1req. Goals: none >= 50% of in-memory ops/s,
 *            batch >= 100,000 ops/s.
 *
 * SPDX-License-Identifier: MIT
 */
#include "bench.h"

#define NOT_BUILT "feature not built"

int scenario_journal(void)
{
	static const char *const sync[] = {"sync-none", "sync-batch", "sync-always"};
	for (int t = 1; t <= 2; t++)
		for (int i = 0; i < 3; i++)
			bench_pending("journal", sync[i], t, NOT_BUILT " (journal)");
	return 0;
}
