#!/usr/bin/env bats
# Child lifecycle under `corral serve`: stderr relay, crashes, restarts,
# giving up, late and silent children, shutdown and signals.

load helpers

# helpers.bash's start_corral puts corral's stdin on fd 3, which is also
# bats' own result stream: the test's "ok" or "not ok" line would then go
# to corral, or nowhere once stop_corral closed it. Keep the stream on
# fd 8 meanwhile, away from corral and its children, and put it back.
start_serve() {
	start_corral "$@"
}

stop_serve() {
	stop_corral "$@"
}


# Fail unless $ERR has the exact line $1.
assert_err_line() {
	grep -qxF -- "$1" "$ERR" && return 0
	printf 'no line "%s" in stderr:\n' "$1" >&2
	cat "$ERR" >&2
	return 1
}

# Wait until $OUT has at least $2 lines matching $1 (timeout $3 s, 10).
wait_count() {
	local i=0 t="${3:-10}"
	while [ "$(grep -cE -- "$1" "$OUT")" -lt "$2" ]; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting for $2 lines matching: $1" >&2
			cat "$OUT" >&2
			return 1
		fi
	done
}

# Is process $1 alive? A zombie is not: children orphaned by a killed
# corral are reaped by whatever init the machine has, in its own time.
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Wait until process $1 is gone (timeout $2 s, default 5).
wait_gone() {
	local i=0 t="${2:-5}"
	while alive "$1"; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "process $1 is still alive" >&2
			return 1
		fi
	done
}

# Wait until corral exits by itself (timeout $1 s, default 10); sets STATUS.
wait_corral_exit() {
	wait_gone "$CPID" "${1:-10}" || return 1
	STATUS=0
	wait "$CPID" || STATUS=$?
}

# The pid in file $1, once the file is written.
pid_of() {
	local i=0
	while [ ! -s "$1" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { echo "no pid in $1" >&2; return 1; }
	done
	head -n 1 "$1"
}

# The response to host request id $1, compact.
response() {
	jq -c "select(.id == $1)" "$OUT"
}

# Send tools/call of tool $2 with arguments $3 as request id $1.
call() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"'"$2"'","arguments":'"${3:-{\}}"'}}'
}

# The exposed tool names of a tools/list as request id $1, one per line.
list_tools() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/list"}'
	wait_for '"id":'"$1"',"result"'
	jq -r "select(.id == $1) | .result.tools[].name" "$OUT"
}

# The fast settings every config here uses.
FAST='"corral":{"timeouts":{"shutdown":0.3}}'

# --- stderr ------------------------------------------------------------------

@test "a child's stderr lines come out on corral's stderr as [alias] line" {
	write_config <<EOF
{"mcpServers":{"ec":{"command":"$SRV/echo"}},$FAST}
EOF
	start_serve
	initialize
	call 1 ec__stderr '{"text":"a line on stderr"}'
	wait_for '"id":1,"result"'
	wait_err '^\[ec\] a line on stderr$'
	assert_err_line "[ec] echo: started"
	assert_err_line "[ec] a line on stderr"
	stop_serve
	[ "$STATUS" -eq 0 ]
	# Nothing of it on stdout.
	run -1 grep -c "a line on stderr" "$OUT"
	assert_stdout_json
}

# --- crashes and restarts ----------------------------------------------------

@test "a child exiting mid-call: -32000 naming it, with status and stderr tail" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","restart":{"backoff":0.2}}},$FAST}
EOF
	start_serve
	initialize
	call 1 echo__stderr '{"text":"before the crash"}'
	wait_for '"id":1,"result"'
	call 2 echo__exit '{"code":3}'
	wait_for '"id":2,"error"'
	run -0 jq -c '.error | [.code, .message, .data.server, .data.reason, .data.stderr]' < <(response 2)
	assert_output '[-32000,"server echo exited with status 3","echo","exited with status 3",["echo: started","before the crash"]]'
	wait_err 'restarting in'
	assert_err_line "corral: [echo] exited with status 3"
	assert_err_line "corral: [echo] restarting in 0.2 s (failure 1 of at most 5)"
	stop_serve
	[ "$STATUS" -eq 0 ]
	assert_stdout_json
}

