#!/usr/bin/env bats
# The merged lists: exposed names, pagination, config order, prefixes,
# allow/deny, fields passed through, list_changed and resource clashes
# (PROTOCOL.md "Lists and names").

load helpers

# --- local helpers ----------------------------------------------------------

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

# Send a request and wait for its response: ask ID METHOD [PARAMS].
ask() {
	send "$(req "$@")"
	wait_for '^\{"jsonrpc":"2\.0","id":'"$1"',"(result|error)"'
}

# The response line to request id $1.
resp() {
	line_for '^\{"jsonrpc":"2\.0","id":'"$1"',"(result|error)"'
}

# Call tool $2 with arguments $3 (default {}) as request $1 and wait.
call() {
	local args="${3:-}"
	[ -n "$args" ] || args='{}'
	ask "$1" tools/call '{"name":'"$(jq -cn --arg n "$2" '$n')"',"arguments":'"$args"'}'
}

# The first text of the result of request $1.
result_text() {
	jq -r '.result.content[0].text' <<<"$(resp "$1")"
}

# The names (or uris) of list response $1: names ID KEY FIELD.
names() {
	jq -r --arg k "$2" --arg f "${3:-name}" '.result[$k][][$f]' <<<"$(resp "$1")"
}

count_out() {
	grep -cE -- "$1" "$OUT" || true
}

# Close stdin; corral exits 0 and wrote nothing but JSON.
finish() {
	stop_corral
	assert_equal "$STATUS" 0
	assert_stdout_json
}

# Every exposed name is valid for LLM APIs and no two are equal: $1 is
# the names, one per line.
assert_valid_names() {
	local bad
	bad="$(grep -vE '^[A-Za-z0-9_-]{1,64}$' <<<"$1" || true)"
	[ -z "$bad" ] || {
		echo "invalid exposed names: $bad" >&2
		return 1
	}
	bad="$(sort <<<"$1" | uniq -d)"
	[ -z "$bad" ] || {
		echo "exposed names used twice: $bad" >&2
		return 1
	}
}

# The lists a fake server gives when asked directly: direct SERVER METHOD
# KEY [ARGS...] prints .result[KEY] of its answer.
direct() {
	local srv="$1" method="$2" key="$3"
	shift 3
	printf '%s\n' \
	    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}' \
	    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
	    '{"jsonrpc":"2.0","id":1,"method":"'"$method"'"}' |
	    "$SRV/$srv" "$@" 2>/dev/null |
	    jq -c --arg k "$key" 'select(.id == 1) | .result[$k]'
}

# A small MCP server in bash, for what the fake servers do not do. It
# serves the tools in $BATS_TEST_TMPDIR/mini.tools (a JSON array, written
# by the test), a resource list mini://r/1..N that grows by one on tool
# "grow", announced by 10 notifications/resources/list_changed in one
# write; tool "same" sends the 10 without a change. Every other tool
# answers with its own name.
mini_server() {
	cat >"$BATS_TEST_TMPDIR/mini" <<'EOF'
#!/bin/bash
tools="$(dirname "$0")/mini.tools"
n=1
note='{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}'
burst="$(for i in 1 2 3 4 5 6 7 8 9 10; do printf '%s\n' "$note"; done)"
answer() {
	printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$id" "$1"
}
while IFS= read -r line; do
	read -r id method name < <(jq -r '[(.id | tojson), (.method // "-"),
	    (.params.name // "-")] | join(" ")' <<<"$line")
	case "$method" in
	initialize)
		answer '{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"resources":{"listChanged":true}},"serverInfo":{"name":"mini","version":"1"}}' ;;
	tools/list)
		answer "{\"tools\":$(cat "$tools")}" ;;
	resources/list)
		r=""
		for ((i = 1; i <= n; i++)); do
			r="$r${r:+,}{\"uri\":\"mini://r/$i\",\"name\":\"r$i\"}"
		done
		answer "{\"resources\":[$r]}" ;;
	resources/templates/list)
		answer '{"resourceTemplates":[]}' ;;
	tools/call)
		case "$name" in
		grow) n=$((n + 1)); printf '%s\n' "$burst" ;;
		same) printf '%s\n' "$burst" ;;
		esac
		answer "{\"content\":[{\"type\":\"text\",\"text\":\"$name\"}]}" ;;
	ping)
		answer '{}' ;;
	*)
		[ "$id" = null ] ||
		    printf '{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}\n' "$id" ;;
	esac
