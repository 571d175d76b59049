#!/usr/bin/env bats
# The host link: initialize and version negotiation, what corral claims
# toward children, JSON-RPC validation, ids, batches, framing and sizes
# (PROTOCOL.md "Lifecycle", "Batches", "Errors and bad input").

load helpers

# --- local helpers ----------------------------------------------------------

# Send bytes as they are (no newline added), like helpers.bash's send.
send_raw() {
	printf '%s' "$1" >&7
}

# corral's version string, as the build has it.
VERSION="$(sed -n 's/^#define CORRAL_VERSION "\(.*\)"$/\1/p' \
    "$ROOT/core/version.h")"
SERVER_INFO='{"name":"corral","title":"corral MCP broker","version":"'"$VERSION"'"}'
LIST_CAPS='"prompts":{"listChanged":true},"resources":{"listChanged":true},"tools":{"listChanged":true}'

# The log of every line child ALIAS received (FAKE_LOG).
flog() {
	printf '%s/%s.log' "$BATS_TEST_TMPDIR" "$1"
}

# A request line: req ID METHOD [PARAMS].
req() {
	if [ $# -ge 3 ]; then
		printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}' \
		    "$1" "$2" "$3"
	else
		printf '{"jsonrpc":"2.0","id":%s,"method":"%s"}' "$1" "$2"
	fi
}

# A tools/call line: call ID TOOL [ARGUMENTS].
call() {
	local args="${3:-}"
	[ -n "$args" ] || args='{}'
	req "$1" tools/call '{"name":"'"$2"'","arguments":'"$args"'}'
}

# The initialize request (id 0): init_line [VERSION [CAPS]].
init_line() {
	printf '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"%s","capabilities":%s,"clientInfo":{"name":"bats","version":"1"}}}' \
	    "${1:-2025-06-18}" "${2:-"{}"}"
}

# The text result a fake tool sends: text_result ID TEXT.
text_result() {
	printf '{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"%s"}]}}' \
	    "$1" "$2"
}

# An error line: err_line ID CODE MESSAGE (MESSAGE as JSON string body).
err_line() {
	printf '{"jsonrpc":"2.0","id":%s,"error":{"code":%s,"message":"%s"}}' \
	    "$1" "$2" "$3"
}

# $OUT has the line $1, byte for byte.
assert_out() {
	grep -Fxq -- "$1" "$OUT" && return 0
	{
		echo "stdout has no line: $1"
		echo "--- stdout:"
		cat "$OUT"
		echo "--- stderr:"
		cat "$ERR"
	} >&2
	return 1
}

# How many lines of $OUT match the extended regex $1.
count_out() {
	grep -cE -- "$1" "$OUT" || true
}

# Close stdin; corral exits 0 and wrote nothing but JSON.
finish() {
	stop_corral
	assert_equal "$STATUS" 0
	assert_stdout_json
}

# A line of x's, $1 bytes long.
xs() {
	head -c "$1" /dev/zero | tr '\0' x
}

# --- initialize ---------------------------------------------------------------

@test "initialize: exact result, capabilities of echo, corral's serverInfo" {
	config_with echo=echo
	start_corral
	initialize 2025-06-18
	assert_equal "$(line_for '"id":0,')" '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"logging":{},"completions":{},"prompts":{"listChanged":true},"resources":{"subscribe":true,"listChanged":true},"tools":{"listChanged":true}},"serverInfo":'"$SERVER_INFO"'}}'
	finish
}

@test "initialize: with only pages there is no logging, completions or subscribe" {
	config_with pages=pages
	start_corral
	initialize 2025-06-18
	assert_equal "$(line_for '"id":0,')" '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{'"$LIST_CAPS"'},"serverInfo":'"$SERVER_INFO"'}}'
	finish
}

@test "initialize: capabilities are the union of the children's" {
	write_config <<EOF
{"mcpServers":{
 "a":{"command":"$SRV/echo","args":["--no-resources","--no-prompts"]},
 "b":{"command":"$SRV/pages"}}}
EOF
	start_corral
	initialize 2025-06-18
	# logging and completions come from a; resources (no subscribe) from b.
	run -0 jq -c '.result.capabilities' <<<"$(line_for '"id":0,')"
	assert_output '{"logging":{},"completions":{},'"$LIST_CAPS"'}'
	finish
}

