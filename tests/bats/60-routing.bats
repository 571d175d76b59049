#!/usr/bin/env bats
# Routing between the host and the children: tools/call, progress,
# cancellation, timeouts, resources, prompts, completion, logging,
# server->client requests, roots and tasks (PROTOCOL.md "Ids, progress,
# cancellation", "Calls", "Server->client requests").

load helpers

# --- local helpers ----------------------------------------------------------

# corral keeps state (pins of tools and instructions) under XDG_STATE_HOME:
# one per test, so nothing carries over from other tests or runs.
setup() {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
}

# The log of every line child ALIAS received (FAKE_LOG).
flog() {
	printf '%s/%s.log' "$BATS_TEST_TMPDIR" "$1"
}

# One mcpServers entry: srv ALIAS SERVER [EXTRA_MEMBERS]. The child records
# what it receives in $(flog ALIAS).
srv() {
	printf '"%s":{"command":"%s/%s","env":{"FAKE_LOG":"%s"}%s}' \
	    "$1" "$SRV" "$2" "$(flog "$1")" "${3:+,$3}"
}

# Like srv, but the child's stdout also goes to $(flog ALIAS).sent, so the
# bytes it sent can be compared with what the host got.
srv_tee() {
	printf '"%s":{"command":"/bin/sh","args":["-c","\\"$0\\" | tee -a \\"$1\\"","%s/%s","%s.sent"],"env":{"FAKE_LOG":"%s"}}' \
	    "$1" "$SRV" "$2" "$(flog "$1")" "$(flog "$1")"
}

# Write a config of the given srv entries.
config_of() {
	local IFS=,
	write_config <<<"{\"mcpServers\":{$*}}"
}

# The response to host request id $1 (raw JSON text of the id).
resp_pat() {
	printf '^\\{"jsonrpc":"2\\.0","id":%s,"(result|error)"' "$1"
}

wait_resp() {
	wait_for "$(resp_pat "$1")" "${2:-10}"
}

resp() {
	line_for "$(resp_pat "$1")"
}

# Send a request and print its response line.
ask() {
	send "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"$2\"${3:+,\"params\":$3}}"
	wait_resp "$1" "${4:-10}"
	resp "$1"
}

# Lines of $OUT matching $1, counted.
count_out() {
	grep -cE -- "$1" "$OUT" || true
}

# Fails if a line of $OUT matches $1.
refute_out() {
	if grep -qE -- "$1" "$OUT"; then
		echo "unexpected line matching: $1" >&2
		grep -E -- "$1" "$OUT" >&2
		return 1
	fi
}

# Wait until file $1 has a line matching $2.
wait_file() {
	local f="$1" pat="$2" t="${3:-10}" i=0
	while ! grep -qE -- "$pat" "$f" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting in $f for: $pat" >&2
			cat "$f" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
}

# The id the child ALIAS got on the last request matching jq filter $2.
child_id() {
	jq -c "select($2) | .id" "$(flog "$1")" | tail -n 1
}

# The raw line the child ALIAS got for its request id $2.
child_line() {
	grep -E "^\\{\"jsonrpc\":\"2\\.0\",\"id\":$2,\"method\"" "$(flog "$1")"
}

# Round trip through corral: everything sent before is handled once the
# answer arrives.
sync_corral() {
	local id="\"sync-$RANDOM$RANDOM\""
	send "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"ping\"}"
	wait_resp "$id"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Everything a host can do for a child.
HOST_CAPS='{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{}}'

# --- tools/call -------------------------------------------------------------

@test "tools/call: the child gets its own name, a fresh id and the arguments byte for byte" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	local req='{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/","big":12345678901234567890,"f":1.0,"e":1E+2,"z":-0.0,"deep":{"a":[1.50,true,null,{}]}},"_meta":{"x":"y"}}}'
	send "$req"
	wait_resp '"call-1"'
	local cid
	cid="$(child_id echo '.method == "tools/call"')"
	[[ "$cid" =~ ^[0-9]+$ ]]
	# Only the id and the name changed, nothing else, not one byte.
	local want="${req/\"id\":\"call-1\"/\"id\":$cid}"
	want="${want/\"name\":\"echo__echo\"/\"name\":\"echo\"}"
	assert_equal "$(child_line echo "$cid")" "$want"
	# A second call gets another fresh id.
	send '{"jsonrpc":"2.0","id":"call-2","method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"again"}}}'
	wait_resp '"call-2"'
	local cid2
	cid2="$(child_id echo '.method == "tools/call" and .params.arguments.text == "again"')"
	[ "$cid2" != "$cid" ]
	assert_equal "$(child_line echo "$cid2")" "{\"jsonrpc\":\"2.0\",\"id\":$cid2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"again\"}}}"
	assert_equal "$(resp '"call-1"')" '{"jsonrpc":"2.0","id":"call-1","result":{"content":[{"type":"text","text":"café 😀 \"q\" \\ /"}]}}'
	assert_equal "$(resp '"call-2"')" '{"jsonrpc":"2.0","id":"call-2","result":{"content":[{"type":"text","text":"again"}]}}'
	# Only the top-level name and token are corral's: the same keys inside
	# the arguments, before them, are the tool's.
	local req3='{"jsonrpc":"2.0","id":"call-3","method":"tools/call","params":{"arguments":{"name":"echo__echo","text":"nested","_meta":{"progressToken":"inner"}},"name":"echo__echo"}}'
	send "$req3"
	wait_resp '"call-3"'
	local cid3
	cid3="$(child_id echo '.method == "tools/call" and .params.arguments.text == "nested"')"
	want="${req3/\"id\":\"call-3\"/\"id\":$cid3}"
	want="${want/%\"name\":\"echo__echo\"\}\}/\"name\":\"echo\"\}\}}"
	assert_equal "$(child_line echo "$cid3")" "$want"
	assert_equal "$(resp '"call-3"')" '{"jsonrpc":"2.0","id":"call-3","result":{"content":[{"type":"text","text":"nested"}]}}'
	# The host's id comes back as it was, even past 2^64.
	assert_equal "$(ask 12345678901234567890 tools/call '{"name":"echo__echo","arguments":{"text":"big id"}}')" \
	    '{"jsonrpc":"2.0","id":12345678901234567890,"result":{"content":[{"type":"text","text":"big id"}]}}'
	stop_corral
	assert_equal "$STATUS" 0
	assert_stdout_json
}

