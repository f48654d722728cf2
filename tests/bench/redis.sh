#!/usr/bin/env bash
# The Redis reference of the benchmark: redis-server (Debian's, 7.x) on
# 127.0.0.1 at a free port, the Lua check-and-add of check_add.lua over
# 100,000 keys, driven by redis-benchmark with 1 client, unpipelined and
# with pipeline 32. Prints one JSON line per variant (the bench format:
# ns per op median of the repetitions, min, max, ops/s) and always stops
# the server it started.
#
#   tests/bench/redis.sh [--quick] [--reps N] [--out FILE]
#
# The server runs on CPU 1 and redis-benchmark on CPU 0 (taskset), so the
# server has one core to itself. Needs redis-server and redis-tools.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
reps=5
out=
quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--reps) reps=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "redis.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

for tool in redis-server redis-cli redis-benchmark python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "redis.sh: $tool not found (apt-get install -y redis-server redis-tools)" >&2
		exit 1
	fi
done

keys=100000
limit=1000000000000000
if [ "$quick" -eq 1 ]; then
	requests_plain=2000
	requests_pipe=20000
	reps=2
else
	requests_plain=200000
	requests_pipe=2000000
fi

pin_server=()
pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_server=(taskset -c 1)
	pin_client=(taskset -c 0)
fi

workdir=$(mktemp -d)
server_pid=
stop_server()
{
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$workdir"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Start the server; a port taken between the probe and the bind gets
# another try.
port=
for attempt in 1 2 3 4 5; do
	port=$(free_port)
	"${pin_server[@]}" redis-server --bind 127.0.0.1 --port "$port" --save '' \
		--appendonly no --dir "$workdir" --logfile "$workdir/redis.log" \
		--daemonize no --protected-mode yes &
	server_pid=$!
	for _ in $(seq 1 100); do
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
			break 2
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	echo "redis.sh: redis-server did not start on port $port (attempt $attempt)" >&2
done
if [ -z "$server_pid" ]; then
	cat "$workdir/redis.log" >&2 2>/dev/null || true
	exit 1
fi
version=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
echo "redis.sh: redis-server $version on 127.0.0.1:$port (pid $server_pid)" >&2

sha=$(redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$(cat "$here/check_add.lua")")
# One check-and-add to see that the script works.
if [ "$(redis-cli -h 127.0.0.1 -p "$port" EVALSHA "$sha" 1 q:check 1 "$limit")" != 1 ]; then
	echo "redis.sh: the Lua check-and-add did not answer 1" >&2
	exit 1
fi
redis-cli -h 127.0.0.1 -p "$port" DEL q:check >/dev/null

# run VARIANT PIPELINE REQUESTS: reps runs of redis-benchmark, one JSON line.
run()
{
	local variant=$1 pipeline=$2 requests=$3 rates=()
	for _ in $(seq 1 "$reps"); do
		local rps
		rps=$("${pin_client[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -c 1 \
			-n "$requests" -P "$pipeline" -r "$keys" --csv \
			EVALSHA "$sha" 1 'q:__rand_int__' 1 "$limit" |
			awk -F'","' 'NR == 2 { print $2 }')
		if [ -z "$rps" ]; then
			echo "redis.sh: redis-benchmark printed no rate" >&2
			exit 1
		fi
		rates+=("$rps")
	done
	python3 - "$variant" "$pipeline" "$requests" "$version" "${rates[@]}" <<'PY'
import json, statistics, sys
variant, pipeline, requests, version = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rates = [float(r) for r in sys.argv[5:]]
ns = sorted(1e9 / r for r in rates)
med = statistics.median(ns)
print(json.dumps({
    "scenario": "redis", "variant": variant, "unit": "EVALSHA check-and-add",
    "threads": 1, "clients": 1, "pipeline": pipeline, "keys": 100000,
    "ops": requests, "reps": len(ns), "ns_per_op": round(med, 3),
    "ns_min": round(ns[0], 3), "ns_max": round(ns[-1], 3),
    "ops_per_s": round(1e9 / med), "redis_version": version,
}, separators=(",", ":")))
PY
}

{
	run unpipelined 1 "$requests_plain"
	run pipeline32 32 "$requests_pipe"
} | if [ -n "$out" ]; then tee "$out"; else cat; fi