@test "initialize: a supported protocolVersion is echoed, an unknown one gets 2025-11-25" {
	local v
	write_config <<<'{"mcpServers":{}}'
	for v in 2024-11-05 2025-03-26 2025-06-18 2025-11-25 1999-01-01; do
		start_corral
		initialize "$v"
		run -0 jq -r '.result.protocolVersion' <<<"$(line_for '"id":0,')"
		if [ "$v" = 1999-01-01 ]; then
			assert_output 2025-11-25
		else
			assert_output "$v"
		fi
		finish
	done
}

@test "initialize: children are asked for 2025-11-25 with only the host's roots, sampling and elicitation" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}}}
EOF
	start_corral
	initialize 2024-11-05 '{"roots":{"listChanged":true},"sampling":{},"elicitation":{},"experimental":{"x":{}},"tasks":{"list":{},"requests":{"tools":{"call":{}}}}}'
	send "$(req 1 ping)"
	wait_for '"id":1,'
	run -0 jq -c 'select(.method == "initialize") | .params' "$(flog echo)"
	assert_output '{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true},"sampling":{},"elicitation":{}},"clientInfo":{"name":"corral","version":"'"$VERSION"'"}}'
	# The child's own notifications/initialized follows its initialize
	# result, before anything else; the host's one is not forwarded.
	run -0 jq -r '.method' "$(flog echo)"
	assert_equal "${lines[0]}" initialize
	assert_equal "${lines[1]}" notifications/initialized
	assert_equal "$(grep -c 'notifications/initialized' "$(flog echo)")" 1
	finish
}

@test "initialize: a host without client capabilities claims none toward children" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}}}
EOF
	start_corral
	initialize 2025-06-18 '{"experimental":{"x":{}}}'
	run -0 jq -c 'select(.method == "initialize") | .params.capabilities' "$(flog echo)"
	assert_output '{}'
	finish
}

@test "initialize: a child answering an unsupported protocol version is failed and left out" {
	write_config <<EOF
{"mcpServers":{
 "old":{"command":"$SRV/echo","args":["--version","1999-01-01"],"restart":{"max_failures":0}},
 "ok":{"command":"$SRV/echo"}}}
EOF
	start_corral
	initialize 2025-06-18
	wait_err '\[old\] answered with protocol version 1999-01-01, which corral does not speak'
	send "$(req 1 tools/list)"
	wait_for '"id":1,'
	run -0 jq -r '.result.tools[].name' <<<"$(line_for '"id":1,')"
	assert_line ok__echo
	refute_line --regexp '^old__'
	run -0 jq -r '[.result.tools[].name | select(startswith("ok__"))] | length' <<<"$(line_for '"id":1,')"
	assert_output 13
	finish
}

@test "initialize: children's instructions appear under ## alias headings, in config order" {
	write_config <<EOF
{"mcpServers":{
 "zeta":{"command":"$SRV/echo","args":["--instructions","Use zeta.\nSecond line."]},
 "none":{"command":"$SRV/echo"},
 "alpha":{"command":"$SRV/echo","args":["--instructions","Alpha \"quoted\"."]}}}
EOF
	start_corral
	initialize 2025-06-18
	run -0 jq -c '.result.instructions' <<<"$(line_for '"id":0,')"
	assert_output '"## zeta\n\nUse zeta.\nSecond line.\n\n## alpha\n\nAlpha \"quoted\"."'
	finish
}

@test "before initialize: server/discover gets -32601 and the connection stays usable" {
	write_config <<<'{"mcpServers":{}}'
	start_corral
	send "$(req 1 server/discover)"
	wait_for '"id":1,'
	assert_equal "$(line_for '"id":1,')" "$(err_line 1 -32601 'Method not found: server/discover')"
	initialize 2025-11-25
	run -0 jq -r '.result.protocolVersion' <<<"$(line_for '"id":0,')"
	assert_output 2025-11-25
	send "$(req 2 ping)"
	wait_for '"id":2,'
	assert_out '{"jsonrpc":"2.0","id":2,"result":{}}'
	finish
}

