#!/usr/bin/env bats
# The broker's spans (core/broker.c arec_spans, forward; core/trail.c):
# a SERVER span per host request, a CLIENT span per forwarded request,
# W3C traceparent continued toward the child, errors, secrets, and a
# collector that is dead, hangs or falls behind, which must never slow the
# calls. The collector is tests/servers/otlp-recv.py on 127.0.0.1.

load helpers

RECV="$ROOT/tests/servers/otlp-recv.py"
HOST_TRACE=0af7651916cd43dd8448eb211c80319c
HOST_SPAN=b7ad6b7169203331
HOST_TP="00-$HOST_TRACE-$HOST_SPAN-01"
T9=4bf92f3577b34da6a3ce929d0e0e4736
SECRET=hdr-secret-value

setup() {
	# Loopback only, straight: no proxy from the environment.
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	export NO_PROXY='*'
	LOG="$BATS_TEST_TMPDIR/log"
	ERR="$BATS_TEST_TMPDIR/err"
	RPIDS=()
	AUDIT="$XDG_STATE_HOME/corral/audit.jsonl"
}

teardown() {
	local p
	if [ -n "${CPID:-}" ] && kill -0 "$CPID" 2>/dev/null; then
		kill -9 "$CPID" 2>/dev/null || true
	fi
	for p in "${RPIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	local f
	for f in "$ERR" "$BATS_TEST_TMPDIR"/err.*; do
		[ -f "$f" ] || continue
		if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			return 1
		fi
	done
}

# --- local helpers ----------------------------------------------------------

# Start a receiver with options $@ logging to $LOG; sets PORT, URL, RPID
# (and adds it to RPIDS for teardown).
start_recv() {
	local i=0 pf="$BATS_TEST_TMPDIR/port.$RANDOM"
	: >"$LOG"
	/usr/bin/python3 "$RECV" "$pf" "$LOG" "$@" 3>&- 7>&- &
	RPID=$!
	RPIDS+=("$RPID")
	while [ ! -s "$pf" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { echo "receiver did not start" >&2; return 1; }
	done
	PORT="$(cat "$pf")"
	URL="http://127.0.0.1:$PORT"
}

# A loopback URL with nothing listening: a receiver's port, receiver gone.
# Sets DEAD_URL.
dead_url() {
	local save="$LOG"
	LOG="$BATS_TEST_TMPDIR/deadlog"
	start_recv
	kill "$RPID"
	wait "$RPID" 2>/dev/null || true
	unset 'RPIDS[-1]'
	LOG="$save"
	DEAD_URL="$URL"
}

# Write the config: the echo fake (its input logged to $FLOG) and, unless
# ENDPOINT is "", corral.otel with that endpoint and the members in
# OTEL_EXTRA (",..."); CORRAL_EXTRA ("...,") goes first in corral.
# otel_conf ENDPOINT [OTEL_EXTRA [CORRAL_EXTRA]]
otel_conf() {
	local ep="$1" extra="${2:-}" more="${3:-}" otel=""
	FLOG="$BATS_TEST_TMPDIR/echo.log"
	[ -z "$ep" ] || otel='"otel":{"endpoint":"'"$ep"'"'"$extra"'}'
	more="${more%,}"
	[ -z "$more" ] || [ -z "$otel" ] || more="$more,"
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$FLOG"}}},
 "corral":{$more$otel}}
EOF
}

# A tools/call line: call ID TOOL [ARGUMENTS [META]].
call() {
	local args="${3:-}" meta=""
	[ -n "$args" ] || args='{}'
	[ -z "${4:-}" ] || meta=',"_meta":'"$4"
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s%s}}' \
	    "$1" "$2" "$args" "$meta"
}

# Wait for the answer to request ID (result or error).
answered() {
	wait_for '^\{"jsonrpc":"2.0","id":'"$1"',"(result|error)"' "${2:-10}"
}

# The text of the answer to ID (the first content item).
text_of() {
	line_for '^\{"jsonrpc":"2.0","id":'"$1"',"result"' |
	    jq -r '.result.content[0].text'
}

# The Nth tools/call the child read (1-based), as it read it (the child
# sees corral's ids, not the host's).
child_call() {
	jq -c 'select(.method == "tools/call")' "$FLOG" | sed -n "${1}p"
}

