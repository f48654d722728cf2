# shellcheck shell=bash disable=SC2034
# Shared by the benchmark scripts (sourced, not run): where things are,
# and a release build of the benchmark that is made once and then reused.
#
#   BENCH_BUILD_DIR    build directory (default: build-bench in the source
#                      tree), configured with -Dbuildtype=release
#   BENCH_RESULTS_DIR  where results go (default: $BENCH_BUILD_DIR/bench-results)

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_src="$bench_root/tests/bench"
bench_build=${BENCH_BUILD_DIR:-$bench_root/build-bench}
bench_results=${BENCH_RESULTS_DIR:-$bench_build/bench-results}
bench_exe="$bench_build/tests/bench/bench"

# Configure (once) and build the release tree; quiet unless it fails.
# Records the commit it built (lib/ and include/ change under our feet when
# someone works in the tree) in $bench_results/build-commit. With
# BENCH_SKIP_BUILD=1 (set by run.sh after its own build) it does nothing,
# so that the timed run and the counts of one run.sh --all measure the
# same library.
bench_build()
{
	local log commit
	if [ "${BENCH_SKIP_BUILD:-0}" = 1 ] && [ -x "$bench_exe" ]; then
		return 0
	fi
	log=$(mktemp)
	if [ ! -f "$bench_build/build.ninja" ]; then
		if ! meson setup "$bench_build" "$bench_root" -Dbuildtype=release >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			echo "bench: meson setup $bench_build failed" >&2
			return 1
		fi
	fi
	if ! meson compile -C "$bench_build" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "bench: meson compile -C $bench_build failed" >&2
		return 1
	fi
	rm -f "$log"
	mkdir -p "$bench_results"
	commit=$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$bench_root" status --porcelain -- lib include 2>/dev/null)" ]; then
		commit="$commit (lib/ or include/ modified)"
	fi
	echo "$commit" >"$bench_results/build-commit"
}

# A description of the machine and the build, for the report (JSON);
# $1 and $2: the load averages before and after the run; $3: when it
# started (default: now).
bench_machine()
{
	local cpu cores kernel cc libc commit
	cpu=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | sed -n 1p)
	cores=$(nproc)
	kernel=$(uname -sr)
	cc=$(cc --version 2>/dev/null | sed -n 1p)
	libc=$(ldd --version 2>/dev/null | sed -n '1s/^ldd //p')
	commit=$(cat "$bench_results/build-commit" 2>/dev/null || echo unknown)
	python3 - "$cpu" "$cores" "$kernel" "$cc" "$libc" "$commit" "${1:-}" "${2:-}" "${3:-}" <<'PY'
import json, sys, datetime
cpu, cores, kernel, cc, libc, commit, load_before, load_after, date = sys.argv[1:10]
virt = ""
try:
    with open("/proc/cpuinfo") as f:
        if " hypervisor" in f.read():
            virt = "virtual machine"
except OSError:
    pass
print(json.dumps({"machine": True, "cpu": cpu, "cpus": int(cores), "kernel": kernel,
                  "compiler": cc, "libc": libc, "commit": commit, "virtualization": virt,
                  "load_before": load_before, "load_after": load_after,
                  "date": date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")},
                 separators=(",", ":")))
PY
}
