#!/usr/bin/env bats
# The audit log as the broker writes it (core/trail.h, core/audit.h): every
# event with exactly its members, every call and request outcome with its
# byte counts, the capture modes, secrets that never reach the log, the
# chain through rotation, restarts, crashes and a full disk, and a log that
# is off when disabled. Records are checked with jq; what varies (times,
# pids, latencies) is checked for type and range.

load helpers

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	unset DISPLAY WAYLAND_DISPLAY
	STATE="$XDG_STATE_HOME/corral"
	LOG="$STATE/audit.jsonl"
	ELOG="$BATS_TEST_TMPDIR/echo.log"
	EPID="$BATS_TEST_TMPDIR/echo.pid"
	CMD="$ROOT/tests/servers/consent-cmd.sh"
	CLOG="$BATS_TEST_TMPDIR/consent.log"
	SENT="$BATS_TEST_TMPDIR/sent"
	mkdir -p "$SENT"
}

# helpers.bash's teardown, run after unmounting a test's tmpfs.
eval "base_$(declare -f teardown)"
teardown() {
	if [ -n "${MNT:-}" ]; then
		if [ -n "${CPID:-}" ] && kill -0 "$CPID" 2>/dev/null; then
			kill -9 "$CPID" 2>/dev/null || true
			wait "$CPID" 2>/dev/null || true
		fi
		if mountpoint -q "$MNT"; then
			umount -l "$MNT" || true
		fi
	fi
	base_teardown
}

# --- local helpers ----------------------------------------------------------

# corral's version string, as the build has it.
VERSION="$(sed -n 's/^#define CORRAL_VERSION "\(.*\)"$/\1/p' \
    "$ROOT/core/version.h")"

# Like start_corral, in a session of its own (no controlling terminal, so
# no tty consent channel whoever runs the suite).
serve() {
	IN="$BATS_TEST_TMPDIR/in"
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	rm -f "$IN"
	mkfifo "$IN"
	: >"$OUT"
	setsid "$CORRAL" serve -c "${1:-$CONF}" <"$IN" >"$OUT" 2>"$ERR" 3>&- 7>&- &
	CPID=$!
	exec 7>"$IN"
}

# The echo server's mcpServers entry; it logs what it receives to $ELOG and
# its pid to $EPID: echo_srv [EXTRA_MEMBERS].
echo_srv() {
	printf '"echo":{"command":"%s/echo","env":{"FAKE_LOG":"%s","FAKE_PIDFILE":"%s"}%s}' \
	    "$SRV" "$ELOG" "$EPID" "${1:+,$1}"
}

# A config: cfg SERVERS [CORRAL_MEMBERS].
cfg() {
	write_config <<<"{\"mcpServers\":{$1}${2:+,\"corral\":{$2\}}}"
}

# Send a request and keep its line (for bytes_in): req ID METHOD [PARAMS].
req() {
	local line
	if [ $# -ge 3 ]; then
		line="{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"$2\",\"params\":$3}"
	else
		line="{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"$2\"}"
	fi
	printf '%s' "$line" >"$SENT/$1"
	send "$line"
}

# Send a tools/call: call ID TOOL [JSON_ARGS].
call() {
	req "$1" tools/call "{\"name\":\"$2\",\"arguments\":${3:-{\}}}"
}

# Wait for the response to host request ID and print it.
resp() {
	wait_for "^\\{\"jsonrpc\":\"2\\.0\",\"id\":$1,\"(result|error)\"" "${2:-10}"
	line_for "^\\{\"jsonrpc\":\"2\\.0\",\"id\":$1,\"(result|error)\""
}

# A ping round trip: everything sent before it has been handled.
sync_ping() {
	send "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"ping\"}"
	wait_for "^\\{\"jsonrpc\":\"2\\.0\",\"id\":$1,\"result\":\\{\\}\\}$"
}

# jq -e FILTER holds for the JSON text $1; the rest are jq options
# (--arg ...). Shows both when not.
holds() {
	local j="$1" f="$2"
	shift 2
	if ! jq -e "$@" "$f" <<<"$j" >/dev/null 2>&1; then
		printf 'record:  %s\nwanted:  %s\n' "$j" "$f" >&2
		[ $# -eq 0 ] || printf 'with:    %s\n' "$*" >&2
		return 1
	fi
}

# The records of event $1 in file $2 (default $LOG), one a line.
recs() {
	jq -c --arg e "$1" 'select(.event == $e)' "${2:-$LOG}"
}

# How many records of event $1 there are.
nrecs() {
	recs "$@" | grep -c . || true
}

# The only record of event $1 (fails unless there is exactly one).
one() {
	local r n
	r="$(recs "$1")"
	n="$(grep -c . <<<"$r" || true)"
	if [ "$n" != 1 ]; then
		printf 'wanted one %s record, got %s:\n%s\n' "$1" "$n" "$r" >&2
		return 1
	fi
	printf '%s\n' "$r"
}

# The only call or request record for host id $1.
rec() {
	local r n
	r="$(jq -c --arg id "$1" 'select((.event == "call" or
	    .event == "request") and .id == $id)' "$LOG")"
	n="$(grep -c . <<<"$r" || true)"
	if [ "$n" != 1 ]; then
		printf 'wanted one record for id %s, got %s:\n%s\n' "$1" "$n" \
		    "$r" >&2
		return 1
	fi
	printf '%s\n' "$r"
}

# The members of a record between event and mac, as a JSON array.
members() {
	jq -c 'keys_unsorted[4:-1]' <<<"$1"
}

# Record $1 has exactly the members $2 (a JSON array, in order).
has_members() {
	local got
	got="$(members "$1")"
	if [ "$got" != "$2" ]; then
		printf 'record:  %s\nmembers: %s\nwanted:  %s\n' "$1" "$got" \
		    "$2" >&2
		return 1
	fi
}

# Bytes of a file or of the text $1.
nbytes() {
	printf '%s' "$1" | wc -c
}

# The record for host id $1 counted the bytes of the request line sent and
# of the response line received ($2: 0 when no response went out), and for
# a call the tokens from them.
bytes_ok() {
	local r in out
	r="$(rec "$1")" || return 1
	in="$(wc -c <"$SENT/$1")"
	if [ "${2:-}" = 0 ]; then
		out=0
	else
		out="$(nbytes "$(resp "$1")")"
	fi
	holds "$r" '.bytes_in == $in and .bytes_out == $out and
	    (.event == "request" or .tokens == (($in + $out) / 4 | floor)) and
	    (.latency_ms | type == "number" and . >= 0 and . < 60000)' \
	    --argjson in "$in" --argjson out "$out"
}