@test "before initialize: other requests get -32600, nothing reaches a child" {
	local m i=1
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}}}
EOF
	start_corral
	for m in tools/list tools/call prompts/list prompts/get resources/list \
	    resources/templates/list resources/read resources/subscribe \
	    resources/unsubscribe completion/complete logging/setLevel \
	    tasks/list tasks/get; do
		send "$(req "$i" "$m" '{}')"
		i=$((i + 1))
	done
	# Notifications and stray responses are not answered.
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
	send '{"jsonrpc":"2.0","id":77,"result":{}}'
	send "$(req 99 ping)"
	wait_for '"id":99,'
	for ((m = 1; m < i; m++)); do
		assert_out "$(err_line "$m" -32600 'not initialized: send initialize first')"
	done
	assert_equal "$(wc -l <"$OUT")" "$i"
	initialize 2025-06-18
	send "$(call 100 echo__echo '{"text":"after"}')"
	wait_for '"id":100,'
	assert_out "$(text_result 100 after)"
	# The child saw the initialize and one call only.
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog echo)"
	assert_output echo
	finish
}

@test "ping is answered before and after initialize" {
	write_config <<<'{"mcpServers":{}}'
	start_corral
	send "$(req '"before"' ping)"
	wait_for '"id":"before",'
	assert_out '{"jsonrpc":"2.0","id":"before","result":{}}'
	initialize
	send "$(req 1 ping '{}')"
	wait_for '"id":1,'
	assert_out '{"jsonrpc":"2.0","id":1,"result":{}}'
	finish
}

@test "initialize twice: the second gets -32600, the session goes on" {
	config_with echo=echo
	start_corral
	initialize 2025-06-18
	send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	wait_for '"id":1,'
	assert_equal "$(line_for '"id":1,')" "$(err_line 1 -32600 'already initialized')"
	send "$(call 2 echo__echo '{"text":"still"}')"
	wait_for '"id":2,'
	assert_out "$(text_result 2 still)"
	# Still the first version: no batches on 2025-06-18.
	send "[$(req 3 ping)]"
	wait_for 'batches'
	assert_out "$(err_line null -32600 'batches are only accepted on protocol version 2025-03-26')"
	finish
}

@test "initialize without a string protocolVersion gets -32602; a good one then works" {
	write_config <<<'{"mcpServers":{}}'
	start_corral
	send '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	send '{"jsonrpc":"2.0","id":2,"method":"initialize"}'
	send '{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":20250618}}'
	send "$(req 4 tools/list)"
	wait_for '"id":4,'
	assert_out "$(err_line 1 -32602 'initialize needs params.protocolVersion')"
	assert_out "$(err_line 2 -32602 'initialize needs params.protocolVersion')"
	assert_out "$(err_line 3 -32602 'initialize needs params.protocolVersion')"
	assert_out "$(err_line 4 -32600 'not initialized: send initialize first')"
	initialize 2025-06-18
	assert_equal "$(line_for '"id":0,')" '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{'"$LIST_CAPS"'},"serverInfo":'"$SERVER_INFO"'}}'
	finish
}

# --- bad input ----------------------------------------------------------------

@test "parse errors get -32700 with id null and corral keeps going" {
	local deep
	config_with echo=echo
	start_corral
	initialize
	deep="$(printf '[%.0s' $(seq 200))$(printf ']%.0s' $(seq 200))"
	send '{bad'
	send '{"jsonrpc":"2.0","id":1,"method":"ping"'
	send 'nul'
	send '{"jsonrpc":"2.0","id":2,"method":"ping"} {"x":1}'
	send $'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":"\xff"}}'
	send $'{"jsonrpc":"2.0","id":4,"method":"ping","params":{"x":"a\tb"}}'
	send '{"jsonrpc":"2.0","id":5,"method":"ping","params":{"x":'"$deep"'}}'
	send "$(call 6 echo__echo '{"text":"alive"}')"
	wait_for '"id":6,'
	assert_equal "$(sed -n 2,8p "$OUT")" "$(err_line null -32700 'Parse error: expected member name')
$(err_line null -32700 'Parse error: unexpected end')
$(err_line null -32700 'Parse error: invalid literal')
$(err_line null -32700 'Parse error: trailing data after value')
$(err_line null -32700 'Parse error: invalid UTF-8')
$(err_line null -32700 'Parse error: control character in string')
$(err_line null -32700 'Parse error: nesting too deep')"
	assert_out "$(text_result 6 alive)"
	assert_equal "$(wc -l <"$OUT")" 9
	finish
}

