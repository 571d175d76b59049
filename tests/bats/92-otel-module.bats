#!/usr/bin/env bats
# core/otel end to end, without the broker: tests/tools/otelsend emits
# spans on a libev loop and tests/servers/otlp-recv.py collects them on
# loopback. Dead, failing, hanging and slow collectors; the queue bound.

load helpers

SEND="$BUILD/tests/tools/otelsend"
RECV="$ROOT/tests/servers/otlp-recv.py"

setup() {
	# Loopback only, straight: no proxy from the environment.
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	export NO_PROXY='*'
	LOG="$BATS_TEST_TMPDIR/log"
	ERR="$BATS_TEST_TMPDIR/err"
	RPID=
}

teardown() {
	if [ -n "$RPID" ]; then
		kill "$RPID" 2>/dev/null || true
		wait "$RPID" 2>/dev/null || true
	fi
	if [ -f "$ERR" ] && grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
		echo "sanitizer report:" >&2
		cat "$ERR" >&2
		return 1
	fi
}

# Start the receiver with options $@; sets PORT, URL and RPID.
start_recv() {
	local i=0
	rm -f "$BATS_TEST_TMPDIR/port"
	: >"$LOG"
	/usr/bin/python3 "$RECV" "$BATS_TEST_TMPDIR/port" "$LOG" "$@" 3>&- &
	RPID=$!
	while [ ! -s "$BATS_TEST_TMPDIR/port" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { echo "receiver did not start" >&2; return 1; }
	done
	PORT="$(cat "$BATS_TEST_TMPDIR/port")"
	URL="http://127.0.0.1:$PORT"
}

# A loopback port with nothing listening on it.
closed_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Run otelsend with $@; stdout in $output, stderr in $ERR and $stderr,
# the time it took in $MS.
send() {
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr "$SEND" "$@"
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	printf '%s\n' "$stderr" >"$ERR"
}

# One number from otelsend's line: field sent, dropped, failed or maxq.
field() {
	printf '%s\n' "$output" | sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p"
}

# Every span the receiver got, one JSON object a line.
spans() {
	jq -c '.body.resourceSpans[].scopeSpans[].spans[]' "$LOG"
}

@test "otel: spans arrive as OTLP/HTTP JSON with their structure" {
	start_recv
	send -e "$URL" -n 6 -i 0.05 -H 'Authorization=Bearer s3cret-token'
	assert_success
	assert_output 'sent=6 dropped=0 failed=0 maxq=6'
	[ -z "$stderr" ]
	# The request: path, media type, our header, the envelope.
	run jq -r '[.path, .content_type, .headers.authorization,
	    .headers["user-agent"]] | join(" ")' "$LOG"
	assert_output "/v1/traces application/json Bearer s3cret-token corral/0.1.0"
	run jq -c '.body.resourceSpans[0].resource.attributes' "$LOG"
	assert_output '[{"key":"service.name","value":{"stringValue":"corral"}},{"key":"service.version","value":{"stringValue":"0.1.0"}}]'
	run jq -c '.body.resourceSpans[0].scopeSpans[0].scope' "$LOG"
	assert_output '{"name":"corral","version":"0.1.0"}'
	[ "$(spans | wc -l)" -eq 6 ]
	# Ids: lower-case hex of the right lengths, never all zero.
	run jq -sc 'map(select((.traceId | test("^[0-9a-f]{32}$")) and
	    (.spanId | test("^[0-9a-f]{16}$")) and
	    (.traceId | test("^0+$") | not) and
	    (.spanId | test("^0+$") | not))) | length' < <(spans)
	assert_output '6'
	# Times: decimal strings (int64 in proto3 JSON), end after start.
	run jq -sc 'map(select((.startTimeUnixNano | test("^[0-9]{19}$")) and
	    (.endTimeUnixNano | test("^[0-9]{19}$")) and
	    .endTimeUnixNano > .startTimeUnixNano)) | length' < <(spans)
	assert_output '6'
	# Three SERVER roots (kind 2): no parent, status OK, typed attributes.
	run jq -sc '[.[] | select(.kind == 2)] | length,
	    (map(has("parentSpanId")) | unique),
	    (map(.status) | unique), .[0].name,
	    (.[0].attributes | map({(.key): .value}) | add)' < <(spans)
	assert_line --index 0 '3'
	assert_line --index 1 '[false]'
	assert_line --index 2 '[{"code":1}]'
	assert_line --index 3 '"tools/call echo__add"'
	assert_line --index 4 '{"seq":{"intValue":"0"},"mcp.method.name":{"stringValue":"tools/call"},"corral.allowed":{"boolValue":true},"corral.latency_ms":{"doubleValue":1.5}}'
	# Three CLIENT children (kind 3) of a SERVER span of the same trace,
	# with an error status.
	run jq -sc '(map(select(.kind == 2) | {key: .spanId, value: .traceId})
	    | from_entries) as $srv |
	    [.[] | select(.kind == 3)] | length,
	    (map($srv[.parentSpanId] == .traceId) | unique),
	    (map(.status) | unique), (map(.name) | unique)' < <(spans)
	assert_line --index 0 '3'
	assert_line --index 1 '[true]'
	assert_line --index 2 '[{"message":"tool_error","code":2}]'
	assert_line --index 3 '["tools/call add"]'
}

