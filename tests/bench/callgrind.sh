#!/usr/bin/env bash
# Instruction counts: run the single-thread scenarios of the benchmark under
# valgrind --tool=callgrind and report instructions per operation, which
# (unlike timings on a shared VM) do not depend on the neighbours.
#
#   tests/bench/callgrind.sh [--quick] [bench options, e.g. --only keyed]
#
# The benchmark, run with --callgrind, counts only its measured loops: it
# runs each case's warm-up, then zeroes the counters, runs 20,000
# operations and dumps (CALLGRIND_DUMP_STATS_AT). Each dump is turned into
# one JSON line ({"mode":"callgrind", ..., "instructions_per_op": N}) in
# $BENCH_RESULTS_DIR/callgrind.jsonl, and into a callgrind_annotate profile
# (exclusive and inclusive) in $BENCH_RESULTS_DIR/callgrind/.
set -euo pipefail

# shellcheck source=tests/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	echo "callgrind.sh: valgrind not found (apt-get install -y valgrind)" >&2
	exit 1
fi
bench_build

args=()
for a in "$@"; do
	case "$a" in
	--quick) args+=(--scale 0.01 --consumers 2000) ;;
	*) args+=("$a") ;;
	esac
done

dir="$bench_results/callgrind"
rm -rf "$dir"
mkdir -p "$dir"
echo "callgrind.sh: running $bench_exe under callgrind" >&2
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out.%p" \
	--log-file="$dir/valgrind.log" \
	"$bench_exe" --callgrind --json "$dir/cases.jsonl" "${args[@]}" >/dev/null

bench_machine "" "" >"$bench_results/callgrind-machine.json"

python3 - "$dir" "$bench_results/callgrind.jsonl" <<'PY'
import glob, json, os, re, subprocess, sys

d, out = sys.argv[1], sys.argv[2]
cases = {}
with open(os.path.join(d, "cases.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        if r.get("mode") == "callgrind":
            cases[r["label"]] = r
rows = []
def part(path):
    tail = path.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0
for path in sorted(glob.glob(os.path.join(d, "callgrind.out.*.*")), key=part):
    desc = totals = None
    with open(path) as f:
        for line in f:
            prefix = "desc: Trigger: Client Request: "
            if line.startswith(prefix):
                desc = line[len(prefix):].strip()
            elif line.startswith("totals: "):
                totals = int(line.split()[1])
    if desc not in cases or totals is None:
        continue
    c = cases[desc]
    name = re.sub(r"[^A-Za-z0-9.+-]+", "_", c["scenario"] + "-" + c["variant"])
    for kind, flag in (("exclusive", "--inclusive=no"), ("inclusive", "--inclusive=yes")):
        with open(os.path.join(d, "annotate-%s.%s.txt" % (name, kind)), "w") as a:
            subprocess.run(["callgrind_annotate", flag, "--threshold=99.5", path],
                           stdout=a, stderr=subprocess.DEVNULL, check=False)
    rows.append({"mode": "callgrind", "scenario": c["scenario"], "variant": c["variant"],
                 "unit": c["unit"], "threads": 1, "ops": c["ops"], "instructions": totals,
                 "instructions_per_op": round(totals / c["ops"], 1),
                 "profile": os.path.basename(path)})
missing = set(cases) - {"bench:%s/%s" % (r["scenario"], r["variant"]) for r in rows}
with open(out, "w") as f:
    for r in rows:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
        print(json.dumps(r, separators=(",", ":")))
print("\n%-11s %-28s %10s %14s" % ("scenario", "variant", "ops", "instr/op"))
for r in rows:
    print("%-11s %-28s %10d %14.1f" % (r["scenario"], r["variant"], r["ops"], r["instructions_per_op"]))
print("\nprofiles: %s/annotate-*.txt" % d)
if missing or not rows:
    print("callgrind.sh: no dump for %s" % ", ".join(sorted(missing)) if missing else
          "callgrind.sh: no dumps", file=sys.stderr)
    sys.exit(1)
PY