# Every record of the log file ${1:-$LOG} has the frame of audit.h: v,
# seq, ts, event first and mac last, v 1, an RFC 3339 UTC time with
# microseconds, 64 hex digits of mac, no null member anywhere (but in the
# host's own arguments, kept by capture "full"); seq counts
# up by one; the file ends in a newline.
log_sane() {
	local f="${1:-$LOG}"
	[ -s "$f" ] || { echo "$f: missing or empty" >&2; return 1; }
	[ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || {
		echo "$f: does not end in a newline" >&2
		return 1
	}
	jq -e -s '
	    all(.[]; keys_unsorted[:4] == ["v", "seq", "ts", "event"] and
	        keys_unsorted[-1] == "mac" and .v == 1 and
	        (.seq | type == "number") and
	        (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")) and
	        (.event | type == "string") and
	        (.mac | test("^[0-9a-f]{64}$"))) and
	    ([.[] | del(.args) | .. | select(. == null)] | length == 0) and
	    ([.[].seq] as $s | $s == [range($s[0]; $s[0] + ($s | length))])
	    ' "$f" >/dev/null || {
		echo "$f: records not well framed:" >&2
		cat "$f" >&2
		return 1
	}
}

# `corral audit verify` on the config's log exits $1 (default 0); sets
# output and status.
verify() {
	run --separate-stderr "$CORRAL" audit verify -c "$CONF"
	if [ "$status" -ne "${1:-0}" ]; then
		printf 'corral audit verify: exit %s, wanted %s\nstdout: %s\nstderr: %s\n' \
		    "$status" "${1:-0}" "$output" "$stderr" >&2
		return 1
	fi
}

# The pid in file $1, waiting for it to appear.
pid_in() {
	local i=0
	while [ ! -s "$1" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { echo "no pid in $1" >&2; return 1; }
	done
	tr -d '\n' <"$1"
}

# Wait until the log has $2 (default 1) records of event $1.
wait_rec() {
	local i=0
	while [ "$(nrecs "$1")" -lt "${2:-1}" ]; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge 200 ]; then
			echo "timed out waiting for a $1 record; log:" >&2
			cat "$LOG" >&2
			return 1
		fi
	done
}

# Ask tools/list (ids from $1 up) until the catalog has tool $2 again.
wait_tool() {
	local id="$1" i=0
	while :; do
		req "$id" tools/list
		resp "$id" | jq -e --arg t "$2" 'any(.result.tools[]?; .name == $t)' \
		    >/dev/null && return 0
		id=$((id + 1))
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "tool $2 never came back" >&2; return 1; }
		sleep 0.05
	done
}

# How many tools/call requests for tool $1 the echo server received.
echo_calls() {
	{ grep -F '"method":"tools/call"' "$ELOG" 2>/dev/null || true; } |
	    jq -r '.params.name' | grep -cx -- "$1" || true
}

# --- events: a session's life -------------------------------------------------

@test "lifecycle: config_load, child_spawn, session_start, child_exit and session_end hold exactly their members" {
	cfg "$(echo_srv)"
	serve
	initialize
	call 1 echo__stderr '{"text":"to-stderr"}'
	resp 1 >/dev/null
	stop_corral
	[ "$STATUS" = 0 ]
	log_sane
	local r pid sess
	# config_load opens the log: the config's path and the hash of its
	# bytes, the servers by alias.
	r="$(one config_load)"
	has_members "$r" '["path","sha256","servers"]'
	holds "$r" '.seq == 1 and .path == $p and .sha256 == $h and
	    .servers == ["echo"]' --arg p "$CONF" \
	    --arg h "$(sha256sum "$CONF" | cut -d' ' -f1)"
	# child_spawn: the child's pid (as it knows it), argv, no sandbox.
	pid="$(pid_in "$EPID")"
	r="$(one child_spawn)"
	has_members "$r" '["server","pid","argv","sandbox"]'
	holds "$r" '.server == "echo" and .pid == $pid and
	    .argv == [$cmd] and .sandbox == "none"' --argjson pid "$pid" \
	    --arg cmd "$SRV/echo"
	# session_start: the client as the initialize named it.
	r="$(one session_start)"
	has_members "$r" '["session","client","protocol","corral","pid"]'
	holds "$r" '(.session | test("^[0-9a-f]{16}$")) and
	    .client == {"name": "bats", "version": "1"} and
	    .protocol == "2025-06-18" and .corral == $v and .pid == $cpid' \
	    --arg v "$VERSION" --argjson cpid "$CPID"
	sess="$(jq -r .session <<<"$r")"
	# child_exit at shutdown: exit status 0 and the tail of its stderr.
	r="$(one child_exit)"
	has_members "$r" '["server","pid","status","stderr"]'
	holds "$r" '.server == "echo" and .pid == $pid and .status == 0 and
	    .stderr == ["echo: started", "to-stderr"]' --argjson pid "$pid"
	# session_end is the last record: why, how many answered, how long.
	r="$(one session_end)"
	has_members "$r" '["session","reason","requests","duration_ms"]'
	holds "$r" '.session == $s and .reason == "the host closed its input" and
	    .requests == 2 and (.duration_ms | type == "number" and . > 0 and
	    . < 60000)' --arg s "$sess"
	[ "$(tail -n1 "$LOG" | jq -r .event)" = session_end ]
	# Calls and requests name the same session.
	holds "$(rec 1)" '.session == $s' --arg s "$sess"
	holds "$(rec 0)" '.session == $s and .method == "initialize"' \
	    --arg s "$sess"
	assert_stdout_json
}

@test "child_exit: a child killed by a signal names the signal and has no status; an exit code is its status" {
	cfg "$(echo_srv)"
	serve
	initialize
	local pid r
	pid="$(pid_in "$EPID")"
	rm -f "$EPID"
	kill -9 "$pid"
	wait_rec child_exit
	r="$(recs child_exit | head -n1)"
	has_members "$r" '["server","pid","signal","stderr"]'
	holds "$r" '.server == "echo" and .pid == $pid and .signal == "KILL" and
	    .stderr == ["echo: started"]' --argjson pid "$pid"
	# corral starts it again; exit 3 in the middle of a call.
	wait_rec child_spawn 2
	pid="$(pid_in "$EPID")"
	holds "$(recs child_spawn | tail -n1)" '.pid == $pid' --argjson pid "$pid"
	wait_tool 100 echo__exit
	call 1 echo__exit '{"code":3}'
	resp 1 >/dev/null
	wait_rec child_exit 2
	r="$(recs child_exit | tail -n1)"
	has_members "$r" '["server","pid","status","stderr"]'
	holds "$r" '.server == "echo" and .pid == $pid and .status == 3' \
	    --argjson pid "$pid"
	holds "$(rec 1)" '.outcome == "transport_error" and .server == "echo" and
	    .tool == "exit" and (has("code") | not)'
	stop_corral
	log_sane
	assert_stdout_json
}

@test "spawn_error: a server whose command does not exist is recorded with its error, never spawned" {
	cfg "$(echo_srv),\"ghost\":{\"command\":\"/nonexistent/ghost-server\"}"
	serve
	initialize
	stop_corral
	log_sane
	local r
	r="$(recs spawn_error | head -n1)"
	[ -n "$r" ]
	has_members "$r" '["server","error"]'
	holds "$r" '.server == "ghost" and
	    .error == "/nonexistent/ghost-server: command not found"'
	# Every spawn_error is about ghost; it never has a child_spawn.
	[ "$(recs spawn_error | jq -r .server | sort -u)" = ghost ]
	[ "$(recs child_spawn | jq -r .server | sort -u)" = echo ]
	holds "$(one config_load)" '.servers == ["echo", "ghost"]'
}

@test "child_spawn: a sandboxed child's sandbox member is the namespaces summary" {
	if ! "$CORRAL" doctor >/dev/null 2>&1; then
		skip "this machine cannot create the sandbox (see corral doctor)"
	fi
	export KEEP_SANDBOX=1
	# ASan reserves more address space than the default data limit.
	local sb=""
	case "$BUILD" in
	*asan*) sb=',"sandbox":{"limits":{"data":100000000000000}}' ;;
	esac
	cfg "\"echo\":{\"command\":\"$SRV/echo\"$sb}"
	serve
	initialize
	call 1 echo__echo '{"text":"inside"}'
	holds "$(resp 1)" '.result.content[0].text == "inside"'
	stop_corral
	local r
	r="$(one child_spawn)"
	has_members "$r" '["server","pid","argv","sandbox"]'
	holds "$r" '.server == "echo" and (.pid | type == "number" and . > 1) and
	    .argv == [$cmd] and
	    (.sandbox | test("^namespaces net=none ro=[0-9]+ rw=[0-9]+ ")) and
	    (.sandbox | test("seccomp"))' --arg cmd "$SRV/echo"
}

