#!/bin/sh
# Run every test suite on the normal and the ASan+UBSan builds and end with
# one line "N passed, M failed". Exit status 0 only when nothing failed.
# SUITES may name a subset: unit fuzz bats interop lint.
set -u
cd "$(dirname "$0")/.."
SUITES="${SUITES:-unit fuzz bats interop lint}"
BUILDS="${BUILDS:-build build-asan}"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT
export CI="${CI:-}"

# Run a TAP-producing command, show its output, keep it for counting.
tap() {
	name="$1"
	shift
	echo "== $name"
	"$@" >"$log/$name.tap" 2>&1
	rc=$?
	cat "$log/$name.tap"
	# A command that failed without any failing test line still fails.
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log/$name.tap"; then
		echo "not ok - $name exited with status $rc" >>"$log/$name.tap"
		echo "not ok - $name exited with status $rc"
	fi
}

# Run "name command..." pairs given one per line on stdin side by side
# (the suites mostly wait: on children, timers, the network), then show
# each one's output in order, like tap.
tap_together() {
	names=""
	while IFS= read -r line; do
		name="${line%% *}"
		names="$names $name"
		echo "== $name (started)"
		(eval "${line#* }" >"$log/$name.tap" 2>&1
		    echo $? >"$log/$name.rc") &
	done
	wait
	for name in $names; do
		echo "== $name"
		cat "$log/$name.tap"
		rc=$(cat "$log/$name.rc")
		rm -f "$log/$name.rc"
		if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log/$name.tap"; then
			echo "not ok - $name exited with status $rc" >>"$log/$name.tap"
			echo "not ok - $name exited with status $rc"
		fi
	done
}

# The sandbox suite runs a reference server from tests/interop: install the
# interop packages (from the committed lock file) before any suite.
case " $SUITES " in
*" bats "*|*" interop "*)
	if [ ! -d tests/interop/node_modules ] ||
	    [ tests/interop/package-lock.json -nt tests/interop/node_modules ]; then
		echo "== npm ci (tests/interop)"
		(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error </dev/null && touch node_modules) ||
			echo "not ok - npm ci in tests/interop" >"$log/npm.tap"
	fi
	;;
esac

for s in $SUITES; do
	case "$s" in
	unit)
		for b in $BUILDS; do
			for t in "$b"/tests/unit/test_*; do
				case "$t" in *.o|*.d) continue ;; esac
				[ -x "$t" ] || continue
				tap "unit-$(basename "$b")-$(basename "$t")" \
				    env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
			done
		done
		;;
	fuzz)
		# Replay each fuzz harness over its committed corpus and the
		# inputs that once broke it (tests/fuzz/regress): one line per
		# harness and build.
		for b in $BUILDS; do
			for t in "$b"/tests/fuzz/fuzz_*; do
				case "$t" in *.o|*.d) continue ;; esac
				[ -x "$t" ] || continue
				n=$(basename "$t")
				name="fuzz-$(basename "$b")-$n"
				echo "== $name"
				set -- "tests/fuzz/corpus/$n"
				[ -d "tests/fuzz/regress/$n" ] &&
				    set -- "$@" "tests/fuzz/regress/$n"
				if out=$("$t" "$@" 2>"$log/$name.err"); then
					echo "ok - fuzz replay $n on $b: $out" |
					    tee "$log/$name.tap"
				else
					# What broke, and on which input.
					grep -v '^replay: ' "$log/$name.err" | tail -40
					grep -E '^replay: .* leaked' "$log/$name.err"
					grep '^replay: ' "$log/$name.err" | tail -1
					echo "not ok - fuzz replay $n on $b" \
					    "(${out:-stopped at the input named above})" |
					    tee "$log/$name.tap"
				fi
			done
		done
		;;
	bats)
		for b in $BUILDS; do
			echo "bats-$b env CORRAL_BUILD=$b bats --tap tests/bats"
		done | tap_together
		;;
	interop)
		for b in $BUILDS; do
			echo "interop-$b env CORRAL='$PWD/$b/corral' sh tests/interop/run.sh"
		done | tap_together
		;;
	lint)
		echo "== lint"
		if out=$(mandoc -Tlint -Wwarning man/*.[0-9] 2>&1) && [ -z "$out" ]; then
			echo "ok - mandoc -Tlint man/" | tee "$log/lint.tap"
		else
			echo "$out"
			echo "not ok - mandoc -Tlint man/" | tee "$log/lint.tap"
		fi
		;;
	esac
done

all=$(cat "$log"/*.tap)
skipped=$(printf '%s\n' "$all" | grep -cE '^ok .*# (skip|SKIP)')
passed=$(printf '%s\n' "$all" | grep -E '^ok ' | grep -cvE '# (skip|SKIP)')
failed=$(printf '%s\n' "$all" | grep -cE '^not ok ')
# In CI a skip is a failure: a missing feature must not pass quietly.
if [ -n "$CI" ] && [ "$skipped" -gt 0 ]; then
	echo "CI: $skipped skipped test(s) count as failures:"
	printf '%s\n' "$all" | grep -E '^ok .*# (skip|SKIP)'
	failed=$((failed + skipped))
	skipped=0
fi
echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
