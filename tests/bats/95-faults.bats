#!/usr/bin/env bats
# Faults: children that crash, hang, flood, close their stdout or die
# during initialize, a host that goes away mid-call, and corral itself
# being signalled with calls in flight.
#
# Already covered elsewhere, and not repeated here:
#   30-children.bats: a child exiting mid-call (-32000 with status and
#     stderr tail); crashy boom (signal, half line dropped, restart);
#     restart after backoff with list_changed; giving up after
#     max_failures; a child dying during initialize (initexit) not holding
#     up the host's initialize; a child never answering initialize
#     (timeouts.start); closing stdin with idle children; SIGTERM, SIGINT,
#     SIGHUP with idle children; kill -9 of corral with unsandboxed
#     children; a child writing garbage lines (the drop messages); a child
#     (bash) closing its stdout, stopped by SIGTERM and restarted.
#   10-cli.bats: the stderr tail of a child dying at initialize ("[bad] |").
#   60-routing.bats: timeouts.call and call_max (-32001 text, the cancel
#     sent to the child, late answers dropped) with the echo slow tool.
#   40-protocol.bats: oversized lines both ways (max_message).
#   70-sandbox.bats: kill -9 of corral with one sandboxed child.
# What is new here: the faults above while other children are busy or
# must keep answering, a child that never answers, a 1 GiB flood (one
# line, and lines) with corral's memory measured, a child that closes its
# stdout and survives SIGTERM, a child killed during initialize, the host
# leaving or SIGTERM with calls in flight, and kill -9 with several
# sandboxed children.

load helpers

# Keep the helpers' teardown (it kills corral, fails on sanitizer reports)
# and run it first.
eval "$(declare -f teardown | sed '1s/^teardown/helpers_teardown/')"

teardown() {
	local p rc=0
	helpers_teardown || rc=$?
	# Then every child pid a test learnt, by pid, if it is still one of ours
	# (its command line names the build: a server or a sandbox's init).
	for p in ${KILL_PIDS:-}; do
		if alive "$p" && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
		    grep -qF -- "$BUILD/"; then
			kill -9 "$p" 2>/dev/null || true
		fi
	done
	return "$rc"
}

# Fail unless $ERR has the exact line $1.
assert_err_line() {
	grep -qxF -- "$1" "$ERR" && return 0
	printf 'no line "%s" in stderr:\n' "$1" >&2
	cat "$ERR" >&2
	return 1
}

# Is process $1 alive? A zombie is not.
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

# The pid in file $1, once the file is written; remembered for teardown.
pid_of() {
	local i=0 p
	while [ ! -s "$1" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { echo "no pid in $1" >&2; return 1; }
	done
	p="$(head -n 1 "$1")"
	echo "$p"
}

# Read the pid in file $1 into variable $2 and remember it for teardown.
get_pid() {
	local p
	p="$(pid_of "$1")" || return 1
	KILL_PIDS="${KILL_PIDS:-} $p"
	printf -v "$2" '%s' "$p"
}

# The response to host request id $1, compact.
response() {
	jq -c "select(.id == $1)" "$OUT"
}

# Send tools/call of tool $2 with arguments $3 as request id $1.
call() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"'"$2"'","arguments":'"${3:-{\}}"'}}'
}

# Call ok__echo with text $2 as id $1 and check the answer.
echo_ok() {
	call "$1" ok__echo '{"text":"'"$2"'"}'
	wait_for '"id":'"$1"',' 15
	[ "$(response "$1" | jq -r '.result.content[0].text')" = "$2" ] || {
		echo "bad answer to $1: $(response "$1")" >&2
		return 1
	}
}

# Wait until file $1 has a line matching $2 (timeout $3 s, default 10).
wait_file() {
	local i=0 t="${3:-10}"
	while ! grep -qE -- "$2" "$1" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting in $1 for: $2" >&2
			cat "$1" >&2
			return 1
		fi
	done
}

# Wait until $ERR has at least $2 lines matching $1 (timeout $3 s, 10).
wait_err_count() {
	local i=0 t="${3:-10}"
	while [ "$(grep -cE -- "$1" "$ERR")" -lt "$2" ]; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting for $2 stderr lines matching: $1" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
}