@test "otel: a batch is at most max_batch spans, in the order emitted" {
	start_recv
	send -e "$URL/" -n 10 -b 4 -i 0.05
	assert_success
	assert_output 'sent=10 dropped=0 failed=0 maxq=10'
	run jq -c '[.body.resourceSpans[0].scopeSpans[0].spans | length]' "$LOG"
	assert_output $'[4]\n[4]\n[2]'
	run jq -sc '[.[].body.resourceSpans[0].scopeSpans[0].spans[].attributes[0].value.intValue | tonumber]' "$LOG"
	assert_output '[0,1,2,3,4,5,6,7,8,9]'
	run jq -r '.path' "$LOG"
	assert_output $'/v1/traces\n/v1/traces\n/v1/traces'
}

@test "otel: a dead collector drops every span, says why once, and costs no time" {
	local port
	port="$(closed_port)"
	send -e "http://127.0.0.1:$port" -n 20 -b 5 -i 0.05 -g 1
	assert_success
	assert_output 'sent=0 dropped=20 failed=4 maxq=20'
	[ "$MS" -lt 3000 ]
	# The first drop is told at once, the rest once at the end.
	run cat "$ERR"
	assert_line --index 0 "corral: otel: 5 spans dropped (POST http://127.0.0.1:$port/v1/traces: Connection refused)"
	assert_line --index 1 "corral: otel: 15 spans dropped (POST http://127.0.0.1:$port/v1/traces: Connection refused)"
	[ "${#lines[@]}" -eq 2 ]
}

@test "otel: HTTP 500 drops the batch without a retry" {
	start_recv --status 500
	send -e "$URL" -n 6 -i 0.05
	assert_success
	assert_output 'sent=0 dropped=6 failed=1 maxq=6'
	[ "$(wc -l <"$LOG")" -eq 1 ]
	grep -qF "corral: otel: 6 spans dropped (POST $URL/v1/traces: HTTP 500)" "$ERR"
}

