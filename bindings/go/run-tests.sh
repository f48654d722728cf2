#!/bin/sh
# Runs the Go bindings' checks against the library of a meson build tree:
# go vet and go test -race of the package, then go vet of the Go examples
# and a run of each example (the Pattern 2 controller, the Pattern 1
# admission webhook), whose output must match its expected-output.txt.
# meson's test "go-bindings" calls it.
#
#   run-tests.sh BUILD_DIR SKIP
#
# SKIP: why this build cannot run the tests (a sanitizer build), or "".
# Exit status 77 tells meson "skipped". Nothing is fetched: the package
# has no dependencies, and GOPROXY=off keeps it that way.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)

if [ -n "$2" ]; then
	echo "skipped: $2"
	exit 77
fi
if ! command -v go >/dev/null 2>&1; then
	echo "skipped: go is not installed (Debian: apt-get install golang-go)"
	exit 77
fi

# cgo finds the library with pkg-config: meson writes quota-uninstalled.pc
# for the build tree, which pkg-config prefers to quota.pc.
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Caches in the build tree, so that this works as any user (root in CI)
# and never touches the network.
export GOCACHE="$build/go/cache" GOPATH="$build/go/path" GOPROXY=off GOFLAGS=-buildvcs=false \
	GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=1
# Go's build cache does not notice changed C headers outside the package
# directory; a define with their checksum does.
headers=$(cat "$top"/include/quota/*.h | cksum | cut -d' ' -f1)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DQUOTA_GO_HEADERS=$headers"

go version
cd "$here"
go vet ./...
# The race detector exists on these platforms only.
case "$(go env GOOS)/$(go env GOARCH)" in
linux/amd64 | linux/arm64 | linux/ppc64le | linux/s390x) go test -race -count=1 ./... ;;
*) go test -count=1 ./... ;;
esac

cd "$top/examples/go"
go vet ./...
for example in controller admission; do
	go build -o "$build/go/$example" "./$example"
	out=$(timeout 60 "$build/go/$example")
	if ! printf '%s\n' "$out" | diff -u "$example/expected-output.txt" -; then
		echo "examples/go/$example: unexpected output (diff above)"
		exit 1
	fi
	echo "examples/go/$example: output as expected"
done
