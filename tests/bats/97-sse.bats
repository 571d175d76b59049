#!/usr/bin/env bats
# Remote servers over the legacy HTTP+SSE transport ("type": "sse"): the
# reference server-everything in its sse mode, and the fake server
# tests/servers/ssemcp with fault flags.

load helpers
load remote-helpers

# server-everything in sse mode; sets CONF too.
start_sse_everything() {
	start_everything sse
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"ev":{"type":"sse","url":"%s"}}}\n' "$EVURL" >"$CONF"
	allow_by_default "$CONF"
}

# The fake server with fault flags; sets SPORT, SLOG, CONF (max_message
# 1 MiB; restart after 0.2 s).
start_fake() {
	SLOG="$BATS_TEST_TMPDIR/sse.log"
	rm -f "$BATS_TEST_TMPDIR/port"
	"$SRV/ssemcp" --port-file "$BATS_TEST_TMPDIR/port" --log "$SLOG" "$@" \
	    >/dev/null 2>"$BATS_TEST_TMPDIR/sse.err" 3>&- &
	EVPID=$!
	local i=0
	until [ -s "$BATS_TEST_TMPDIR/port" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || fail "ssemcp did not start"
	done
	SPORT="$(cat "$BATS_TEST_TMPDIR/port")"
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"s":{"type":"sse","url":"http://127.0.0.1:%s/sse"%s}},"corral":{"max_message":1048576}}\n' \
	    "$SPORT" "${FAKE_EXTRA:-}" >"$CONF"
	allow_by_default "$CONF"
}

teardown() {
	[ -z "${EVPID:-}" ] || kill "$EVPID" 2>/dev/null || true
	[ -z "${CPID:-}" ] || kill -9 "$CPID" 2>/dev/null || true
}

@test "sse: server-everything's tools are listed and called over the legacy transport; closing the stream ends its session" {
	start_sse_everything
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line --regexp '^ev__echo +Echoes back the input string$'
	run -0 "$CORRAL" call -c "$CONF" ev__get-sum '{"a":2,"b":40}'
	assert_output "The sum of 2 and 40 is 42."
	run -0 grep -c "Client Disconnected" "$EVLOG"
	assert_output 2
	run -0 jq -c 'select(.event == "child_spawn") | {server, url, transport, pid}' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_line "{\"server\":\"ev\",\"url\":\"http://127.0.0.1:$EVPORT/sse\",\"transport\":\"sse\",\"pid\":null}"
}

@test "sse: corral serve relays progress that arrives on the event stream" {
	start_sse_everything
	start_corral
	initialize 2025-06-18
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ev__trigger-long-running-operation","arguments":{"duration":1,"steps":2},"_meta":{"progressToken":"tok-1"}}}'
	wait_for '"id":7[,}]' 20
	run -0 jq -c 'select(.method == "notifications/progress") | .params' "$OUT"
	assert_output '{"progress":1,"total":2,"progressToken":"tok-1"}
{"progress":2,"total":2,"progressToken":"tok-1"}'
	run -0 jq -c 'select(.id == 7) | .result' "$OUT"
	assert_output '{"content":[{"type":"text","text":"Long running operation completed. Duration: 1 seconds, Steps: 2."}]}'
	stop_corral
}

@test "sse: corral doctor opens the event stream and names the endpoint" {
	start_sse_everything
	run "$CORRAL" doctor -c "$CONF"
	assert_line --regexp "^ok    server ev: reachable, its event stream names the endpoint /message\?sessionId=[0-9a-f-]+ \(http://127.0.0.1:$EVPORT/sse\)$"
	CONF2="$BATS_TEST_TMPDIR/c2.json"
	printf '{"mcpServers":{"gone":{"type":"sse","url":"http://127.0.0.1:1/sse"}}}\n' >"$CONF2"
	chmod 600 "$CONF2"
	run -1 "$CORRAL" doctor -c "$CONF2"
	assert_line --regexp '^FAIL  server gone: cannot reach http://127.0.0.1:1/sse: Failed to connect to 127.0.0.1 port 1 after [0-9]+ ms: Could(n.t| not) connect to server$'
}