@test "tools/call: the host gets the child's result with only the id changed" {
	config_of "$(srv_tee echo echo)"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo__links"}}'
	send '{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"echo__add","arguments":{"a":1.5,"b":2}}}'
	send '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo__fail"}}'
	send '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo__rpcerror"}}'
	wait_resp 7
	wait_resp '"s"'
	wait_resp 8
	wait_resp 9
	local sent host cid k
	for k in links add fail rpcerror; do
		case "$k" in
		links) host="$(resp 7)" ;;
		add) host="$(resp '"s"')" ;;
		fail) host="$(resp 8)" ;;
		rpcerror) host="$(resp 9)" ;;
		esac
		cid="$(child_id echo ".params.name == \"$k\"")"
		sent="$(grep -E "^\\{\"jsonrpc\":\"2\\.0\",\"id\":$cid,\"(result|error)\"" "$(flog echo).sent")"
		[ -n "$sent" ]
		# Everything after the id is the child's, byte for byte.
		assert_equal "${host#*\"id\":*,\"}" "${sent#*\"id\":$cid,\"}"
	done
	assert_equal "$(resp 7)" '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"resource_link","uri":"echo://hidden/1","name":"hidden"},{"type":"image","data":"aGVsbG8=","mimeType":"image/png"},{"type":"resource","resource":{"uri":"echo://static/hello","text":"hello","mimeType":"text/plain"}}]}}'
	assert_equal "$(resp '"s"')" '{"jsonrpc":"2.0","id":"s","result":{"content":[{"type":"text","text":"3.5"}],"structuredContent":{"sum":3.5}}}'
	assert_equal "$(resp 8)" '{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"failed as asked"}],"isError":true}}'
	assert_equal "$(resp 9)" '{"jsonrpc":"2.0","id":9,"error":{"code":-32000,"message":"rpcerror as asked"}}'
	stop_corral
	assert_equal "$STATUS" 0
	assert_stdout_json
}

@test "tools/call: an unknown or unprefixed tool name is -32602 and reaches no child" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	assert_equal "$(ask 1 tools/call '{"name":"echo__nope"}')" '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool: echo__nope"}}'
	assert_equal "$(ask 2 tools/call '{"name":"echo"}')" '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"unknown tool: echo"}}'
	run ! grep -q '"tools/call"' "$(flog echo)"
	stop_corral
	assert_stdout_json
}

# --- progress ---------------------------------------------------------------

# Check the progress of slow call $1 (ms $4): the child saw an integer
# token of corral's, the host got $3 notifications with its own token $2,
# then the result. Prints the child's token.
check_progress() {
	local id="$1" tok="$2" n="$3" ms="$4" cid ctok i line resline
	cid="$(child_id echo ".method == \"tools/call\" and .params._meta.progressToken != null and .params.arguments.ms == $ms")"
	ctok="$(jq -c "select(.id == $cid) | .params._meta.progressToken" "$(flog echo)")"
	# corral's own token, not the host's.
	[[ "$ctok" =~ ^[0-9]+$ ]]
	assert_equal "$(grep -cF "\"progressToken\":$tok," "$OUT")" "$n"
	for i in $(seq 1 "$n"); do
		line="$(grep -nF "\"params\":{\"progressToken\":$tok,\"progress\":$i," "$OUT")"
		assert_equal "${line#*:}" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":$tok,\"progress\":$i,\"total\":$n,\"message\":\"step $i\"}}"
		resline="$(grep -nE "$(resp_pat "$id")" "$OUT")"
		[ "${line%%:*}" -lt "${resline%%:*}" ]
	done
	assert_equal "$(resp "$id")" "{\"jsonrpc\":\"2.0\",\"id\":$id,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"slept $ms ms\"}]}}"
	echo "$ctok"
}

@test "progress: a string token comes back as the host's own, step by step, before the result" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	# echo__meta shows the _meta the child got: corral's token.
	local r cid ctok
	r="$(ask 1 tools/call '{"name":"echo__meta","_meta":{"progressToken":"tok-1","other":[1.0]}}')"
	cid="$(child_id echo '.params.name == "meta"')"
	ctok="$(jq -c "select(.id == $cid) | .params._meta.progressToken" "$(flog echo)")"
	[[ "$ctok" =~ ^[0-9]+$ ]]
	assert_equal "$(child_line echo "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"tools/call\",\"params\":{\"name\":\"meta\",\"_meta\":{\"progressToken\":$ctok,\"other\":[1.0]}}}"
	assert_equal "$r" "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"progressToken\\\":$ctok,\\\"other\\\":[1]}\"}]}}"
	run ! grep -q '"tok-1"' "$(flog echo)"
	ask 2 tools/call '{"name":"echo__slow","arguments":{"ms":300,"steps":3},"_meta":{"progressToken":"tok-1"}}' >/dev/null
	local t2
	t2="$(check_progress 2 '"tok-1"' 3 300)"
	[ "$t2" != "$ctok" ]
	stop_corral
	assert_stdout_json
}

@test "progress: an integer token keeps its type" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	ask 3 tools/call '{"name":"echo__slow","arguments":{"ms":400,"steps":4},"_meta":{"progressToken":42}}' >/dev/null
	local ctok
	ctok="$(check_progress 3 42 4 400)"
	[ "$ctok" != 42 ]
	refute_out '"progressToken":"42"'
	# A token past 2^64 comes back byte for byte.
	ask 4 tools/call '{"name":"echo__slow","arguments":{"ms":100,"steps":1},"_meta":{"progressToken":12345678901234567890}}' >/dev/null
	assert_equal "$(grep -c '"progressToken":12345678901234567890,"progress":1,"total":1,' "$OUT")" 1
	stop_corral
	assert_stdout_json
}

@test "progress: progress sent after the result is dropped" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	assert_equal "$(ask 1 tools/call '{"name":"echo__lateprogress","_meta":{"progressToken":"late"}}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"done"}]}}'
	# The child wrote its late progress before it read this call.
	assert_equal "$(ask 2 tools/call '{"name":"echo__echo","arguments":{"text":"after"}}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"after"}]}}'
	refute_out 'notifications/progress'
	refute_out 'too late'
	stop_corral
	assert_stdout_json
}