done
EOF
	chmod +x "$BATS_TEST_TMPDIR/mini"
	printf '%s\n' "${1:-[]}" >"$BATS_TEST_TMPDIR/mini.tools"
}

# --- names --------------------------------------------------------------------

# What core/catalog.c makes of the names server's tools: valid names stay,
# others get '_' for each bad character (one per UTF-8 sequence) and '_'
# plus 8 hex digits of FNV-1a 64 (folded to 32 bits) of "names__<name>";
# over-long ones are cut to 55 characters before the hash.
NAMES_TOOLS=(
	'a.b=names__a_b_580a5769'
	'a_b=names__a_b'
	'with space=names__with_space_300c5452'
	'tool/with/slash=names__tool_with_slash_eeb0a173'
	"n$(printf 'x%.0s' $(seq 63))=names__n$(printf 'x%.0s' $(seq 47))_319848b4"
	"$(printf 'y%.0s' $(seq 80))=names__$(printf 'y%.0s' $(seq 48))_dcf08853"
	"$(printf 'y%.0s' $(seq 79))z=names__$(printf 'y%.0s' $(seq 48))_dcf0bbaa"
	'ünïcode=names___n_code_28f2d817'
	'plain=names__plain'
)

@test "names: awkward tool names get exact, valid, distinct exposed names" {
	local pair want=""
	config_with names=names
	start_corral
	initialize
	ask 1 tools/list
	for pair in "${NAMES_TOOLS[@]}"; do
		want="$want${want:+$'\n'}${pair#*=}"
	done
	run -0 names 1 tools
	assert_output "$want"
	assert_valid_names "$output"
	# The duplicate "plain" is listed once, as the child listed it first.
	run -0 jq -c '[.result.tools[] | select(.name == "names__plain") | .description]' <<<"$(resp 1)"
	assert_output '["plain"]'
	finish
}

@test "names: each exposed name reaches the child with its original name" {
	local pair id=10
	config_with names=names
	start_corral
	initialize
	for pair in "${NAMES_TOOLS[@]}"; do
		call "$id" "${pair#*=}"
		run -0 result_text "$id"
		assert_output "${pair%%=*}"
		id=$((id + 1))
	done
	# A name that is only the sanitized form without its hash is unknown.
	call 30 names__with_space
	assert_equal "$(resp 30)" '{"jsonrpc":"2.0","id":30,"error":{"code":-32602,"message":"unknown tool: names__with_space"}}'
	call 31 'names__with space'
	assert_equal "$(resp 31)" '{"jsonrpc":"2.0","id":31,"error":{"code":-32602,"message":"unknown tool: names__with space"}}'
	finish
}

@test "names: prompts p.1 and p_1 stay distinct and reach the child by their own names" {
	config_with names=names
	start_corral
	initialize
	ask 1 prompts/list
	run -0 names 1 prompts
	assert_output $'names__p_1_01f23c73\nnames__p_1'
	assert_valid_names "$output"
	ask 2 prompts/get '{"name":"names__p_1_01f23c73"}'
	run -0 jq -r '.result.messages[0].content.text' <<<"$(resp 2)"
	assert_output p.1
	ask 3 prompts/get '{"name":"names__p_1"}'
	run -0 jq -r '.result.messages[0].content.text' <<<"$(resp 3)"
	assert_output p_1
	ask 4 prompts/get '{"name":"p.1"}'
	assert_equal "$(resp 4)" '{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"unknown prompt: p.1"}}'
	finish
}

# --- pagination ---------------------------------------------------------------

