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
	start_net_server ssemcp "$SLOG" "$@"
	EVPID=$FAKE_PID
	SPORT=$FAKE_PORT
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
	run -0 jq -c 'select(.event == "child_exit") | {server, url, reason}' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_output "{\"server\":\"ev\",\"url\":\"http://127.0.0.1:$EVPORT/sse\",\"reason\":\"stopped by corral\"}
{\"server\":\"ev\",\"url\":\"http://127.0.0.1:$EVPORT/sse\",\"reason\":\"stopped by corral\"}"
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

@test "sse: messages wait for the endpoint and go to it; the configured headers go with every request" {
	FAKE_EXTRA=',"headers":{"Authorization":"Bearer sse-tok"}' start_fake
	run -0 "$CORRAL" call -c "$CONF" s__whoami '{}'
	assert_output "Bearer sse-tok"
	# initialize, notifications/initialized, tools/list, tools/call
	run -0 grep -c '^POST /messages?sessionId=[0-9a-f]\{32\} auth=Bearer sse-tok accept=application/json, text/event-stream body=' "$SLOG"
	assert_output 4
	run -0 grep -c '^GET /sse auth=Bearer sse-tok accept=text/event-stream body=-$' "$SLOG"
	assert_output 1
	# One POST at a time, in the order sent: nothing overtakes
	# notifications/initialized on another connection.
	run -0 sed -n 's/^POST .* body={"jsonrpc":"2.0",\("id":[0-9]*,\)\{0,1\}"method":"\([^"]*\)".*/\2/p' "$SLOG"
	assert_output "initialize
notifications/initialized
tools/list
tools/call"
}

@test "sse: a relative endpoint without a slash resolves against the stream's URL" {
	start_fake --endpoint 'messages?sessionId={id}'
	run -0 "$CORRAL" call -c "$CONF" s__echo '{"text":"rel"}'
	assert_output "echo: rel"
}

@test "sse: an endpoint on another origin is refused: the headers never reach it" {
	FAKE_EXTRA=',"headers":{"Authorization":"Bearer sse-tok"}' start_fake --endpoint 'http://127.0.0.2:{port}/messages?sessionId={id}'
	run -1 "$CORRAL" call -c "$CONF" s__echo '{"text":"x"}'
	assert_line --regexp "^corral: \[s\] the server's endpoint http://127.0.0.2:$SPORT/messages\?sessionId=[0-9a-f]{32} is on another origin and would see this server's headers; not used$"
	run -1 grep -q '^POST' "$SLOG"
	run -0 jq -r 'select(.event == "child_exit") | .reason' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_line --regexp "^the server's endpoint http://127.0.0.2:$SPORT/messages\?sessionId=[0-9a-f]{32} is on another origin"
}

@test "sse: junk among the events is skipped; events not named message are not messages" {
	start_fake --garbage
	run -0 "$CORRAL" call -c "$CONF" s__echo '{"text":"through junk"}'
	assert_output "echo: through junk"
}

@test "sse: a stream that ends is a server that exited: in-flight calls fail, the next generation serves" {
	FAKE_EXTRA=',"restart":{"backoff":0.1}' start_fake --close-after 3
	# initialize, tools/list and this call's answer: the stream ends after it.
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s__echo","arguments":{"text":"one"}}}'
	wait_for '"id":1,'
	run -0 jq -c 'select(.id == 1) | .result.content' "$OUT"
	assert_output '[{"type":"text","text":"echo: one"}]'
	wait_err 'corral: \[s\] the server ended its event stream'
	wait_err 'corral: \[s\] ready again'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"s__echo","arguments":{"text":"two"}}}'
	wait_for '"id":2,' 15
	run -0 jq -c 'select(.id == 2) | .result.content' "$OUT"
	assert_output '[{"type":"text","text":"echo: two"}]'
	run -0 grep -c '^GET /sse' "$SLOG"
	assert_output 2
	stop_corral
}

@test "sse: sampling requests from the server arrive on the stream and the host's answer is POSTed back" {
	start_fake
	start_corral
	initialize 2025-06-18 '{"sampling":{}}'
	send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"s__ask","arguments":{"prompt":"pick"}}}'
	wait_for '"method":"sampling/createMessage"'
	run -0 jq -c 'select(.method == "sampling/createMessage") | .id' "$OUT"
	sid="$output"
	send '{"jsonrpc":"2.0","id":'"$sid"',"result":{"role":"assistant","model":"m","content":{"type":"text","text":"forty-two"}}}'
	wait_for '"id":3,'
	run -0 jq -c 'select(.id == 3) | .result.content' "$OUT"
	assert_output '[{"type":"text","text":"forty-two"}]'
	run -0 grep -c '^POST /messages?sessionId=[0-9a-f]* .*"id":"s1","result"' "$SLOG"
	assert_output 1
	stop_corral
}

@test "sse: a stream that cannot be opened says why (HTTP status, not an event stream, no endpoint)" {
	start_fake --status 503
	run -1 "$CORRAL" call -c "$CONF" s__echo '{"text":"x"}'
	assert_line 'corral: [s] no event stream: HTTP 503: ssemcp: status 503'
	assert_line 'corral: [s] restarting in 1 s (failure 1 of at most 5)'
	kill "$EVPID"; wait "$EVPID" 2>/dev/null || true
	start_fake --json-get
	run -1 "$CORRAL" call -c "$CONF" s__echo '{"text":"x"}'
	assert_line 'corral: [s] no event stream: the server did not answer with an event stream (Content-Type text/event-stream)'
	run -0 jq -r 'select(.event == "child_exit") | .reason' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_line 'no event stream: the server did not answer with an event stream (Content-Type text/event-stream)'
	kill "$EVPID"; wait "$EVPID" 2>/dev/null || true
	FAKE_EXTRA=',"timeouts":{"start":1},"restart":{"max_failures":1}' start_fake --no-endpoint
	run -1 "$CORRAL" call -c "$CONF" s__echo '{"text":"x"}'
	assert_line 'corral: [s] not ready after 1 s; stopping it'
	run -1 grep -q '^POST' "$SLOG"
}