@test "progress: concurrent calls, with ids 1 and \"1\" and tokens 1 and \"1\", each get their own" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":300,"steps":2},"_meta":{"progressToken":1}}}'
	send '{"jsonrpc":"2.0","id":"1","method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":450,"steps":3},"_meta":{"progressToken":"1"}}}'
	wait_resp 1
	wait_resp '"1"'
	local t1 t2
	t1="$(check_progress 1 1 2 300)"
	t2="$(check_progress '"1"' '"1"' 3 450)"
	# corral's tokens are unique.
	[ "$t1" != "$t2" ]
	assert_equal "$(count_out 'notifications/progress')" 5
	stop_corral
	assert_stdout_json
}

# --- cancellation -----------------------------------------------------------

@test "cancel: the child gets the cancel with its own id, the host no response, later calls work" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":900,"steps":3},"_meta":{"progressToken":"c"}}}'
	wait_for '"progressToken":"c","progress":1,'
	# A cancel of the same id as a string is for another request.
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"5","reason":"wrong type"}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user stop"}}'
	sync_corral
	local cid n
	cid="$(child_id echo '.params.name == "slow"')"
	wait_file "$(flog echo)" '"notifications/cancelled"'
	assert_equal "$(grep -F notifications/cancelled "$(flog echo)")" \
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":$cid,\"reason\":\"user stop\"}}"
	wait_err "\\[echo\\] echo: cancelled $cid\$"
	n="$(count_out '"progressToken":"c"')"
	# Started after the cancel and as long: when it ends, the cancelled
	# call would have ended too.
	assert_equal "$(ask 6 tools/call '{"name":"echo__slow","arguments":{"ms":900,"steps":1}}')" \
	    '{"jsonrpc":"2.0","id":6,"result":{"content":[{"type":"text","text":"slept 900 ms"}]}}'
	refute_out "$(resp_pat 5)"
	refute_out '"id":"5"'
	assert_equal "$(count_out '"progressToken":"c"')" "$n"
	[ "$n" -lt 3 ]
	stop_corral
	assert_stdout_json
}

@test "cancel: unknown and finished ids are ignored" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	ask 1 tools/call '{"name":"echo__echo","arguments":{"text":"x"}}' >/dev/null
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999,"reason":"never sent"}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nope"}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled"}'
	assert_equal "$(ask 2 tools/call '{"name":"echo__echo","arguments":{"text":"still here"}}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"still here"}]}}'
	run ! grep -q 'notifications/cancelled' "$(flog echo)"
	# Nothing but the two responses and initialize's.
	assert_equal "$(wc -l <"$OUT")" 3
	stop_corral
	assert_stdout_json
}

@test "cancel: a child that answers anyway has its late response and progress dropped" {
	config_of "$(srv nc nocancel)"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":"n1","method":"tools/call","params":{"name":"nc__slow","arguments":{"ms":900,"steps":3},"_meta":{"progressToken":"nt"}}}'
	wait_for '"progressToken":"nt","progress":1,'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"n1"}}'
	sync_corral
	local cid n
	n="$(count_out '"progressToken":"nt"')"
	cid="$(child_id nc '.params.name == "slow"')"
	wait_file "$(flog nc)" "\"notifications/cancelled\",\"params\":\\{\"requestId\":$cid\\}"
	# The host may use the id and the token again at once: the old
	# call's late answer and progress must not pass for the new one's.
	assert_equal "$(ask '"n1"' tools/call '{"name":"nc__echo","arguments":{"text":"reused"},"_meta":{"progressToken":"nt"}}')" \
	    '{"jsonrpc":"2.0","id":"n1","result":{"content":[{"type":"text","text":"reused"}]}}'
	assert_equal "$(ask '"n2"' tools/call '{"name":"nc__slow","arguments":{"ms":900,"steps":1}}')" \
	    '{"jsonrpc":"2.0","id":"n2","result":{"content":[{"type":"text","text":"slept 900 ms"}]}}'
	assert_equal "$(count_out '"id":"n1"')" 1
	refute_out 'slept 900 ms.*"id":"n1"|"id":"n1".*slept 900 ms'
	assert_equal "$(count_out '"progressToken":"nt"')" "$n"
	[ "$n" -lt 3 ]
	stop_corral
	assert_stdout_json
}

@test "cancel: initialize cannot be cancelled" {
	config_of "$(srv echo echo '"args":["--delay-init","300"]')"
	start_corral
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0,"reason":"changed my mind"}}'
	wait_resp 0 15
	assert_equal "$(resp 0 | jq -c '[.result.protocolVersion, (.result.capabilities.tools != null)]')" '["2025-06-18",true]'
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	assert_equal "$(ask 1 tools/call '{"name":"echo__echo","arguments":{"text":"up"}}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"up"}]}}'
	run ! grep -q 'notifications/cancelled' "$(flog echo)"
	stop_corral
	assert_stdout_json
}

# --- timeouts ---------------------------------------------------------------

@test "timeout: no answer within timeouts.call is -32001 naming the server; the child gets a cancel" {
	config_of "$(srv echo echo '"timeouts":{"call":0.5,"call_max":10}')"
	start_corral
	initialize
	local t0 t1 cid
	t0="$(now_ms)"
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":3000,"steps":1}}}'
	wait_resp 7 3
	t1="$(now_ms)"
	assert_equal "$(resp 7)" '{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"echo: no answer or progress for 0.5 s","data":{"server":"echo","method":"tools/call"}}}'
	[ $((t1 - t0)) -ge 450 ]
	[ $((t1 - t0)) -lt 2500 ]
	cid="$(child_id echo '.params.name == "slow"')"
	wait_file "$(flog echo)" "\"method\":\"notifications/cancelled\",\"params\":\\{\"requestId\":$cid,"
	wait_err "\\[echo\\] echo: cancelled $cid\$"
	assert_equal "$(ask 8 tools/call '{"name":"echo__echo","arguments":{"text":"next"}}')" \
	    '{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"next"}]}}'
	stop_corral
	assert_stdout_json
}

