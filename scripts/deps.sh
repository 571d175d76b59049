#!/bin/sh
# Install the Debian packages corral needs to build and test, when missing.
# apt-get as root, sudo otherwise; a clear message when neither works.
set -eu
build="gcc make pkg-config libev-dev libcjson-dev libseccomp-dev libcurl4-openssl-dev libssl-dev libc-ares-dev"
test="jq bats bats-assert bats-support libcmocka-dev mandoc nodejs npm python3 util-linux openssl clang libclang-rt-14-dev"
fuzz="clang libclang-rt-14-dev"
want="$build"
[ "${1:-}" = test ] && want="$build $test"
[ "${1:-}" = fuzz ] && want="$build $fuzz"
missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		# node and npm may come from outside Debian; accept them on PATH.
		case "$p" in
		nodejs) command -v node >/dev/null 2>&1 && continue ;;
		npm) command -v npm >/dev/null 2>&1 && continue ;;
		python3) command -v python3 >/dev/null 2>&1 && continue ;;
		esac
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "corral: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	run="sudo -n"
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
	run="sudo"
else
	echo "corral: cannot install packages (not root and no usable sudo)." >&2
	echo "corral: as root, run: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq >&2 || { echo "corral: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
$run apt-get install -y -qq --no-install-recommends $missing >&2 || {
	echo "corral: apt-get install$missing failed" >&2; exit 1; }