@test "invalid requests get -32600, with the id when it could be read" {
	config_with echo=echo
	start_corral
	initialize
	send '{"id":1,"method":"ping"}'
	send '{"jsonrpc":"1.0","id":2,"method":"ping"}'
	send '{"jsonrpc":2.0,"id":3,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":4,"method":5}'
	send '{"jsonrpc":"2.0","id":null,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":true,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}'
	send '{"jsonrpc":"2.0","id":[5],"method":"ping"}'
	send '{"jsonrpc":"2.0","id":5,"result":{},"error":{"code":1,"message":"x"}}'
	send '{"jsonrpc":"2.0","id":6,"id":7,"method":"ping"}'
	send '{"jsonrpc":"2.0","id":8,"method":"ping","result":{}}'
	send '{"jsonrpc":"2.0","id":9}'
	send '"ping"'
	send '42'
	send 'null'
	send "$(req 10 ping)"
	wait_for '"id":10,'
	assert_equal "$(sed -n '2,$p' "$OUT")" "$(err_line 1 -32600 'jsonrpc must be \"2.0\"')
$(err_line 2 -32600 'jsonrpc must be \"2.0\"')
$(err_line 3 -32600 'jsonrpc must be \"2.0\"')
$(err_line 4 -32600 'method must be a string')
$(err_line null -32600 'id must be a string or a number')
$(err_line null -32600 'id must be a string or a number')
$(err_line null -32600 'id must be a string or a number')
$(err_line null -32600 'id must be a string or a number')
$(err_line 5 -32600 'neither a request, a notification nor a response')
$(err_line null -32600 'Invalid Request: duplicate key in an object (refused: parsers disagree on which one counts)')
$(err_line 8 -32600 'a request has no result or error')
$(err_line 9 -32600 'neither a request, a notification nor a response')
$(err_line null -32600 'not a JSON-RPC object')
$(err_line null -32600 'not a JSON-RPC object')
$(err_line null -32600 'not a JSON-RPC object')
{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":{}}"
	finish
}

@test "params that are an array get -32602" {
	config_with echo=echo
	start_corral
	initialize
	send "$(req 1 tools/list '[]')"
	send "$(req 2 tools/call '["echo__echo"]')"
	send "$(req 3 ping '[{}]')"
	send "$(req 4 ping)"
	wait_for '"id":4,'
	assert_out "$(err_line 1 -32602 'params must be an object')"
	assert_out "$(err_line 2 -32602 'params must be an object')"
	assert_out "$(err_line 3 -32602 'params must be an object')"
	finish
}

@test "params that are a string or a number get -32602" {
	config_with echo=echo
	start_corral
	initialize
	send "$(req 1 tools/list '"x"')"
	send "$(req 2 tools/call '"echo__echo"')"
	send "$(req 3 ping '5')"
	send "$(req 4 ping)"
	wait_for '"id":4,'
	assert_out "$(err_line 1 -32602 'params must be an object')"
	assert_out "$(err_line 2 -32602 'params must be an object')"
	assert_out "$(err_line 3 -32602 'params must be an object')"
	finish
}

@test "an unknown method gets -32601 with its name; unknown notifications get nothing" {
	config_with echo=echo
	start_corral
	initialize
	send "$(req 5 nope)"
	send "$(req 6 tools/List)"
	send "$(req 7 sampling/createMessage '{}')"
	send "$(req 8 notifications/initialized)"
	send '{"jsonrpc":"2.0","id":9,"method":"a\"b\u00e9"}'
	send '{"jsonrpc":"2.0","method":"notifications/nope"}'
	send '{"jsonrpc":"2.0","method":"nope"}'
	send "$(req 10 ping)"
	wait_for '"id":10,'
	assert_equal "$(line_for '"id":5,')" '{"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"Method not found: nope"}}'
	assert_out "$(err_line 6 -32601 'Method not found: tools/List')"
	assert_out "$(err_line 7 -32601 'Method not found: sampling/createMessage')"
	assert_out "$(err_line 8 -32601 'Method not found: notifications/initialized')"
	assert_out "$(err_line 9 -32601 'Method not found: a\"bé')"
	assert_equal "$(wc -l <"$OUT")" 7
	finish
}

# --- ids ----------------------------------------------------------------------

@test "ids keep their exact bytes through a forwarded tools/call" {
	local id n=0
	local -a ids=('"1"' '1' '-7' '12345678901234567890' '1.5e3' '"ü\u00e9"' '"x\"y"' '0')
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}}}
EOF
	start_corral
	initialize
	for id in "${ids[@]}"; do
		send "$(call "$id" echo__echo '{"text":"t'$n'"}')"
		n=$((n + 1))
	done
	n=0
	for id in "${ids[@]}"; do
		wait_for "\"text\":\"t$n\""
		assert_out "$(text_result "$id" "t$n")"
		n=$((n + 1))
	done
	# The child saw corral's own ids: numbers, all different.
	run -0 jq -s -c '[.[] | select(.method == "tools/call") | .id] | [(map(type) | unique), (unique | length)]' "$(flog echo)"
	assert_output '[["number"],8]'
	finish
}