# Every span the receiver got, one JSON object a line.
spans() {
	jq -c '.body.resourceSpans[].scopeSpans[].spans[]' "$LOG"
}

# The one span named $1 of kind $2; fails unless there is exactly one.
one_span() {
	local s n
	s="$(spans | jq -c --arg n "$1" --argjson k "$2" \
	    'select(.name == $n and .kind == $k)')"
	n="$(printf '%s' "$s" | grep -c . || true)"
	if [ "$n" -ne 1 ]; then
		echo "expected one span \"$1\" of kind $2, got $n:" >&2
		spans >&2
		return 1
	fi
	printf '%s\n' "$s"
}

# The span with id $1.
span_id() {
	spans | jq -c --arg id "$1" 'select(.spanId == $id)'
}

# A span's attributes as one object, keys sorted: attrs SPAN.
attrs() {
	printf '%s' "$1" | jq -cS '.attributes | map({key, value}) | from_entries'
}

# The session id of this test's (only) run, from the audit log.
session_id() {
	jq -r 'select(.event == "session_start") | .session' "$AUDIT"
}

# Close stdin; corral must exit 0 (within $1 s) and wrote only JSON.
finish() {
	stop_corral "${1:-10}"
	[ "$STATUS" -eq 0 ] || { echo "corral exited $STATUS" >&2; cat "$ERR" >&2; return 1; }
	assert_stdout_json
}

# Round trips: run corral on CONF, initialize, then send sequential
# tools/call echo__add and count the answers received within SECS; then
# close stdin and time the exit. stderr goes to ERRFILE. Prints
# "COUNT EXIT_MS RC" (RC -1 when corral had to be killed, COUNT -1 when
# stdout carried something that is not a JSON-RPC message).
# round_trips CONF SECS ERRFILE
round_trips() {
	/usr/bin/python3 - "$CORRAL" "$1" "$2" "$3" <<'PY' 3>&- 7>&-
import json, subprocess, sys, threading, time
corral, conf, secs, errf = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
ef = open(errf, "w")
p = subprocess.Popen([corral, "serve", "-c", conf], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=ef)
killed = []
def watchdog():
    killed.append(1)
    p.kill()
wd = threading.Timer(secs + 30, watchdog)
wd.start()
bad = False
def send(o):
    p.stdin.write((json.dumps(o) + "\n").encode())
    p.stdin.flush()
def wait_id(i):
    global bad
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("corral closed stdout")
        try:
            m = json.loads(line)
        except ValueError:
            bad = True
            continue
        if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
            bad = True
        if isinstance(m, dict) and m.get("id") == i:
            return m
send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bats", "version": "1"}}})
wait_id(0)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
# One call first: the child is up and the tools are known.
send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
      "params": {"name": "echo__add", "arguments": {"a": 1, "b": 1}}})
assert "result" in wait_id(1)
n, i = 0, 1
end = time.monotonic() + secs
while time.monotonic() < end:
    i += 1
    send({"jsonrpc": "2.0", "id": i, "method": "tools/call",
          "params": {"name": "echo__add", "arguments": {"a": i, "b": 1}}})
    m = wait_id(i)
    if m.get("result", {}).get("structuredContent", {}).get("sum") != i + 1:
        bad = True
    n += 1
t0 = time.monotonic()
p.stdin.close()
p.stdout.read()
rc = p.wait()
ms = int((time.monotonic() - t0) * 1000)
wd.cancel()
print(-1 if bad else n, ms, -1 if killed else rc)
PY
}

# --- tests --------------------------------------------------------------------