@test "timeout: progress resets the idle timer" {
	config_of "$(srv echo echo '"timeouts":{"call":0.5,"call_max":10}')"
	start_corral
	initialize
	# 1.2 s in all, more than twice the idle timeout, progress every 0.2 s.
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":1200,"steps":6},"_meta":{"progressToken":"p"}}}'
	wait_resp 7 5
	assert_equal "$(resp 7)" '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"slept 1200 ms"}]}}'
	assert_equal "$(count_out '"progressToken":"p"')" 6
	run ! grep -q 'notifications/cancelled' "$(flog echo)"
	stop_corral
	assert_stdout_json
}

@test "timeout: timeouts.call_max caps a call even while it reports progress" {
	config_of "$(srv echo echo '"timeouts":{"call":0.5,"call_max":1}')"
	start_corral
	initialize
	local t0 t1 cid n
	t0="$(now_ms)"
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo__slow","arguments":{"ms":2000,"steps":10},"_meta":{"progressToken":"p"}}}'
	wait_resp 7 3
	t1="$(now_ms)"
	assert_equal "$(resp 7)" '{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"echo: request took longer than 1 s","data":{"server":"echo","method":"tools/call"}}}'
	[ $((t1 - t0)) -ge 950 ]
	[ $((t1 - t0)) -lt 1900 ]
	cid="$(child_id echo '.params.name == "slow"')"
	wait_file "$(flog echo)" "\"method\":\"notifications/cancelled\",\"params\":\\{\"requestId\":$cid,"
	wait_err "\\[echo\\] echo: cancelled $cid\$"
	n="$(count_out '"progressToken":"p"')"
	[ "$n" -ge 3 ]
	[ "$n" -le 5 ]
	stop_corral
	# Nothing more for that call after the error.
	assert_equal "$(count_out "$(resp_pat 7)")" 1
	assert_equal "$(count_out '"progressToken":"p"')" "$n"
	assert_stdout_json
}

@test "timeout: a late answer and progress after the timeout are dropped" {
	config_of "$(srv nc nocancel '"timeouts":{"call":0.5,"call_max":0.8}')"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nc__slow","arguments":{"ms":1200,"steps":4},"_meta":{"progressToken":"t"}}}'
	wait_resp 1 3
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"nc: request took longer than 0.8 s","data":{"server":"nc","method":"tools/call"}}}'
	local n
	n="$(count_out '"progressToken":"t"')"
	[ "$n" -le 3 ]
	# Ends after the first call would have, on the same child.
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nc__slow","arguments":{"ms":600,"steps":3},"_meta":{"progressToken":"u"}}}'
	wait_resp 2
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"slept 600 ms"}]}}'
	assert_equal "$(count_out '"progressToken":"u"')" 3
	assert_equal "$(count_out "$(resp_pat 1)")" 1
	assert_equal "$(count_out '"progressToken":"t"')" "$n"
	stop_corral
	assert_stdout_json
}

# --- resources --------------------------------------------------------------

@test "resources/read: listed, template-matched, and linked URIs route; others are -32002" {
	config_of "$(srv echo echo)" "$(srv pages pages)"
	start_corral
	initialize
	assert_equal "$(ask 1 resources/read '{"uri":"echo://static/hello"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"echo://static/hello","mimeType":"text/plain","text":"hello"}]}}'
	assert_equal "$(ask 2 resources/read '{"uri":"echo://item/42"}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"contents":[{"uri":"echo://item/42","mimeType":"text/plain","text":"item 42"}]}}'
	assert_equal "$(ask 3 resources/read '{"uri":"pages://r/007"}')" \
	    '{"jsonrpc":"2.0","id":3,"result":{"contents":[{"uri":"pages://r/007","mimeType":"text/plain","text":"r007"}]}}'
	# Not listed: unknown until a tool result names it.
	assert_equal "$(ask 4 resources/read '{"uri":"echo://hidden/1"}')" \
	    '{"jsonrpc":"2.0","id":4,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"echo://hidden/1"}}}'
	run ! grep -q 'echo://hidden/1' "$(flog echo)"
	ask 5 tools/call '{"name":"echo__links"}' >/dev/null
	assert_equal "$(ask 6 resources/read '{"uri":"echo://hidden/1"}')" \
	    '{"jsonrpc":"2.0","id":6,"result":{"contents":[{"uri":"echo://hidden/1","mimeType":"text/plain","text":"hidden one"}]}}'
	assert_equal "$(ask 7 resources/read '{"uri":"echo://nope/1"}')" \
	    '{"jsonrpc":"2.0","id":7,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"echo://nope/1"}}}'
	assert_equal "$(ask 8 resources/read '{}')" \
	    '{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"params.uri must be a string"}}'
	# The child got the URIs untouched.
	local cid
	cid="$(child_id echo '.params.uri == "echo://item/42"')"
	assert_equal "$(child_line echo "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"resources/read\",\"params\":{\"uri\":\"echo://item/42\"}}"
	run ! grep -q 'echo://' "$(flog pages)"
	stop_corral
	assert_stdout_json
}

@test "resources/subscribe: refcounted per URI; a server without subscribe refuses" {
	config_of "$(srv echo echo)" "$(srv pages pages)"
	start_corral
	initialize
	local u='{"uri":"echo://static/hello"}'
	assert_equal "$(ask 1 resources/subscribe "$u")" '{"jsonrpc":"2.0","id":1,"result":{}}'
	assert_equal "$(ask 2 resources/subscribe "$u")" '{"jsonrpc":"2.0","id":2,"result":{}}'
	assert_equal "$(ask 3 resources/unsubscribe "$u")" '{"jsonrpc":"2.0","id":3,"result":{}}'
	assert_equal "$(ask 4 resources/unsubscribe "$u")" '{"jsonrpc":"2.0","id":4,"result":{}}'
	wait_err '\[echo\] echo: unsubscribe echo://static/hello$'
	# A call after the last one: the child has read all of them.
	ask 5 tools/call '{"name":"echo__echo","arguments":{"text":"x"}}' >/dev/null
	assert_equal "$(grep -c '^\[echo\] echo: subscribe echo://static/hello$' "$ERR")" 1
	assert_equal "$(grep -c '^\[echo\] echo: unsubscribe echo://static/hello$' "$ERR")" 1
	assert_equal "$(grep -c '"method":"resources/subscribe"' "$(flog echo)")" 1
	assert_equal "$(grep -c '"method":"resources/unsubscribe"' "$(flog echo)")" 1
	assert_equal "$(ask 6 resources/subscribe '{"uri":"pages://r/001"}')" \
	    '{"jsonrpc":"2.0","id":6,"error":{"code":-32601,"message":"server pages does not support resource subscriptions"}}'
	run ! grep -q 'resources/subscribe' "$(flog pages)"
	assert_equal "$(ask 7 resources/subscribe '{"uri":"nowhere://x"}')" \
	    '{"jsonrpc":"2.0","id":7,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"nowhere://x"}}}'
	stop_corral
	assert_stdout_json
}

