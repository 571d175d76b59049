#!/usr/bin/env bats
# corral status: what a running corral serve tells over its status socket
# (states, pids, restarts, calls, stderr, consent prompts), several serves,
# stale sockets, the socket's modes, other users refused, and a serve that
# cannot make its socket.

load helpers

setup() {
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/rt"
	rm -rf "$XDG_RUNTIME_DIR"
	mkdir -m 0700 "$XDG_RUNTIME_DIR"
	SOCKDIR="$XDG_RUNTIME_DIR/corral"
}

FAST='"corral":{"timeouts":{"shutdown":0.3}}'

# Send tools/call of tool $2 with arguments $3 as request id $1.
call() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/call","params":{"name":"'"$2"'","arguments":'"${3:-{\}}"'}}'
}

# Wait until the socket of serve $1 (default $CPID) exists.
wait_sock() {
	local s="$SOCKDIR/serve-${1:-$CPID}.sock" i
	for i in $(seq 200); do
		[ -S "$s" ] && return 0
		sleep 0.05
	done
	echo "no socket $s" >&2
	return 1
}

# The one status document of serve $CPID.
doc() {
	"$CORRAL" status --json --pid "$CPID"
}

# A second serve of $CONF, its stdin a fifo held on fd 6; sets CPID2.
start_second() {
	mkfifo "$BATS_TEST_TMPDIR/in2"
	"$CORRAL" serve -c "$CONF" <"$BATS_TEST_TMPDIR/in2" >"$BATS_TEST_TMPDIR/out2" 2>"$BATS_TEST_TMPDIR/err2" 3>&- 6>&- 7>&- &
	CPID2=$!
	exec 6>"$BATS_TEST_TMPDIR/in2"
}

stop_second() {
	exec 6>&-
	wait "$CPID2"
}

@test "status: running, restarted and failed servers with pids, uptimes, restarts, calls and the stderr of the failed one" {
	local pidf="$BATS_TEST_TMPDIR/echo.pid" pid
	write_config <<EOF
{"mcpServers":{
 "echo":{"command":"$SRV/echo","env":{"FAKE_PIDFILE":"$pidf"}},
 "crashy":{"command":"$SRV/crashy","restart":{"backoff":0.2}},
 "bad":{"command":"$SRV/initexit","restart":{"max_failures":1,"backoff":0.1}}},$FAST}
EOF
	start_corral
	initialize
	call 1 echo__echo '{"text":"a"}'
	call 2 echo__echo '{"text":"b"}'
	wait_for '"id":2,"result"'
	wait_for '"id":1,"result"'
	call 3 crashy__boom
	wait_for '"id":3,"error"'
	wait_err '^corral: \[crashy\] ready again$'
	wait_err 'bad\] failed 2 times in a row'
	# echo wrote its pid before it answered initialize.
	pid="$(cat "$pidf")"
	# The pid shown is the child's own: corral's child, running echo.
	[ "$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")" = "$CPID" ]
	[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$SRV/echo")" ]
	run -0 --separate-stderr "$CORRAL" status
	[ -z "$stderr" ]
	assert_line --index 0 --regexp "^corral serve $CPID: config $(realpath "$CONF"), up [0-9]+s, client bats 1\$"
	assert_line --index 1 --regexp '^  ALIAS +STATE +PID +UPTIME +RESTARTS +CALLS +REASON$'
	assert_line --index 2 --regexp "^  echo +running +$pid +[0-9]+s +0 +2\$"
	assert_line --index 3 --regexp '^  crashy +running +[0-9]+ +[0-9]+s +1 +1$'
	assert_line --index 4 --regexp '^  bad +failed +- +- +1 +0 +exited with status 3$'
	assert_line --index 5 '      | initexit: started'
	assert_line --index 6 '      | initexit: dying during init'
	[ "${#lines[@]}" -eq 7 ]
	# The same in the document.
	run -0 jq -c '.servers[] | [.alias, .state, .transport, .pid, .restarts, .calls, .inflight, .reason]' < <(doc)
	assert_line --index 0 "[\"echo\",\"running\",\"stdio\",$pid,0,2,0,null]"
	assert_line --index 1 --regexp '^\["crashy","running","stdio",[0-9]+,1,1,0,null\]$'
	assert_line --index 2 '["bad","failed","stdio",null,1,0,0,"exited with status 3"]'
	run -0 jq -c '.servers[2].stderr' < <(doc)
	assert_output '["initexit: started","initexit: dying during init"]'
	stop_corral
	[ "$STATUS" -eq 0 ]
	# The socket goes with serve.
	[ ! -e "$SOCKDIR/serve-$CPID.sock" ]
}

