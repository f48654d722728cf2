#!/usr/bin/env bash
# Draw the benchmark chart with gnuplot: ns per op by scenario at 1 and 2
# threads, and 1 to 2 thread scaling, from the last run's results.
#
#   tests/bench/plot.sh [OUT]     default OUT: doc/performance.png (.png: pngcairo,
#                                 anything else: SVG)
#
# Needs gnuplot (apt-get install -y gnuplot-nox) and python3.
set -euo pipefail

# shellcheck source=tests/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

out=${1:-$bench_root/doc/performance.png}
if ! command -v gnuplot >/dev/null; then
	echo "plot.sh: gnuplot not found (apt-get install -y gnuplot-nox)" >&2
	exit 1
fi
if [ ! -s "$bench_results/bench.jsonl" ]; then
	echo "plot.sh: no results in $bench_results (run tests/bench/run.sh first)" >&2
	exit 1
fi
data="$bench_results/plot.dat"
python3 "$bench_src/report.py" --results "$bench_results" plotdata "$data"
subtitle=$(python3 -c '
import json, sys
try:
    m = json.load(open(sys.argv[1]))
    print("%s, %d CPUs, %s, commit %s" % (m["cpu"], m["cpus"], m["date"], m["commit"]))
except Exception:
    print("last run")
' "$bench_results/machine.json")
gnuplot -e "datafile='$data'; outfile='$out'; subtitle='$subtitle'" "$bench_src/plot.gp"
echo "plot.sh: wrote $out" >&2
