#!/usr/bin/env bash
# Build libquota in every configuration that matters and run its tests:
#
#   build/        gcc, debugoptimized, warnings as errors    whole suite
#   build-nojson/ gcc, -Djson=disabled                       whole suite but crash
#   build-asan/   gcc, AddressSanitizer + UBSan, no recovery whole suite, crash
#                 with QUOTA_CRASH_CYCLES=300
#   build-tsan/   clang, ThreadSanitizer                     concurrency tests
#   build-clang/  clang, warnings as errors                  whole suite but crash
#   build/        again, under valgrind memcheck             C unit tests
#   build-cov/    gcc, --coverage                            whole suite but fuzz; gcovr
#                 gate: >= 90 % of lib/'s lines, >= 80 % of its branches
#   build-fuzz/   clang, libFuzzer + ASan/UBSan              JSON loader, expressions, journal
#                 recovery, snapshots and API call sequences against a
#                 reference model fuzzed for QUOTA_FUZZ_SECONDS (default 30) each
#
# Installs missing Debian packages first (needs root then). A stage that
# fails to configure or build counts as one failed test and the next stage
# still runs. The last line of output is always "N passed, N failed"; the
# exit status is non-zero when anything failed.
#
# Environment: QUOTA_TEST_JOBS (parallel tests, default: number of CPUs),
# QUOTA_FUZZ_SECONDS (how long the fuzz stage runs, default 30),
# QUOTA_CRASH_CYCLES (the crash suite's kill cycles: default 1500 in the gcc
# stage, about 25 s; 300 under the sanitizers; see doc/durability.md),
# QUOTA_STRESS_SECONDS (the longest each tests/stress run goes on: 15 s by
# default, 5 s under the sanitizers; see doc/reliability.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

total_passed=0
total_failed=0
summary=()
finished=0

# Whatever happens (a missing package, a bug in this script), end with the
# count line; an abnormal end counts as one more failure.
on_exit()
{
	local rc=$?
	if [ "$finished" -eq 0 ]; then
		echo "test-all.sh: stopped early (exit status $rc)" >&2
		echo "$total_passed passed, $((total_failed + 1)) failed"
		[ "$rc" -ne 0 ] || rc=1
	fi
	exit "$rc"
}
trap on_exit EXIT

# shellcheck source=scripts/deps.sh
. scripts/deps.sh
quota_install_deps "${QUOTA_TEST_PACKAGES[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

test_jobs=()
if [ -n "${QUOTA_TEST_JOBS:-}" ]; then
	test_jobs=(--num-processes "$QUOTA_TEST_JOBS")
fi

banner()
{
	printf '\n==== %s ====\n' "$*"
}

# record STAGE PASSED FAILED
record()
{
	total_passed=$((total_passed + $2))
	total_failed=$((total_failed + $3))
	summary+=("$(printf '%-10s %4d passed, %4d failed' "$1" "$2" "$3")")
}

# configure DIR [VAR=value...] -- [meson setup options...]
# Sets the directory up with these options, or re-applies them to an existing
# one. VAR=value pairs (CC, CFLAGS) are the environment of the first setup;
# meson remembers the compiler and its flags from then on.
configure()
{
	local dir=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		env "${envs[@]}" meson setup --reconfigure "$dir" "$@" && return 0
		echo "reconfigure of $dir failed; starting it afresh"
	fi
	rm -rf "$dir"
	env "${envs[@]}" meson setup "$dir" "$@"
}

# summary_count LOG LABEL: the number on meson test's last "LABEL: N" line,
# or nothing when there is none.
summary_count()
{
	grep -E "^$2:" "$1" | tail -n 1 | awk '{ print $NF }' || true
}

# run_tests STAGE DIR [meson test options and test names...]
# Runs meson test and records its "Ok:" / "Fail:" summary.
run_tests()
{
	local stage=$1 dir=$2 log rc=0
	shift 2
	log="$dir/test-all.log"
	meson test -C "$dir" --print-errorlogs "${test_jobs[@]}" "$@" 2>&1 | tee "$log" || rc=$?

	local ok xfail fail xpass timeout
	ok=$(summary_count "$log" 'Ok')
	xfail=$(summary_count "$log" 'Expected Fail')
	fail=$(summary_count "$log" 'Fail')
	xpass=$(summary_count "$log" 'Unexpected Pass')
	timeout=$(summary_count "$log" 'Timeout')
	if [ -z "$ok" ] || [ -z "$fail" ]; then
		echo "$stage: meson test printed no summary (exit status $rc)"
		record "$stage" 0 1
		return
	fi
	local passed=$((ok + ${xfail:-0})) failed=$((fail + ${xpass:-0} + ${timeout:-0}))
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		echo "$stage: meson test failed (exit status $rc) without a failing test"
		failed=1
	fi
	record "$stage" "$passed" "$failed"
}