@test "pagination: every page of every kind is fetched and served as one list" {
	write_config <<EOF
{"mcpServers":{"pages":{"command":"$SRV/pages","env":{"FAKE_LOG":"$(flog pages)"}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	ask 2 prompts/list
	ask 3 resources/list
	ask 4 resources/templates/list
	run -0 names 1 tools
	assert_equal "$output" "$(printf 'pages__t%03d\n' $(seq 0 299))"
	assert_equal "${#lines[@]}" 300
	assert_equal "${lines[0]}" pages__t000
	assert_equal "${lines[299]}" pages__t299
	run -0 names 2 prompts
	assert_equal "$output" "$(printf 'pages__p%03d\n' $(seq 0 119))"
	run -0 names 3 resources uri
	assert_equal "$output" "$(printf 'pages://r/%03d\n' $(seq 0 119))"
	run -0 names 4 resourceTemplates uriTemplate
	assert_equal "$output" "$(printf 'pages://t/%03d/{x}\n' $(seq 0 59))"
	# One page only: no nextCursor toward the host.
	run -0 jq -c '[.result | has("nextCursor")]' <<<"$(resp 1)"
	assert_output '[false]'
	# corral followed the child's cursors, each once.
	run -0 jq -r 'select(.method == "tools/list") | .params.cursor // "-"' "$(flog pages)"
	assert_output "$(printf '%s\n' - c50 c100 c150 c200 c250)"
	call 5 pages__t299
	run -0 result_text 5
	assert_output t299
	finish
}

@test "pagination: a list request with a cursor gets -32602 invalid cursor" {
	local m id=1
	config_with pages=pages
	start_corral
	initialize
	for m in tools/list prompts/list resources/list resources/templates/list; do
		ask "$id" "$m" '{"cursor":"c50"}'
		assert_equal "$(resp "$id")" '{"jsonrpc":"2.0","id":'"$id"',"error":{"code":-32602,"message":"invalid cursor"}}'
		id=$((id + 1))
	done
	ask 5 tools/list '{"cursor":""}'
	assert_equal "$(resp 5)" '{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"invalid cursor"}}'
	ask 6 tools/list '{"cursor":7}'
	assert_equal "$(resp 6)" '{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"invalid cursor"}}'
	# No cursor, or null, is the first (and only) page.
	ask 7 tools/list '{"cursor":null}'
	run -0 jq '.result.tools | length' <<<"$(resp 7)"
	assert_output 300
	finish
}

# --- merging ------------------------------------------------------------------

@test "merged lists follow config order, not readiness or alias order" {
	write_config <<EOF
{"mcpServers":{
 "zz":{"command":"$SRV/echo","args":["--delay-init","300"]},
 "mm":{"command":"$SRV/names"},
 "aa":{"command":"$SRV/pages"}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	ask 2 prompts/list
	ask 3 resources/list
	ask 4 resources/templates/list
	assert_equal "$(names 1 tools | sed 's/__.*//' | uniq)" $'zz\nmm\naa'
	assert_equal "$(names 2 prompts | sed 's/__.*//' | uniq)" $'zz\nmm\naa'
	run -0 names 1 tools
	assert_equal "${lines[0]}" zz__echo
	assert_equal "${#lines[@]}" $((13 + 9 + 300))
	run -0 names 3 resources uri
	assert_equal "${lines[0]}" echo://static/hello
	assert_equal "${lines[1]}" pages://r/000
	assert_equal "${#lines[@]}" 121
	run -0 names 4 resourceTemplates uriTemplate
	assert_equal "${lines[0]}" 'echo://item/{id}'
	assert_equal "${lines[1]}" 'pages://t/000/{x}'
	finish
}

@test "the same tool name from two servers: a__echo and b__echo, each call to its own child" {
	write_config <<EOF
{"mcpServers":{
 "a":{"command":"$SRV/echo","env":{"WHO":"server a","FAKE_LOG":"$(flog a)"}},
 "b":{"command":"$SRV/echo","env":{"WHO":"server b","FAKE_LOG":"$(flog b)"}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_line a__echo
	assert_line b__echo
	assert_valid_names "$output"
	call 2 a__env '{"name":"WHO"}'
	run -0 result_text 2
	assert_output 'server a'
	call 3 b__env '{"name":"WHO"}'
	run -0 result_text 3
	assert_output 'server b'
	call 4 b__echo '{"text":"to b"}'
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog a)"
	assert_output env
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog b)"
	assert_output $'env\necho'
	# Prompts too.
	ask 5 prompts/list
	run -0 names 5 prompts
	assert_output $'a__greet\nb__greet'
	ask 6 prompts/get '{"name":"b__greet","arguments":{"name":"x"}}'
	run -0 jq -r 'select(.method == "prompts/get") | .params.name' "$(flog b)"
	assert_output greet
	run -0 jq -r 'select(.method == "prompts/get") | .params.name' "$(flog a)"
	assert_output ''
	finish
}

@test "a prefix overrides the alias; an empty prefix exposes the bare names" {
	write_config <<EOF
{"mcpServers":{
 "long-alias":{"command":"$SRV/echo","prefix":"p","env":{"FAKE_LOG":"$(flog long)"}},
 "bare":{"command":"$SRV/echo","prefix":"","args":["--no-prompts","--no-resources"],"env":{"FAKE_LOG":"$(flog bare)"}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_equal "${lines[0]}" p__echo
	assert_line p__add
	assert_line echo
	assert_line add
	refute_line --regexp '^long-alias'
	refute_line --regexp '^bare'
	assert_valid_names "$output"
	call 2 echo '{"text":"bare one"}'
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"bare one"}]}}'
	call 3 p__echo '{"text":"prefixed"}'
	assert_equal "$(resp 3)" '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"prefixed"}]}}'
	run -0 jq -r 'select(.method == "tools/call") | .params.arguments.text' "$(flog bare)"
	assert_output 'bare one'
	run -0 jq -r 'select(.method == "tools/call") | .params.arguments.text' "$(flog long)"
	assert_output prefixed
	ask 4 prompts/list
	run -0 names 4 prompts
	assert_output p__greet
	call 5 long-alias__echo '{"text":"x"}'
	assert_equal "$(resp 5)" '{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"unknown tool: long-alias__echo"}}'
	finish
}

@test "naming.separator replaces __" {
	write_config <<EOF
{"mcpServers":{"e":{"command":"$SRV/echo"}},"corral":{"naming":{"separator":"-"}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_equal "${lines[0]}" e-echo
	refute_line --regexp '__'
	call 2 e-echo '{"text":"sep"}'
	run -0 result_text 2
	assert_output sep
	finish
}

@test "an alias containing the separator cannot take another server's name" {
	write_config <<EOF
{"mcpServers":{
 "x__y":{"command":"$SRV/echo","args":["--no-prompts","--no-resources","--extra-tool","z"],"env":{"FAKE_LOG":"$(flog xy)"}},
 "x":{"command":"$SRV/echo","args":["--no-prompts","--no-resources","--extra-tool","y__z"],"env":{"FAKE_LOG":"$(flog x)"}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_valid_names "$output"
	# Both make "x__y__z": the first in config order keeps it, the other
	# gets a name of its own (hash of "x\x1fy__z").
	assert_line x__y__z
	assert_line x_y__z_34f21181
	assert_equal "${#lines[@]}" 28
	call 2 x__y__z
	run -0 result_text 2
	assert_output z
	call 3 x_y__z_34f21181
	run -0 result_text 3
	assert_output y__z
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog xy)"
	assert_output z
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog x)"
	assert_output y__z
	finish
}

@test "tools.allow and tools.deny filter the list and the calls" {
	write_config <<EOF
{"mcpServers":{
 "e":{"command":"$SRV/echo","tools":{"allow":["e*","add"],"deny":["env"]},"env":{"FAKE_LOG":"$(flog e)"}},
 "d":{"command":"$SRV/echo","tools":{"deny":["*e*"]}},
 "n":{"command":"$SRV/echo","tools":{"allow":["nothing"]}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_output "$(printf '%s\n' e__echo e__add e__exit d__add d__fail d__slow d__big d__cwd d__links)"
	call 2 e__env '{"name":"PATH"}'
	assert_equal "$(resp 2)" '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"unknown tool: e__env"}}'
	call 3 e__fail
	assert_equal "$(resp 3)" '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"unknown tool: e__fail"}}'
	call 4 e__add '{"a":2,"b":3}'
	run -0 result_text 4
	assert_output 5
	run -0 jq -r 'select(.method == "tools/call") | .params.name' "$(flog e)"
	assert_output add
	# Prompts and resources are not filtered by tools.*.
	ask 5 prompts/list
	run -0 names 5 prompts
	assert_output $'e__greet\nd__greet\nn__greet'
	finish
}

# --- fields -------------------------------------------------------------------

@test "every field but name passes untouched: echo's lists against its own answers" {
	local want got
	config_with echo=echo
	start_corral
	initialize
	ask 1 tools/list
	ask 2 prompts/list
	ask 3 resources/list
	ask 4 resources/templates/list
	want="$(direct echo tools/list tools)"
	[ -n "$want" ] && [ "$want" != null ]
	run -0 jq -c '[.result.tools[] | del(.name)]' <<<"$(resp 1)"
	assert_output "$(jq -c '[.[] | del(.name)]' <<<"$want")"
	run -0 jq -c '[.result.tools[].name]' <<<"$(resp 1)"
	assert_output "$(jq -c '[.[].name | "echo__" + .]' <<<"$want")"
	want="$(direct echo prompts/list prompts)"
	run -0 jq -c '[.result.prompts[] | del(.name)]' <<<"$(resp 2)"
	assert_output "$(jq -c '[.[] | del(.name)]' <<<"$want")"
	# Resources and templates keep everything, URIs included.
	run -0 jq -c '.result.resources' <<<"$(resp 3)"
	assert_output "$(direct echo resources/list resources)"
	run -0 jq -c '.result.resourceTemplates' <<<"$(resp 4)"
	assert_output "$(direct echo resources/templates/list resourceTemplates)"
	finish
}

@test "every field but name passes untouched: title, annotations, icons, execution, _meta, unknown ones" {
	local tool='{"name":"rich","title":"Rich tool","description":"All the fields: é \"q\" \\ <b>","inputSchema":{"type":"object","properties":{"n":{"type":"integer","minimum":-3,"maximum":1000000}},"required":["n"],"additionalProperties":false},"outputSchema":{"type":"object","properties":{"ok":{"type":"boolean"}}},"annotations":{"title":"Rich","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false},"icons":[{"src":"https://example.com/i.png","mimeType":"image/png","sizes":["48x48"]}],"execution":{"taskSupport":"optional"},"_meta":{"x/y":[1,2.5,-0.001,null,true,"s"],"nested":{"a":{"b":[]}}},"x-unknown":{"kept":1}}'
	mini_server "[$tool]"
	write_config <<EOF
{"mcpServers":{"mini":{"command":"$BATS_TEST_TMPDIR/mini"}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	# Byte for byte, with only the name changed in place.
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"result":{"tools":['"${tool/\"name\":\"rich\"/\"name\":\"mini__rich\"}"']}}'
	finish
}

@test "integers beyond 15 digits in a tool definition keep their exact value" {
	# 2^53-1 is what zod and other JSON Schema generators put in
	# "maximum" for integers; both values are exact as doubles.
	local tool='{"name":"int","inputSchema":{"type":"object","properties":{"n":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}}},"_meta":{"big":4503599627370497}}'
	mini_server "[$tool]"
	write_config <<EOF
{"mcpServers":{"mini":{"command":"$BATS_TEST_TMPDIR/mini"}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"result":{"tools":['"${tool/\"name\":\"int\"/\"name\":\"mini__int\"}"']}}'
	finish
}

# --- list_changed -------------------------------------------------------------

@test "list_changed: a burst of 50 gives the host one notification and the new tool" {
	write_config <<EOF
{"mcpServers":{"burst":{"command":"$SRV/burst","env":{"FAKE_LOG":"$(flog burst)"}}}}
EOF
	start_corral
	initialize
	ask 1 tools/list
	run -0 names 1 tools
	assert_output $'burst__base\nburst__change\nburst__nochange'
	call 2 burst__change '{"n":50}'
	wait_for '"method":"notifications/tools/list_changed"'
	sleep 0.3	# any further notification would come now
	assert_equal "$(count_out 'list_changed')" 1
	assert_equal "$(grep -cFx '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}' "$OUT")" 1
	ask 3 tools/list
	run -0 names 3 tools
	assert_output $'burst__base\nburst__change\nburst__nochange\nburst__extra1'
	call 4 burst__extra1
	run -0 result_text 4
	assert_output extra1
	# The burst was fetched again once: at start, and after the burst.
	run -0 jq -r 'select(.method == "tools/list") | .method' "$(flog burst)"
	assert_equal "${#lines[@]}" 2
	finish
}

@test "list_changed: a burst that changes nothing gives the host no notification" {
	write_config <<EOF
{"mcpServers":{"burst":{"command":"$SRV/burst","env":{"FAKE_LOG":"$(flog burst)"}}}}
EOF
	start_corral
	initialize
	call 1 burst__nochange '{"n":20}'
	# corral re-fetched the list (once) and found it unchanged.
	wait_for '"id":1,'
	i=0
	while [ "$(jq -r 'select(.method == "tools/list") | .method' "$(flog burst)" | wc -l)" -lt 2 ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 100 ] || fail "corral did not fetch the list again"
	done
	sleep 0.3	# a notification would come now
	ask 2 ping
	assert_equal "$(count_out 'list_changed')" 0
	run -0 jq -r 'select(.method == "tools/list") | .method' "$(flog burst)"
	assert_equal "${#lines[@]}" 2
	finish
}

@test "list_changed: resources bursts give one notifications/resources/list_changed, or none" {
	mini_server '[{"name":"grow","inputSchema":{"type":"object"}},{"name":"same","inputSchema":{"type":"object"}}]'
	write_config <<EOF
{"mcpServers":{"mini":{"command":"$BATS_TEST_TMPDIR/mini"}}}
EOF
	start_corral
	initialize
	ask 1 resources/list
	run -0 names 1 resources uri
	assert_output mini://r/1
	call 2 mini__grow
	wait_for 'notifications/resources/list_changed'
	sleep 0.3	# any further notification would come now
	assert_equal "$(count_out 'list_changed')" 1
	assert_equal "$(grep -cFx '{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}' "$OUT")" 1
	ask 3 resources/list
	run -0 names 3 resources uri
	assert_output $'mini://r/1\nmini://r/2'
	call 4 mini__same
	sleep 0.3	# a notification would come now
	ask 5 ping
	assert_equal "$(count_out 'list_changed')" 1
	finish
}

# --- resources ----------------------------------------------------------------

@test "the same resource URI from two servers: the first in config order wins, the clash is logged" {
	write_config <<EOF
{"mcpServers":{
 "zz":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog zz)"}},
 "aa":{"command":"$SRV/echo","env":{"FAKE_LOG":"$(flog aa)"}}}}
EOF
	start_corral
	initialize
	ask 1 resources/list
	assert_equal "$(resp 1)" '{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"echo://static/hello","name":"hello","mimeType":"text/plain"}]}}'
	ask 2 resources/templates/list
	run -0 names 2 resourceTemplates uriTemplate
	assert_output 'echo://item/{id}'
	wait_err 'echo://static/hello is listed by more than one server; the first wins'
	ask 3 resources/read '{"uri":"echo://static/hello"}'
	assert_equal "$(resp 3)" '{"jsonrpc":"2.0","id":3,"result":{"contents":[{"uri":"echo://static/hello","mimeType":"text/plain","text":"hello"}]}}'
	ask 4 resources/read '{"uri":"echo://item/7"}'
	run -0 jq -r 'select(.method == "resources/read") | .params.uri' "$(flog zz)"
	assert_output $'echo://static/hello\necho://item/7'
	run -0 jq -r 'select(.method == "resources/read") | .params.uri' "$(flog aa)"
	assert_output ''
	finish
}
