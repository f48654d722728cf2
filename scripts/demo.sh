#!/usr/bin/env bash
# Build libquota in build/ and run the walkthrough example, which registers a
# resource type, grants quota, and reserves, commits, is denied and releases
# claims, printing the allowance bucket after each step.
#
# Installs missing Debian packages first (needs root then).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh
quota_install_deps "${QUOTA_BUILD_PACKAGES[@]}"

if [ ! -f build/meson-private/coredata.dat ]; then
	meson setup build --buildtype=debugoptimized
fi
meson compile -C build

echo
exec ./build/examples/walkthrough