# --- events: pins, consent, relays ----------------------------------------------

# echo's own tool names, in the order it lists them.
ECHO_TOOLS='["echo","add","fail","rpcerror","slow","big","env","cwd","stderr","exit","meta","links","lateprogress"]'

@test "pin: first_seen for every tool and the server on a first run, none on a second, changed once a run for a changed description" {
	cfg "$(echo_srv)"
	serve
	initialize
	sync_ping 1
	stop_corral
	local r n0 tools old new
	# One first_seen a tool, with the hash pins.json keeps for it.
	tools="$(recs pin | jq -sc 'map(select(has("tool")) | .tool)')"
	holds "$tools" '. == $want' --argjson want "$ECHO_TOOLS"
	while IFS= read -r r; do
		has_members "$r" '["server","tool","change","sha256"]'
		holds "$r" '.server == "echo" and .change == "first_seen" and
		    .sha256 == $pins[0].servers.echo.tools[.tool].hash' \
		    --slurpfile pins "$STATE/pins.json"
	done < <(recs pin | jq -c 'select(has("tool"))')
	# The server's own pin has no tool.
	r="$(recs pin | jq -c 'select(has("tool") | not)')"
	has_members "$r" '["server","change","sha256"]'
	holds "$r" '.server == "echo" and .change == "first_seen" and
	    .sha256 == $pins[0].servers.echo.server.hash' \
	    --slurpfile pins "$STATE/pins.json"
	old="$(jq -r .servers.echo.tools.echo.hash "$STATE/pins.json")"
	# Second run, same definitions: no pin record at all.
	n0="$(wc -l <"$LOG")"
	serve
	initialize
	sync_ping 1
	stop_corral
	[ "$(tail -n +"$((n0 + 1))" "$LOG" | jq -c 'select(.event == "pin")')" = "" ]
	[ "$(tail -n +"$((n0 + 1))" "$LOG" | jq -r 'select(.event == "session_start") | .event')" = session_start ]
	# A changed description: one "changed" for that tool, though the
	# host lists the tools twice.
	cfg "$(echo_srv '"args":["--echo-desc","Echo, but described differently"]')"
	for run in 1 2; do
		n0="$(wc -l <"$LOG")"
		serve
		initialize
		req 1 tools/list
		resp 1 >/dev/null
		req 2 tools/list
		resp 2 >/dev/null
		stop_corral
		r="$(tail -n +"$((n0 + 1))" "$LOG" | jq -c 'select(.event == "pin")')"
		has_members "$r" '["server","tool","change","sha256"]'
		holds "$r" '.server == "echo" and .tool == "echo" and
		    .change == "changed" and (.sha256 | test("^[0-9a-f]{64}$")) and
		    .sha256 != $old' --arg old "$old"
		[ -z "${new:-}" ] || [ "$(jq -r .sha256 <<<"$r")" = "$new" ]
		new="$(jq -r .sha256 <<<"$r")"
	done
	log_sane
	verify
}

@test "pin: a changed tool is recorded once a run, not again when the child's list is fetched again" {
	cfg "\"burst\":{\"command\":\"$SRV/burst\"}"
	serve
	initialize
	stop_corral
	local n tmp="$BATS_TEST_TMPDIR/pins.tmp"
	[ "$(nrecs pin)" = 4 ]
	# Another hash for base in the store: base is changed from now on.
	jq -c '.servers.burst.tools.base.hash = ("0" * 64)' "$STATE/pins.json" >"$tmp"
	cat "$tmp" >"$STATE/pins.json"
	n="$(wc -l <"$LOG")"
	serve
	initialize
	# Each call adds a tool and makes corral fetch the list again.
	call 1 burst__change '{"n":3}'
	resp 1 >/dev/null
	wait_rec pin 6
	call 2 burst__change '{"n":2}'
	resp 2 >/dev/null
	wait_rec pin 7
	sync_ping 3
	stop_corral
	tail -n +"$((n + 1))" "$LOG" | jq -c 'select(.event == "pin")' \
	    >"$BATS_TEST_TMPDIR/pins2"
	holds "$(jq -sc 'map([.tool, .change])' "$BATS_TEST_TMPDIR/pins2")" \
	    '. == [["base", "changed"], ["extra1", "first_seen"],
	    ["extra2", "first_seen"]]'
}

@test "consent: the command channel records consent_prompt and consent_answer, and the call names the answer that decided it" {
	export KEEP_POLICY=1
	cfg "$(echo_srv)" "\"policy\":{\"default\":\"ask\"},\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"0\"]}"
	serve
	initialize
	call 1 echo__echo '{"text":"a"}'
	holds "$(resp 1)" '.result.content[0].text == "a"'
	stop_corral
	local p a c
	p="$(one consent_prompt)"
	has_members "$p" '["server","tool","channel","changed"]'
	holds "$p" '.server == "echo" and .tool == "echo" and
	    .channel == "command" and .changed == false'
	a="$(one consent_answer)"
	has_members "$a" '["server","tool","answer","channel"]'
	holds "$a" '.server == "echo" and .tool == "echo" and .answer == "once" and
	    .channel == "command"'
	c="$(rec 1)"
	holds "$c" '.server == "echo" and .tool == "echo" and .name == "echo__echo" and
	    .decision == "allow" and .by == "consent: once (command)" and
	    .outcome == "ok"'
	# Asked, answered, then the call ran.
	[ "$(jq -r .seq <<<"$p")" -lt "$(jq -r .seq <<<"$a")" ]
	[ "$(jq -r .seq <<<"$a")" -lt "$(jq -r .seq <<<"$c")" ]
	# Exit 1: deny; the call is denied before any child sees it.
	cfg "$(echo_srv)" "\"policy\":{\"default\":\"ask\"},\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"1\"]}"
	serve
	initialize
	call 2 echo__add '{"a":1,"b":2}'
	holds "$(resp 2)" '.result.isError == true'
	stop_corral
	holds "$(recs consent_answer | tail -n1)" '.tool == "add" and
	    .answer == "deny" and .channel == "command"'
	holds "$(rec 2)" '.name == "echo__add" and .decision == "deny" and
	    .by == "consent: deny (command)" and .outcome == "denied" and
	    (has("code") | not)'
	[ "$(echo_calls add)" = 0 ]
	bytes_ok 2
	# Exit 10: for the session; the second call is not asked again.
	cfg "$(echo_srv)" "\"policy\":{\"default\":\"ask\"},\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"10\"]}"
	serve
	initialize
	call 3 echo__echo '{"text":"b"}'
	resp 3 >/dev/null
	call 4 echo__echo '{"text":"c"}'
	resp 4 >/dev/null
	stop_corral
	[ "$(nrecs consent_prompt)" = 3 ]
	holds "$(recs consent_answer | tail -n1)" '.answer == "session"'
	holds "$(rec 3)" '.decision == "allow" and .by == "consent: session (command)"'
	holds "$(rec 4)" '.decision == "allow" and .by == "consent: session (remembered)"'
	log_sane
	verify
}

