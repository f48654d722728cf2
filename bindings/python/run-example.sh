#!/bin/sh
# Runs a Python example and compares its output with the expected one;
# meson's python-example-* tests call it with QUOTA_LIBRARY and PYTHONPATH
# set.
#
#   run-example.sh SCRIPT EXPECTED PRELOAD SKIP
#
# PRELOAD and SKIP as for run-tests.sh. Exit status 77 tells meson
# "skipped".
set -eu
python=/usr/bin/python3
if [ -n "$4" ]; then
	echo "skipped: $4"
	exit 77
fi
if [ ! -x "$python" ]; then
	echo "skipped: $python is missing"
	exit 77
fi
if [ -n "$3" ]; then
	export LD_PRELOAD="$3${LD_PRELOAD:+ $LD_PRELOAD}"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
out=$("$python" "$1")
printf '%s\n' "$out"
if [ "$out" != "$(cat "$2")" ]; then
	echo "the output differs from $2:" >&2
	printf '%s\n' "$out" | diff "$2" - >&2 || true
	exit 1
fi