@test "status --json: one document per serve with exactly these members" {
	config_with echo
	start_corral
	wait_sock
	# Before the host initialized: no client yet.
	run -0 jq -c '.client' < <(doc)
	assert_output null
	run -0 --separate-stderr "$CORRAL" status --pid "$CPID"
	assert_line --index 0 --regexp "^corral serve $CPID: config .*, up [0-9]+s, no client yet\$"
	initialize
	run -0 jq -c 'keys' < <(doc)
	assert_output '["client","config","consent_pending","pid","servers","started","uptime_s"]'
	run -0 jq -c '[.pid == '"$CPID"', .config, (.started | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")), (.uptime_s | type), .client, .consent_pending]' < <(doc)
	assert_output "[true,\"$(realpath "$CONF")\",true,\"number\",{\"name\":\"bats\",\"version\":\"1\"},[]]"
	run -0 jq -c '.servers[0] | keys' < <(doc)
	assert_output '["alias","calls","inflight","pid","restarts","state","stderr","transport","uptime_s"]'
	run -0 jq -c '.servers[0] | [.alias, .state, .transport, (.pid | type), (.uptime_s | type), .restarts, .calls, .inflight, .stderr]' < <(doc)
	assert_output '["echo","running","stdio","number","number",0,0,0,["echo: started"]]'
	# One line per document.
	run -0 "$CORRAL" status --json
	[ "${#lines[@]}" -eq 1 ]
	stop_corral
}

@test "status: a pending consent prompt is listed with its server, tool, channel and age" {
	export KEEP_POLICY=1
	local clog="$BATS_TEST_TMPDIR/consent.log" i=0
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"}},
 "corral":{"policy":{"default":"ask"},"consent":{"channels":["command"],"command":["$ROOT/tests/servers/consent-cmd.sh","$clog","sleep"]}}}
EOF
	start_corral
	initialize
	call 1 echo__echo '{"text":"a"}'
	call 2 echo__echo '{"text":"a"}'
	while [ ! -s "$clog.pid" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ]
	done
	run -0 jq -c '.consent_pending | map(del(.since_s))' < <(doc)
	assert_output '[{"server":"echo","tool":"echo","channel":"command","calls":2}]'
	run -0 jq -c '.consent_pending[0].since_s | type' < <(doc)
	assert_output '"number"'
	run -0 --separate-stderr "$CORRAL" status
	assert_line --index 3 '  consent pending:'
	assert_line --index 4 --regexp '^    echo echo: asked [0-9]+s ago via command, 2 calls waiting$'
	# The calls wait: counted once they go to the server.
	run -0 jq -c '.servers[0].calls' < <(doc)
	assert_output 0
	stop_corral
	[ "$STATUS" -eq 0 ]
	# The consent program went with it (killed; reaped by init in time).
	local cpid
	cpid="$(cat "$clog.pid")"
	i=0
	while [ -r "/proc/$cpid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$cpid/status"; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 100 ] || { echo "consent program $cpid still runs" >&2; return 1; }
	done
}

@test "status: two serves at once are both listed; --pid picks one" {
	config_with echo
	start_corral
	start_second
	wait_sock "$CPID"
	wait_sock "$CPID2"
	run -0 --separate-stderr "$CORRAL" status
	assert_line --regexp "^corral serve $CPID: "
	assert_line --regexp "^corral serve $CPID2: "
	run -0 grep -c '^corral serve ' <<<"$output"
	assert_output 2
	run -0 jq -s -c 'map(.pid) | sort' < <("$CORRAL" status --json)
	assert_output "$(printf '%s\n' "$CPID" "$CPID2" | sort -n | jq -s -c .)"
	run -0 jq -c '.pid' < <("$CORRAL" status --json --pid "$CPID2")
	assert_output "$CPID2"
	stop_second
	run -0 jq -c '.pid' < <("$CORRAL" status --json)
	assert_output "$CPID"
	run -1 --separate-stderr "$CORRAL" status --pid "$CPID2"
	[ -z "$output" ]
	[ "$stderr" = "corral: no corral serve with pid $CPID2 is running" ]
	stop_corral
	run -1 --separate-stderr "$CORRAL" status
	[ -z "$output" ]
	[ "$stderr" = "corral: no corral serve is running" ]
}

@test "status: a stale socket (its serve is gone) is skipped and removed" {
	local dead
	mkdir -m 0700 "$SOCKDIR"
	# A pid nobody has: a process that has ended.
	true &
	dead=$!
	wait "$dead"
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCKDIR/serve-$dead.sock"
	[ -S "$SOCKDIR/serve-$dead.sock" ]
	run -1 --separate-stderr "$CORRAL" status
	[ "$stderr" = "corral: no corral serve is running" ]
	[ ! -e "$SOCKDIR/serve-$dead.sock" ]
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCKDIR/serve-$dead.sock"
	config_with echo
	start_corral
	wait_sock
	run -0 --separate-stderr "$CORRAL" status
	[ -z "$stderr" ]
	assert_line --index 0 --regexp "^corral serve $CPID: "
	run -0 grep -c '^corral serve ' <<<"$output"
	assert_output 1
	[ ! -e "$SOCKDIR/serve-$dead.sock" ]
	stop_corral
}

@test "status: the socket is mode 0600 in a directory of mode 0700" {
	config_with echo
	start_corral
	wait_sock
	[ "$(stat -c '%a %U' "$SOCKDIR")" = "700 $(id -un)" ]
	[ "$(stat -c '%a %F' "$SOCKDIR/serve-$CPID.sock")" = "600 socket" ]
	stop_corral
}

