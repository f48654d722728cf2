#!/bin/sh
# The ABI of the built libquota.so against the committed baseline
# tests/abi/libquota.abi, with libabigail (Debian: abigail-tools).
# doc/abi-policy.md says what may change and when to regenerate it.
#
# usage: check-abi.sh [--update] [LIBQUOTA_SO [SOURCE_ROOT]]
#   LIBQUOTA_SO  default build/lib/libquota.so.1 under SOURCE_ROOT
#   SOURCE_ROOT  default the tree this script is in
#   --update     write the baseline from LIBQUOTA_SO instead of comparing
#
# Exits 0 when compatible, 1 on an ABI change that libquota.suppr does
# not allow, 77 (skipped) without abidw/abidiff or without debug info.
set -eu
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
root=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
so=${1:-$root/build/lib/libquota.so.1}
abi=$root/tests/abi
baseline=$abi/libquota.abi

for tool in abidw abidiff; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: $tool not installed (Debian package abigail-tools)"
		exit 77
	fi
done
if [ ! -f "$so" ]; then
	echo "no library at $so: build first, or name it" >&2
	exit 1
fi
if ! readelf -S "$so" | grep -q '\.debug_info'; then
	echo "SKIP: $so has no debug info (build with -g, e.g. buildtype debugoptimized)"
	[ $update -eq 0 ] && exit 77
	exit 1
fi

# The suppression files name the size-versioned structs (first member
# "size_t size") and the opaque handles; both lists must stay complete.
status=0
sized=$(awk '/^typedef struct quota_[a-z_0-9]+ \{/ { name = $3; getline
	if ($0 ~ /^\tsize_t size;/) print substr(name, 7) }' "$root"/include/quota/*.h |
	sort | paste -sd'|' -)
opaque=$(sed -n 's/^typedef struct quota_\([a-z_0-9]*\) quota_[a-z_0-9]*;$/\1/p' \
	"$root"/include/quota/*.h | sort | paste -sd'|' -)
if ! grep -qxF "  name_regexp = ^quota_($sized)\$" "$abi/libquota.suppr"; then
	echo "tests/abi/libquota.suppr: its name_regexp must list exactly the size-versioned structs:" >&2
	echo "  name_regexp = ^quota_($sized)\$" >&2
	status=1
fi
if ! grep -qxF "  name_regexp = ^quota_($opaque)\$" "$abi/private-types.suppr"; then
	echo "tests/abi/private-types.suppr: its name_regexp must list exactly the opaque handles:" >&2
	echo "  name_regexp = ^quota_($opaque)\$" >&2
	status=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Paths to the sources depend on where the tree and the build are; keep
# them relative to the tree so that the baseline is the same everywhere.
abidw --exported-interfaces-only --no-corpus-path --no-show-locs --no-comp-dir-path \
	--type-id-style hash --out-file "$tmp/raw.abi" "$so"
sed -E "s#path='[^']*/((lib|include)/[^']*)'#path='\\1'#" "$tmp/raw.abi" >"$tmp/current.abi"

if [ $update -eq 1 ]; then
	cp "$tmp/current.abi" "$baseline"
	echo "wrote $baseline from $so"
	exit $status
fi

rc=0
abidiff --no-added-syms --suppressions "$abi/libquota.suppr" \
	--suppressions "$abi/private-types.suppr" \
	"$baseline" "$tmp/current.abi" >"$tmp/report" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
	cat "$tmp/report"
	cat >&2 <<MSG

ABI CHANGE: $so is not compatible with tests/abi/libquota.abi (abidiff
exit status $rc). Within SONAME libquota.so.1 only what doc/abi-policy.md
allows may change. If this change is intended and allowed there (or the
SONAME is being bumped), regenerate the baseline from a -g build and commit
it with the change:

    tests/abi/check-abi.sh --update $so

MSG
	exit 1
fi
# libabigail's "inserted at end" rule only looks at where members were
# inserted: a reordered or retyped member of a struct that also grew would
# pass it. So each size-versioned struct of the baseline must also be a
# prefix of the current one: same members, same order, offsets and types.
if ! python3 - "$baseline" "$tmp/current.abi" "$sized" <<'PY'
import sys
import xml.etree.ElementTree as ET

def structs(path, names):
    out = {}
    for c in ET.parse(path).getroot().iter("class-decl"):
        name = c.get("name")
        if name in names and c.get("is-declaration-only") != "yes":
            out[name] = [(v.get("name"), m.get("layout-offset-in-bits"), v.get("type-id"))
                         for m in c.findall("data-member") for v in m.findall("var-decl")]
    return out

names = {"quota_" + n for n in sys.argv[3].split("|")}
old, new = structs(sys.argv[1], names), structs(sys.argv[2], names)
bad = 0
for name, members in sorted(old.items()):
    now = new.get(name)
    if now is None or now[:len(members)] != members:
        print(f"struct {name}: its members are no longer those of the baseline followed by new ones")
        bad = 1
sys.exit(bad)
PY
then
	echo >&2
	echo "ABI CHANGE: a size-versioned struct changed other than by appending; if intended:" >&2
	echo "    tests/abi/check-abi.sh --update $so" >&2
	exit 1
fi
[ $status -eq 0 ] && echo "abi ok: $so matches tests/abi/libquota.abi"
exit $status
