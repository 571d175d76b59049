#!/usr/bin/env bats
# Remote servers over Streamable HTTP: the reference server-everything in
# its streamableHttp mode on loopback, and corral's config checks.

load helpers
load remote-helpers

remote_config() {
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"ev":{"type":"http","url":"http://127.0.0.1:%s/mcp"%s}}}\n' \
	    "$EVPORT" "${1:-}" >"$CONF"
	allow_by_default "$CONF"
}

teardown() {
	[ -z "${EVPID:-}" ] || kill "$EVPID" 2>/dev/null || true
	[ -z "${CPID:-}" ] || kill -9 "$CPID" 2>/dev/null || true
}

@test "remote: tools of an HTTP server are listed and called; the session is ended with DELETE" {
	start_everything
	remote_config
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line --regexp '^ev__echo +Echoes back the input string$'
	assert_line --regexp '^ev__get-sum '
	run -0 "$CORRAL" call -c "$CONF" ev__echo '{"message":"over http"}'
	assert_output "Echo: over http"
	run -0 grep -c "Received session termination request" "$EVLOG"
	assert_output 2
}

@test "remote: corral serve relays progress from an event stream, with the host's token" {
	start_everything
	remote_config
	start_corral
	initialize 2025-06-18
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ev__trigger-long-running-operation","arguments":{"duration":1,"steps":2},"_meta":{"progressToken":"tok-1"}}}'
	wait_for '"id":7[,}]' 20
	# Members keep the server's order: compare parsed.
	run -0 jq -c 'select(.method == "notifications/progress") | .params' "$OUT"
	assert_output '{"progress":1,"total":2,"progressToken":"tok-1"}
{"progress":2,"total":2,"progressToken":"tok-1"}'
	run -0 jq -c 'select(.id == 7)' "$OUT"
	assert_output '{"result":{"content":[{"type":"text","text":"Long running operation completed. Duration: 1 seconds, Steps: 2."}]},"jsonrpc":"2.0","id":7}'
	stop_corral
}

@test "remote: a server that went away answers calls with an error, not a hang" {
	start_everything
	remote_config
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ev__echo","arguments":{"message":"a"}}}'
	wait_for '"id":1[,}]'
	run -0 jq -c 'select(.id == 1) | .result.content' "$OUT"
	assert_output '[{"type":"text","text":"Echo: a"}]'
	kill "$EVPID"
	wait "$EVPID" 2>/dev/null || true
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ev__echo","arguments":{"message":"b"}}}'
	wait_for '"id":2,"error"'
	run -0 line_for '"id":2,'
	assert_output --regexp '^\{"jsonrpc":"2.0","id":2,"error":\{"code":-32000,"message":"remote server ev: http://127.0.0.1:[0-9]+/mcp: Failed to connect to 127.0.0.1 port [0-9]+ after [0-9]+ ms: Could(n.t| not) connect to server"'
	stop_corral
}

@test "remote: header values from \${env:} and \${file:} are sent and never logged" {
	start_everything
	printf 'file-secret-42\n' >"$BATS_TEST_TMPDIR/token"
	remote_config ',"headers":{"X-Api-Key":"${env:REMOTE_KEY}","X-Other":"${file:'"$BATS_TEST_TMPDIR"'/token}"}'
	REMOTE_KEY=env-secret-17 run -0 "$CORRAL" call -c "$CONF" ev__echo '{"message":"k"}'
	assert_output "Echo: k"
	run -1 grep -e env-secret-17 -e file-secret-42 "$XDG_STATE_HOME/corral/audit.jsonl"
	run -0 jq -c 'select(.event == "child_spawn") | {server, url, transport, pid}' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_output "{\"server\":\"ev\",\"url\":\"http://127.0.0.1:$EVPORT/mcp\",\"transport\":\"http\",\"pid\":null}"
}