@test "a crashed child restarts after the backoff; the host hears list_changed and its tools work again" {
	local pidf="$BATS_TEST_TMPDIR/echo.pid" pid1 pid2
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$pidf"},"restart":{"backoff":0.2}}},$FAST}
EOF
	start_serve
	initialize
	pid1="$(pid_of "$pidf")"
	call 1 echo__exit '{"code":3}'
	wait_for '"id":1,"error"'
	# Its tools leave (one list_changed), then come back (another).
	wait_count 'notifications/tools/list_changed' 2
	wait_err '^corral: \[echo\] ready again$'
	pid2="$(pid_of "$pidf")"
	[ "$pid1" != "$pid2" ]
	run -0 list_tools 2
	assert_line echo__echo
	call 3 echo__echo '{"text":"back"}'
	wait_for '"id":3,'
	run -0 jq -r '.result.content[0].text' < <(response 3)
	assert_output back
	stop_serve
	[ "$STATUS" -eq 0 ]
	wait_gone "$pid2"
}

@test "while a crashed child waits to restart, its tools are gone: -32602" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","restart":{"backoff":30}},
 "other":{"command":"$SRV/echo","args":["--no-resources","--no-prompts"]}},$FAST}
EOF
	start_serve
	initialize
	call 1 echo__exit '{"code":3}'
	wait_for '"id":1,"error"'
	wait_for 'notifications/tools/list_changed'
	run -0 list_tools 2
	refute_output --partial echo__
	assert_line other__echo
	call 3 echo__echo '{"text":"x"}'
	wait_for '"id":3,'
	run -0 jq -c '[.error.code, .error.message]' < <(response 3)
	assert_output '[-32602,"unknown tool: echo__echo (server echo is not ready: exited with status 3)"]'
	stop_serve
	[ "$STATUS" -eq 0 ]
}

@test "a child killed by a signal mid-answer (crashy boom): -32000 with the signal, half line dropped" {
	write_config <<EOF
{"mcpServers":{"crashy":{"command":"$SRV/crashy","restart":{"backoff":0.2}}},$FAST}
EOF
	start_serve
	initialize
	call 1 crashy__boom
	wait_for '"id":1,'
	run -0 jq -c '.error | [.code, .data.server, .data.reason, .data.stderr[-1]]' < <(response 1)
	assert_output '[-32000,"crashy","killed by signal 6 (Aborted)","crashy: boom"]'
	wait_err 'restarting in'
	assert_err_line "corral: [crashy] killed by signal 6 (Aborted)"
	assert_err_line "corral: [crashy] restarting in 0.2 s (failure 1 of at most 5)"
	# It comes back.
	wait_err '^corral: \[crashy\] ready again$'
	call 2 crashy__echo '{"text":"again"}'
	wait_for '"id":2,'
	run -0 jq -r '.result.content[0].text' < <(response 2)
	assert_output again
	stop_serve
	[ "$STATUS" -eq 0 ]
	# The half-written answer never reached the host.
	run -1 grep -c "never finished" "$OUT"
	assert_stdout_json
}