# The audit records of event $1, one per line.
AUDIT() { echo "$XDG_STATE_HOME/corral/audit.jsonl"; }
recs() {
	jq -c --arg e "$1" 'select(.event == $e)' "$(AUDIT)"
}

# Corral's VmHWM or VmRSS ($1) in kB.
mem_kb() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$CPID/status"
}

# Bytes written so far by process $1 (all fds).
wchar() {
	awk '$1 == "wchar:" { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0
}

asan_build() {
	case "$BUILD" in *asan*) return 0 ;; esac
	return 1
}

FAST='"corral":{"timeouts":{"shutdown":0.3}}'

# --- 1. crash mid-call ----------------------------------------------------------

@test "a child crashing mid-call: the error names it and its exit; the other child's call in flight and new calls are answered; the crashed child comes back" {
	local cpf="$BATS_TEST_TMPDIR/cr.pid" opf="$BATS_TEST_TMPDIR/ok.pid" cr1 cr2 ok1
	write_config <<EOF
{"mcpServers":{"cr":{"command":"$SRV/crashy","env":{"FAKE_PIDFILE":"$cpf"},"restart":{"backoff":0.2}},
 "ok":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$opf"}}},$FAST}
EOF
	start_corral
	initialize
	get_pid "$cpf" cr1
	get_pid "$opf" ok1
	# A call in flight on ok while cr crashes.
	call 1 ok__slow '{"ms":1500}'
	call 2 cr__boom
	wait_for '"id":2,'
	run -0 jq -c '.error | [.code, .message, .data.server, .data.reason, .data.stderr[-1]]' < <(response 2)
	assert_output '[-32000,"server cr killed by signal 6 (Aborted)","cr","killed by signal 6 (Aborted)","crashy: boom"]'
	# ok answers new calls while cr is down ...
	echo_ok 3 "while cr is down"
	# ... and the call that was in flight.
	wait_for '"id":1,'
	run -0 jq -c '.result.content' < <(response 1)
	assert_output '[{"type":"text","text":"slept 1500 ms"}]'
	wait_err '^corral: \[cr\] ready again$'
	assert_err_line "corral: [cr] killed by signal 6 (Aborted)"
	assert_err_line "corral: [cr] restarting in 0.2 s (failure 1 of at most 5)"
	get_pid "$cpf" cr2
	[ "$cr2" != "$cr1" ]
	call 4 cr__echo '{"text":"again"}'
	wait_for '"id":4,'
	run -0 jq -r '.result.content[0].text' < <(response 4)
	assert_output again
	# ok was never restarted.
	[ "$(pid_of "$opf")" = "$ok1" ]
	alive "$ok1"
	run -1 grep -c '\[ok\] restarting' "$ERR"
	stop_corral
	[ "$STATUS" -eq 0 ]
	# One answer per request, and not the half line cr wrote.
	run -0 jq -s -c '[.[] | select(.id != null) | .id] | sort' "$OUT"
	assert_output '[0,1,2,3,4]'
	run -1 grep -c "never finished" "$OUT"
	assert_stdout_json
	wait_gone "$cr2"
	wait_gone "$ok1"
}

# --- 2. hang ---------------------------------------------------------------------

@test "a child that never answers: the call times out after its own timeouts.call, the child gets a cancel, and meanwhile the other child keeps answering" {
	local hpf="$BATS_TEST_TMPDIR/h.pid" hlog="$BATS_TEST_TMPDIR/h.log" h i
	write_config <<EOF
{"mcpServers":{"h":{"command":"$SRV/silent","args":["--init-ok"],"env":{"FAKE_PIDFILE":"$hpf","FAKE_LOG":"$hlog"},
  "timeouts":{"call":3,"call_max":4}},
 "ok":{"command":"$SRV/echo"}},$FAST}
EOF
	start_corral
	initialize
	get_pid "$hpf" h
	call 1 h__hang
	wait_file "$hlog" '"method":"tools/call"'
	# ok has the default timeouts; it answers while h's call hangs.
	for i in 2 3 4 5 6; do
		echo_ok "$i" "answer $i"
	done
	# Liveness: five round trips take far less than h's 3 s.
	run -1 grep -c '"id":1,' "$OUT"
	wait_for '"id":1,' 15
	run -0 response 1
	assert_output '{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"h: no answer or progress for 3 s","data":{"server":"h","method":"tools/call"}}}'
	# The child is told, and stays: a hang is not a crash.
	local cid
	cid="$(jq -c 'select(.method == "tools/call") | .id' "$hlog")"
	wait_file "$hlog" '"method":"notifications/cancelled","params":\{"requestId":'"$cid"','
	alive "$h"
	run -1 grep -c '\[h\] restarting' "$ERR"
	# A second hang on the same child times out the same way; ok still
	# answers meanwhile.
	call 7 h__hang
	echo_ok 8 "still here"
	wait_for '"id":7,' 15
	run -0 jq -c '[.error.code, .error.message]' < <(response 7)
	assert_output '[-32001,"h: no answer or progress for 3 s"]'
	[ "$(pid_of "$hpf")" = "$h" ]
	stop_corral
	[ "$STATUS" -eq 0 ]
	assert_stdout_json
	wait_gone "$h"
}

# --- 3. floods -------------------------------------------------------------------

# corral's memory is bounded by max_message, not by what a child writes.
# With max_message 1 MiB, a child's stdout buffer holds at most 1 MiB + 1
# (and its stdin queue 2 MiB + 4 KiB); the bound allowed for the growth of
# VmHWM over its value after initialize is 16 MiB: generous for those
# buffers and malloc's slack, and 64 times less than the 1 GiB flood, so a
# buffer that follows the flood fails it. The absolute bound is 1 MiB +
# 64 MiB. Under ASan (shadow memory, quarantine, redzones) both are
# multiplied by 4: still far below the flood.
RSS_GROWTH_KB=$((16 * 1024))
RSS_MAX_KB=$(((1 + 64) * 1024))

check_rss() {
	local base="$1" hwm="$2" k=1
	asan_build && k=4
	echo "# corral VmHWM: ${base} kB after initialize, ${hwm} kB after the flood" >&3
	[ "$((hwm - base))" -lt "$((RSS_GROWTH_KB * k))" ] || {
		echo "VmHWM grew by $((hwm - base)) kB (bound $((RSS_GROWTH_KB * k)) kB)" >&2
		return 1
	}
	[ "$hwm" -lt "$((RSS_MAX_KB * k))" ] || {
		echo "VmHWM $hwm kB (bound $((RSS_MAX_KB * k)) kB)" >&2
		return 1
	}
}

@test "a child flooding one 1 GiB line: corral's memory stays bounded, the host is still served mid-line, stderr says what was dropped" {
	local fpf="$BATS_TEST_TMPDIR/fl.pid" fl base hwm i=10
	write_config <<EOF
{"mcpServers":{"fl":{"command":"$SRV/flood","env":{"FAKE_PIDFILE":"$fpf"}},
 "ok":{"command":"$SRV/echo"}},
 "corral":{"max_message":1048576,"timeouts":{"shutdown":0.3}}}
EOF
	start_corral
	initialize
	get_pid "$fpf" fl
	echo_ok 1 before
	base="$(mem_kb VmHWM)"
	# The first half of one 1 GiB line, in 64 KiB writes. flood never
	# answers; its calls stay pending.
	call 2 fl__flood '{"bytes":536870912}'
	# Calls go on meanwhile (not asserted to overlap: the flood is fast).
	while [ "$(wchar "$fl")" -lt 536870912 ]; do
		echo_ok "$i" "during $i"
		i=$((i + 1))
		[ "$i" -lt 400 ] || { echo "the flood did not end" >&2; return 1; }
	done
	# Mid-line: 512 MiB of it read and dropped, no newline yet.
	echo_ok 3 "mid-line"
	run -1 grep -c 'more than max_message' "$ERR"
	# The second half and the newline.
	call 4 fl__flood '{"bytes":536870912,"newline":true}'
	wait_err '\[fl\] sent a message of' 30
	assert_err_line "corral: [fl] sent a message of 1073741824 bytes, more than max_message (1048576); dropped"
	echo_ok 5 after
	hwm="$(mem_kb VmHWM)"
	check_rss "$base" "$hwm"
	# fl is not stopped for it: its pending calls end with the session.
	alive "$fl"
	run -1 grep -cE '^\{"jsonrpc":"2.0","id":(2|4),' "$OUT"
	stop_corral
	[ "$STATUS" -eq 0 ]
	# Nothing of the flood reached the host.
	run -1 grep -c AAAA "$OUT"
	assert_stdout_json
	wait_gone "$fl"
}

@test "a child sending an endless line (1 GiB, no newline) and dying in it: memory bounded, the host served, its call failed, and stderr says a line was dropped" {
	local fpf="$BATS_TEST_TMPDIR/fl.pid" fl base hwm
	write_config <<EOF
{"mcpServers":{"fl":{"command":"$SRV/flood","env":{"FAKE_PIDFILE":"$fpf"},"restart":{"backoff":30}},
 "ok":{"command":"$SRV/echo"}},
 "corral":{"max_message":1048576,"timeouts":{"shutdown":0.3}}}
EOF
	start_corral
	initialize
	get_pid "$fpf" fl
	base="$(mem_kb VmHWM)"
	call 1 fl__flood '{"bytes":1073741824}'
	# Written means read, less a pipe's worth: the pipe holds 64 KiB.
	local i=0
	while [ "$(wchar "$fl")" -lt 1073741824 ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 600 ] || { echo "the flood did not end" >&2; return 1; }
	done
	echo_ok 2 "the line is still open"
	hwm="$(mem_kb VmHWM)"
	check_rss "$base" "$hwm"
	# The line never ends: the child dies in it.
	kill -9 "$fl"
	wait_for '"id":1,' 10
	run -0 jq -c '.error | [.code, .message, .data.server]' < <(response 1)
	assert_output '[-32000,"server fl killed by signal 9 (Killed)","fl"]'
	wait_err '^corral: \[fl\] restarting in 30 s'
	echo_ok 3 after
	stop_corral
	[ "$STATUS" -eq 0 ]
	run -1 grep -c AAAA "$OUT"
	assert_stdout_json
	# 1 GiB was read and thrown away: stderr should say so, as it does
	# for a line that ends ("[fl] sent a message of N bytes, more than
	# max_message (M); dropped"), whatever the wording.
	grep -E '^corral: \[fl\] .*max_message' "$ERR" || {
		echo "stderr does not say that fl's unterminated 1 GiB line was dropped:" >&2
		cat "$ERR" >&2
		return 1
	}
}

@test "a child flooding lines that are not JSON: memory stays bounded, the other child answers, the flood is cut off after 1000 lines, reported once, and the child restarted" {
	local spf="$BATS_TEST_TMPDIR/sp.pid" sp sp2 base hwm
	write_config <<EOF
{"mcpServers":{"sp":{"command":"$SRV/spew","env":{"FAKE_PIDFILE":"$spf"},"restart":{"backoff":0.2}},
 "ok":{"command":"$SRV/echo"}},
 "corral":{"max_message":1048576,"timeouts":{"shutdown":0.3}}}
EOF
	start_corral
	initialize
	get_pid "$spf" sp
	base="$(mem_kb VmHWM)"
	# 4 GiB in lines of 64 KiB: far more than corral lets through, so the
	# stop sequence, not the end of the flood, ends it.
	call 1 sp__spew '{"bytes":4294967296,"line":65536}'
	echo_ok 2 "during the flood"
	wait_for '"id":1,' 30
	run -0 jq -c '.error | [.code, .message, .data.server, .data.stderr[-1]]' < <(response 1)
	assert_output '[-32000,"server sp killed by signal 15 (Terminated)","sp","spew: spewing 4294967296 bytes in lines of 65536"]'
	echo_ok 3 "after the flood"
	hwm="$(mem_kb VmHWM)"
	check_rss "$base" "$hwm"
	wait_gone "$sp"
	assert_err_line "corral: [sp] dropped a line that is not a JSON-RPC message (unexpected character)"
	assert_err_line "corral: [sp] dropped a line that is not a JSON-RPC message (unexpected character); further ones are counted quietly"
	assert_err_line "corral: [sp] stopped because flooded its output with bad lines (killed by signal 15 (Terminated))"
	wait_err '^corral: \[sp\] ready again$'
	get_pid "$spf" sp2
	[ "$sp2" != "$sp" ]
	call 4 sp__echo '{"text":"back"}'
	wait_for '"id":4,'
	run -0 jq -r '.result.content[0].text' < <(response 4)
	assert_output back
	stop_corral
	[ "$STATUS" -eq 0 ]
	assert_stdout_json
	run -1 grep -c xxxx "$OUT"
	# The cut-off is said once. (A child being stopped keeps writing until
	# its SIGTERM; each further bad line must not repeat the message.)
	run -0 grep -cxF "corral: [sp] sent 1000 bad lines in a row; stopping it" "$ERR"
	assert_output 1
}

# --- 4. stdout closed --------------------------------------------------------------

@test "a child that closes its stdout and ignores SIGTERM: its call fails once it is SIGKILLed, it is restarted, and corral leaves no process of it behind" {
	local spf="$BATS_TEST_TMPDIR/sc.pid" sc1 sc2
	write_config <<EOF
{"mcpServers":{"sc":{"command":"$SRV/stdoutclose","args":["--ignore-term"],"env":{"FAKE_PIDFILE":"$spf"},"restart":{"backoff":0.2}},
 "ok":{"command":"$SRV/echo"}},$FAST}
EOF
	start_corral
	initialize
	get_pid "$spf" sc1
	call 1 sc__close
	wait_err '^\[sc\] stdoutclose: stdout closed$'
	# ok answers while sc is being stopped.
	echo_ok 2 "meanwhile"
	wait_for '"id":1,' 10
	run -0 jq -c '.error | [.code, .message, .data.server, .data.reason]' < <(response 1)
	assert_output '[-32000,"server sc killed by signal 9 (Killed)","sc","killed by signal 9 (Killed)"]'
	wait_gone "$sc1"
	# Stopped in the usual sequence: stdin closed, SIGTERM (ignored), SIGKILL.
	wait_err 'stopped because it closed its stdout'
	assert_err_line "corral: [sc] closed its stdout but is still running; stopping it"
	assert_err_line "[sc] stdoutclose: stdin closed; staying alive"
	assert_err_line "corral: [sc] stopped because it closed its stdout (killed by signal 9 (Killed))"
	wait_err '^corral: \[sc\] ready again$'
	get_pid "$spf" sc2
	[ "$sc2" != "$sc1" ]
	call 3 sc__echo '{"text":"back"}'
	wait_for '"id":3,'
	run -0 jq -r '.result.content[0].text' < <(response 3)
	assert_output back
	# Again, and the host leaves at once: corral exits only once the child
	# is dead, whatever state its stop was in.
	call 4 sc__close
	wait_err_count '^\[sc\] stdoutclose: stdout closed$' 2
	stop_corral 15
	[ "$STATUS" -eq 0 ]
	run ! alive "$sc2"
	run -0 grep -c '^\[sc\] stdoutclose: stdout closed$' "$ERR"
	assert_output 2
	assert_stdout_json
}

# --- 5. death during initialize -----------------------------------------------------

@test "a child killed during initialize: the host's initialize is not held up, the exit is reported with its stderr tail, the other child works, it is restarted" {
	local spf="$BATS_TEST_TMPDIR/si.pid" slog="$BATS_TEST_TMPDIR/si.log" si si2
	write_config <<EOF
{"mcpServers":{"ok":{"command":"$SRV/echo"},
 "si":{"command":"$SRV/echo","args":["--delay-init","60000"],"env":{"FAKE_PIDFILE":"$spf","FAKE_LOG":"$slog"},"restart":{"backoff":0.2}}},
 "corral":{"timeouts":{"shutdown":0.3,"initialize":30}}}
EOF
	start_corral
	get_pid "$spf" si
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	wait_file "$slog" '"method":"initialize"'
	kill -9 "$si"
	# Answered once si is dead, long before timeouts.initialize (30 s).
	wait_for '"id":0,"result"' 15
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	wait_err 'si\] restarting in'
	assert_err_line "corral: [si] killed by signal 9 (Killed)"
	assert_err_line "corral: [si] restarting in 0.2 s (failure 1 of at most 5)"
	# Its stderr tail goes with the exit into the audit log.
	run -0 jq -c '[.server, .pid, .signal, .stderr]' < <(recs child_exit)
	assert_output "[\"si\",$si,\"KILL\",[\"echo: started\"]]"
	send '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	wait_for '"id":1,'
	run -0 jq -r '.result.tools[].name' < <(response 1)
	assert_line ok__echo
	refute_output --partial si__
	echo_ok 2 "without si"
	call 3 si__echo '{"text":"x"}'
	wait_for '"id":3,'
	run -0 jq -c '[.error.code, .error.message]' < <(response 3)
	# (It may be starting again already.)
	assert_output --regexp '^\[-32602,"unknown tool: si__echo \(server si is not ready: (starting again \(last time: )?killed by signal 9 \(Killed\)\)?\)"\]$'
	# It was started again (and waits in its own initialize).
	wait_err_count '^\[si\] echo: started$' 2
	get_pid "$spf" si2
	[ "$si2" != "$si" ]
	stop_corral
	[ "$STATUS" -eq 0 ]
	assert_stdout_json
	wait_gone "$si2"
}

# --- 6. host gone mid-call --------------------------------------------------------

@test "the host closing stdin with calls in flight: corral exits 0, the calls are recorded cancelled, no child survives" {
	local a b alog="$BATS_TEST_TMPDIR/a.log" blog="$BATS_TEST_TMPDIR/b.log"
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/a.pid","FAKE_LOG":"$alog"}},
 "b":{"command":"$SRV/echo","args":["--ignore-eof"],"env":{"FAKE_PIDFILE":"$BATS_TEST_TMPDIR/b.pid","FAKE_LOG":"$blog"}}},$FAST}
EOF
	start_corral
	initialize
	get_pid "$BATS_TEST_TMPDIR/a.pid" a
	get_pid "$BATS_TEST_TMPDIR/b.pid" b
	call 1 a__slow '{"ms":60000}'
	call 2 b__slow '{"ms":60000}'
	wait_file "$alog" '"method":"tools/call"'
	wait_file "$blog" '"method":"tools/call"'
	stop_corral 15
	[ "$STATUS" -eq 0 ]
	# corral reaps its children before it exits: none is left.
	run ! alive "$a"
	run ! alive "$b"
	# b outlived the end of its stdin: it took SIGTERM.
	assert_err_line "[b] echo: stdin closed; staying alive"
	run -0 jq -c '[.server, .status, .signal]' < <(recs child_exit)
	assert_line '["a",0,null]'
	assert_line '["b",null,"TERM"]'
	# Nobody is left to answer: the calls are cancelled, not failed.
	run -0 jq -c '[.id, .server, .outcome]' < <(recs call)
	assert_line '["1","a","cancelled"]'
	assert_line '["2","b","cancelled"]'
	run -0 jq -r .reason < <(recs session_end)
	assert_output "the host closed its input"
	run -1 grep -cE '"id":(1|2),' "$OUT"
	assert_stdout_json
}