@test "otel broker: a tools/call is one SERVER span with one CLIENT child" {
	local t0 t1 s1 c1 s2 c2 s c k sess
	start_recv
	otel_conf "$URL" ',"headers":{"X-Api-Key":"'"$SECRET"'"}'
	t0=$(date +%s%N)
	start_corral
	initialize
	send "$(call 1 echo__add '{"a":2,"b":3}')"
	answered 1
	send "$(call 2 echo__echo '{"text":"hi"}')"
	answered 2
	finish
	t1=$(date +%s%N)
	text_of 1 | grep -qx 5

	# Every POST: the path, the media type, our header.
	run jq -r '[.method, .path, .content_type, .headers["x-api-key"]] |
	    join(" ")' "$LOG"
	assert_success
	[ "${#lines[@]}" -ge 1 ]
	run sort -u <<<"$output"
	assert_output "POST /v1/traces application/json $SECRET"
	run jq -c '[.body.resourceSpans[].resource.attributes[] |
	    select(.key == "service.name") | .value] | unique' "$LOG"
	assert_output '[{"stringValue":"corral"}]'

	# Exactly: initialize, and per call one SERVER and one CLIENT span.
	run jq -sc 'map([.kind, .name]) | sort' < <(spans)
	assert_output '[[2,"initialize"],[2,"tools/call echo__add"],[2,"tools/call echo__echo"],[3,"tools/call add"],[3,"tools/call echo"]]'
	s1="$(one_span 'tools/call echo__add' 2)"
	c1="$(one_span 'tools/call add' 3)"
	s2="$(one_span 'tools/call echo__echo' 2)"
	c2="$(one_span 'tools/call echo' 3)"

	# Ids and links: the CLIENT span is the SERVER span's child, in its
	# trace; each call its own trace; the SERVER spans are roots.
	for s in "$s1" "$c1" "$s2" "$c2"; do
		printf '%s' "$s" | jq -e '(.traceId | test("^[0-9a-f]{32}$")) and
		    (.spanId | test("^[0-9a-f]{16}$")) and
		    (.traceId | test("^0+$") | not) and
		    (.spanId | test("^0+$") | not)' >/dev/null
	done
	run jq -nc --argjson s "$s1" --argjson c "$c1" --argjson s2 "$s2" \
	    --argjson c2 "$c2" '
	    $c.traceId == $s.traceId, $c.parentSpanId == $s.spanId,
	    $c2.traceId == $s2.traceId, $c2.parentSpanId == $s2.spanId,
	    ($s | has("parentSpanId")), ($s2 | has("parentSpanId")),
	    $s.traceId != $s2.traceId,
	    ([$s, $c, $s2, $c2] | map(.spanId) | unique | length)'
	assert_output $'true\ntrue\ntrue\ntrue\nfalse\nfalse\ntrue\n4'

	# Times: decimal strings of ns (19 digits, so strings compare as
	# numbers), within the test, the CLIENT inside its SERVER.
	for k in 1 2; do
		if [ "$k" = 1 ]; then s="$s1" c="$c1"; else s="$s2" c="$c2"; fi
		run jq -nc --argjson s "$s" --argjson c "$c" \
		    --arg t0 "$t0" --arg t1 "$t1" '
		    ([$s, $c] | map(.startTimeUnixNano, .endTimeUnixNano) |
		    map(type == "string" and test("^[0-9]{19}$")) | all),
		    $t0 <= $s.startTimeUnixNano,
		    $s.startTimeUnixNano <= $c.startTimeUnixNano,
		    $c.startTimeUnixNano <= $c.endTimeUnixNano,
		    $c.endTimeUnixNano <= $s.endTimeUnixNano,
		    $s.endTimeUnixNano <= $t1'
		assert_output $'true\ntrue\ntrue\ntrue\ntrue\ntrue'
	done

	# Attributes: exactly these, with these values; status ok.
	sess="$(session_id)"
	[[ "$sess" =~ ^[0-9a-f]{16}$ ]]
	run attrs "$s1"
	assert_output '{"corral.decision":{"stringValue":"allow"},"gen_ai.tool.name":{"stringValue":"echo__add"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	run attrs "$c1"
	assert_output '{"gen_ai.tool.name":{"stringValue":"add"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	run attrs "$c2"
	assert_output '{"gen_ai.tool.name":{"stringValue":"echo"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	run attrs "$(one_span initialize 2)"
	assert_output '{"mcp.method.name":{"stringValue":"initialize"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	# No attribute twice; every status {"code":1}, no message.
	run jq -sc 'map(.attributes | (map(.key) | length) ==
	    (map(.key) | unique | length)) | unique' < <(spans)
	assert_output '[true]'
	run jq -sc 'map(.status) | unique' < <(spans)
	assert_output '[{"code":1}]'
	# The audit log's records of the calls are of the same session.
	run jq -r 'select(.event == "call") | .session' "$AUDIT"
	assert_output "$sess"$'\n'"$sess"
}