@test "a child that always fails is given up after restart.max_failures; the other keeps serving" {
	write_config <<EOF
{"mcpServers":{
 "echo":{"command":"$SRV/echo"},
 "bad":{"command":"$SRV/initexit","restart":{"max_failures":2,"backoff":0.1}},
 "zero":{"command":"$SRV/initexit","args":["--code","4"],"restart":{"max_failures":0}}},$FAST}
EOF
	start_serve
	initialize
	wait_err 'bad\] failed 3 times in a row'
	wait_err 'zero\] failed 1 time in a row'
	assert_err_line "corral: [bad] restarting in 0.1 s (failure 1 of at most 2)"
	assert_err_line "corral: [bad] restarting in 0.2 s (failure 2 of at most 2)"
	assert_err_line "corral: [bad] failed 3 times in a row; not restarting it"
	assert_err_line "corral: [zero] exited with status 4"
	assert_err_line "corral: [zero] failed 1 time in a row; not restarting it"
	run -1 grep -c "zero\] restarting" "$ERR"
	# No further attempt after giving up (the next backoff would be 0.4 s).
	sleep 0.6
	run -0 grep -c '^\[bad\] initexit: started$' "$ERR"
	assert_output 3
	run -0 grep -c '^\[zero\] initexit: started$' "$ERR"
	assert_output 1
	# The healthy child is untouched.
	run -0 list_tools 1
	assert_line echo__echo
	refute_output --partial bad__
	call 2 echo__echo '{"text":"still here"}'
	wait_for '"id":2,'
	run -0 jq -r '.result.content[0].text' < <(response 2)
	assert_output "still here"
	stop_serve
	[ "$STATUS" -eq 0 ]
}

@test "a child dying during initialize does not hold up the host's initialize" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"},"bad":{"command":"$SRV/initexit"}},
 "corral":{"timeouts":{"shutdown":0.3,"initialize":20}}}
EOF
	start_serve
	# Answered as soon as bad has failed, far before the 20 s deadline.
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	wait_for '"id":0,"result"' 5
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	run -0 jq -c '.result.capabilities.tools' < <(response 0)
	assert_output '{"listChanged":true}'
	run -0 list_tools 1
	[ "${#lines[@]}" -eq 13 ]
	assert_line echo__echo
	refute_output --partial bad__
	assert_err_line "corral: [bad] exited with status 3"
	stop_serve
	[ "$STATUS" -eq 0 ]
}

@test "a child that never answers initialize: the host is answered after timeouts.initialize, the child stopped after timeouts.start" {
	local pidf="$BATS_TEST_TMPDIR/mute.pid" pid
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"},
 "mute":{"command":"$SRV/silent","env":{"FAKE_PIDFILE":"$pidf"},"timeouts":{"start":1.2},"restart":{"backoff":30}}},
 "corral":{"timeouts":{"shutdown":0.3,"initialize":0.5}}}
EOF
	start_serve
	pid="$(pid_of "$pidf")"
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	wait_for '"id":0,"result"' 5
	assert_err_line "corral: [mute] not ready yet; it joins when ready"
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	run -0 list_tools 1
	assert_line echo__echo
	refute_output --partial mute__
	wait_err 'mute\] not ready after' 5
	assert_err_line "corral: [mute] not ready after 1.2 s; stopping it"
	wait_gone "$pid"
	wait_err 'mute\] restarting in 30 s'
	stop_serve
	[ "$STATUS" -eq 0 ]
}

@test "a late child joins after initialize: list_changed, then its tools are listed and work" {
	write_config <<EOF
{"mcpServers":{"quick":{"command":"$SRV/echo"},
 "late":{"command":"$SRV/echo","args":["--delay-init","1500","--no-prompts","--no-resources"]}},
 "corral":{"timeouts":{"shutdown":0.3,"initialize":0.5}}}
EOF
	start_serve
	initialize
	assert_err_line "corral: [late] not ready yet; it joins when ready"
	run -0 list_tools 1
	assert_line quick__echo
	refute_output --partial late__
	wait_for 'notifications/tools/list_changed' 5
	run -0 list_tools 2
	assert_line late__echo
	[ "${#lines[@]}" -eq 26 ]
	call 3 late__echo '{"text":"joined"}'
	wait_for '"id":3,'
	run -0 jq -r '.result.content[0].text' < <(response 3)
	assert_output joined
	stop_serve
	[ "$STATUS" -eq 0 ]
}

# --- shutdown and signals ----------------------------------------------------