@test "status: usage errors exit 2" {
	run -2 --separate-stderr "$CORRAL" status extra
	[ "$stderr" = "usage: corral status [--json] [--pid pid]" ]
	run -2 --separate-stderr "$CORRAL" status --pid x
	assert_equal "$stderr" "$(printf 'corral: status: not a pid: x\nusage: corral status [--json] [--pid pid]')"
	run -2 --separate-stderr "$CORRAL" status --bogus
}

# Another user: connect and send a request as user $1 to socket $2; print
# what came back, or the error of connect.
as_other() {
	setpriv --reuid="$1" --regid="$1" --clear-groups --inh-caps=-all \
	    env -i PATH=/usr/bin:/bin python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror)
    sys.exit(0)
try:
    s.sendall(b"status\n")
    s.settimeout(5)
    print("answer:", repr(s.recv(65536)))
except OSError as e:
    print("closed:", e.strerror)
' "$2"
}

@test "status: another user cannot connect (0700 directory) and is refused by SO_PEERCRED even when the modes are opened" {
	[ "$(id -u)" = 0 ] || skip "needs root to make another user"
	load sandbox-helpers
	sbx_make_user
	local rt uid
	uid="$(id -u "$SBX_USER")"
	rt="$(mktemp -d /tmp/corral-status.XXXXXX)"
	chmod 0755 "$rt"
	export XDG_RUNTIME_DIR="$rt"
	SOCKDIR="$rt/corral"
	config_with echo
	start_corral
	wait_sock
	local sock="$SOCKDIR/serve-$CPID.sock"
	run -0 as_other "$SBX_USER" "$sock"
	assert_output 'connect: Permission denied'
	# With the modes opened, the uid check alone refuses: no answer, and
	# one line on stderr however many tries.
	chmod 0777 "$SOCKDIR" "$sock"
	# (Closed before or after it sent its request.)
	run -0 as_other "$SBX_USER" "$sock"
	assert_output --regexp "^(answer: b''|closed: Broken pipe|closed: Connection reset by peer)\$"
	run -0 as_other "$SBX_USER" "$sock"
	assert_output --regexp "^(answer: b''|closed: Broken pipe|closed: Connection reset by peer)\$"
	wait_err "^corral: status: refused a connection from uid $uid\$"
	run -0 grep -c 'refused a connection' "$ERR"
	assert_output 1
	chmod 0700 "$SOCKDIR"
	chmod 0600 "$sock"
	# Ours still get their answer.
	run -0 jq -c '.pid' < <(doc)
	assert_output "$CPID"
	stop_corral
	[ "$STATUS" -eq 0 ]
	rm -rf "$rt"
}

@test "serve works on when XDG_RUNTIME_DIR is unusable (a file) and says so once" {
	rm -rf "$XDG_RUNTIME_DIR"
	: >"$XDG_RUNTIME_DIR"
	config_with echo
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	wait_for '"id":1,"result"'
	run -0 grep -c '^corral: status: ' "$ERR"
	assert_output 1
	run -0 grep -xF "corral: status: $XDG_RUNTIME_DIR/corral: Not a directory; corral status will not see this serve" "$ERR"
	run -1 --separate-stderr "$CORRAL" status
	stop_corral
	[ "$STATUS" -eq 0 ]
}

@test "serve refuses a socket directory that others can reach, and works on" {
	mkdir -m 0755 "$SOCKDIR"
	config_with echo
	start_corral
	initialize
	wait_err '^corral: status: '
	run -0 grep -xF "corral: status: $SOCKDIR: not a private directory of yours (it must be mode 0700 and owned by uid $(id -u)); corral status will not see this serve" "$ERR"
	[ -z "$(ls -A "$SOCKDIR")" ]
	stop_corral
	[ "$STATUS" -eq 0 ]
}

@test "status clients that hang or send too much never stall serve; SIGTERM removes the socket" {
	config_with echo
	start_corral
	initialize
	wait_sock
	local sock="$SOCKDIR/serve-$CPID.sock"
	# Six connections that send nothing for 3 s: more than serve takes at
	# once; the host is answered meanwhile.
	python3 -c '
import socket, sys, time
ss = []
for _ in range(6):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    ss.append(s)
time.sleep(3)
' "$sock" &
	local hog=$!
	sleep 0.5
	send '{"jsonrpc":"2.0","id":1,"method":"ping"}'
	wait_for '"id":1,"result"' 2
	# A request line longer than serve reads is closed without an answer.
	run -0 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"x" * 100000 + b"\n")
    s.settimeout(10)
    print(repr(s.recv(100)))
except OSError as e:
    print("closed:", e.strerror)
' "$sock"
	assert_output --regexp "^(b''|closed: Broken pipe|closed: Connection reset by peer)\$"
	# An unknown request gets an error document.
	run -0 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"reload\n")
s.settimeout(10)
print(s.recv(1000).decode(), end="")
' "$sock"
	assert_output '{"error":"unknown request"}'
	wait "$hog"
	run -0 jq -c '.pid' < <(doc)
	assert_output "$CPID"
	kill -TERM "$CPID"
	wait "$CPID" || true
	[ ! -e "$sock" ]
}