@test "otel broker: service_name is the resource's service.name" {
	start_recv
	otel_conf "$URL" ',"service_name":"corral-under-test"'
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
	answered 1
	finish
	run jq -c '[.body.resourceSpans[].resource.attributes[] |
	    select(.key == "service.name") | .value] | unique' "$LOG"
	assert_output '[{"stringValue":"corral-under-test"}]'
	# tools/list: a SERVER span only, named by the method alone.
	run jq -sc 'map([.kind, .name, has("parentSpanId"), .status]) | sort' < <(spans)
	assert_output '[[2,"initialize",false,{"code":1}],[2,"tools/list",false,{"code":1}]]'
	run attrs "$(one_span tools/list 2)"
	assert_output '{"mcp.method.name":{"stringValue":"tools/list"},"mcp.session.id":{"stringValue":"'"$(session_id)"'"}}'
}

@test "otel broker: the host's traceparent is continued, and the child gets one" {
	local tp sid tid s c i
	start_recv
	otel_conf "$URL"
	start_corral
	initialize

	# 1. The host's traceparent: same trace, the host's span as parent;
	# the child gets the CLIENT span's id in its place.
	send "$(call 1 echo__meta '{}' '{"traceparent":"'"$HOST_TP"'"}')"
	answered 1
	tp="$(text_of 1 | jq -r '.traceparent')"
	[[ "$tp" =~ ^00-$HOST_TRACE-([0-9a-f]{16})-01$ ]]
	sid="${BASH_REMATCH[1]}"
	[ "$sid" != "$HOST_SPAN" ]
	# Its _meta holds nothing else.
	run text_of 1
	assert_output '{"traceparent":"'"$tp"'"}'

	# 2. An existing _meta with a progressToken and no traceparent: the
	# traceparent is added; progress still reaches the host.
	send "$(call 2 echo__slow '{"ms":200,"steps":2}' '{"progressToken":"tok-2"}')"
	answered 2
	line_for '"method":"notifications/progress".*"progressToken":"tok-2"' >/dev/null
	run -0 jq -c '.params._meta | keys' <<<"$(child_call 2)"
	assert_output '["progressToken","traceparent"]'
	send "$(call 3 echo__meta '{}' '{"progressToken":"tok-3","other":{"k":[1,2]}}')"
	answered 3
	run -0 jq -c '[(.progressToken | type), .other, (.traceparent |
	    test("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")), keys]' <<<"$(text_of 3)"
	assert_output '["number",{"k":[1,2]},true,["other","progressToken","traceparent"]]'

	# 3. No _meta: a new one, with the traceparent alone.
	send "$(call 4 echo__meta)"
	answered 4
	run -0 jq -c 'keys' <<<"$(text_of 4)"
	assert_output '["traceparent"]'

	# 4. Malformed traceparents from the host: a fresh trace, a root
	# SERVER span; the child gets a valid traceparent of that trace.
	send "$(call 5 echo__meta '{}' '{"traceparent":"00-'"${HOST_TRACE^^}"'-'"$HOST_SPAN"'-01"}')"
	send "$(call 6 echo__meta '{}' '{"traceparent":"00-00000000000000000000000000000000-'"$HOST_SPAN"'-01"}')"
	send "$(call 7 echo__meta '{}' '{"traceparent":"garbage"}')"
	send "$(call 8 echo__meta '{}' '{"traceparent":42}')"
	for i in 5 6 7 8; do answered $i; done

	# 5. The flags are passed on (another trace: left out of the count
	# below, whether an unsampled trace is exported is not asked here).
	send "$(call 9 echo__meta '{}' '{"traceparent":"00-'"$T9"'-'"$HOST_SPAN"'-00"}')"
	answered 9
	run text_of 9
	assert_output --regexp '^\{"traceparent":"00-'"$T9"'-[0-9a-f]{16}-00"\}$'
	refute_output --partial "$HOST_SPAN"
	finish

	# Case 1's spans.
	c="$(span_id "$sid")"
	run -0 jq -c '[.kind, .name, .traceId]' <<<"$c"
	assert_output '[3,"tools/call meta","'"$HOST_TRACE"'"]'
	s="$(span_id "$(jq -r .parentSpanId <<<"$c")")"
	run -0 jq -c '[.kind, .name, .traceId, .parentSpanId]' <<<"$s"
	assert_output '[2,"tools/call echo__meta","'"$HOST_TRACE"'","'"$HOST_SPAN"'"]'

	# Cases 2 to 4 and the malformed ones: each child's traceparent names
	# its CLIENT span, whose parent is a root SERVER span of a new trace.
	for i in 3 4 5 6 7 8; do
		tp="$(text_of $i | jq -r '.traceparent')"
		[[ "$tp" =~ ^00-([0-9a-f]{32})-([0-9a-f]{16})-01$ ]] || {
			echo "call $i: child got traceparent $tp" >&2
			return 1
		}
		tid="${BASH_REMATCH[1]}" sid="${BASH_REMATCH[2]}"
		[ "$tid" != "$HOST_TRACE" ]
		[ "$tid" != 00000000000000000000000000000000 ]
		c="$(span_id "$sid")"
		run -0 jq -c '[.kind, .name, .traceId]' <<<"$c"
		assert_output '[3,"tools/call meta","'"$tid"'"]'
		s="$(span_id "$(jq -r .parentSpanId <<<"$c")")"
		run -0 jq -c '[.kind, .name, .traceId, has("parentSpanId")]' <<<"$s"
		assert_output '[2,"tools/call echo__meta","'"$tid"'",false]'
	done
	# The slow call of case 2: its child's traceparent is its CLIENT span.
	tp="$(jq -r '.params._meta.traceparent' <<<"$(child_call 2)")"
	[[ "$tp" =~ ^00-([0-9a-f]{32})-([0-9a-f]{16})-01$ ]]
	tid="${BASH_REMATCH[1]}" sid="${BASH_REMATCH[2]}"
	run -0 jq -c '[.kind, .name, .traceId]' <<<"$(span_id "$sid")"
	assert_output '[3,"tools/call slow","'"$tid"'"]'
	# Calls 1 to 8, eight traces of two spans each.
	run jq -sc --arg t9 "$T9" '[.[] | select((.name |
	    startswith("tools/call")) and .traceId != $t9)] |
	    group_by(.traceId) | map(map(.kind) | sort) | unique, length' < <(spans)
	assert_output $'[[2,3]]\n8'
}