# stage NAME DIR [VAR=value...] -- [setup options...] -- [test options...]
stage()
{
	local name=$1 dir=$2 setup=() tests=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		setup+=("$1")
		shift
	done
	setup+=(--)
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		setup+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	tests=("$@")

	banner "$name: $dir"
	if ! configure "$dir" "${setup[@]}"; then
		echo "$name: configuring $dir FAILED"
		record "$name" 0 1
		return
	fi
	if ! meson compile -C "$dir"; then
		echo "$name: building $dir FAILED"
		record "$name" 0 1
		return
	fi
	run_tests "$name" "$dir" "${tests[@]}"
}

# tsan_pick DIR names|exes: the tests that exercise threads, for the
# ThreadSanitizer stage (the suite "concurrency" when it exists, else tests
# whose name says so, else all of them), as test names or as the paths of
# their executables relative to DIR.
tsan_pick()
{
	meson introspect "$1" --tests | python3 -c '
import json, os, re, sys
builddir, what = sys.argv[1], sys.argv[2]
tests = json.load(sys.stdin)
picked = [t for t in tests if any(s.split(":")[-1] == "concurrency" for s in t["suite"])]
if not picked:
    picked = [t for t in tests if re.search("concurren|thread|stress|race", t["name"], re.I)]
if not picked:
    picked = tests
for t in picked:
    if what == "names":
        print(t["name"])
    else:
        exe = os.path.relpath(t["cmd"][0], builddir)
        if not exe.startswith(".."):
            print(exe)
' "$1" "$2"
}

# Some kernels randomise mmap more than clang 14's ThreadSanitizer can cope
# with ("unexpected memory mapping"); it then needs ASLR off for its tests.
tsan_wrapper()
{
	local bin
	bin=$(mktemp)
	if echo 'int main(void) { return 0; }' |
		clang -fsanitize=thread -x c - -o "$bin" 2>/dev/null; then
		if ! "$bin" >/dev/null 2>&1 && setarch "$(uname -m)" -R "$bin" >/dev/null 2>&1; then
			echo "setarch $(uname -m) -R"
		fi
	fi
	rm -f "$bin"
}

start=$SECONDS

# Test time-outs are the suite's own, stretched for the sanitizers, which
# slow the tests down several times.
stage gcc build \
	-- --buildtype=debugoptimized -Dwerror=true

# The crash suite (tests/test-crash.c) kills processes for about 25 s; it
# runs in the gcc stage, and shorter under the sanitizers, not again here.
stage nojson build-nojson \
	-- --buildtype=debugoptimized -Djson=disabled \
	-- --no-suite crash

QUOTA_CRASH_CYCLES="${QUOTA_CRASH_CYCLES:-300}" \
	QUOTA_STRESS_SECONDS="${QUOTA_STRESS_SECONDS:-5}" \
	stage asan build-asan CFLAGS=-fno-sanitize-recover=all \
	-- --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
	-- --timeout-multiplier 3

# ThreadSanitizer, on the tests that exercise threads. Should the whole tree
# fail to build, that counts as a failure, and the selected tests are still
# built on their own and run, so that races are reported all the same.
banner "tsan: build-tsan"
if ! configure build-tsan CC=clang -- --buildtype=debugoptimized \
	-Db_sanitize=thread -Db_lundef=false; then
	echo "tsan: configuring build-tsan FAILED"
	record tsan 0 1