@test "remote: a server that cannot be reached is reported and retried, corral goes on" {
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"gone":{"type":"http","url":"http://127.0.0.1:1/mcp"},"e":{"command":"%s/echo"}}}\n' "$SRV" >"$CONF"
	allow_by_default "$CONF"
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line --regexp '^e__echo '
	assert_line --regexp '^corral: \[gone\] initialize failed: remote server gone: http://127.0.0.1:1/mcp: Failed to connect to 127.0.0.1 port 1 after [0-9]+ ms: Could(n.t| not) connect to server$'
	assert_line --regexp '^corral: \[gone\] restarting in 1 s \(failure 1 of at most 5\)$'
}

@test "remote: config errors name the key" {
	CONF="$BATS_TEST_TMPDIR/c.json"
	check() {
		printf '{"mcpServers":{"r":%s}}\n' "$1" >"$CONF"
		chmod 600 "$CONF"
		run -1 "$CORRAL" tools -c "$CONF"
		assert_output "corral: $CONF: mcpServers.r$2"
	}
	check '{"type":"http","url":"http://example.com/mcp"}' '.url: must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost)'
	check '{"type":"http"}' ': missing "url"'
	check '{"type":"http","url":"https://x.test/mcp","command":"x"}' '.command: only for local (stdio) servers; a remote server runs elsewhere'
	check '{"type":"http","url":"https://x.test/mcp","sandbox":{}}' '.sandbox: only for local (stdio) servers; a remote server runs elsewhere'
	check '{"type":"sse","url":"https://x.test/sse","cwd":"/"}' '.cwd: only for local (stdio) servers; a remote server runs elsewhere'
	check '{"type":"sse","url":"http://example.com/sse"}' '.url: must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost)'
	check '{"type":"ws","url":"https://x.test/mcp"}' '.type: must be "stdio", "http" or "sse"'
	check '{"type":"http","url":"https://x.test/mcp","headers":{"mcp-session-id":"x"}}' '.headers.mcp-session-id: corral sets this header itself'
	check '{"type":"http","url":"https://x.test/mcp","headers":{"X Key":"a"}}' '.headers.X Key: not a valid header name'
	check '{"type":"http","url":"https://x.test/mcp","headers":{"X-Key":1}}' '.headers.X-Key: expected a string, got a number'
	check '{"type":"http","url":"https://x.test/mcp","headers":{"X-Key":"${file:/nonexistent/t}"}}' '.headers.X-Key: ${file:/nonexistent/t}: No such file or directory'
	check '{"url":"not a url"}' '.url: not a valid URL'
	check '{"command":"x","url":"https://x.test"}' '.url: only for remote servers ("type": "http" or "sse")'
	check '{"command":"x","headers":{}}' '.headers: only for remote servers ("type": "http" or "sse")'
}

# The fake server (tests/servers/httpmcp) with fault flags; sets HPORT,
# HLOG and CONF (max_message 1 MiB).
start_fake() {
	start_httpmcp "$@"
	EVPID=$HPID
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"h":{"type":"http","url":"http://127.0.0.1:%s/mcp"}},"corral":{"max_message":1048576}}\n' \
	    "$HPORT" >"$CONF"
	allow_by_default "$CONF"
}