@test "consent: a changed definition approved for the session is prompted with changed true and its pin accepted" {
	cfg "$(echo_srv)"
	serve
	initialize
	stop_corral
	cfg "$(echo_srv '"args":["--echo-desc","Echo, but described differently"]')" \
	    "\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"10\"]}"
	serve
	initialize
	call 1 echo__echo '{"text":"a"}'
	holds "$(resp 1)" '.result.content[0].text == "a"'
	stop_corral
	local changed acc
	holds "$(one consent_prompt)" '.tool == "echo" and .changed == true and
	    .channel == "command"'
	holds "$(one consent_answer)" '.tool == "echo" and .answer == "session"'
	changed="$(recs pin | jq -c 'select(.change == "changed")')"
	acc="$(recs pin | jq -c 'select(.change == "accepted")')"
	has_members "$acc" '["server","tool","change","sha256","by"]'
	holds "$acc" '.server == "echo" and .tool == "echo" and .by == "consent" and
	    .sha256 == $c.sha256 and
	    .sha256 == $pins[0].servers.echo.tools.echo.hash' \
	    --argjson c "$changed" --slurpfile pins "$STATE/pins.json"
	holds "$(rec 1)" '.decision == "allow" and .by == "consent: session (command)"'
	verify
}

@test "pin: corral pins accept records accepted with by, on the same chain" {
	cfg "$(echo_srv)"
	serve
	initialize
	stop_corral
	cfg "$(echo_srv '"args":["--echo-desc","Echo, but described differently"]')"
	local n r
	n="$(wc -l <"$LOG")"
	run -0 --separate-stderr "$CORRAL" pins accept -c "$CONF" echo__echo
	r="$(tail -n +"$((n + 1))" "$LOG" | jq -c 'select(.event == "pin" and .change == "accepted")')"
	has_members "$r" '["server","tool","change","sha256","by"]'
	holds "$r" '.server == "echo" and .tool == "echo" and
	    .by == "corral pins accept" and
	    .sha256 == $pins[0].servers.echo.tools.echo.hash' \
	    --slurpfile pins "$STATE/pins.json"
	log_sane
	verify
	# Accepted: the next serve records no change.
	n="$(wc -l <"$LOG")"
	serve
	initialize
	stop_corral
	[ "$(tail -n +"$((n + 1))" "$LOG" | jq -c 'select(.event == "pin")')" = "" ]
}

# corral's Nth (1-based) request to the host with method $1, waiting for it.
host_req() {
	local i=0 l
	while :; do
		l="$(jq -c --arg m "$1" 'select(.method == $m and has("id"))' "$OUT" |
		    sed -n "${2:-1}p")"
		[ -z "$l" ] || break
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge 200 ]; then
			echo "no $1 request from corral; stdout:" >&2
			cat "$OUT" "$ERR" >&2
			return 1
		fi
	done
	printf '%s\n' "$l"
}

@test "relay: a child's sampling, elicitation and roots requests answered by the host; denied without the capability" {
	cfg "\"asker\":{\"command\":\"$SRV/asker\"}"
	serve
	initialize 2025-06-18 '{"sampling":{},"elicitation":{},"roots":{}}'
	local q hid ans r
	# sampling/createMessage: the asker's request 0.
	call 1 asker__sample
	q="$(host_req sampling/createMessage)"
	hid="$(jq -r .id <<<"$q")"
	ans="{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi\"},\"model\":\"m\"}}"
	send "$ans"
	holds "$(resp 1)" '.result.isError != true'
	r="$(one relay)"
	has_members "$r" '["server","method","outcome","latency_ms","bytes_in","bytes_out"]'
	# The child's line is corral's with the child's id 0 for corral's.
	holds "$r" '.server == "asker" and .method == "sampling/createMessage" and
	    .outcome == "ok" and (.latency_ms | type == "number" and . >= 0) and
	    .bytes_in == $in and .bytes_out == $out' \
	    --argjson in "$(($(nbytes "$q") - ${#hid} + 1))" \
	    --argjson out "$(nbytes "$ans")"
	# elicitation/create: accepted.
	call 2 asker__elicit
	q="$(host_req elicitation/create)"
	hid="$(jq -r .id <<<"$q")"
	ans="{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"action\":\"accept\",\"content\":{\"x\":\"y\"}}}"
	send "$ans"
	resp 2 >/dev/null
	holds "$(recs relay | sed -n 2p)" '.server == "asker" and
	    .method == "elicitation/create" and .outcome == "ok" and
	    (.bytes_in | type == "number" and . > 0) and .bytes_out == $out' \
	    --argjson out "$(nbytes "$ans")"
	# roots/list: the host answers with an error.
	call 3 asker__roots
	q="$(host_req roots/list)"
	hid="$(jq -r .id <<<"$q")"
	ans="{\"jsonrpc\":\"2.0\",\"id\":$hid,\"error\":{\"code\":-32001,\"message\":\"no roots here\"}}"
	send "$ans"
	holds "$(resp 3)" '.result.isError == true'
	r="$(recs relay | sed -n 3p)"
	has_members "$r" '["server","method","outcome","code","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.server == "asker" and .method == "roots/list" and
	    .outcome == "rpc_error" and .code == -32001 and
	    .bytes_in == $in and .bytes_out == $out' \
	    --argjson in "$(($(nbytes "$q") - ${#hid} + 1))" \
	    --argjson out "$(nbytes "$ans")"
	# The calls themselves were allowed by policy and ran.
	holds "$(rec 1)" '.server == "asker" and .tool == "sample" and .outcome == "ok"'
	holds "$(rec 3)" '.tool == "roots" and .outcome == "tool_error"'
	stop_corral
	[ "$(nrecs relay)" = 3 ]
	# A host without the capability: corral refuses for it.
	serve
	initialize
	call 4 asker__sample
	holds "$(resp 4)" '.result.isError == true'
	stop_corral
	r="$(recs relay | tail -n1)"
	holds "$r" '.server == "asker" and .method == "sampling/createMessage" and
	    .outcome == "denied" and .why == "the host does not support sampling" and
	    (has("code") | not) and (.bytes_in | type == "number" and . > 0)'
	[ "$(nrecs relay)" = 4 ]
	# corral never sent it to this host.
	[ "$(jq -c 'select(.method == "sampling/createMessage")' "$OUT")" = "" ]
	log_sane
	verify
}

# --- calls and requests -----------------------------------------------------------