@test "resources/templates/list: every child's templates, merged" {
	config_of "$(srv echo echo)" "$(srv pages pages)"
	start_corral
	initialize
	local r
	r="$(ask 1 resources/templates/list)"
	assert_equal "$(jq -c '.result.resourceTemplates[0]' <<<"$r")" '{"uriTemplate":"echo://item/{id}","name":"item"}'
	assert_equal "$(jq -c '.result.resourceTemplates | length' <<<"$r")" 61
	assert_equal "$(jq -c '.result.resourceTemplates[60]' <<<"$r")" '{"uriTemplate":"pages://t/059/{x}","name":"t059"}'
	assert_equal "$(jq -c '.result | has("nextCursor")' <<<"$r")" false
	assert_equal "$(ask 2 resources/templates/list '{"cursor":"c50"}')" \
	    '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"invalid cursor"}}'
	stop_corral
	assert_stdout_json
}

# --- prompts and completion -------------------------------------------------

@test "prompts/get: the child gets its own prompt name; unknown names are -32602" {
	config_of "$(srv echo echo)"
	start_corral
	initialize
	assert_equal "$(ask 1 prompts/get '{"name":"echo__greet","arguments":{"name":"Ann"}}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"description":"Greeting","messages":[{"role":"user","content":{"type":"text","text":"Hello, Ann!"}}]}}'
	local cid
	cid="$(child_id echo '.method == "prompts/get"')"
	assert_equal "$(child_line echo "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\",\"arguments\":{\"name\":\"Ann\"}}}"
	assert_equal "$(ask 2 prompts/get '{"name":"echo__nope"}')" \
	    '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"unknown prompt: echo__nope"}}'
	assert_equal "$(ask 3 prompts/get '{"name":"greet"}')" \
	    '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"unknown prompt: greet"}}'
	# The child's own error passes through.
	assert_equal "$(ask 4 prompts/get '{"name":"echo__greet"}')" \
	    '{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Missing required argument: name"}}'
	assert_equal "$(grep -c '"method":"prompts/get"' "$(flog echo)")" 2
	stop_corral
	assert_stdout_json
}

@test "completion/complete: by prompt, by template, and empty for a server without completions" {
	config_of "$(srv echo echo)" "$(srv pages pages)"
	start_corral
	initialize
	assert_equal "$(ask 1 completion/complete '{"ref":{"type":"ref/prompt","name":"echo__greet"},"argument":{"name":"name","value":"bo"}}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"completion":{"values":["bob","bobby"],"total":2,"hasMore":false}}}'
	local cid
	cid="$(child_id echo '.method == "completion/complete"')"
	assert_equal "$(child_line echo "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"completion/complete\",\"params\":{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"greet\"},\"argument\":{\"name\":\"name\",\"value\":\"bo\"}}}"
	assert_equal "$(ask 2 completion/complete '{"ref":{"type":"ref/resource","uri":"echo://item/{id}"},"argument":{"name":"id","value":""}}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"completion":{"values":["1","2","3"],"total":3,"hasMore":false}}}'
	# pages has prompts and templates but no completions capability.
	assert_equal "$(ask 3 completion/complete '{"ref":{"type":"ref/prompt","name":"pages__p001"},"argument":{"name":"x","value":""}}')" \
	    '{"jsonrpc":"2.0","id":3,"result":{"completion":{"values":[],"hasMore":false}}}'
	assert_equal "$(ask 4 completion/complete '{"ref":{"type":"ref/resource","uri":"pages://t/001/{x}"},"argument":{"name":"x","value":""}}')" \
	    '{"jsonrpc":"2.0","id":4,"result":{"completion":{"values":[],"hasMore":false}}}'
	run ! grep -q 'completion/complete' "$(flog pages)"
	assert_equal "$(ask 5 completion/complete '{"ref":{"type":"ref/prompt","name":"nope__x"},"argument":{"name":"x","value":""}}')" \
	    '{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"unknown prompt: nope__x"}}'
	assert_equal "$(ask 6 completion/complete '{"argument":{"name":"x","value":""}}')" \
	    '{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"params.ref must be an object"}}'
	assert_equal "$(grep -c 'completion/complete' "$(flog echo)")" 2
	stop_corral
	assert_stdout_json
}

# --- logging ----------------------------------------------------------------

@test "logging/setLevel: answered {}, sent to children with logging, their messages come back" {
	config_of "$(srv echo echo)" "$(srv pages pages)"
	start_corral
	initialize
	assert_equal "$(ask 1 logging/setLevel '{"level":"warning"}')" '{"jsonrpc":"2.0","id":1,"result":{}}'
	wait_for 'notifications/message'
	assert_equal "$(line_for 'notifications/message')" \
	    '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"echo/echo","data":"level set to warning"}}'
	local cid
	cid="$(child_id echo '.method == "logging/setLevel"')"
	assert_equal "$(child_line echo "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"warning\"}}"
	run ! grep -q 'logging/setLevel' "$(flog pages)"
	assert_equal "$(ask 2 logging/setLevel '{"level":"loud"}')" \
	    '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"params.level must be one of the syslog levels (debug ... emergency)"}}'
	assert_equal "$(ask 3 logging/setLevel '{}')" \
	    '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"params.level must be one of the syslog levels (debug ... emergency)"}}'
	assert_equal "$(grep -c 'logging/setLevel' "$(flog echo)")" 1
	assert_equal "$(count_out 'notifications/message')" 1
	stop_corral
	assert_stdout_json
}

