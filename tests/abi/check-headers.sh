#!/bin/sh
# The headers that tests/abi compiles one by one (public_header_names in
# include/quota/meson.build) are all of include/quota/*.h.
# usage: check-headers.sh SOURCE_ROOT HEADER...
set -eu
root=$1
shift
listed=$(printf '%s\n' "$@" | sort)
present=$(cd "$root/include/quota" && printf '%s\n' *.h | sort)
if [ "$listed" != "$present" ]; then
	echo "include/quota/*.h and public_header_names in include/quota/meson.build differ:" >&2
	printf '%s\n' "$listed" >"${TMPDIR:-/tmp}/quota-listed.$$"
	printf '%s\n' "$present" | diff -u "${TMPDIR:-/tmp}/quota-listed.$$" - >&2 || true
	rm -f "${TMPDIR:-/tmp}/quota-listed.$$"
	exit 1
fi
echo "headers ok: $(printf '%s\n' "$present" | wc -l) public headers, each compiled alone"