@test "a request id already in flight gets -32600; the id is free again once it is done" {
	config_with echo=echo
	start_corral
	initialize
	send "$(call 5 echo__slow '{"ms":10000}')"
	send "$(req 5 ping)"
	send "$(call 5 echo__echo '{"text":"dup"}')"
	send "$(call '"5"' echo__echo '{"text":"string five"}')"
	wait_for '"id":"5",'
	assert_out "$(text_result '"5"' 'string five')"
	assert_equal "$(count_out '"id":5,')" 2
	assert_equal "$(line_for '"id":5,')" "$(err_line 5 -32600 'id is already in use by a request in progress')"
	assert_equal "$(count_out '"id":5,"error":\{"code":-32600,"message":"id is already in use by a request in progress"\}\}$')" 2
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}'
	wait_err 'echo: cancelled'
	send "$(req 5 ping)"
	wait_for '"id":5,"result"'
	assert_out '{"jsonrpc":"2.0","id":5,"result":{}}'
	assert_equal "$(count_out '"id":5,')" 3
	finish
}

# --- batches ------------------------------------------------------------------

@test "batch on 2025-03-26: requests and a notification get one array with every response" {
	config_with echo=echo
	start_corral
	initialize 2025-03-26
	send '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/whatever"},{"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"b"}}},{"jsonrpc":"2.0","id":3,"method":"nope"},{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo__add","arguments":{"a":1,"b":2}}}]'
	wait_for '^\['
	assert_equal "$(count_out '^\[')" 1
	run -0 jq -c 'sort_by(.id | tostring)' <<<"$(line_for '^\[')"
	assert_output '[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found: nope"}},{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"3"}],"structuredContent":{"sum":3}}},{"jsonrpc":"2.0","id":"two","result":{"content":[{"type":"text","text":"b"}]}}]'
	# Nothing of the batch came as a lone line.
	send "$(req 5 ping)"
	wait_for '"id":5,'
	assert_equal "$(wc -l <"$OUT")" 3
	finish
}

@test "batch on 2025-03-26: all-notification batch gets nothing, empty array -32600, bad members answered inside" {
	config_with echo=echo
	start_corral
	initialize 2025-03-26
	send '[{"jsonrpc":"2.0","method":"notifications/a"},{"jsonrpc":"2.0","method":"notifications/b"}]'
	send '[]'
	send '[1,{"jsonrpc":"2.0","id":6,"method":"ping"},{"jsonrpc":"2.0","id":7,"method":5}]'
	send "$(req 8 ping)"
	wait_for '"id":8,'
	assert_equal "$(sed -n '2,$p' "$OUT")" "$(err_line null -32600 'empty batch')
[$(err_line null -32600 'not a JSON-RPC object'),{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}},$(err_line 7 -32600 'method must be a string')]
{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{}}"
	finish
}