# --- 7. corral signalled --------------------------------------------------------------

@test "SIGTERM with calls in flight: children are stopped in order (stdin, TERM, KILL), corral exits 0, the calls are cancelled" {
	local a b c d=$BATS_TEST_TMPDIR
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$d/a.pid","FAKE_LOG":"$d/a.log"}},
 "b":{"command":"$SRV/echo","args":["--ignore-eof"],"env":{"FAKE_PIDFILE":"$d/b.pid","FAKE_LOG":"$d/b.log"}},
 "c":{"command":"$SRV/echo","args":["--ignore-term"],"env":{"FAKE_PIDFILE":"$d/c.pid","FAKE_LOG":"$d/c.log"}}},$FAST}
EOF
	start_corral
	initialize
	get_pid "$d/a.pid" a
	get_pid "$d/b.pid" b
	get_pid "$d/c.pid" c
	call 1 a__slow '{"ms":60000}'
	call 2 b__slow '{"ms":60000}'
	call 3 c__slow '{"ms":60000}'
	wait_file "$d/a.log" '"method":"tools/call"'
	wait_file "$d/b.log" '"method":"tools/call"'
	wait_file "$d/c.log" '"method":"tools/call"'
	kill -TERM "$CPID"
	wait_corral_exit 15
	[ "$STATUS" -eq 0 ]
	run ! alive "$a"
	run ! alive "$b"
	run ! alive "$c"
	assert_err_line "corral: signal 15: shutting down"
	assert_err_line "[b] echo: stdin closed; staying alive"
	assert_err_line "[c] echo: stdin closed; staying alive"
	# a left at the end of its stdin, b at SIGTERM, c only at SIGKILL.
	run -0 jq -c '[.server, .status, .signal]' < <(recs child_exit)
	assert_line '["a",0,null]'
	assert_line '["b",null,"TERM"]'
	assert_line '["c",null,"KILL"]'
	run -0 jq -c '[.id, .outcome]' < <(recs call)
	assert_line '["1","cancelled"]'
	assert_line '["2","cancelled"]'
	assert_line '["3","cancelled"]'
	run -0 jq -r .reason < <(recs session_end)
	assert_output "signal TERM"
	run -1 grep -cE '"id":(1|2|3),' "$OUT"
	assert_stdout_json
}