@test "call: every outcome (ok, tool_error, rpc_error, timeout, cancelled, transport_error) with its bytes, tokens and decision" {
	cfg "$(echo_srv '"timeouts":{"call":0.5}'),\"crashy\":{\"command\":\"$SRV/crashy\"}"
	serve
	initialize
	local r
	call 1 echo__echo '{"text":"hello"}'
	bytes_ok 1
	r="$(rec 1)"
	has_members "$r" '["session","id","server","tool","name","decision","by","outcome","latency_ms","bytes_in","bytes_out","tokens","args"]'
	holds "$r" '.id == "1" and .server == "echo" and .tool == "echo" and
	    .name == "echo__echo" and .decision == "allow" and
	    .by == "policy: the global default" and .outcome == "ok"'
	call 2 echo__fail
	bytes_ok 2
	holds "$(rec 2)" '.tool == "fail" and .outcome == "tool_error" and
	    (has("code") | not)'
	call 3 echo__rpcerror
	bytes_ok 3
	holds "$(rec 3)" '.tool == "rpcerror" and .outcome == "rpc_error" and
	    .code == -32000'
	# No answer or progress within timeouts.call.
	call 4 echo__slow '{"ms":5000,"steps":1}'
	holds "$(resp 4)" '.error.code == -32001'
	bytes_ok 4
	holds "$(rec 4)" '.tool == "slow" and .outcome == "timeout" and
	    (has("code") | not) and .latency_ms >= 500'
	# Cancelled by the host: no answer goes out.
	call 5 echo__slow '{"ms":5000,"steps":1}'
	sync_ping 6
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"enough"}}'
	sync_ping 7
	bytes_ok 5 0
	holds "$(rec 5)" '.tool == "slow" and .outcome == "cancelled" and
	    .decision == "allow"'
	# The child dies mid-answer.
	call 8 crashy__boom
	holds "$(resp 8)" '.error.code == -32000'
	bytes_ok 8
	holds "$(rec 8)" '.server == "crashy" and .tool == "boom" and
	    .name == "crashy__boom" and .outcome == "transport_error" and
	    (has("code") | not)'
	wait_rec child_exit
	holds "$(recs child_exit | jq -c 'select(.server == "crashy")')" \
	    '.signal == "ABRT" and (has("status") | not) and
	    (.stderr | index(["crashy: boom"]) != null)'
	# One record per call; ping is a request too.
	[ "$(recs call | wc -l)" = 6 ]
	holds "$(rec 6)" '.event == "request" and .method == "ping" and
	    .outcome == "ok"'
	stop_corral
	log_sane
	holds "$(one session_end)" '.requests == 9'
	assert_stdout_json
	verify
}

@test "call: a policy deny is decision deny, outcome denied, by the rule; the child never sees the call" {
	cfg "$(echo_srv '"policy":{"default":"allow","deny":["fail"]}')"
	serve
	initialize
	call 1 echo__fail
	holds "$(resp 1)" '.result.isError == true'
	call 2 echo__echo '{"text":"x"}'
	resp 2 >/dev/null
	stop_corral
	bytes_ok 1
	holds "$(rec 1)" '.name == "echo__fail" and .decision == "deny" and
	    .by == "policy: mcpServers.echo.policy.deny[0]" and
	    .outcome == "denied" and (has("code") | not)'
	holds "$(rec 2)" '.decision == "allow" and .by == $by and
	    .outcome == "ok"' --arg by "policy: the server's default"
	[ "$(echo_calls fail)" = 0 ]
	[ "$(echo_calls echo)" = 1 ]
}

@test "call: a denied call still names its server and the child's tool (trail.h: call has server, tool)" {
	export KEEP_POLICY=1
	cfg "$(echo_srv '"policy":{"default":"allow","deny":["fail"]}')" \
	    "\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"1\"]},\"policy\":{\"default\":\"ask\"}"
	serve
	initialize
	call 1 echo__fail
	resp 1 >/dev/null
	stop_corral
	holds "$(rec 1)" '.outcome == "denied" and .server == "echo" and
	    .tool == "fail" and .name == "echo__fail"'
	cfg "$(echo_srv)" \
	    "\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"1\"]},\"policy\":{\"default\":\"ask\"}"
	serve
	initialize
	call 2 echo__add '{"a":1,"b":2}'
	resp 2 >/dev/null
	stop_corral
	holds "$(rec 2)" '.outcome == "denied" and .by == "consent: deny (command)" and
	    .server == "echo" and .tool == "add" and .name == "echo__add"'
}

@test "request: tools/list, prompts/get (prompt), resources/read (uri), and errors with their codes" {
	cfg "$(echo_srv)"
	serve
	initialize
	local r
	req 1 tools/list
	bytes_ok 1
	r="$(rec 1)"
	has_members "$r" '["session","id","method","outcome","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.method == "tools/list" and .outcome == "ok"'
	req 2 prompts/get '{"name":"echo__greet","arguments":{"name":"Ann"}}'
	holds "$(resp 2)" '.result.messages[0].content.text == "Hello, Ann!"'
	bytes_ok 2
	r="$(rec 2)"
	has_members "$r" '["session","id","method","server","prompt","outcome","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.method == "prompts/get" and .server == "echo" and
	    .prompt == "echo__greet" and .outcome == "ok"'
	req 3 resources/read '{"uri":"echo://static/hello"}'
	bytes_ok 3
	r="$(rec 3)"
	has_members "$r" '["session","id","method","server","uri","outcome","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.method == "resources/read" and .server == "echo" and
	    .uri == "echo://static/hello" and .outcome == "ok"'
	# The child's own error.
	req 4 prompts/get '{"name":"echo__greet","arguments":{}}'
	bytes_ok 4
	holds "$(rec 4)" '.server == "echo" and .prompt == "echo__greet" and
	    .outcome == "rpc_error" and .code == -32602'
	# corral's errors: an unknown method, an unknown resource.
	req 5 no/such/method '{}'
	holds "$(resp 5)" '.error.code == -32601'
	bytes_ok 5
	r="$(rec 5)"
	has_members "$r" '["session","id","method","outcome","code","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.method == "no/such/method" and .outcome == "rpc_error" and
	    .code == -32601'
	req '"str-id"' resources/read '{"uri":"nowhere://x"}'
	holds "$(rec '"str-id"')" '.id == "\"str-id\"" and .uri == "nowhere://x" and
	    .outcome == "rpc_error" and .code == -32002'
	stop_corral
	log_sane
	# No request record carries call members.
	[ "$(recs request | jq -c 'select(has("tool") or has("name") or
	    has("decision") or has("tokens") or has("args"))')" = "" ]
	verify
}

@test "request: a reused id in progress is recorded apart as rpc_error -32600, with the bytes of corral's error" {
	cfg "$(echo_srv)"
	serve
	initialize
	call 1 echo__slow '{"ms":8000,"steps":1}'
	sync_ping 2
	# id 1 is still in progress.
	req 1 tools/list
	holds "$(resp 1)" '.error.code == -32600 and
	    .error.message == "id is already in use by a request in progress"'
	wait_rec request 2
	local r out
	out="$(nbytes "$(resp 1)")"
	r="$(jq -c 'select(.id == "1" and .event == "request")' "$LOG")"
	has_members "$r" '["session","id","method","outcome","code","latency_ms","bytes_in","bytes_out"]'
	holds "$r" '.method == "tools/list" and .outcome == "rpc_error" and
	    .code == -32600 and .bytes_in == $in' --argjson in "$(wc -c <"$SENT/1")"
	# The slow call it collided with goes on, untouched.
	[ "$(jq -c 'select(.id == "1" and .event == "call")' "$LOG")" = "" ]
	stop_corral
	holds "$r" '.bytes_out == $out' --argjson out "$out"
}

@test "request: a call still unanswered when the session ends is recorded then as cancelled" {
	cfg "$(echo_srv)"
	serve
	initialize
	call 1 echo__slow '{"ms":8000,"steps":1}'
	sync_ping 2
	stop_corral
	log_sane
	holds "$(one session_end)" '.requests == 3'
	holds "$(rec 1)" '.tool == "slow" and .bytes_out == 0 and
	    .outcome == "cancelled"'
}

# --- capture ------------------------------------------------------------------------

ARGS='{"text":"hello","n":42,"flag":true,"nothing":null,"list":[1,"two",3],"obj":{"k":"vv","deep":{"x":-7}}}'

