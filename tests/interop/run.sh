#!/bin/sh
# Interop tests: the official MCP SDK client against corral, with the
# reference MCP servers as children. POSIX sh; output is TAP.
#
#   tests/interop/run.sh                 run against ../../build/corral
#   CORRAL=/path/to/corral run.sh        run against another binary
#   DIRECT=1 run.sh                      no corral: check the servers alone
#   run.sh tools.test.mjs                run some test files only
#
# Exits with node's test runner status.
set -eu
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1; then
	echo "interop: node is not installed" >&2
	exit 1
fi

# (Re)install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
	npm ci --no-audit --no-fund --loglevel=error </dev/null
	touch node_modules
fi

corral="${CORRAL:-../../build/corral}"
case "$corral" in
/*) ;;
*) corral="$PWD/$corral" ;;
esac
corral="$(realpath -m -- "$corral" 2>/dev/null || printf '%s' "$corral")"
CORRAL="$corral"
export CORRAL

if [ "${DIRECT:-}" = 1 ]; then
	echo "# interop: DIRECT=1, testing the reference servers without corral"
else
	if [ ! -x "$CORRAL" ]; then
		echo "# interop: corral binary not found or not executable: $CORRAL (run make first, or set CORRAL)"
	fi
	echo "# interop: testing $CORRAL"
fi

if [ "$#" -eq 0 ]; then
	set -- *.test.mjs
fi

status=0
node --test --test-reporter=tap --test-timeout=60000 --test-concurrency=2 "$@" </dev/null || status=$?
exit "$status"