else
	mapfile -t tsan_tests < <(tsan_pick build-tsan names)
	mapfile -t tsan_exes < <(tsan_pick build-tsan exes)
	tsan_args=(--timeout-multiplier 3)
	built=1
	if ! meson compile -C build-tsan; then
		echo "tsan: building build-tsan FAILED"
		record tsan-build 0 1
		built=0
		if [ ${#tsan_exes[@]} -gt 0 ] && ninja -C build-tsan "${tsan_exes[@]}"; then
			echo "tsan: built the selected tests on their own"
			tsan_args+=(--no-rebuild)
			built=1
		fi
	fi
	if [ "$built" -eq 1 ]; then
		echo "tsan: running ${tsan_tests[*]}"
		wrapper=$(tsan_wrapper)
		if [ -n "$wrapper" ]; then
			echo "tsan: this kernel needs ASLR off for ThreadSanitizer; using '$wrapper'"
			tsan_args+=(--wrapper "$wrapper")
		fi
		QUOTA_STRESS_SECONDS="${QUOTA_STRESS_SECONDS:-5}" \
			run_tests tsan build-tsan "${tsan_args[@]}" "${tsan_tests[@]}"
	fi
fi

stage clang build-clang CC=clang \
	-- --buildtype=debugoptimized -Dwerror=true \
	-- --no-suite crash

# Memcheck on the C unit tests of the gcc build: no invalid access, no
# definite or indirect leak. Tests that run another program (Python) are
# left to the other stages.
banner "valgrind: build"
if command -v valgrind >/dev/null && [ -f build/meson-private/coredata.dat ]; then
	mapfile -t vg_tests < <(meson introspect build --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if "unit" in t["suite"][0].split(":")[-1:] and not t["cmd"][0].endswith("python3"):
        print(t["name"])
')
	run_tests valgrind build --no-rebuild --timeout-multiplier 10 \
		--wrapper "valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
		"${vg_tests[@]}"
else
	echo "valgrind: not installed or no gcc build; FAILED"
	record valgrind 0 1
fi

# Line and branch coverage of lib/ (gcovr) by the whole suite but fuzz (the
# crash suite shortened) in a gcc build with --coverage: one test, which
# passes when at least 90 % of lines and 80 % of branches ran. The report is
# build-cov/coverage.txt; the tests themselves are judged by the stages above.
banner "coverage: build-cov"
if ! command -v gcovr >/dev/null; then
	echo "coverage: gcovr is not installed; FAILED"
	record coverage 0 1
elif ! configure build-cov -- --buildtype=debug -Db_coverage=true; then
	echo "coverage: configuring build-cov FAILED"
	record coverage 0 1
elif ! meson compile -C build-cov; then
	echo "coverage: building build-cov FAILED"
	record coverage 0 1
else
	find build-cov -name '*.gcda' -delete
	QUOTA_CRASH_CYCLES=200 QUOTA_STRESS_SECONDS=5 meson test -C build-cov "${test_jobs[@]}" \
		--no-suite fuzz >build-cov/test-all.log 2>&1 || true
	if gcovr -r . build-cov --filter "$PWD/lib/" --txt build-cov/coverage.txt \
		--json-summary build-cov/coverage.json >/dev/null 2>&1 &&
		python3 - build-cov/coverage.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
lines, branches = s["line_percent"], s["branch_percent"]
print(f"coverage of lib/: lines {lines:.1f}% ({s['line_covered']}/{s['line_total']}), "
      f"branches {branches:.1f}% ({s['branch_covered']}/{s['branch_total']}), "
      f"functions {s['function_percent']:.1f}%")
sys.exit(0 if lines >= 90 and branches >= 80 else 1)
PY
	then
		record coverage 1 0
	else
		echo "coverage: below 90 % of lines or 80 % of branches, or gcovr failed (build-cov/coverage.txt)"
		record coverage 0 1
	fi
fi

# libFuzzer on the JSON object loader, when clang links it: one test that
# passes when a bounded run finds nothing. New inputs it finds stay in
# build-fuzz/fuzz-corpus for the next run; a failing input is saved as
# build-fuzz/fuzz-crash-*.
fuzz_links()
{
	local bin
	bin=$(mktemp)
	if printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' |
		clang -fsanitize=fuzzer -x c - -o "$bin" >/dev/null 2>&1; then
		rm -f "$bin"
		return 0
	fi
	rm -f "$bin"
	return 1
}

banner "fuzz: build-fuzz"
fuzz_seconds=${QUOTA_FUZZ_SECONDS:-30}
if ! command -v clang >/dev/null || ! fuzz_links; then
	echo "fuzz: clang cannot link -fsanitize=fuzzer here; stage skipped"
elif ! configure build-fuzz CC=clang -- --buildtype=debugoptimized -Dfuzz=true; then
	echo "fuzz: configuring build-fuzz FAILED"
	record fuzz 0 1
elif ! meson compile -C build-fuzz fuzz-json-load fuzz-expr fuzz-journal fuzz-snapshot fuzz-api; then
	echo "fuzz: building the fuzz targets FAILED"
	record fuzz 0 1
else
	# target dictionary corpus ("-": no dictionary): each fuzzed for
	# fuzz_seconds, one test each
	for spec in "json-load json-load.dict json-load" "expr expr.dict expr" \
		"journal records.dict journal" "snapshot records.dict snapshot" "api - api"; do
		set -- $spec
		dict=()
		[ "$2" = - ] || dict=(-dict="tests/fuzz/$2")
		mkdir -p "build-fuzz/fuzz-corpus-$1"
		echo "fuzz: fuzz-$1 for ${fuzz_seconds}s"
		if "build-fuzz/tests/fuzz/fuzz-$1" -max_total_time="$fuzz_seconds" \
			"${dict[@]}" -artifact_prefix="build-fuzz/fuzz-$1-" \
			"build-fuzz/fuzz-corpus-$1" "tests/fuzz/corpus/$3" >"build-fuzz/fuzz-$1.log" 2>&1; then
			grep -E '^(#[0-9]+[[:space:]]+DONE|Done)' "build-fuzz/fuzz-$1.log" | tail -n 1 || true
			record "fuzz-$1" 1 0
		else
			tail -n 40 "build-fuzz/fuzz-$1.log"
			echo "fuzz: fuzz-$1 FAILED (log: build-fuzz/fuzz-$1.log)"
			record "fuzz-$1" 0 1
		fi
	done
fi

banner "summary ($((SECONDS - start))s)"
printf '%s\n' "${summary[@]}"
finished=1
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