@test "capture: by default args is the sha256 of the canonical arguments and their shape" {
	cfg "$(echo_srv)"
	serve
	initialize
	call 1 echo__echo "$ARGS"
	resp 1 >/dev/null
	call 2 echo__cwd
	resp 2 >/dev/null
	req 3 tools/call '{"name":"echo__cwd"}'
	resp 3 >/dev/null
	stop_corral
	local h
	# Canonical: keys sorted bytewise, no white space.
	h="$(jq -cS . <<<"$ARGS" | tr -d '\n' | sha256sum | cut -d' ' -f1)"
	holds "$(rec 1)" '.args == {"sha256": $h, "shape": {"text": "string(5)",
	    "n": "number", "flag": "boolean", "nothing": "null",
	    "list": "array(3)", "obj": {"k": "string(2)",
	    "deep": {"x": "number"}}}}' --arg h "$h"
	# No arguments at all, or {}: the hash of {}.
	h="$(printf '{}' | sha256sum | cut -d' ' -f1)"
	holds "$(rec 2)" '.args == {"sha256": $h, "shape": {}}' --arg h "$h"
	holds "$(rec 3)" '.args == {"sha256": $h, "shape": {}}' --arg h "$h"
	# The values themselves are nowhere in the log.
	! grep -q hello "$LOG"
}

@test "capture: \"none\" leaves args out; \"full\" keeps the arguments as sent" {
	cfg "$(echo_srv)" '"audit":{"capture":"none"}'
	serve
	initialize
	call 1 echo__echo "$ARGS"
	resp 1 >/dev/null
	stop_corral
	holds "$(rec 1)" '.outcome == "ok" and (has("args") | not)'
	! grep -q hello "$LOG"
	cfg "$(echo_srv)" '"audit":{"capture":"full"}'
	serve
	initialize
	call 2 echo__echo "$ARGS"
	resp 2 >/dev/null
	call 3 echo__cwd
	resp 3 >/dev/null
	stop_corral
	holds "$(rec 2)" '.args == $a' --argjson a "$ARGS"
	holds "$(rec 3)" '.args == {}'
	verify
}

# --- secrets ------------------------------------------------------------------------

@test "secrets: values from \${env:...} never reach the log, in argv, args, keys or a child's stderr" {
	export CORRAL_TEST_SECRET="sekrit-$RANDOM-$RANDOM-value"
	local s="$CORRAL_TEST_SECRET"
	write_config <<EOF2
{"mcpServers":{"echo":{"command":"/bin/sh",
  "args":["-c","exec \"\$0\"","$SRV/echo","--key=\${env:CORRAL_TEST_SECRET}"],
  "env":{"TOKEN":"\${env:CORRAL_TEST_SECRET}","FAKE_PIDFILE":"$EPID"}}},
 "corral":{"audit":{"capture":"full"}}}
EOF2
	serve
	initialize
	# The child got the value.
	call 1 echo__env '{"name":"TOKEN"}'
	holds "$(resp 1)" '.result.content[0].text == $s' --arg s "$s"
	call 2 echo__echo "{\"text\":\"the token is $s!\",\"$s\":[\"x$s\"]}"
	holds "$(resp 2)" '.result.content[0].text == "the token is \($s)!"' --arg s "$s"
	call 3 echo__stderr "{\"text\":\"leaked $s\"}"
	resp 3 >/dev/null
	stop_corral
	log_sane
	holds "$(one child_spawn)" '.argv == ["/bin/sh", "-c", "exec \"$0\"",
	    $cmd, "--key=[redacted]"]' --arg cmd "$SRV/echo"
	holds "$(rec 2)" '.args == {"text": "the token is [redacted]!",
	    "[redacted]": ["x[redacted]"]}'
	holds "$(one child_exit)" '.stderr | index(["leaked [redacted]"]) != null'
	# Nowhere in any audit file, in any form.
	run grep -rlF --include='audit.jsonl*' -- "$s" "$STATE"
	[ "$status" = 1 ] || { echo "grep: $status $output" >&2; return 1; }
	grep -qF '[redacted]' "$LOG"
	verify
}

@test "secrets: an otel header value never reaches the log" {
	cfg "$(echo_srv)" '"audit":{"capture":"full"},"otel":{"endpoint":"http://127.0.0.1:9","timeout":1,"headers":{"X-Key":"hdr-secret-value"}}'
	serve
	initialize
	call 1 echo__echo '{"text":"hdr-secret-value"}'
	# The host gets its own text back: only the log is redacted.
	holds "$(resp 1)" '.result.content[0].text == "hdr-secret-value"'
	call 2 echo__stderr '{"text":"header hdr-secret-value"}'
	resp 2 >/dev/null
	stop_corral
	holds "$(rec 1)" '.args == {"text": "[redacted]"}'
	holds "$(one child_exit)" '.stderr | index(["header [redacted]"]) != null'
	run grep -rlF --include='audit.jsonl*' -- hdr-secret-value "$STATE"
	[ "$status" = 1 ] || { echo "grep: $status $output" >&2; return 1; }
	assert_stdout_json
	verify
}

# --- the chain through the broker ---------------------------------------------------

# Send $2 tools/call lines (ids from $1 up) in one go, echo__add each.
burst() {
	local i f="$BATS_TEST_TMPDIR/burst"
	: >"$f"
	for ((i = $1; i < $1 + $2; i++)); do
		printf '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo__add","arguments":{"a":%d,"b":1}}}\n' \
		    "$i" "$i" >>"$f"
	done
	cat "$f" >&7
}

@test "chain: rotation at rotate_bytes keeps keep files, each starting with a rotate record; seq goes on and verify passes over all" {
	cfg "$(echo_srv)" '"audit":{"rotate_bytes":4096,"keep":3}'
	serve
	initialize
	burst 1 200
	resp 200 20 >/dev/null
	stop_corral
	local f prev n all
	[ -f "$LOG.1" ] && [ -f "$LOG.2" ] && [ -f "$LOG.3" ]
	[ ! -e "$LOG.4" ]
	all="$BATS_TEST_TMPDIR/all.jsonl"
	cat "$LOG.3" "$LOG.2" "$LOG.1" "$LOG" >"$all"
	log_sane "$all"
	prev=""
	for f in "$LOG.3" "$LOG.2" "$LOG.1" "$LOG"; do
		[ "$(wc -c <"$f")" -le 4096 ]
		# Chained on the last mac of the file before it.
		holds "$(head -n1 "$f")" '.event == "rotate" and
		    .file == "audit.jsonl.1" and
		    (.prev_mac | test("^[0-9a-f]{64}$")) and
		    ($prev == "" or .prev_mac == $prev)' --arg prev "$prev"
		has_members "$(head -n1 "$f")" '["file","prev_mac"]'
		prev="$(tail -n1 "$f" | jq -r .mac)"
	done
	# The rest of the session is all there: the last 200 calls, the end.
	[ "$(tail -n1 "$LOG" | jq -r .event)" = session_end ]
	n="$(jq -c 'select(.event == "call")' "$all" | wc -l)"
	[ "$n" -ge 20 ]
	verify
	[[ "$output" =~ ^audit:\ intact,\ [0-9]+\ records\ \(seq\ [0-9]+-[0-9]+\),\ 4\ files,\ anchored\ at\ seq\ [0-9]+\ \(earlier\ files\ are\ gone\)$ ]]
	# Through the first rotated file: the oldest left is anchored.
	[ "$(jq -r .seq <<<"$(head -n1 "$LOG.3")")" -gt 1 ]
}