@test "logging/setLevel: a child that restarts gets the level, and its subscriptions, again" {
	config_of "$(srv echo echo '"restart":{"backoff":0.1,"backoff_max":0.2}')"
	start_corral
	initialize
	ask 1 logging/setLevel '{"level":"error"}' >/dev/null
	wait_for '"data":"level set to error"'
	ask 2 resources/subscribe '{"uri":"echo://item/7"}' >/dev/null
	send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo__exit","arguments":{"code":3}}}'
	wait_resp 3
	assert_equal "$(resp 3 | jq -c '[.error.code, .error.data.server]')" '[-32000,"echo"]'
	# The second life of the child: initialize, then the level and the
	# subscription; its log message reaches the host again.
	wait_err '^\[echo\] echo: subscribe echo://item/7$'
	local i=0
	while [ "$(grep -c '^\[echo\] echo: subscribe echo://item/7$' "$ERR")" -lt 2 ] ||
	    [ "$(count_out '"data":"level set to error"')" -lt 2 ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { cat "$OUT" "$(flog echo)" "$ERR" >&2; false; }
	done
	assert_equal "$(grep -c '"method":"initialize"' "$(flog echo)")" 2
	assert_equal "$(grep '"method":"logging/setLevel"' "$(flog echo)" | jq -c '.params')" '{"level":"error"}
{"level":"error"}'
	assert_equal "$(grep '"method":"resources/subscribe"' "$(flog echo)" | jq -c '.params')" '{"uri":"echo://item/7"}
{"uri":"echo://item/7"}'
	# The restarted child serves calls once it has listed again.
	local r k
	for k in $(seq 1 40); do
		r="$(ask "\"r$k\"" tools/call '{"name":"echo__echo","arguments":{"text":"back"}}')"
		[[ "$r" == *'"result"'* ]] && break
		sleep 0.05
	done
	assert_equal "$r" "{\"jsonrpc\":\"2.0\",\"id\":\"r$k\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"back\"}]}}"
	stop_corral
	assert_stdout_json
}

# --- server->client requests -------------------------------------------------

# Wait for the host-side request $1 (method) number $2 (1st, 2nd, ...) and
# print its id.
host_req_id() {
	wait_for "\"method\":\"$1\""
	local i=0
	while [ "$(grep -c "\"method\":\"$1\"" "$OUT")" -lt "${2:-1}" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || return 1
	done
	grep "\"method\":\"$1\"" "$OUT" | sed -n "${2:-1}p" | jq -c .id
}

@test "sampling: the host is asked with corral's id and its answer reaches the child" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	# The child's capabilities are the host's.
	assert_equal "$(head -n 1 "$(flog asker)" | jq -c .params.capabilities)" '{"roots":{},"sampling":{},"elicitation":{"form":{},"url":{}}}'
	# ping_client is answered by corral: the child's request 0 never
	# reaches the host, so the host-side and child-side ids differ below.
	assert_equal "$(ask 1 tools/call '{"name":"asker__ping_client"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{}"}]}}'
	refute_out '"method":"ping"'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"asker__sample"}}'
	local hid
	hid="$(host_req_id sampling/createMessage)"
	[[ "$hid" =~ ^[0-9]+$ ]]
	assert_equal "$(line_for sampling/createMessage)" "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"say hi\"}}],\"maxTokens\":10}}"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi \\u00e9\"},\"model\":\"m-1.0\",\"stopReason\":\"endTurn\"}}"
	wait_resp 2
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi é\"},\"model\":\"m-1.0\",\"stopReason\":\"endTurn\"}"}]}}'
	# The child got the answer with its own id (1), bytes untouched.
	[ "$hid" != 1 ]
	assert_equal "$(grep '"result":{"role"' "$(flog asker)")" '{"jsonrpc":"2.0","id":1,"result":{"role":"assistant","content":{"type":"text","text":"hi \u00e9"},"model":"m-1.0","stopReason":"endTurn"}}'
	# A refusal by the host reaches the child as an error.
	send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"asker__sample"}}'
	hid="$(host_req_id sampling/createMessage 2)"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"error\":{\"code\":-1,\"message\":\"User rejected sampling request\"}}"
	wait_resp 3
	assert_equal "$(resp 3)" '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"error: -1 User rejected sampling request"}],"isError":true}}'
	stop_corral
	assert_stdout_json
}

@test "server->client: two children's requests, both with id 0, get distinct host ids and their own answers" {
	config_of "$(srv a asker)" "$(srv b asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	send '{"jsonrpc":"2.0","id":"ca","method":"tools/call","params":{"name":"a__sample"}}'
	local ha hb
	ha="$(host_req_id sampling/createMessage)"
	send '{"jsonrpc":"2.0","id":"cb","method":"tools/call","params":{"name":"b__sample"}}'
	hb="$(host_req_id sampling/createMessage 2)"
	[ "$ha" != "$hb" ]
	# Answer the second first.
	send "{\"jsonrpc\":\"2.0\",\"id\":$hb,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"for b\"},\"model\":\"m\"}}"
	wait_resp '"cb"'
	send "{\"jsonrpc\":\"2.0\",\"id\":$ha,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"for a\"},\"model\":\"m\"}}"
	wait_resp '"ca"'
	assert_equal "$(resp '"ca"' | jq -r '.result.content[0].text | fromjson | .content.text')" 'for a'
	assert_equal "$(resp '"cb"' | jq -r '.result.content[0].text | fromjson | .content.text')" 'for b'
	assert_equal "$(grep '"result":{"role"' "$(flog a)" | jq -c '[.id, .result.content.text]')" '[0,"for a"]'
	assert_equal "$(grep '"result":{"role"' "$(flog b)" | jq -c '[.id, .result.content.text]')" '[0,"for b"]'
	# An answer to an id corral never used goes nowhere.
	send '{"jsonrpc":"2.0","id":4242,"result":{}}'
	sync_corral
	assert_equal "$(grep -c '"id":4242' "$(flog a)" "$(flog b)")" "$(flog a):0
$(flog b):0"
	stop_corral
	assert_stdout_json
}

@test "elicitation: the message names the asking server; form and url modes" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"asker__elicit"}}'
	local hid
	hid="$(host_req_id elicitation/create)"
	assert_equal "$(line_for elicitation/create)" "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"method\":\"elicitation/create\",\"params\":{\"mode\":\"form\",\"message\":\"[asker] need input\",\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}}}}}"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"action\":\"accept\",\"content\":{\"x\":\"y\"}}}"
	wait_resp 1
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"action\":\"accept\",\"content\":{\"x\":\"y\"}}"}]}}'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"asker__elicit_url"}}'
	hid="$(host_req_id elicitation/create 2)"
	assert_equal "$(grep elicitation/create "$OUT" | sed -n 2p)" "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"method\":\"elicitation/create\",\"params\":{\"mode\":\"url\",\"message\":\"[asker] open this\",\"url\":\"https://example.invalid/x\",\"elicitationId\":\"e1\"}}"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"action\":\"decline\"}}"
	wait_resp 2
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\"action\":\"decline\"}"}]}}'
	stop_corral
	assert_stdout_json
}

