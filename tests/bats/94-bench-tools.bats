#!/usr/bin/env bats
# The benchmark programs of `make bench` (tests/bench): loadgen drives
# benchecho directly, through relay and through `corral serve`, and prints
# one JSON line. Only the shape of that line is checked, never a time:
# the machines that run the tests are shared.

load helpers

BENCH="$BUILD/tests/bench"

setup() {
	for f in loadgen benchecho relay; do
		[ -x "$BENCH/$f" ] || skip "$BENCH/$f not built (make servers)"
	done
	ERR="$BATS_TEST_TMPDIR/err"
	: >"$ERR"
}

# Run loadgen with $@; its JSON line in $output, its stderr in $ERR.
loadgen() {
	run --separate-stderr "$BENCH/loadgen" "$@"
	printf '%s\n' "$stderr" >>"$ERR"
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	printf '%s' "$output" | jq -e . >/dev/null
}

# Every named field of the JSON line in $output is a number.
fields() {
	local f
	for f in "$@"; do
		printf '%s' "$output" | jq -e --arg f "$f" '.[$f] | type == "number"' >/dev/null || {
			echo "no number $f in: $output" >&2
			return 1
		}
	done
}

@test "loadgen lockstep against benchecho directly" {
	loadgen --mode lockstep --n 200 -- "$BENCH/benchecho"
	[ "$(printf '%s' "$output" | jq -r .mode)" = lockstep ]
	[ "$(printf '%s' "$output" | jq .n)" -eq 200 ]
	fields p50_us p99_us mean_us init_us server_hwm_kb
	[ "$(printf '%s' "$output" | jq .server_status)" -eq 0 ]
}

@test "loadgen pipelined, big, list, idle and init against benchecho" {
	loadgen --mode pipelined --n 200 --inflight 16 -- "$BENCH/benchecho"
	[ "$(printf '%s' "$output" | jq .n)" -eq 200 ]
	fields rps elapsed_ms
	loadgen --mode big --n 2 --bytes 100000 -- "$BENCH/benchecho"
	[ "$(printf '%s' "$output" | jq .n)" -eq 2 ]
	[ "$(printf '%s' "$output" | jq .bytes)" -eq 100000 ]
	fields median_ms min_ms max_ms
	loadgen --mode list --n 5 --warmup 1 -- "$BENCH/benchecho" --delay-list 1
	fields p50_us
	loadgen --mode idle --wait 10 -- "$BENCH/benchecho"
	fields server_rss_kb
	loadgen --mode init -- "$BENCH/benchecho"
	fields init_us
}

@test "loadgen through relay" {
	loadgen --mode lockstep --n 200 -- "$BENCH/relay" "$BENCH/benchecho"
	[ "$(printf '%s' "$output" | jq .n)" -eq 200 ]
	fields p50_us p99_us mean_us
	loadgen --mode pipelined --n 200 -- "$BENCH/relay" "$BENCH/benchecho"
	fields rps
	loadgen --mode big --n 1 --bytes 1048577 -- "$BENCH/relay" "$BENCH/benchecho"
	fields median_ms
}

@test "relay exits with its command's status" {
	run "$BENCH/relay" sh -c 'cat >/dev/null; exit 3' </dev/null
	[ "$status" -eq 3 ]
	run "$BENCH/relay" sh -c 'echo hi' </dev/null
	assert_success
	assert_output hi
}

@test "loadgen through corral serve" {
	# Not through a pipe: write_config sets CONF in this shell.
	write_config <<EOF
{"mcpServers":{"e":{"command":"$BENCH/benchecho"}},"corral":{"audit":{"enabled":false}}}
EOF
	loadgen --mode lockstep --n 200 --tool e__echo -- "$CORRAL" serve -c "$CONF"
	[ "$(printf '%s' "$output" | jq .n)" -eq 200 ]
	fields p50_us p99_us mean_us init_us server_rss_kb server_hwm_kb
	[ "$(printf '%s' "$output" | jq .server_status)" -eq 0 ]
	loadgen --mode pipelined --n 200 --tool e__echo -- "$CORRAL" serve -c "$CONF"
	fields rps
	loadgen --mode big --n 1 --bytes 100000 --tool e__big -- "$CORRAL" serve -c "$CONF"
	fields median_ms
	loadgen --mode list --n 5 -- "$CORRAL" serve -c "$CONF"
	fields p50_us
}

@test "loadgen fails on an error answer" {
	run --separate-stderr "$BENCH/loadgen" --n 3 --tool nosuch -- "$BENCH/benchecho"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"unknown tool"* ]]
}
