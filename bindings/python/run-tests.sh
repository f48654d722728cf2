#!/bin/sh
# Runs the Python binding tests with the Debian interpreter; meson's test
# "python-bindings" calls it with QUOTA_LIBRARY and PYTHONPATH set.
#
#   run-tests.sh PRELOAD SKIP
#
# PRELOAD: a sanitizer runtime that must be loaded before the instrumented
# libquota can be (an AddressSanitizer build), or "". SKIP: why this build
# cannot run the tests, or "". Exit status 77 tells meson "skipped".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3

if [ -n "$2" ]; then
	echo "skipped: $2"
	exit 77
fi
if [ ! -x "$python" ]; then
	echo "skipped: $python is missing"
	exit 77
fi
if [ -n "$1" ]; then
	export LD_PRELOAD="$1${LD_PRELOAD:+ $LD_PRELOAD}"
	# The interpreter's own allocations are not the library's: no leak
	# report at exit. tests/test_memory.py counts the library's exactly.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	case "$1" in *asan*) export QUOTA_TEST_SANITIZED=1 ;; esac
fi
exec "$python" -m unittest discover -s "$here/tests" -t "$here"