@test "batch on 2025-03-26: initialize inside a batch is refused, the rest is answered" {
	config_with echo=echo
	start_corral
	initialize 2025-03-26
	send '[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}},{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"in batch"}}}]'
	wait_for '^\['
	run -0 jq -c 'sort_by(.id)' <<<"$(line_for '^\[')"
	assert_output "[$(err_line 1 -32600 'already initialized'),{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}},$(text_result 3 'in batch')]"
	finish
}

@test "batch on 2025-03-26: a cancelled member is left out of the array" {
	config_with echo=echo
	start_corral
	initialize 2025-03-26
	send "[$(call 1 echo__slow '{"ms":10000}'),$(req 2 ping)]"
	send '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
	wait_for '^\['
	assert_out '[{"jsonrpc":"2.0","id":2,"result":{}}]'
	finish
}

@test "arrays get -32600 on every other protocol version, and before initialize" {
	local v
	write_config <<<'{"mcpServers":{}}'
	start_corral
	send "[$(req 1 ping)]"
	send "$(req 2 ping)"
	wait_for '"id":2,'
	assert_equal "$(cat "$OUT")" "$(err_line null -32600 'batches are only accepted on protocol version 2025-03-26')
{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}"
	finish
	for v in 2024-11-05 2025-06-18 2025-11-25 1999-01-01; do
		start_corral
		initialize "$v"
		send "[$(req 1 ping),$(req 2 tools/list)]"
		send "$(req 3 ping)"
		wait_for '"id":3,'
		assert_equal "$(sed -n '2,$p' "$OUT")" "$(err_line null -32600 'batches are only accepted on protocol version 2025-03-26')
{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}"
		finish
	done
}

# --- framing ------------------------------------------------------------------

@test "CRLF line endings are accepted and blank lines ignored" {
	config_with echo=echo
	start_corral
	send "$(init_line 2025-03-26)"$'\r'
	wait_for '"id":0,"result"'
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'$'\r'
	send ''
	send '   '
	send $'\t'
	send $'\r'
	send $' \t\r'
	send "$(req 1 ping)"$'\r'
	send "$(call 2 echo__echo '{"text":"crlf"}')"$'\r'
	send "[$(req 3 ping)]"$'\r'
	send "$(req 4 ping)"
	wait_for '"id":4,'
	wait_for '"id":2,'
	assert_out '{"jsonrpc":"2.0","id":1,"result":{}}'
	assert_out "$(text_result 2 crlf)"
	assert_out '[{"jsonrpc":"2.0","id":3,"result":{}}]'
	assert_equal "$(wc -l <"$OUT")" 5
	finish
}

@test "a line split across several writes is put back together (max_message 65536)" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"}},"corral":{"max_message":65536}}
EOF
	start_corral
	initialize
	send_raw '{"jsonrpc":"2.0",'
	sleep 0.2	# corral reads the first part on its own
	send_raw '"id":1,"method":"ping"'
	sleep 0.2
	send '}'
	wait_for '"id":(1|null),'
	assert_out '{"jsonrpc":"2.0","id":1,"result":{}}'
	finish
}

# --- sizes --------------------------------------------------------------------

@test "max_message 4096: corral still reads its host and its children" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"}},"corral":{"max_message":4096}}
EOF
	start_corral
	send "$(init_line)"
	wait_for '"id":0,"result"' 5
	send "$(call 1 echo__echo '{"text":"small"}')"
	wait_for '"id":1,' 5
	assert_out "$(text_result 1 small)"
	finish
}

@test "a line longer than max_message (4096) gets -32600 with its id; the next request works" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}},"corral":{"max_message":4096}}
EOF
	start_corral
	send "$(init_line)"
	wait_for '"id":0,"result"' 5
	send "$(call 7 echo__echo '{"text":"'"$(xs 5000)"'"}')"
	send "$(call 8 echo__echo '{"text":"after"}')"
	send "$(call '"big"' echo__echo '{"text":"'"$(xs 10000)"'"}')"
	send '{"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"'"$(xs 5000)"'"}},"jsonrpc":"2.0","id":9}'
	send "$(req 10 ping)"
	wait_for '"id":10,' 5
	wait_for '"id":8,' 5
	assert_equal "$(line_for '"id":7,')" "$(err_line 7 -32600 'message too large')"
	assert_out "$(text_result 8 after)"
	assert_out "$(err_line '"big"' -32600 'message too large')"
	assert_out "$(err_line null -32600 'message too large')"
	assert_out '{"jsonrpc":"2.0","id":10,"result":{}}'
	# The child never saw the long ones.
	run -0 jq -r 'select(.method == "tools/call") | .params.arguments.text' "$(flog echo)"
	assert_output after
	finish
}

