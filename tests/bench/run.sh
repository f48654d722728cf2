#!/usr/bin/env bash
# The libquota benchmark, in one command (see doc/performance.md).
#
#   tests/bench/run.sh              timed run: Redis reference, benchmark,
#                                   chart, tables and goals
#   tests/bench/run.sh --callgrind  instruction counts (callgrind.sh)
#   tests/bench/run.sh --all        both, then rewrite the generated parts
#                                   of doc/performance.md
#   tests/bench/run.sh --quick      every scenario with tiny counts, to see
#                                   that it runs (what `meson test` runs)
#
# Options: --no-redis (skip the Redis reference), --update-doc (rewrite the
# generated sections of doc/performance.md from the results), --runs N
# (default 3: the benchmark runs N times with 5 repetitions per case, and
# each case reports the median, min and max over all N x 5; on a shared
# machine a noisy minute then spoils a few repetitions of each case, not
# all of one), and after
# "--", options for the benchmark itself (bench --help), e.g.
# "-- --only keyed,claim --reps 9".
#
# Builds build-bench/ (release) if needed and writes the results to
# build-bench/bench-results/: machine.json, redis.jsonl, bench.jsonl,
# callgrind.jsonl, callgrind/ (profiles), plot.dat; the chart goes to
# doc/performance.png (with "-- --only ...", a partial run, the chart goes
# to build-bench/bench-results/performance.png and the page is not
# rewritten). Timings are never judged: the goal table states them.
#
# The machine should be otherwise idle: the run starts by waiting (up to
# BENCH_WAIT_QUIET seconds, default 300) for the 1-minute load average to
# fall below 0.3, and records the load before and after in machine.json.
set -euo pipefail

# shellcheck source=tests/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mode=timed
runs=3
redis=1
update_doc=0
bench_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) mode=quick ;;
	--callgrind) mode=callgrind ;;
	--all) mode=all ;;
	--no-redis) redis=0 ;;
	--update-doc) update_doc=1 ;;
	--runs) runs=$2; shift ;;
	--) shift; bench_args=("$@"); break ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

bench_build
export BENCH_SKIP_BUILD=1

# Whether the benchmark runs only some scenarios (--only): then the chart
# goes to the results directory and doc/performance.md is not rewritten.
partial=0
for a in "${bench_args[@]}"; do
	case "$a" in --only|--only=*) partial=1 ;; esac
done

if [ "$mode" = quick ]; then
	exec "$bench_exe" --quick "${bench_args[@]}"
fi

# Wait for a quiet machine (other builds and tests distort every timing).
wait_quiet()
{
	local waited=0 limit=${BENCH_WAIT_QUIET:-300} load
	while :; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		if awk -v l="$load" 'BEGIN { exit !(l < 0.3) }'; then
			return 0
		fi
		if [ "$waited" -ge "$limit" ]; then
			echo "run.sh: warning: load average still $load after ${waited}s; timings will be distorted" >&2
			return 0
		fi
		[ "$waited" -eq 0 ] && echo "run.sh: load average $load; waiting for a quiet machine" >&2
		sleep 10
		waited=$((waited + 10))
	done
}

if [ "$mode" = timed ] || [ "$mode" = all ]; then
	wait_quiet
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
# The machine description of a timed run (the load average after it is
# added at the end); callgrind.sh writes its own.
if [ "$mode" != callgrind ]; then
	bench_machine "$load_before" "" "$start_date" >"$bench_results/machine.json.new"
	mv "$bench_results/machine.json.new" "$bench_results/machine.json"
fi

if [ "$mode" = timed ] || [ "$mode" = all ]; then
	rm -f "$bench_results/redis.jsonl"
	redis_args=()
	if [ "$redis" -eq 1 ]; then
		if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
			echo "run.sh: Redis reference (redis.sh)" >&2
			if "$bench_src/redis.sh" --out "$bench_results/redis.jsonl" >/dev/null; then
				redis_args=(--redis "$bench_results/redis.jsonl")
			else
				echo "run.sh: redis.sh failed; no Redis column" >&2
			fi
		else
			echo "run.sh: redis-server or redis-benchmark not installed; no Redis column" >&2
		fi
	fi
	rm -f "$bench_results"/bench-run*.jsonl
	runs_json=()
	for run in $(seq 1 "$runs"); do
		echo "run.sh: benchmark run $run of $runs ($bench_exe)" >&2
		rc=0
		"$bench_exe" --reps 5 --json "$bench_results/bench-run$run.jsonl" "${redis_args[@]}" \
			"${bench_args[@]}" >"$bench_results/bench-run$run.out" || rc=$?
		if [ "$rc" -ne 0 ]; then
			grep -v '^{' "$bench_results/bench-run$run.out" || true
			echo "run.sh: the benchmark failed (exit status $rc)" >&2
			exit 1
		fi
		runs_json+=("$bench_results/bench-run$run.jsonl")
	done
	python3 "$bench_src/report.py" merge "$bench_results/bench.jsonl" "${runs_json[@]}"
	if command -v gnuplot >/dev/null; then
		if [ "$partial" -eq 1 ]; then
			# A part of the scenarios: the published chart stays.
			"$bench_src/plot.sh" "$bench_results/performance.png"
		else
			"$bench_src/plot.sh"
		fi
	else
		echo "run.sh: gnuplot not installed; no chart" >&2
	fi
fi

if [ "$mode" = callgrind ] || [ "$mode" = all ]; then
	rc=0
	"$bench_src/callgrind.sh" "${bench_args[@]}" >"$bench_results/callgrind.out" || rc=$?
	grep -v '^{' "$bench_results/callgrind.out" || true
	if [ "$rc" -ne 0 ]; then
		echo "run.sh: callgrind.sh failed (exit status $rc)" >&2
		exit 1
	fi
fi

if [ "$mode" != callgrind ]; then
	bench_machine "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$start_date" \
		>"$bench_results/machine.json.new"
	mv "$bench_results/machine.json.new" "$bench_results/machine.json"
fi

echo
python3 "$bench_src/report.py" --results "$bench_results" table
if [ "$partial" -eq 1 ] && { [ "$update_doc" -eq 1 ] || [ "$mode" = all ]; }; then
	echo "run.sh: --only ran a part of the scenarios; doc/performance.md left as it is" >&2
elif [ "$update_doc" -eq 1 ] || [ "$mode" = all ]; then
	python3 "$bench_src/report.py" --results "$bench_results" update-doc "$bench_root/doc/performance.md"
	echo "run.sh: updated the generated sections of doc/performance.md" >&2
fi
