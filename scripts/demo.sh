#!/usr/bin/env bash
# Build libquota in build/ and run `quotactl demo`: in a fresh state
# directory it registers resource types, applies grant and claim policies,
# admits organizations, projects and instances until one is denied, shows the
# buckets, releases, grants a queued claim when capacity frees, and throttles
# a rate limit.
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
exec ./build/tools/quotactl/quotactl demo