@test "otel broker: without corral.otel, _meta goes to the child unchanged" {
	otel_conf ""
	start_corral
	initialize
	send "$(call 1 echo__meta '{}' '{"traceparent":"'"$HOST_TP"'"}')"
	send "$(call 2 echo__meta '{}' '{"traceparent":"00-'"${HOST_TRACE^^}"'-'"$HOST_SPAN"'-01","x":[1,{"y":null}]}')"
	send "$(call 3 echo__meta '{}' '{"progressToken":"tok-3"}')"
	send "$(call 4 echo__meta)"
	for i in 1 2 3 4; do answered $i; done
	finish
	run text_of 1
	assert_output '{"traceparent":"'"$HOST_TP"'"}'
	run text_of 2
	assert_output '{"traceparent":"00-'"${HOST_TRACE^^}"'-'"$HOST_SPAN"'-01","x":[1,{"y":null}]}'
	run -0 jq -c 'keys' <<<"$(text_of 3)"
	assert_output '["progressToken"]'
	run text_of 4
	assert_output 'null'
	# Byte for byte in what the child read.
	run grep -cF '"_meta":{"traceparent":"'"$HOST_TP"'"}' "$FLOG"
	assert_output 1
	run grep -cF '"_meta":{"traceparent":"00-'"${HOST_TRACE^^}"'-'"$HOST_SPAN"'-01","x":[1,{"y":null}]}' "$FLOG"
	assert_output 1
	run grep -c traceparent "$FLOG"
	assert_output 2
	run -0 jq -c 'select(.method == "tools/call") | .params | has("_meta")' "$FLOG"
	assert_output $'true\ntrue\ntrue\nfalse'
}

