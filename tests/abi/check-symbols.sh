#!/bin/sh
# The shared library exports exactly the functions the public headers
# declare, all in version node QUOTA_1.0, and lib/libquota.map lists them.
# usage: check-symbols.sh LIBQUOTA_SO SOURCE_ROOT
set -eu
so=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -ho 'QUOTA_API [^(]*(' "$root"/include/quota/*.h | grep -v __attribute__ |
	sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u >"$tmp/headers"
sed -n 's/^[[:space:]]*\(quota_[a-z_0-9]*\);$/\1/p' "$root/lib/libquota.map" | sort -u >"$tmp/map"
nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
status=0
if ! diff -u "$tmp/headers" "$tmp/map"; then
	echo "lib/libquota.map differs from the QUOTA_API declarations" >&2
	status=1
fi
if ! diff -u "$tmp/headers" "$tmp/exported"; then
	echo "exported symbols differ from the QUOTA_API declarations" >&2
	status=1
fi
extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^quota_' | grep -vE '^(_init|_fini|QUOTA_[0-9.]+)$' || true)
if [ -n "$extra" ]; then
	echo "symbols outside the quota_ prefix: $extra" >&2
	status=1
fi
soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" != "libquota.so.1" ]; then
	echo "SONAME is '$soname', want libquota.so.1" >&2
	status=1
fi
[ $status -eq 0 ] && echo "symbols ok: $(wc -l <"$tmp/exported") exported, SONAME $soname"
exit $status
