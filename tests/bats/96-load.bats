#!/usr/bin/env bats
# The load test: tests/tools/loadmix drives `corral serve` in front of
# eight echo servers with a mix of calls, lists and pings, 64 in flight,
# about 5% cancelled, one child killed with SIGKILL halfway, and checks
# every answer against its request, corral's fds and memory, its exit and
# that no child outlives it (see the comment at the top of loadmix.c).
#
# Sizes: CORRAL_STRESS=1 (make stress) runs 100000 requests; otherwise
# 20000 (5000 with audit on), and half of that on the ASan build.
# LOADMIX_SEED=N replays a run; the seed is printed either way.

load helpers

LOADMIX="$BUILD/tests/tools/loadmix"
NCHILD=8

# requests: the run's size for a normal size of $1.
requests() {
	if [ -n "${CORRAL_STRESS:-}" ]; then
		echo 100000
	elif [ "${CORRAL_BUILD:-build}" = build-asan ]; then
		echo $(($1 / 2))
	else
		echo "$1"
	fi
}

# load_config [CORRAL-SETTINGS]: eight echo servers e1..e8, each writing
# its pid to $PIDS/eK.pid, restarted 0.1 s after a crash; without
# prompts and resources, whose URIs would clash between them. Profile
# none and policy allow come from helpers.bash.
load_config() {
	local k
	PIDS="$BATS_TEST_TMPDIR/pids"
	mkdir -p "$PIDS"
	{
		printf '{"mcpServers":{'
		for ((k = 1; k <= NCHILD; k++)); do
			[ "$k" = 1 ] || printf ','
			printf '"e%d":{"command":"%s/echo","args":["--no-prompts","--no-resources"],"env":{"FAKE_PIDFILE":"%s/e%d.pid"},"restart":{"backoff":0.1}}' \
			    "$k" "$SRV" "$PIDS" "$k"
		done
		printf '}%s}' "${1:+,\"corral\":$1}"
	} >"$BATS_TEST_TMPDIR/load.json"
	write_config <"$BATS_TEST_TMPDIR/load.json"
}

# run_load REQUESTS: loadmix on $CONF; sets SUMMARY to its summary line.
run_load() {
	local g=8192 seed=()
	ERR="$BATS_TEST_TMPDIR/err"
	: >"$ERR"
	if [ "${CORRAL_BUILD:-build}" = build-asan ]; then
		# ASan keeps up to 256 MiB of freed memory in quarantine, which
		# is growth without a leak: keep 8 MiB of it, and allow as much.
		export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8"
		g=16384
	fi
	[ -z "${LOADMIX_SEED:-}" ] || seed=(-s "$LOADMIX_SEED")
	run "$LOADMIX" -b "$CORRAL" -c "$CONF" -d "$PIDS" -n "$NCHILD" \
	    -r "$1" -w 64 -g "$g" -e "$ERR" "${seed[@]}" 3>&-
	if [ "$status" -ne 0 ]; then
		printf 'loadmix exited %s:\n%s\n--- corral stderr (tail):\n' \
		    "$status" "$output" >&2
		grep -v 'WARNING: NOT SANDBOXED' "$ERR" | tail -n 40 >&2
		return 1
	fi
	SUMMARY="$(grep -E '^loadmix: seed=.* violations=' <<<"$output")"
	echo "# $SUMMARY" >&3
}

# field NAME: the value of NAME= in the summary.
field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$SUMMARY"
}

# The summary says what a clean run says.
assert_summary() {
	local r="$1" answered cancels
	[ -n "$SUMMARY" ]
	assert_equal "$(field requests)" "$r"
	assert_equal "$(field violations)" 0
	assert_equal "$(field restarted)" 1
	assert_equal "$(field sentinel_errors)" 2
	assert_equal "$(field host_requests)" 0
	# Every request was answered or cancelled; a cancelled one at most
	# once. answered counts the extra requests too (initialize, barriers,
	# probes, sentinels), so it may be a little above requests.
	answered="$(field answered)"
	cancels="$(field cancels)"
	[ "$cancels" -gt 0 ]
	[ "$(field cancelled_answered)" -le "$cancels" ]
	[ "$answered" -ge $((r - cancels)) ]
	# The same fds after the run as after initialize: the broker holds
	# a fixed set (its pipes to each child, the event loop's, the audit
	# log's), and a restarted child's pipes replace the dead one's.
	assert_equal "$(field fds_end)" "$(field fds_init)"
	assert_equal "$(field fds_warm)" "$(field fds_init)"
}

# No echo server is left: every pid file names a process that is gone.
assert_children_gone() {
	local f pid n=0
	for f in "$PIDS"/e*.pid; do
		pid="$(head -n 1 "$f")"
		n=$((n + 1))
		if kill -0 "$pid" 2>/dev/null; then
			echo "child $(basename "$f" .pid) (pid $pid) survived corral" >&2
			return 1
		fi
	done
	assert_equal "$n" "$NCHILD"
}

@test "load: calls, lists and pings through 8 children, cancels, a child killed halfway (audit off)" {
	local r
	r="$(requests 20000)"
	load_config '{"audit":{"enabled":false}}'
	run_load "$r"
	assert_summary "$r"
	assert_children_gone
}

@test "load: the same with the audit log on, default settings; the log verifies" {
	local r
	r="$(requests 5000)"
	load_config
	run_load "$r"
	assert_summary "$r"
	assert_children_gone
	# A call record for each call that reached a child, and the chain holds.
	[ -s "$XDG_STATE_HOME/corral/audit.jsonl" ]
	run --separate-stderr "$CORRAL" audit verify -c "$CONF"
	if [ "$status" -ne 0 ]; then
		printf 'audit verify: %s\n%s\n' "$output" "$stderr" >&2
		return 1
	fi
}