@test "otel broker: tool errors, rpc errors and denied calls" {
	local sess s srv
	start_recv
	otel_conf "$URL" '' '"policy":{"default":"allow","deny":["add"]},'
	start_corral
	initialize
	send "$(call 1 echo__fail)"
	send "$(call 2 echo__rpcerror)"
	send "$(call 3 echo__add '{"a":1,"b":2}')"
	for i in 1 2 3; do answered $i; done
	line_for '"id":3,"result".*"isError":true' >/dev/null
	finish
	sess="$(session_id)"
	# The denied call reached no child.
	run jq -c 'select(.method == "tools/call") | .params.name' "$FLOG"
	assert_output $'"fail"\n"rpcerror"'

	run jq -sc 'map([.kind, .name]) | sort' < <(spans)
	assert_output '[[2,"initialize"],[2,"tools/call echo__add"],[2,"tools/call echo__fail"],[2,"tools/call echo__rpcerror"],[3,"tools/call fail"],[3,"tools/call rpcerror"]]'

	# isError: both spans in error, error.type tool_error.
	s="$(one_span 'tools/call echo__fail' 2)"
	run -0 jq -c .status <<<"$s"
	assert_output '{"message":"tool_error","code":2}'
	run attrs "$s"
	assert_output '{"corral.decision":{"stringValue":"allow"},"error.type":{"stringValue":"tool_error"},"gen_ai.tool.name":{"stringValue":"echo__fail"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	s="$(one_span 'tools/call fail' 3)"
	run -0 jq -c .status <<<"$s"
	assert_output '{"message":"tool_error","code":2}'
	run attrs "$s"
	assert_output '{"error.type":{"stringValue":"tool_error"},"gen_ai.tool.name":{"stringValue":"fail"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"}}'

	# A JSON-RPC error: the code, as error.type and as the rpc attribute.
	s="$(one_span 'tools/call echo__rpcerror' 2)"
	run -0 jq -c .status <<<"$s"
	assert_output '{"message":"rpc_error","code":2}'
	run attrs "$s"
	assert_output '{"corral.decision":{"stringValue":"allow"},"error.type":{"stringValue":"-32000"},"gen_ai.tool.name":{"stringValue":"echo__rpcerror"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"},"rpc.jsonrpc.error_code":{"intValue":"-32000"}}'
	s="$(one_span 'tools/call rpcerror' 3)"
	run -0 jq -c .status <<<"$s"
	assert_output '{"message":"rpc_error","code":2}'
	run attrs "$s"
	assert_output '{"error.type":{"stringValue":"-32000"},"gen_ai.tool.name":{"stringValue":"rpcerror"},"mcp.method.name":{"stringValue":"tools/call"},"mcp.server":{"stringValue":"echo"},"mcp.session.id":{"stringValue":"'"$sess"'"},"rpc.jsonrpc.error_code":{"intValue":"-32000"}}'

	# Denied: a SERVER span alone (no child saw the call); mcp.server
	# as the audit log's record has its server (the tool's owner, or
	# none).
	s="$(one_span 'tools/call echo__add' 2)"
	run -0 jq -c '[.status, has("parentSpanId")]' <<<"$s"
	assert_output '[{"message":"denied","code":2},false]'
	run jq -c 'select(.event == "call" and .id == "3") |
	    [.decision, .outcome, .server]' "$AUDIT"
	assert_output --regexp '^\["deny","denied",("echo"|null)\]$'
	srv="$(jq -r 'select(.event == "call" and .id == "3") | .server // ""' "$AUDIT")"
	[ -z "$srv" ] || srv='"mcp.server":{"stringValue":"'"$srv"'"},'
	run attrs "$s"
	assert_output '{"corral.decision":{"stringValue":"deny"},"error.type":{"stringValue":"denied"},"gen_ai.tool.name":{"stringValue":"echo__add"},"mcp.method.name":{"stringValue":"tools/call"},'"$srv"'"mcp.session.id":{"stringValue":"'"$sess"'"}}'
	# Every CLIENT span's parent is a SERVER span of its trace.
	run jq -sc '(map(select(.kind == 2) | {key: .spanId, value: .traceId})
	    | from_entries) as $srv | map(select(.kind == 3) |
	    $srv[.parentSpanId] == .traceId) | unique' < <(spans)
	assert_output '[true]'
}