@test "kill -9 of corral with several sandboxed children, calls in flight: no process of theirs survives" {
	if ! "$CORRAL" doctor >/dev/null 2>&1; then
		skip "this machine cannot create the sandbox (see corral doctor)"
	fi
	export KEEP_SANDBOX=1
	local mark="corral-faults-$$-$BATS_TEST_NUMBER" sb="" p pids inits i=0
	# ASan reserves more address space than the default data limit.
	asan_build && sb=',"sandbox":{"limits":{"data":100000000000000}}'
	write_config <<EOF
{"mcpServers":{"a":{"command":"$SRV/echo","args":["--name","$mark-a"]$sb},
 "b":{"command":"$SRV/echo","args":["--ignore-term","--name","$mark-b"]$sb},
 "c":{"command":"$SRV/silent","args":["--init-ok","--name","$mark-c"]$sb}},$FAST}
EOF
	start_corral
	initialize
	call 1 a__slow '{"ms":60000}'
	call 2 b__slow '{"ms":60000}'
	call 3 c__hang
	send '{"jsonrpc":"2.0","id":4,"method":"ping"}'
	wait_for '"id":4,'
	# The sandboxes' init processes (as the host sees them) and the
	# servers in them.
	inits="$(jq -r 'select(.event == "child_spawn") | .pid' "$(AUDIT)")"
	[ "$(wc -w <<<"$inits")" -eq 3 ]
	# Really sandboxed: pid namespaces.
	run -0 jq -r 'select(.event == "child_spawn") | .sandbox | split(" ")[0]' "$(AUDIT)"
	assert_output "$(printf 'namespaces\nnamespaces\nnamespaces')"
	pids="$(pgrep -f -- "$mark" || true)"
	[ "$(wc -w <<<"$pids")" -eq 3 ] || {
		echo "servers: $pids" >&2
		ps -ef >&2
		return 1
	}
	for p in $inits; do alive "$p"; done
	KILL_PIDS="$inits $pids"
	kill -9 "$CPID"
	wait "$CPID" || true
	for p in $inits $pids; do
		wait_gone "$p" 10
	done
	run -1 pgrep -f -- "$mark"
}

@test "faults: a host that stops reading pauses the children; big answers are all delivered when it reads again" {
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"e":{"command":"%s/echo"}},"corral":{"max_message":1048576}}\n' "$SRV" >"$CONF"
	allow_by_default "$CONF"
	big_answers_survive_a_lagging_host e__big 12 900000
}