@test "chain: a second corral continues the first one's chain; an edited record breaks it" {
	cfg "$(echo_srv)"
	serve
	initialize
	call 1 echo__echo '{"text":"one"}'
	resp 1 >/dev/null
	stop_corral
	local last1 s1 n
	last1="$(tail -n1 "$LOG" | jq .seq)"
	s1="$(one session_start | jq -r .session)"
	n="$(wc -l <"$LOG")"
	serve
	initialize
	call 2 echo__echo '{"text":"two"}'
	resp 2 >/dev/null
	stop_corral
	log_sane
	holds "$(sed -n "$((n + 1))p" "$LOG")" '.event == "config_load" and
	    .seq == $s + 1' --argjson s "$last1"
	[ "$(nrecs session_start)" = 2 ]
	[ "$(recs session_start | tail -n1 | jq -r .session)" != "$s1" ]
	verify
	[ "$output" = "audit: intact, $(wc -l <"$LOG") records (seq 1-$(wc -l <"$LOG")), 1 file" ]
	# Change one record's outcome: verify names that line.
	n="$(grep -n '"id":"2","server"' "$LOG" | cut -d: -f1)"
	[ -n "$n" ]
	sed -i "${n}s/\"outcome\":\"ok\"/\"outcome\":\"no\"/" "$LOG"
	verify 1
	[ "$output" = "$LOG:$n: mac mismatch" ]
}

@test "chain: kill -9 during heavy traffic leaves a log that verifies (or reports only a torn final record); the next corral goes on cleanly" {
	cfg "$(echo_srv)"
	serve
	initialize
	burst 1 3000 &
	local wpid=$! i=0
	while [ "$(grep -c '"event":"call"' "$LOG")" -lt 300 ]; do
		sleep 0.02
		i=$((i + 1))
		[ "$i" -lt 1000 ] || { echo "calls are not being recorded" >&2; return 1; }
	done
	kill -9 "$CPID"
	wait "$CPID" || true
	wait "$wpid" || true
	# Not all 3000 were recorded: the kill was mid-way.
	[ "$(grep -c '"event":"call"' "$LOG")" -lt 3000 ]
	run --separate-stderr "$CORRAL" audit verify -c "$CONF"
	case "$status" in
	0) ;;
	3) [[ "$output" == *": truncated final record (a crash while writing; not tampering)"* ]] ;;
	*) echo "verify: $status: $output $stderr" >&2; return 1 ;;
	esac
	serve
	initialize
	call 9001 echo__echo '{"text":"after"}'
	resp 9001 >/dev/null
	stop_corral
	log_sane
	verify
	holds "$(rec 9001)" '.outcome == "ok"'
}