@test "otel broker: prompts, resources and other requests are named by their target" {
	start_recv
	otel_conf "$URL"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"echo__greet","arguments":{"name":"x"}}}'
	send '{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"echo://static/hello"}}'
	send '{"jsonrpc":"2.0","id":3,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"echo__nosuch"}}'
	for i in 1 2 3 4; do answered $i; done
	finish
	run jq -sc 'map(select(.kind == 2) | [.name, .status]) | sort' < <(spans)
	assert_output '[["initialize",{"code":1}],["ping",{"code":1}],["prompts/get echo__greet",{"code":1}],["prompts/get echo__nosuch",{"message":"rpc_error","code":2}],["resources/read echo://static/hello",{"code":1}]]'
	# The forwarded ones have their CLIENT span; no gen_ai.tool.name.
	run jq -sc '(map(select(.kind == 2) | {key: .spanId, value: .name})
	    | from_entries) as $srv | map(select(.kind == 3) |
	    [$srv[.parentSpanId], (.attributes | map(.key) | sort)]) | sort' < <(spans)
	assert_output --partial '["resources/read echo://static/hello",["mcp.method.name","mcp.server","mcp.session.id"]]'
	assert_output --partial '["prompts/get echo__greet",["mcp.method.name","mcp.server","mcp.session.id"]]'
	run jq -c 'select(.kind == 2 and .name == "ping") | .attributes | map(.key)' < <(spans)
	assert_output '["mcp.method.name","mcp.session.id"]'
}

@test "otel broker: the header's value is in no span, message or audit record" {
	local i
	export OTEL_TOKEN="Bearer $SECRET"
	# A collector that refuses: corral has drops to tell on stderr.
	start_recv --status 401
	otel_conf "$URL" ',"headers":{"Authorization":"${env:OTEL_TOKEN}","X-Key":"'"$SECRET"'"}' \
	    '"audit":{"capture":"full"},'
	start_corral
	initialize
	# The secret where a span or record would carry it, unless redacted.
	send "$(call 1 echo__echo '{"text":"'"$SECRET"'"}')"
	send "$(call 2 "echo__$SECRET")"
	send '{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"echo://item/'"$SECRET"'"}}'
	send '{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"'"$SECRET"'"}}'
	send "$(call 5 echo__meta '{}' '{"traceparent":"'"$SECRET"'"}')"
	for i in 1 2 3 4 5; do answered $i; done
	finish
	# The collector saw the headers (so the secret was in use)...
	run jq -r '.headers.authorization, .headers["x-key"]' "$LOG"
	assert_line --index 0 "Bearer $SECRET"
	assert_line --index 1 "$SECRET"
	grep -qE "^corral: otel: [0-9]+ spans? dropped \(POST $URL/v1/traces: HTTP 401\)$" "$ERR"
	# ... but no span, message or record holds it.
	spans >"$BATS_TEST_TMPDIR/spans"
	[ -s "$BATS_TEST_TMPDIR/spans" ]
	run grep -F "$SECRET" "$BATS_TEST_TMPDIR/spans"
	assert_failure
	run jq -c '.body' "$LOG"
	refute_output --partial "$SECRET"
	run grep -F "$SECRET" "$ERR"
	assert_failure
	run grep -F "$SECRET" "$AUDIT"
	assert_failure
	# Redacted where they were, not left out.
	run jq -sc 'map(select(.kind == 2) | .name) | sort' <"$BATS_TEST_TMPDIR/spans"
	assert_output --partial '"tools/call echo__[redacted]"'
	assert_output --partial '"resources/read echo://item/[redacted]"'
	assert_output --partial '"prompts/get [redacted]"'
	run jq -c 'select(.event == "call" and .id == "1") | .args' "$AUDIT"
	assert_output '{"text":"[redacted]"}'
}

@test "otel broker: a dead or hanging collector does not slow the calls" {
	local none=0 dead=0 hang=0 cnt ms rc mode k url conf e
	dead_url
	start_recv --hang
	for mode in none dead hang; do
		case $mode in
		none) url="" ;;
		dead) url="$DEAD_URL" ;;
		hang) url="$URL" ;;
		esac
		otel_conf "$url"
		mv "$CONF" "$BATS_TEST_TMPDIR/c-$mode.json"
	done
	for k in 1 2; do
		for mode in none dead hang; do
			e="$BATS_TEST_TMPDIR/err.$mode.$k"
			read -r cnt ms rc < <(round_trips "$BATS_TEST_TMPDIR/c-$mode.json" 2 "$e")
			echo "# $mode run $k: $cnt round trips in 2 s, exit ${ms} ms after stdin closed, status $rc" >&3
			[ "$cnt" -ge 0 ] || { echo "$mode: stdout carried non-JSON-RPC" >&2; return 1; }
			[ "$rc" -eq 0 ] || { echo "$mode: exit status $rc" >&2; cat "$e" >&2; return 1; }
			[ "$ms" -lt 10000 ]
			case $mode in
			none) none=$((none + cnt)) ;;
			dead) dead=$((dead + cnt)) ;;
			hang) hang=$((hang + cnt)) ;;
			esac
			# Spans dropped, said on stderr.
			case $mode in
			none) run grep -c 'otel' "$e"; assert_output 0 ;;
			dead) grep -qE "^corral: otel: [0-9]+ spans? dropped \(POST $DEAD_URL/v1/traces: Connection refused\)$" "$e" ;;
			hang) grep -qE "^corral: otel: [0-9]+ spans? dropped \((the latest: )?.* within 1 s at exit\)$" "$e" ;;
			esac || { echo "$mode: no drop report:" >&2; cat "$e" >&2; return 1; }
		done
	done
	echo "# totals: none=$none dead=$dead hang=$hang" >&3
	[ "$none" -ge 20 ]
	[ $((2 * dead)) -ge "$none" ]
	[ $((2 * hang)) -ge "$none" ]
	# The hanging collector was asked (and never answered).
	[ -s "$LOG" ]
}