@test "roots/list: forwarded to the host and its answer returned" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"asker__roots"}}'
	local hid
	hid="$(host_req_id roots/list)"
	assert_equal "$(line_for roots/list)" "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"method\":\"roots/list\"}"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"roots\":[{\"uri\":\"file:///tmp/w\",\"name\":\"w\"}]}}"
	wait_resp 1
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"roots\":[{\"uri\":\"file:///tmp/w\",\"name\":\"w\"}]}"}]}}'
	stop_corral
	assert_stdout_json
}

@test "server->client: a host that declared nothing is never asked; the child gets an error" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{}'
	assert_equal "$(head -n 1 "$(flog asker)" | jq -c .params.capabilities)" '{}'
	assert_equal "$(ask 1 tools/call '{"name":"asker__sample"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support sampling"}],"isError":true}}'
	assert_equal "$(ask 2 tools/call '{"name":"asker__elicit"}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support elicitation"}],"isError":true}}'
	assert_equal "$(ask 3 tools/call '{"name":"asker__roots"}')" \
	    '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support roots"}],"isError":true}}'
	assert_equal "$(ask 4 tools/call '{"name":"asker__ping_client"}')" \
	    '{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"{}"}]}}'
	refute_out '"method":"(sampling/createMessage|elicitation/create|roots/list|ping)"'
	# The child got the errors for its own ids.
	assert_equal "$(grep -c '"error":{"code":-32601,"message":"the host does not support' "$(flog asker)")" 3
	stop_corral
	assert_stdout_json
}

@test "server->client: sampling without sampling.tools refuses a request with tools" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{"sampling":{}}'
	assert_equal "$(ask 1 tools/call '{"name":"asker__sample_tools"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support tools in sampling"}],"isError":true}}'
	refute_out 'sampling/createMessage'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"asker__sample"}}'
	local hid
	hid="$(host_req_id sampling/createMessage)"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"},\"model\":\"m\"}}"
	wait_resp 2
	assert_equal "$(resp 2 | jq -r '.result.content[0].text')" '{"role":"assistant","content":{"type":"text","text":"ok"},"model":"m"}'
	stop_corral
	assert_stdout_json
}

@test "server->client: sampling.tools allows a request with tools" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{"sampling":{"tools":{}}}'
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"asker__sample_tools"}}'
	local hid
	hid="$(host_req_id sampling/createMessage)"
	assert_equal "$(line_for sampling/createMessage | jq -c .params.tools)" '[{"name":"t","inputSchema":{"type":"object"}}]'
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"},\"model\":\"m\"}}"
	wait_resp 1
	assert_equal "$(resp 1 | jq -c '.result | has("isError")')" false
	stop_corral
	assert_stdout_json
}

@test "server->client: elicitation.form alone refuses url mode" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{"elicitation":{"form":{}}}'
	assert_equal "$(ask 1 tools/call '{"name":"asker__elicit_url"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support URL elicitation"}],"isError":true}}'
	refute_out 'elicitation/create'
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"asker__elicit"}}'
	local hid
	hid="$(host_req_id elicitation/create)"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"action\":\"cancel\"}}"
	wait_resp 2
	assert_equal "$(resp 2 | jq -r '.result.content[0].text')" '{"action":"cancel"}'
	stop_corral
	assert_stdout_json
}

@test "server->client: elicitation {} allows form mode only" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{"elicitation":{}}'
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"asker__elicit"}}'
	local hid
	hid="$(host_req_id elicitation/create)"
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"action\":\"accept\",\"content\":{\"x\":\"1\"}}}"
	wait_resp 1
	assert_equal "$(resp 1 | jq -r '.result.content[0].text')" '{"action":"accept","content":{"x":"1"}}'
	assert_equal "$(ask 2 tools/call '{"name":"asker__elicit_url"}')" \
	    '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support URL elicitation"}],"isError":true}}'
	stop_corral
	assert_stdout_json
}

@test "server->client: elicitation.url alone refuses form mode" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 '{"elicitation":{"url":{}}}'
	assert_equal "$(ask 1 tools/call '{"name":"asker__elicit"}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"error: -32601 the host does not support form elicitation"}],"isError":true}}'
	refute_out 'elicitation/create'
	stop_corral
	assert_stdout_json
}

@test "server->client: a child's cancel reaches the host with the host-side id; a late answer is dropped" {
	config_of "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	# Use up the child's request id 0 so the two id spaces differ.
	ask 1 tools/call '{"name":"asker__ping_client"}' >/dev/null
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"asker__cancel_own"}}'
	local hid
	hid="$(host_req_id sampling/createMessage)"
	wait_resp 2
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"cancelled"}]}}'
	assert_equal "$(line_for notifications/cancelled)" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":$hid,\"reason\":\"changed my mind\"}}"
	[ "$hid" != 1 ]
	send "{\"jsonrpc\":\"2.0\",\"id\":$hid,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"too late\"},\"model\":\"m\"}}"
	sync_corral
	# The child reads in order: once this answer is back, anything
	# forwarded before it has been read and logged.
	ask 3 tools/call '{"name":"asker__ping_client"}' >/dev/null
	run ! grep -q 'too late' "$(flog asker)"
	run ! grep -qE 'asker: (late|early) response' "$ERR"
	stop_corral
	assert_stdout_json
}

@test "notifications/roots/list_changed from the host reaches every child" {
	config_of "$(srv a echo)" "$(srv b echo)" "$(srv asker asker)"
	start_corral
	initialize 2025-06-18 "$HOST_CAPS"
	send '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}'
	wait_err '^\[a\] echo: roots changed$'
	wait_err '^\[b\] echo: roots changed$'
	wait_file "$(flog asker)" '^\{"jsonrpc":"2.0","method":"notifications/roots/list_changed"\}$'
	assert_equal "$(grep -c 'roots/list_changed' "$(flog a)")" 1
	assert_equal "$(grep -c 'roots/list_changed' "$(flog b)")" 1
	# Nothing goes back to the host.
	sync_corral
	assert_equal "$(wc -l <"$OUT")" 2
	stop_corral
	assert_stdout_json
}