@test "otel: a 503 is retried once, and the retry can succeed" {
	start_recv --status 503 --times 1
	send -e "$URL" -n 4 -i 0.05
	assert_success
	assert_output 'sent=4 dropped=0 failed=1 maxq=4'
	[ -z "$stderr" ]
	# The same spans, twice.
	run jq -c '[.body.resourceSpans[0].scopeSpans[0].spans[].spanId]' "$LOG"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "otel: a 503 that persists costs one retry, then the batch" {
	start_recv --status 503
	send -e "$URL" -n 4 -i 0.05
	assert_success
	assert_output 'sent=0 dropped=4 failed=2 maxq=4'
	[ "$(wc -l <"$LOG")" -eq 2 ]
	grep -qF "(POST $URL/v1/traces: HTTP 503)" "$ERR"
}

@test "otel: a redirect is not followed" {
	start_recv --status 307
	send -e "$URL" -n 2 -i 0.05
	assert_success
	assert_output 'sent=0 dropped=2 failed=1 maxq=2'
	[ "$(wc -l <"$LOG")" -eq 1 ]
	grep -qF "(POST $URL/v1/traces: HTTP 307)" "$ERR"
}

@test "otel: spans a collector rejects in a partial success are counted dropped" {
	start_recv --partial 2
	send -e "$URL" -n 6 -i 0.05
	assert_success
	assert_output 'sent=4 dropped=2 failed=0 maxq=6'
	grep -qF "corral: otel: 2 spans dropped (POST $URL/v1/traces: the collector rejected them: test rejection)" "$ERR"
}

@test "otel: a collector that never answers: the queue bound holds, the POST times out" {
	start_recv --hang
	# 3000 spans over 2.5 s; a POST may hang for 1 s.
	send -e "$URL" -n 3000 -c 100 -p 0.08 -q 200 -b 50 -i 0.05 -t 1 -w 3 -g 0.5
	assert_success
	[ "$(field sent)" -eq 0 ]
	[ "$(field dropped)" -eq 3000 ]
	[ "$(field maxq)" -le 200 ]
	[ "$(field failed)" -ge 2 ]
	[ "$MS" -lt 6000 ]
	grep -qF "corral: otel: 1 span dropped (queue full: 200 spans waiting for $URL/v1/traces)" "$ERR"
	grep -qE "spans dropped \(the latest: " "$ERR"
	# At most one report a minute, plus the one at the end.
	[ "$(grep -c 'corral: otel:' "$ERR")" -le 2 ]
}

@test "otel: the drain at exit waits the grace, not the POST timeout" {
	start_recv --hang
	send -e "$URL" -n 5 -i 0.05 -t 30 -w 0.3 -g 1
	assert_success
	assert_output 'sent=0 dropped=5 failed=1 maxq=5'
	[ "$MS" -ge 1000 ]
	[ "$MS" -lt 3000 ]
	grep -qF "corral: otel: 5 spans dropped (POST $URL/v1/traces: no answer within 1 s at exit)" "$ERR"
}

@test "otel: the drain at exit sends what is still queued" {
	start_recv
	# The loop stops before the flush interval: otel_drain sends them.
	send -e "$URL" -n 7 -i 30 -w 0.2 -g 5
	assert_success
	assert_output 'sent=7 dropped=0 failed=0 maxq=7'
	[ "$MS" -lt 3000 ]
}

@test "otel: a slow collector delays nothing and loses nothing" {
	start_recv --delay 0.4
	# 20 spans over 0.2 s while the first POST waits on the collector.
	send -e "$URL" -n 20 -c 2 -p 0.02 -b 5 -i 0.05 -w 10
	assert_success
	assert_output --regexp '^sent=20 dropped=0 failed=0 maxq=[0-9]+$'
	run jq -c '.body.resourceSpans[0].scopeSpans[0].spans | length' "$LOG"
	for n in "${lines[@]}"; do [ "$n" -le 5 ]; done
	[ "$(spans | wc -l)" -eq 20 ]
}

@test "otel: endpoints other than http and https are refused" {
	send -e "ftp://127.0.0.1:21/" -n 1
	assert_failure 1
	assert_output ''
	[[ "$stderr" == *"not an http:// or https:// URL"* ]]
	send -e "file:///etc/passwd" -n 1
	assert_failure 1
	send -e "http://127.0.0.1:9" -n 1 -H 'X-Bad=a
b'
	assert_failure 1
	[[ "$stderr" != *"a"$'\n'"b"* ]]
}