@test "remote: session id and protocol version go with every request after initialize; DELETE ends it" {
	start_fake
	run -0 "$CORRAL" call -c "$CONF" h__echo '{"text":"hello"}'
	assert_output "hello"
	run -0 sed -n '1p' "$HLOG"
	assert_output --regexp '^POST /mcp session=- proto=- auth=- accept=application/json, text/event-stream last-event-id=- body=\{"jsonrpc":"2.0","id":1,"method":"initialize",'
	# Every later line carries the session the server gave, and the version.
	sid="$(sed -n '2s/.* session=\([0-9a-f]*\) .*/\1/p' "$HLOG")"
	[ "${#sid}" = 32 ]
	run -0 grep -vc " session=$sid proto=2025-11-25 " "$HLOG"
	assert_output 1
	run -0 tail -n1 "$HLOG"
	assert_output --regexp "^DELETE /mcp session=$sid proto=2025-11-25 "
	run -0 grep -c '^GET /mcp .* accept=text/event-stream ' "$HLOG"
	# notifications/initialized was accepted before anything else went:
	# no request overtakes it on another connection.
	# (The lists are requested together, in any order.)
	sed -n 's/^POST .* body={"jsonrpc":"2.0",\("id":[0-9]*,\)\{0,1\}"method":"\([^"]*\)".*/\2/p' "$HLOG" >"$BATS_TEST_TMPDIR/methods"
	run -0 head -n2 "$BATS_TEST_TMPDIR/methods"
	assert_output "initialize
notifications/initialized"
	run -0 sed -n '3,$p' "$BATS_TEST_TMPDIR/methods"
	assert_line --index 4 tools/call
	run -0 sort "$BATS_TEST_TMPDIR/methods"
	assert_output "initialize
notifications/initialized
prompts/list
resources/list
resources/templates/list
tools/call
tools/list"
}

@test "remote: an expired session (404) is replaced transparently and the request sent again" {
	start_fake --expire-after 3
	run -0 "$CORRAL" call -c "$CONF" h__echo '{"text":"again"}'
	assert_line "again"
	assert_line "corral: [h] session expired (HTTP 404); starting a new one"
	run -0 grep -c '"method":"initialize"' "$HLOG"
	[ "$output" -ge 2 ]
}

@test "remote: a server that forgets every new session is given up after three tries" {
	start_fake --expire-after 2
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line "corral: [h] the server forgot three new sessions in a row (HTTP 404)"
	assert_line "corral: [h] restarting in 1 s (failure 1 of at most 5)"
}

@test "remote: answers as event streams, with junk lines among the events" {
	start_fake --mode sse --garbage-sse
	run -0 "$CORRAL" call -c "$CONF" h__echo '{"text":"streamed"}'
	assert_line "streamed"
	assert_line "corral: [h] dropped a line that is not a JSON-RPC message (invalid literal)"
}

@test "remote: a slow event stream holds up only its own request; its events arrive whole and in order" {
	start_fake --mode sse --slow-sse 300
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"h__slow","arguments":{"steps":3,"ms":10},"_meta":{"progressToken":"p"}}}'
	wait_for '"method":"notifications/progress"'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"h__echo","arguments":{"text":"meanwhile"}}}'
	wait_for '"id":1,' 20
	# The echo was answered while the slow stream still had events to go.
	run -0 grep -oE '"id":(1|2),' "$OUT"
	assert_output '"id":2,
"id":1,'
	run -0 jq -c 'select(.method == "notifications/progress") | .params.progress' "$OUT"
	assert_output "1
2
3"
	run -0 jq -c 'select(.id == 1) | .result.content[0].text' "$OUT"
	assert_output '"slow: done after 3 steps"'
	stop_corral
}

@test "remote: HTTP 500 fails that request with the status and the body's head" {
	start_fake --fail500 7
	run -1 "$CORRAL" call -c "$CONF" h__echo '{"text":"x"}'
	assert_line "corral: h__echo: remote server h: HTTP 500: internal server error (--fail500) (-32000)"
}

@test "remote: a redirect to another host is not followed" {
	start_fake --redirect http://127.0.0.2:9/mcp
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line "corral: [h] initialize failed: remote server h: redirected to http://127.0.0.2:9/mcp; not followed (another host may not see this server's headers)"
	run -0 grep -c . "$HLOG"
	assert_output 1
}

@test "remote: an answer larger than max_message is dropped and the request fails" {
	start_fake --oversize 2000000
	run -1 "$CORRAL" call -c "$CONF" h__echo '{"text":"x"}'
	assert_line "corral: h__echo: remote server h: an answer larger than max_message (1048576 bytes); dropped (-32000)"
}