@test "closing stdin: corral exits 0 and its children are gone" {
	local a b
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid"}},
 "b":{"command":"$SRV/pages","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/b.pid"}}},$FAST}
EOF
	start_serve
	initialize
	a="$(pid_of "$BATS_TEST_TMPDIR/a.pid")"
	b="$(pid_of "$BATS_TEST_TMPDIR/b.pid")"
	kill -0 "$a"
	kill -0 "$b"
	stop_serve 5
	[ "$STATUS" -eq 0 ]
	# corral reaps its children before it exits.
	run -1 kill -0 "$a"
	run -1 kill -0 "$b"
	assert_stdout_json
}

@test "closing stdin before initialize: corral exits 0" {
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid"}}},$FAST}
EOF
	start_serve
	local a
	a="$(pid_of "$BATS_TEST_TMPDIR/a.pid")"
	stop_serve 5
	[ "$STATUS" -eq 0 ]
	run -1 kill -0 "$a"
	[ ! -s "$OUT" ]
}

@test "a child ignoring SIGTERM is SIGKILLed after the grace periods; corral still exits 0" {
	local pidf="$BATS_TEST_TMPDIR/stub.pid" pid t0 t1
	write_config <<EOF
{"mcpServers":{"stub":{"command":"$SRV/echo","args":["--ignore-term"],"env":{"FAKE_PIDFILE":"$pidf"}},
 "ok":{"command":"$SRV/echo","args":["--no-resources"]}},$FAST}
EOF
	start_serve
	initialize
	pid="$(pid_of "$pidf")"
	t0="$(date +%s%N)"
	stop_serve 5
	t1="$(date +%s%N)"
	[ "$STATUS" -eq 0 ]
	run -1 kill -0 "$pid"
	# It outlived the closing of its stdin and SIGTERM ...
	assert_err_line "[stub] echo: stdin closed; staying alive"
	# ... so only SIGKILL, after two grace periods of 0.3 s, ended it.
	[ $(((t1 - t0) / 1000000)) -ge 550 ] || {
		echo "corral exited after $(((t1 - t0) / 1000000)) ms" >&2
		return 1
	}
}

@test "SIGTERM: corral shuts down gracefully, exit 0, children gone" {
	local a
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid"}}},$FAST}
EOF
	start_serve
	initialize
	a="$(pid_of "$BATS_TEST_TMPDIR/a.pid")"
	kill -TERM "$CPID"
	wait_corral_exit 5
	[ "$STATUS" -eq 0 ]
	run -1 kill -0 "$a"
	assert_err_line "corral: signal 15: shutting down"
	assert_stdout_json
}

@test "SIGINT shuts down like SIGTERM; SIGHUP does not" {
	local a
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid"}}},$FAST}
EOF
	start_serve
	initialize
	a="$(pid_of "$BATS_TEST_TMPDIR/a.pid")"
	kill -HUP "$CPID"
	send '{"jsonrpc":"2.0","id":1,"method":"ping"}'
	wait_for '"id":1,"result"'
	kill -0 "$CPID"
	kill -INT "$CPID"
	wait_corral_exit 5
	[ "$STATUS" -eq 0 ]
	run -1 kill -0 "$a"
	assert_err_line "corral: signal 2: shutting down"
}

@test "kill -9 of corral: its children die with it" {
	local a b
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid"}},
 "b":{"command":"$SRV/echo","args":["--ignore-term"],"env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/b.pid"}}},$FAST}
EOF
	start_serve
	initialize
	a="$(pid_of "$BATS_TEST_TMPDIR/a.pid")"
	b="$(pid_of "$BATS_TEST_TMPDIR/b.pid")"
	kill -9 "$CPID"
	wait "$CPID" || true
	wait_gone "$a" 5
	wait_gone "$b" 5
}

# --- misbehaving children ----------------------------------------------------