@test "a line of exactly max_message bytes is accepted, one more byte is not" {
	local head='{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' tail='"}}' line
	write_config <<EOF
{"mcpServers":{},"corral":{"max_message":4096}}
EOF
	start_corral
	send "$(init_line)"
	wait_for '"id":0,"result"' 5
	line="$head$(xs $((4096 - ${#head} - ${#tail})))$tail"
	assert_equal "${#line}" 4096
	send "$line"
	wait_for '"id":1,' 5
	assert_out '{"jsonrpc":"2.0","id":1,"result":{}}'
	head='{"jsonrpc":"2.0","id":2,"method":"ping","params":{"pad":"'
	line="$head$(xs $((4097 - ${#head} - ${#tail})))$tail"
	send "$line"
	wait_for '"id":2,' 5
	assert_out "$(err_line 2 -32600 'message too large')"
	finish
}

@test "a child's result larger than max_message (4096) gets -32603 for that id; the next call works" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"}},"corral":{"max_message":4096}}
EOF
	start_corral
	send "$(init_line)"
	wait_for '"id":0,"result"' 5
	send "$(call 3 echo__big '{"bytes":10000}')"
	wait_for '"id":3,' 5
	run -0 jq -c '[.error.code, .error.message, .error.data.server, .error.data.max_message, .error.data.bytes > 10000, has("result")]' <<<"$(line_for '"id":3,')"
	assert_output '[-32603,"the response of server echo was larger than max_message","echo",4096,true,false]'
	send "$(call 4 echo__echo '{"text":"next"}')"
	wait_for '"id":4,' 5
	assert_out "$(text_result 4 next)"
	wait_err '\[echo\] sent a message of [0-9]+ bytes, more than max_message \(4096\); dropped'
	finish
}

@test "oversized lines both ways with max_message 65536" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"}},"corral":{"max_message":65536}}
EOF
	start_corral
	initialize
	send "$(call 1 echo__echo '{"text":"'"$(xs 100000)"'"}')"
	send "$(call 2 echo__big '{"bytes":100000}')"
	wait_for '"id":2,'
	assert_out "$(err_line 1 -32600 'message too large')"
	run -0 jq -c '[.error.code, .error.data.server, .error.data.max_message]' <<<"$(line_for '"id":2,')"
	assert_output '[-32603,"echo",65536]'
	send "$(call 3 echo__big '{"bytes":60000}')"
	wait_for '"id":3,'
	run -0 jq -r '.result.content[0].text | length' <<<"$(line_for '"id":3,')"
	assert_output 60000
	finish
}

@test "a key named twice in an object is refused, escaped or not; the server never sees the call" {
	write_config <<EOF2
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog echo)"}}}}
EOF2
	start_corral
	initialize 2025-06-18
	local want='{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: duplicate key in an object (refused: parsers disagree on which one counts)"}}'
	# A policy would read the first "text", many servers the last.
	send "$(call 1 echo__echo '{"text":"ok","text":"forbidden"}')"
	send "$(call 2 echo__echo '{"text":"ok","te\u0078t":"forbidden"}')"
	send "$(req 3 tools/call '{"name":"echo__echo","arguments":{"text":"a"},"arguments":{"text":"b"}}')"
	send "$(call 4 echo__echo '{"text":"fine"}')"
	wait_for '"id":4,'
	assert_equal "$(count_out '^\{"jsonrpc":"2.0","id":null,"error":\{"code":-32600,"message":"Invalid Request: duplicate key')" 3
	assert_out "$want"
	assert_out "$(text_result 4 fine)"
	run ! grep -q forbidden "$(flog echo)"
	# The same key at different depths, or in sibling objects, is fine.
	send "$(call 5 echo__echo '{"text":"x","o":{"text":"y"},"a":[{"k":1},{"k":2}]}')"
	wait_for '"id":5,'
	assert_out "$(text_result 5 x)"
	finish
}