# --- tasks ------------------------------------------------------------------

@test "tasks: a task-augmented call, its status, get, result, list, cancel route to the owner" {
	config_of "$(srv echo echo)" "$(srv tasker tasker)"
	start_corral
	initialize 2025-11-25 '{}'
	assert_equal "$(resp 0 | jq -c .result.capabilities.tasks)" '{"list":{},"cancel":{},"requests":{"tools":{"call":{}}}}'
	assert_equal "$(ask 1 tools/call '{"name":"tasker__job","task":{"ttl":60000}}')" \
	    '{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"task-1","status":"working","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000}}}'
	local cid
	cid="$(child_id tasker '.method == "tools/call"')"
	assert_equal "$(child_line tasker "$cid")" "{\"jsonrpc\":\"2.0\",\"id\":$cid,\"method\":\"tools/call\",\"params\":{\"name\":\"job\",\"task\":{\"ttl\":60000}}}"
	# tasks/result blocks until the task is done (200 ms); other traffic,
	# to the same child too, goes on meanwhile.
	send '{"jsonrpc":"2.0","id":2,"method":"tasks/result","params":{"taskId":"task-1"}}'
	send '{"jsonrpc":"2.0","id":3,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":4,"method":"tasks/get","params":{"taskId":"task-1"}}'
	wait_resp 2
	wait_resp 3
	wait_resp 4
	assert_equal "$(resp 3)" '{"jsonrpc":"2.0","id":3,"result":{}}'
	assert_equal "$(resp 4)" \
	    '{"jsonrpc":"2.0","id":4,"result":{"taskId":"task-1","status":"working","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000}}'
	assert_equal "$(line_for notifications/tasks/status)" \
	    '{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"task-1","status":"completed","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000}}'
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"job done"}],"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"task-1"}}}}'
	# Order of arrival: ping, tasks/get, status, then the result.
	assert_equal "$(grep -nE "$(resp_pat 3)|$(resp_pat 4)|tasks/status|$(resp_pat 2)" "$OUT" | cut -d: -f1 | tr '\n' ' ')" "3 4 5 6 "
	assert_equal "$(ask 5 tasks/get '{"taskId":"task-1"}' | jq -r .result.status)" completed
	# A second task, cancelled while it works.
	ask 6 tools/call '{"name":"tasker__job","task":{}}' >/dev/null
	assert_equal "$(ask 7 tasks/cancel '{"taskId":"task-2"}')" \
	    '{"jsonrpc":"2.0","id":7,"result":{"taskId":"task-2","status":"cancelled","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000}}'
	assert_equal "$(ask 8 tasks/result '{"taskId":"task-2"}')" \
	    '{"jsonrpc":"2.0","id":8,"error":{"code":-32603,"message":"Task was cancelled"}}'
	assert_equal "$(ask 9 tasks/cancel '{"taskId":"task-1"}')" \
	    '{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"Cannot cancel task: already in terminal status"}}'
	# Merged list: only the child with tasks.list is asked.
	assert_equal "$(ask 10 tasks/list)" \
	    '{"jsonrpc":"2.0","id":10,"result":{"tasks":[{"taskId":"task-1","status":"completed","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000},{"taskId":"task-2","status":"cancelled","createdAt":"2025-01-01T00:00:00Z","lastUpdatedAt":"2025-01-01T00:00:00Z","ttl":60000}]}}'
	run ! grep -q '"method":"tasks/' "$(flog echo)"
	assert_equal "$(grep -c '"method":"tasks/' "$(flog tasker)")" 7
	# Unknown task ids never reach a child.
	assert_equal "$(ask 11 tasks/get '{"taskId":"task-9"}')" \
	    '{"jsonrpc":"2.0","id":11,"error":{"code":-32602,"message":"unknown task: task-9"}}'
	assert_equal "$(ask 12 tasks/result '{"taskId":"nope"}')" \
	    '{"jsonrpc":"2.0","id":12,"error":{"code":-32602,"message":"unknown task: nope"}}'
	assert_equal "$(ask 13 tasks/cancel '{"taskId":"nope"}')" \
	    '{"jsonrpc":"2.0","id":13,"error":{"code":-32602,"message":"unknown task: nope"}}'
	assert_equal "$(ask 14 tasks/get '{}')" \
	    '{"jsonrpc":"2.0","id":14,"error":{"code":-32602,"message":"params.taskId must be a string"}}'
	assert_equal "$(grep -c '"method":"tasks/' "$(flog tasker)")" 7
	stop_corral
	assert_stdout_json
}

@test "tasks: a tasks/list cancelled by the host gets no answer and corral goes on" {
	config_of "$(srv tasker tasker)"
	start_corral
	initialize 2025-11-25 '{}'
	# Both lines in one write: the cancel is read before the child answers.
	send_once $'{"jsonrpc":"2.0","id":1,"method":"tasks/list"}\n{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
	wait_file "$(flog tasker)" '"method":"tasks/list"'
	assert_equal "$(ask 2 tools/call '{"name":"tasker__job"}' 3)" \
	    '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"job done"}]}}'
	refute_out "$(resp_pat 1)"
	assert_equal "$(ask 3 tasks/list)" '{"jsonrpc":"2.0","id":3,"result":{"tasks":[]}}'
	stop_corral
	assert_equal "$STATUS" 0
	assert_stdout_json
}

@test "resources/subscribe: a subscribe the server refuses is not counted; the next one is sent again" {
	config_with echo
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"echo://item/refuse"}}'
	wait_for '"id":1,"error"'
	assert_equal "$(line_for '"id":1,')" '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"cannot subscribe to that"}}'
	send '{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"echo://item/refuse"}}'
	wait_for '"id":2,"error"'
	# Both reached the server: the refused one left nothing counted.
	wait_err 'echo: subscribe echo://item/refuse'
	[ "$(grep -c 'echo: subscribe echo://item/refuse' "$ERR")" -eq 2 ]
	stop_corral
	assert_stdout_json
}