@test "otel broker: max_queue bounds what waits for a hanging collector" {
	local i n
	start_recv --hang
	otel_conf "$URL" ',"max_queue":5'
	start_corral
	initialize
	# 20 calls at once, then more once the drops were told.
	: >"$BATS_TEST_TMPDIR/burst"
	for i in $(seq 1 20); do
		call "$i" echo__add '{"a":'"$i"',"b":0}' >>"$BATS_TEST_TMPDIR/burst"
		echo >>"$BATS_TEST_TMPDIR/burst"
	done
	cat "$BATS_TEST_TMPDIR/burst" >&7
	for i in $(seq 1 20); do answered "$i"; done
	wait_err "^corral: otel: 1 span dropped \(queue full: 5 spans waiting for $URL/v1/traces\)$"
	for i in $(seq 21 40); do
		send "$(call "$i" echo__add '{"a":'"$i"',"b":0}')"
		answered "$i"
	done
	# Every call answered with its sum.
	for i in 1 20 21 40; do
		run text_of "$i"
		assert_output "$i"
	done
	n="$(grep -cE '^\{"jsonrpc":"2.0","id":[0-9]+,"result":\{"content":\[\{"type":"text","text":"[0-9]+"\}\],"structuredContent"' "$OUT")"
	[ "$n" -eq 40 ]
	finish 10
	# Whatever was posted came in batches of at most max_queue spans.
	[ -s "$LOG" ]
	run jq -c '.body.resourceSpans | map(.scopeSpans[].spans | length) | add <= 5' "$LOG"
	refute_output --partial false
	# The last report, at exit.
	run grep -c '^corral: otel: ' "$ERR"
	[ "$output" -ge 2 ]
	tail -n 1 "$ERR" | grep -qE '^corral: otel: [0-9]+ spans dropped \((the latest: )?'
}

@test "otel broker: stdout carries only JSON-RPC, whatever the collector does" {
	local i
	start_recv --status 500
	otel_conf "$URL" ',"timeout":1'
	start_corral
	initialize
	send "$(call 1 echo__add '{"a":1,"b":1}')"
	send "$(call 2 echo__fail)"
	send "$(call 3 echo__slow '{"ms":100,"steps":2}' '{"progressToken":7}')"
	send '{"jsonrpc":"2.0","id":4,"method":"tools/list"}'
	send "$(call 5 echo__meta '{}' '{"traceparent":"'"$HOST_TP"'"}')"
	for i in 1 2 3 4 5; do answered $i; done
	# The failed POST is told on stderr, not stdout.
	wait_err "^corral: otel: [0-9]+ spans? dropped \(POST $URL/v1/traces: HTTP 500\)$" 5
	send "$(call 6 echo__echo '{"text":"after"}')"
	answered 6
	finish
	assert_stdout_json
	run -0 jq -sc 'map(.jsonrpc) | unique' "$OUT"
	assert_output '["2.0"]'
	run -0 jq -sc 'map(if has("id") then .id else .method end) |
	    map(tostring) | sort' "$OUT"
	assert_output '["0","1","2","3","4","5","6","notifications/progress","notifications/progress"]'
	run grep -c 'otel\|traces' "$OUT"
	assert_output 0
}