@test "a child writing garbage on stdout is still usable; only JSON reaches the host" {
	write_config <<EOF
{"mcpServers":{"g":{"command":"$SRV/garbage"}},$FAST}
EOF
	start_serve
	initialize
	call 1 g__echo '{"text":"through the mess"}'
	wait_for '"id":1,'
	run -0 jq -r '.result.content[0].text' < <(response 1)
	assert_output "through the mess"
	stop_serve
	[ "$STATUS" -eq 0 ]
	assert_stdout_json
	# Nothing of the junk: no stray id, no foreign objects.
	run -0 jq -c 'select(.id != 0 and .id != 1)' "$OUT"
	assert_output ""
	# The drops are logged with the alias and why.
	assert_err_line "corral: [g] dropped a line that is not a JSON-RPC message (unexpected character)"
	assert_err_line "corral: [g] dropped a line that is not a JSON-RPC message (not a JSON-RPC object)"
	assert_err_line 'corral: [g] dropped a line that is not a JSON-RPC message (jsonrpc must be "2.0")'
	assert_err_line "corral: [g] dropped a line that is not a JSON-RPC message (method must be a string)"
	assert_err_line "corral: [g] dropped a line that is not a JSON-RPC message (invalid literal)"
}

@test "a child that closes its stdout but stays alive is stopped and restarted" {
	# No fake server does this, so a few lines of bash: it answers
	# initialize and tools/list; on tools/call of "close" it closes its
	# stdout and lives on (as the same pid) without reading, on "quit" it
	# exits (closing its stdout too).
	local srv="$BATS_TEST_TMPDIR/closer" pidf="$BATS_TEST_TMPDIR/closer.pid" pid pid2
	cat >"$srv" <<'EOF'
#!/bin/bash
echo $$ >"$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"
while IFS= read -r line; do
	id="$(jq -c '.id // empty' <<<"$line")"
	[ -n "$id" ] || continue
	case "$(jq -r .method <<<"$line")" in
	initialize) r='{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"closer","version":"1"}}' ;;
	tools/list) r='{"tools":[{"name":"close","inputSchema":{"type":"object"}},{"name":"quit","inputSchema":{"type":"object"}}]}' ;;
	tools/call)
		[ "$(jq -r .params.name <<<"$line")" = quit ] && exit 0
		echo "closing stdout" >&2; exec >&- ; exec sleep 60 ;;
	*) continue ;;
	esac
	printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$id" "$r"
done
EOF
	chmod 755 "$srv"
	write_config <<EOF
{"mcpServers":{"c":{"command":"$srv","env":{"PIDFILE":"$pidf"},"restart":{"backoff":0.2}}},$FAST}
EOF
	start_serve
	initialize
	pid="$(pid_of "$pidf")"
	call 1 c__close
	wait_for '"id":1,'
	run -0 jq -c '[.error.code, .error.data.server]' < <(response 1)
	assert_output '[-32000,"c"]'
	wait_gone "$pid" 5
	# Stopped after corral.timeouts.shutdown, then SIGTERMed (it keeps
	# ignoring its closed stdin).
	wait_err 'stopped because it closed its stdout'
	assert_err_line "corral: [c] closed its stdout but is still running; stopping it"
	assert_err_line "corral: [c] stopped because it closed its stdout (killed by signal 15 (Terminated))"
	# It is restarted like a crashed child.
	wait_err '^corral: \[c\] ready again$'
	pid2="$(pid_of "$pidf")"
	[ "$pid2" != "$pid" ]
	# A child that exits by itself as its stdout closes is not stopped:
	# its exit is reported as it is.
	call 2 c__quit
	wait_for '"id":2,'
	run -0 jq -c '[.error.code, .error.data.server, .error.data.reason]' < <(response 2)
	assert_output '[-32000,"c","exited with status 0"]'
	wait_gone "$pid2" 5
	wait_err '^corral: \[c\] exited with status 0$'
	run -0 grep -c 'closed its stdout' "$ERR"
	assert_output 2
	stop_serve
	[ "$STATUS" -eq 0 ]
}