@test "chain: a torn final record is reported as such, and removed when corral opens the log again" {
	cfg "$(echo_srv)"
	serve
	initialize
	stop_corral
	local size n last
	size="$(wc -c <"$LOG")"
	n="$(wc -l <"$LOG")"
	last="$(tail -n1 "$LOG")"
	# Cut the last record (session_end) in the middle.
	truncate -s "$((size - ${#last} / 2))" "$LOG"
	verify 3
	[ "$output" = "$LOG:$n: truncated final record (a crash while writing; not tampering)
audit: intact, $((n - 1)) records (seq 1-$((n - 1))), 1 file" ]
	serve
	initialize
	call 1 echo__echo '{"text":"after"}'
	resp 1 >/dev/null
	stop_corral
	# What is left of the line (its newline was cut too) goes.
	grep -qxF "corral: $LOG: removing $((${#last} + 1 - ${#last} / 2)) bytes of a record cut short" "$ERR"
	log_sane
	# The torn record's seq is the next run's first.
	holds "$(sed -n "${n}p" "$LOG")" '.event == "config_load" and .seq == $n' \
	    --argjson n "$n"
	verify
}

# --- a log that cannot be written -----------------------------------------------------

# A 64 KiB tmpfs at $MNT, filled up to the last byte by $MNT/filler.
small_disk() {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	mount -t tmpfs -o size=64k tmpfs "$MNT"
}
fill_disk() {
	dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true
	[ "$(df --output=avail "$MNT" | tail -n1 | tr -d ' ')" = 0 ]
}

REFUSED_RE='^corral refused the call: the audit log cannot be written \((.*)\), and corral\.audit\.on_failure is "refuse"\. Free space or fix the log, then call again\.$'

@test "disk full: with on_failure refuse tool calls are refused and never reach the child; once there is room the log resumes and says how much was lost" {
	small_disk
	fill_disk
	cfg "$(echo_srv)" "\"audit\":{\"path\":\"$MNT/audit.jsonl\"}"
	LOG="$MNT/audit.jsonl"
	serve
	initialize
	local why r text
	why="$MNT/audit.jsonl: write: No space left on device"
	call 1 echo__echo '{"text":"one"}'
	r="$(resp 1)"
	text="$(jq -r '.result.content[0].text' <<<"$r")"
	holds "$r" '.result.isError == true and (.result.content | length) == 1'
	[ "$text" = "corral refused the call: the audit log cannot be written ($why), and corral.audit.on_failure is \"refuse\". Free space or fix the log, then call again." ]
	call 2 echo__add '{"a":1,"b":2}'
	holds "$(resp 2)" '.result.isError == true and
	    (.result.content[0].text | test($re))' --arg re "$REFUSED_RE"
	# Other requests still work.
	req 3 tools/list
	holds "$(resp 3)" '.result.tools | length > 0'
	[ "$(echo_calls echo)" = 0 ] && [ "$(echo_calls add)" = 0 ]
	[ "$(grep -c '^corral: audit: cannot write the audit log: ' "$ERR")" = 1 ]
	grep -qxF "corral: audit: cannot write the audit log: $why; tool calls are refused until it can be written (corral.audit.on_failure)" "$ERR"
	# Room again: after the retry gap the next call runs and is recorded.
	rm "$MNT/filler"
	sleep 1.1
	call 4 echo__echo '{"text":"four"}'
	holds "$(resp 4)" '.result.content[0].text == "four"'
	stop_corral
	r="$(one audit_resumed)"
	has_members "$r" '["lost","error"]'
	holds "$r" '.seq == 1 and .lost >= 5 and .error == $why' --arg why "$why"
	grep -qxF "corral: audit: the audit log is written again ($(jq .lost <<<"$r") records lost)" "$ERR"
	holds "$(rec 4)" '.outcome == "ok" and .decision == "allow"'
	[ "$(jq -c 'select(.id == "1" or .id == "2")' "$LOG")" = "" ]
	[ "$(echo_calls echo)" = 1 ]
	log_sane
	verify
	assert_stdout_json
	while IFS= read -r r; do holds "$r" '.jsonrpc == "2.0"'; done <"$OUT"
}

@test "disk nearly full: a call whose record might not fit is refused before it runs, though no write failed yet" {
	small_disk
	cfg "$(echo_srv)" "\"audit\":{\"path\":\"$MNT/audit.jsonl\"}"
	LOG="$MNT/audit.jsonl"
	serve
	initialize
	call 1 echo__echo '{"text":"one"}'
	holds "$(resp 1)" '.result.content[0].text == "one"'
	# Leave 8 KiB: room for a few records, not for a call and its margin.
	fill_disk
	truncate -s -8192 "$MNT/filler"
	call 2 echo__echo '{"text":"two"}'
	holds "$(resp 2)" '.result.isError == true and
	    (.result.content[0].text | test($re))' --arg re "$REFUSED_RE"
	jq -r '.result.content[0].text' <<<"$(resp 2)" | grep -qE "\($MNT: only [0-9]+ bytes free\)"
	[ "$(echo_calls echo)" = 1 ]
	# Nothing failed: the refusal itself is in the log, and no error was said.
	! grep -q 'cannot write the audit log' "$ERR"
	rm "$MNT/filler"
	call 3 echo__echo '{"text":"three"}'
	holds "$(resp 3)" '.result.content[0].text == "three"'
	stop_corral
	holds "$(jq -c 'select(.event == "call" and .id == "2")' "$LOG")" \
	    '.outcome == "denied" and .decision == "deny" and .by == "audit log unwritable"'
	verify
}

@test "disk full mid-session: the cut-off record is taken back, calls are refused, and the log verifies after it resumes" {
	small_disk
	cfg "$(echo_srv)" "\"audit\":{\"path\":\"$MNT/audit.jsonl\"}"
	LOG="$MNT/audit.jsonl"
	serve
	initialize
	call 1 echo__echo '{"text":"one"}'
	resp 1 >/dev/null
	fill_disk
	# A request whose record takes more than the room left in the page.
	local big
	big="$(head -c 6000 /dev/zero | tr '\0' p)"
	req 2 prompts/get "{\"name\":\"$big\"}"
	resp 2 >/dev/null
	wait_err '^corral: audit: cannot write the audit log: '
	call 3 echo__echo '{"text":"three"}'
	holds "$(resp 3)" '.result.isError == true and
	    (.result.content[0].text | test($re))' --arg re "$REFUSED_RE"
	[ "$(echo_calls echo)" = 1 ]
	rm "$MNT/filler"
	sleep 1.1
	call 4 echo__echo '{"text":"four"}'
	holds "$(resp 4)" '.result.content[0].text == "four"'
	stop_corral
	[ "$(grep -c '^corral: audit: cannot write the audit log: ' "$ERR")" = 1 ]
	# Cut short in the page left, or no room at all; the fragment went.
	holds "$(one audit_resumed)" '.lost >= 2 and (.error | test($re))' \
	    --arg re "^$MNT/audit\\.jsonl: (short write \\([0-9]+ of [0-9]+ bytes\\)|write: No space left on device)\$"
	# No fragment of the big record is left in the file.
	! grep -q pppp "$LOG"
	log_sane
	verify
	assert_stdout_json
}

@test "disk full: audit_resumed.lost counts exactly the records that could not be written" {
	small_disk
	cfg "$(echo_srv)" "\"audit\":{\"path\":\"$MNT/audit.jsonl\"}"
	LOG="$MNT/audit.jsonl"
	serve
	initialize
	fill_disk
	local big
	big="$(head -c 6000 /dev/zero | tr '\0' p)"
	# Two records cannot be written: this request's and the refused call's.
	req 1 prompts/get "{\"name\":\"$big\"}"
	resp 1 >/dev/null
	wait_err '^corral: audit: cannot write the audit log: '
	call 2 echo__echo '{"text":"two"}'
	holds "$(resp 2)" '.result.isError == true'
	rm "$MNT/filler"
	sleep 1.1
	call 3 echo__echo '{"text":"three"}'
	resp 3 >/dev/null
	stop_corral
	[ "$(jq -c 'select(.id == "1" or .id == "2")' "$LOG")" = "" ]
	holds "$(one audit_resumed)" '.lost == 2'
	grep -qxF "corral: audit: the audit log is written again (2 records lost)" "$ERR"
}

@test "disk full: with on_failure continue calls run and corral says it goes on without the log" {
	small_disk
	fill_disk
	cfg "$(echo_srv)" "\"audit\":{\"path\":\"$MNT/audit.jsonl\",\"on_failure\":\"continue\"}"
	LOG="$MNT/audit.jsonl"
	serve
	initialize
	local why
	why="$MNT/audit.jsonl: write: No space left on device"
	call 1 echo__echo '{"text":"one"}'
	holds "$(resp 1)" '.result.content[0].text == "one" and .result.isError != true'
	[ "$(echo_calls echo)" = 1 ]
	grep -qxF "corral: audit: cannot write the audit log: $why; going on without it (corral.audit.on_failure is \"continue\")" "$ERR"
	[ "$(grep -c '^corral: audit: cannot write the audit log: ' "$ERR")" = 1 ]
	rm "$MNT/filler"
	sleep 1.1
	call 2 echo__echo '{"text":"two"}'
	resp 2 >/dev/null
	stop_corral
	holds "$(one audit_resumed)" '.seq == 1 and .lost >= 1 and .error == $why' \
	    --arg why "$why"
	holds "$(rec 2)" '.outcome == "ok"'
	log_sane
	verify
	assert_stdout_json
}

# --- off, and never on stdout -----------------------------------------------------------

@test "enabled false: no audit.jsonl and no audit.key are created" {
	cfg "$(echo_srv)" "\"audit\":{\"enabled\":false,\"path\":\"$BATS_TEST_TMPDIR/elsewhere/audit.jsonl\"}"
	serve
	initialize
	call 1 echo__echo '{"text":"x"}'
	holds "$(resp 1)" '.result.content[0].text == "x"'
	stop_corral
	[ -d "$STATE" ]
	[ ! -e "$STATE/audit.jsonl" ] && [ ! -e "$STATE/audit.key" ]
	[ ! -e "$BATS_TEST_TMPDIR/elsewhere" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name 'audit.*')" ]
	# The same session with the log on does create them.
	cfg "$(echo_srv)"
	serve
	initialize
	stop_corral
	[ -s "$STATE/audit.jsonl" ] && [ -s "$STATE/audit.key" ]
}

@test "stdout: with every kind of event recorded, corral writes only JSON-RPC to stdout" {
	export KEEP_POLICY=1
	cfg "$(echo_srv '"policy":{"default":"allow","deny":["fail"]}'),\"asker\":{\"command\":\"$SRV/asker\",\"policy\":{\"default\":\"ask\"}},\"ghost\":{\"command\":\"/nonexistent/ghost\"}" \
	    "\"consent\":{\"channels\":[\"command\"],\"command\":[\"$CMD\",\"$CLOG\",\"0\"]},\"audit\":{\"capture\":\"full\"}"
	serve
	initialize 2025-06-18 '{"roots":{}}'
	call 1 echo__echo '{"text":"a"}'
	resp 1 >/dev/null
	call 2 echo__fail
	resp 2 >/dev/null
	call 3 asker__roots
	send "{\"jsonrpc\":\"2.0\",\"id\":$(host_req roots/list | jq .id),\"result\":{\"roots\":[]}}"
	resp 3 >/dev/null
	call 4 asker__sample
	resp 4 >/dev/null
	req 5 no/such
	resp 5 >/dev/null
	stop_corral
	local e
	for e in config_load session_start child_spawn spawn_error pin \
	    consent_prompt consent_answer relay call request child_exit \
	    session_end; do
		[ "$(nrecs "$e")" -ge 1 ] || { echo "no $e record" >&2; return 1; }
	done
	assert_stdout_json
	while IFS= read -r e; do holds "$e" '.jsonrpc == "2.0"'; done <"$OUT"
	# No record text leaked to stdout.
	! grep -q '"event":' "$OUT"
	! grep -q '"mac":' "$OUT"
	log_sane
	verify
}