@test "remote: 401 says what to do" {
	start_fake --require-auth tok-1
	run -0 "$CORRAL" tools -c "$CONF"
	assert_line 'corral: [h] initialize failed: remote server h: needs authorization (HTTP 401): run `corral login h` (or give it a token in "headers")'
	# With the token in headers it works.
	printf '{"mcpServers":{"h":{"type":"http","url":"http://127.0.0.1:%s/mcp","headers":{"Authorization":"Bearer ${env:TOK}"}}}}\n' \
	    "$HPORT" >"$CONF"
	allow_by_default "$CONF"
	TOK=tok-1 run -0 "$CORRAL" call -c "$CONF" h__whoami '{}'
	assert_output "Bearer tok-1"
}

@test "remote: a cancelled call is cancelled at the server and its stream closed; no answer follows" {
	start_fake
	start_corral
	initialize 2025-06-18
	send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"h__slow","arguments":{"steps":50,"ms":100},"_meta":{"progressToken":"p5"}}}'
	wait_for '"progressToken":"p5"'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}'
	i=0
	until grep -q '"method":"notifications/cancelled"' "$HLOG"; do
		sleep 0.05; i=$((i + 1)); [ "$i" -lt 200 ] || fail "no cancellation reached the server"
	done
	send '{"jsonrpc":"2.0","id":6,"method":"ping"}'
	wait_for '"id":6,'
	sleep 0.3
	run -1 grep -E '"id":5[,}]' "$OUT"
	# The progress stopped with the stream.
	n1="$(grep -c '"progressToken":"p5"' "$OUT")"
	sleep 0.5
	n2="$(grep -c '"progressToken":"p5"' "$OUT")"
	[ "$n1" = "$n2" ]
	stop_corral
	[ "$STATUS" = 0 ]
}

@test "remote: an answer stream cut mid-way is resumed with GET and Last-Event-ID" {
	start_fake --cut-after 2
	start_corral
	initialize 2025-06-18
	send '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"h__slow","arguments":{"steps":4,"ms":50},"_meta":{"progressToken":"p4"}}}'
	wait_for '"id":4,'
	run -0 jq -c 'select(.id == 4) | .result.content' "$OUT"
	assert_output '[{"type":"text","text":"slow: done after 4 steps"}]'
	run -0 jq -c 'select(.method == "notifications/progress") | .params.progress' "$OUT"
	assert_output $'1\n2\n3\n4'
	run -0 grep -E '^GET /mcp .* last-event-id=[0-9a-f]+-2 ' "$HLOG"
	wait_err 'an answer stream broke; resuming after event [0-9a-f]+-2$'
	stop_corral
}

@test "remote: corral doctor says whether each remote server can be reached and initializes" {
	start_fake
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"h":{"type":"http","url":"http://127.0.0.1:%s/mcp"},"g":{"url":"http://127.0.0.1:1/mcp"}}}\n' \
	    "$HPORT" >"$CONF"
	chmod 600 "$CONF"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line "ok    server h: reachable, initialize answered (http://127.0.0.1:$HPORT/mcp)"
	assert_line --regexp '^FAIL  server g: cannot reach http://127.0.0.1:1/mcp: Failed to connect to 127.0.0.1 port 1 after [0-9]+ ms: Could(n.t| not) connect to server$'
	# The session it opened is ended.
	run -0 grep -c '^DELETE /mcp session=[0-9a-f]\{32\} ' "$HLOG"
	assert_output 1
	kill "$EVPID"
	start_fake --require-auth tok
	printf '{"mcpServers":{"h":{"type":"http","url":"http://127.0.0.1:%s/mcp"}}}\n' "$HPORT" >"$CONF"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line 'FAIL  server h: needs authorization (HTTP 401); run `corral login h` (or give it a token in "headers")'
}

@test "remote: a host that stops reading pauses the transfers; nothing is lost when it reads again" {
	start_fake
	big_answers_survive_a_lagging_host h__big 12 900000
}
