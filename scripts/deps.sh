# shellcheck shell=bash disable=SC2034
# Debian 12 packages that libquota needs, and a function that installs the
# missing ones. Sourced by scripts/demo.sh, scripts/test-all.sh and .ci/run;
# not meant to be run on its own.
#
# Packages are installed with --no-install-recommends, so everything that a
# build really uses is listed, including what Debian only recommends:
# libc6-dev (C headers; gcc merely recommends it) and libclang-rt-dev (clang's
# sanitizer runtimes, which the ThreadSanitizer build links).

# To configure, build and run the library and its examples.
QUOTA_BUILD_PACKAGES=(meson ninja-build gcc libc6-dev pkg-config libcjson-dev python3)

# Everything scripts/test-all.sh uses on top of that (golang-go: the Go
# bindings' tests, bindings/go/run-tests.sh; abigail-tools: abidw and
# abidiff for the ABI gate, tests/abi/check-abi.sh; gcovr: the coverage
# stage).
QUOTA_TEST_PACKAGES=("${QUOTA_BUILD_PACKAGES[@]}" clang libclang-rt-dev valgrind
	python3-prometheus-client golang-go abigail-tools gcovr)

# Succeeds when what the package provides is already usable, whether it came
# from dpkg or from elsewhere (a pip-installed meson, say).
quota_have_package()
{
	case "$1" in
	meson) command -v meson >/dev/null ;;
	ninja-build) command -v ninja >/dev/null ;;
	gcc) command -v gcc >/dev/null ;;
	clang) command -v clang >/dev/null ;;
	pkg-config) command -v pkg-config >/dev/null ;;
	python3) command -v python3 >/dev/null ;;
	valgrind) command -v valgrind >/dev/null ;;
	golang-go) command -v go >/dev/null ;;
	abigail-tools) command -v abidw >/dev/null && command -v abidiff >/dev/null ;;
	libc6-dev) [ -e /usr/include/stdio.h ] ;;
	libcjson-dev)
		command -v pkg-config >/dev/null && pkg-config --exists libcjson
		;;
	libclang-rt-dev)
		# Present when clang can link a ThreadSanitizer program.
		command -v clang >/dev/null || return 1
		local out
		out=$(mktemp) || return 1
		if echo 'int main(void) { return 0; }' |
			clang -fsanitize=thread -x c - -o "$out" >/dev/null 2>&1; then
			rm -f "$out"
			return 0
		fi
		rm -f "$out"
		return 1
		;;
	*) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
	esac
}

# quota_install_deps PACKAGE...: apt-get install the packages that are not
# already present; does nothing (and needs no network) when all are.
quota_install_deps()
{
	local missing=() pkg
	for pkg in "$@"; do
		quota_have_package "$pkg" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	echo "Installing missing packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "error: need root (or sudo) to install: ${missing[*]}" >&2
			return 1
		fi
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
}
