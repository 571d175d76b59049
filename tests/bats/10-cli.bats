#!/usr/bin/env bats
# corral tools, corral call, and the command line itself.

load helpers

# helpers.bash's config_with writes the config from inside a pipeline, whose
# subshell cannot set CONF for the test: set it here.
servers() {
	config_with "$@"
	CONF="$BATS_TEST_TMPDIR/c.json"
}

VERSION="$(sed -n 's/^#define CORRAL_VERSION "\(.*\)"$/\1/p' \
    "$BATS_TEST_DIRNAME/../../core/version.h")"

USAGE_LINES=(
	"usage: corral command [options]"
	"       corral serve [-c file]"
	"       corral tools [-c file] [--json]"
	"       corral call [-c file] [--json] name [json | key=value ...]"
	"       corral run [--net none|full|host[:port]]... [--ro path]... [--rw path]... [--env name[=value]]... [--home private|ephemeral] [--name alias] -- command [arg ...]"
	"       corral status [--json] [--pid pid]"
	"       corral doctor [-c file]"
	"       corral pins list [--json]"
	"       corral pins diff [-c file] [name]"
	"       corral pins accept [-c file] name | --all"
	"       corral login [-c file] [--no-browser] [--timeout seconds] alias"
	"       corral logout alias"
	"       corral consent list [--json]"
	"       corral consent revoke name | --all"
	"       corral audit verify [-c file] [--key file] [--file path | file ...]"
	"       corral audit tail [-c file] [-f] [-n count] [--json] [--file path]"
	"       corral audit stats [-c file] [--since duration] [--json] [--file path]"
	"       corral import [-c file] [--from claude|cursor|vscode|claude-code|file] [--write]"
	"       corral export [-c file] [--for claude|cursor|vscode|claude-code]"
	"       corral --version"
)

# Assert that $stderr (from run --separate-stderr) is exactly the usage.
assert_usage_on_stderr() {
	local want
	want="$(printf '%s\n' "${USAGE_LINES[@]}")"
	[ "$stderr" = "$want" ] || {
		printf 'stderr is not the usage:\n%s\n' "$stderr" >&2
		return 1
	}
}

# Fail, showing stderr, unless $stderr has the exact line $1.
assert_stderr_line() {
	grep -qxF -- "$1" <<<"$stderr" && return 0
	printf 'no line "%s" in stderr:\n%s\n' "$1" "$stderr" >&2
	return 1
}

# A config with echo whose every received line is logged to $FLOG.
config_echo_logged() {
	FLOG="$BATS_TEST_TMPDIR/echo.log"
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","env":{"FAKE_LOG":"$FLOG"}}}}
EOF
}

# The arguments of the last tools/call echo received, compact JSON.
last_call_args() {
	grep '"tools/call"' "$FLOG" | tail -n 1 | jq -c .params.arguments
}

# A tiny MCP server in bash (for tool descriptions no fake server has):
# "two" has a two-line description, "long" one of 109 bytes with a
# two-byte UTF-8 character across the 72-byte cut.
write_desc_server() {
	DESC_SRV="$BATS_TEST_TMPDIR/desc-server"
	cat >"$DESC_SRV" <<'EOF'
#!/bin/bash
long="$(printf 'a%.0s' {1..68})é$(printf 'b%.0s' {1..39})"
while IFS= read -r line; do
	id="$(jq -c '.id // empty' <<<"$line")"
	[ -n "$id" ] || continue
	case "$(jq -r .method <<<"$line")" in
	initialize)
		r='{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"desc","version":"1"}}' ;;
	tools/list)
		r='{"tools":[{"name":"two","description":"first line\nsecond line","inputSchema":{"type":"object"}},{"name":"long","description":"'"$long"'","inputSchema":{"type":"object"}}]}' ;;
	*)
		printf '{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no"}}\n' "$id"
		continue ;;
	esac
	printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$id" "$r"
done
EOF
	chmod 755 "$DESC_SRV"
}

# --- the command line ------------------------------------------------------

@test "--version prints the version and exits 0" {
	[ -n "$VERSION" ]
	run -0 --separate-stderr corral_q --version
	assert_output "corral $VERSION"
	no_stderr
}

@test "version is a synonym of --version" {
	run -0 --separate-stderr corral_q version
	assert_output "corral $VERSION"
}

@test "no arguments: usage on stderr, nothing on stdout, exit 2" {
	run -2 --separate-stderr corral_q
	assert_output ""
	assert_usage_on_stderr
}

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr corral_q --help
	assert_output "$(printf '%s\n' "${USAGE_LINES[@]}")"
	no_stderr
}

@test "an unknown command is named, followed by the usage, exit 2" {
	run -2 --separate-stderr corral_q frobnicate
	assert_output ""
	[ "${stderr_lines[0]}" = "corral: unknown command: frobnicate" ]
	stderr="$(printf '%s\n' "${stderr_lines[@]:1}")"
	assert_usage_on_stderr
}

@test "tools: an operand or an unknown option is a usage error, exit 2" {
	servers echo
	run -2 --separate-stderr corral_q tools -c "$CONF" extra
	assert_output ""
	[ "$stderr" = "usage: corral tools [-c file] [--json]" ]
	run -2 --separate-stderr corral_q tools --bogus -c "$CONF"
	assert_output ""
	[ "${stderr_lines[-1]}" = "usage: corral tools [-c file] [--json]" ]
}

@test "call: no tool name or an unknown option is a usage error, exit 2" {
	servers echo
	run -2 --separate-stderr corral_q call -c "$CONF"
	assert_output ""
	[ "$stderr" = "usage: corral call [-c file] [--json] name [json | key=value ...]" ]
	run -2 --separate-stderr corral_q call --bogus -c "$CONF" echo__echo
	assert_output ""
	[ "${stderr_lines[-1]}" = "usage: corral call [-c file] [--json] name [json | key=value ...]" ]
}

@test "call: options after the tool name are arguments, not options" {
	servers echo
	run -2 --separate-stderr corral_q call -c "$CONF" echo__echo --json
	assert_output ""
	[ "$stderr" = "corral: --json: arguments are key=value or one JSON object" ]
}

@test "-j and --config=FILE are accepted" {
	servers echo
	run -0 --separate-stderr corral_q call --config="$CONF" -j echo__echo text=hi
	assert_output '{"content":[{"type":"text","text":"hi"}]}'
	run -0 --separate-stderr corral_q tools --config="$CONF" -j
	run -0 jq length <<<"$output"
	assert_output 13
}

@test "serve: an operand is a usage error, exit 2" {
	servers echo
	run -2 --separate-stderr corral_q serve -c "$CONF" extra </dev/null
	assert_output ""
	[ "$stderr" = "usage: corral serve [-c file]" ]
}

# --- corral tools ------------------------------------------------------------

@test "tools: both servers' tools in one table, names aligned" {
	servers echo pages
	run -0 --separate-stderr corral_q tools -c "$CONF"
	no_stderr
	# 13 echo tools and 300 pages tools (six pages of 50, all fetched).
	[ "${#lines[@]}" -eq 313 ]
	# The widest name is echo__lateprogress (18): descriptions at column 21.
	assert_line --index 0 "echo__echo          Echo the text back"
	assert_line --index 1 "echo__add           Add two numbers"
	assert_line --index 12 "echo__lateprogress  Send progress after the result"
	assert_line --index 13 "pages__t000         tool 0"
	assert_line --index 312 "pages__t299         tool 299"
	# Every line: the name padded to 18, two spaces, the description.
	run -0 awk 'substr($0, 19, 2) != "  " || substr($0, 21, 1) == " " ||
	    substr($0, 21) == "" { print NR ": " $0; bad = 1 } END { exit bad }' \
	    <<<"$output"
}

@test "tools: only the first line of a description, cut at 72 bytes on a character boundary" {
	write_desc_server
	write_config <<EOF
{"mcpServers":{"d":{"command":"$DESC_SRV"}}}
EOF
	run -0 --separate-stderr corral_q tools -c "$CONF"
	no_stderr
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 "d__two   first line"
	assert_line --index 1 "d__long  $(printf 'a%.0s' {1..68})..."
}

@test "tools --json: a JSON array of every tool, definitions passed through" {
	servers echo pages
	run -0 --separate-stderr corral_q tools -c "$CONF" --json
	no_stderr
	[ "${#lines[@]}" -eq 1 ]
	run -0 jq -r 'type, length, .[0].name, .[1].outputSchema.required[0],
	    .[13].name, .[13].inputSchema.type' <<<"$output"
	assert_output "$(printf '%s\n' array 313 echo__echo sum pages__t000 object)"
}

@test "tools: no servers at all says so on stderr, exit 0" {
	write_config <<<'{"mcpServers":{}}'
	run -0 --separate-stderr corral_q tools -c "$CONF"
	assert_output ""
	[ "$stderr" = "corral: no tools" ]
	run -0 --separate-stderr corral_q tools -c "$CONF" --json
	assert_output "[]"
}

@test "tools: a server dying at initialize does not hide the healthy one, and stderr says why" {
	servers echo bad=initexit
	run -0 --separate-stderr corral_q tools -c "$CONF"
	[ "${#lines[@]}" -eq 13 ]
	assert_line --index 0 "echo__echo          Echo the text back"
	refute_output --partial "bad__"
	# Why: its exit status and the tail of its stderr.
	assert_stderr_line "corral: [bad] exited with status 3"
	assert_stderr_line "corral: [bad] | initexit: dying during init"
	# The tail is shown once, when the child exits.
	[ "$(grep -cxF "corral: [bad] | initexit: dying during init" <<<"$stderr")" -eq 1 ]
}

@test "tools: a server whose command does not exist is reported, the other still listed" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo"},"gone":{"command":"$BATS_TEST_TMPDIR/no-such-server"}}}
EOF
	run -0 --separate-stderr corral_q tools -c "$CONF"
	[ "${#lines[@]}" -eq 13 ]
	assert_stderr_line "corral: [gone] cannot start: $BATS_TEST_TMPDIR/no-such-server: command not found"
}

@test "tools: a config error exits 1 with the message and prints nothing" {
	write_config <<<'{"mcpServers":{},"bogus":true}'
	run -1 --separate-stderr corral_q tools -c "$CONF"
	assert_output ""
	[ "$stderr" = "corral: $CONF: (top level): unknown key \"bogus\"" ]
}

@test "tools: a missing config file exits 1 and names it" {
	run -1 --separate-stderr corral_q tools -c "$BATS_TEST_TMPDIR/none.json"
	assert_output ""
	[ "$stderr" = "corral: $BATS_TEST_TMPDIR/none.json: No such file or directory" ]
}

# --- corral call -------------------------------------------------------------

@test "call: the text of the result on stdout, exit 0" {
	servers echo
	run -0 --separate-stderr corral_q call -c "$CONF" echo__echo text=hi
	assert_output "hi"
	no_stderr
}

@test "call: key=value is typed by the input schema (numbers for add)" {
	config_echo_logged
	run -0 --separate-stderr corral_q call -c "$CONF" echo__add a=2 b=3
	assert_output "5"
	[ "$(last_call_args)" = '{"a":2,"b":3}' ]
}

@test "call: a string-typed property keeps a numeric-looking value as a string" {
	config_echo_logged
	run -0 --separate-stderr corral_q call -c "$CONF" echo__echo text=123
	assert_output "123"
	[ "$(last_call_args)" = '{"text":"123"}' ]
	run -0 --separate-stderr corral_q call -c "$CONF" echo__echo 'text={"a":1}'
	assert_output '{"a":1}'
	[ "$(last_call_args)" = '{"text":"{\"a\":1}"}' ]
}

@test "call: properties the schema does not type are JSON when they parse, else strings" {
	config_echo_logged
	run -0 --separate-stderr corral_q call -c "$CONF" echo__meta n=1 t=true s=abc o='{"k":[1]}'
	[ "$(last_call_args)" = '{"n":1,"t":true,"s":"abc","o":{"k":[1]}}' ]
}

@test "call: a repeated key keeps the last value" {
	config_echo_logged
	run -0 --separate-stderr corral_q call -c "$CONF" echo__add a=1 a=2 b=1
	assert_output "3"
	[ "$(last_call_args)" = '{"a":2,"b":1}' ]
}

@test "call: one JSON object as the arguments" {
	config_echo_logged
	run -0 --separate-stderr corral_q call -c "$CONF" echo__add '{"a":1,"b":2.5}'
	assert_output "3.5"
	[ "$(last_call_args)" = '{"a":1,"b":2.5}' ]
}

@test "call: a broken JSON object is refused with exit 2, nothing sent" {
	config_echo_logged
	run -2 --separate-stderr corral_q call -c "$CONF" echo__add '{"a":1'
	assert_output ""
	[ "$stderr" = "corral: arguments: not a JSON object" ]
	run -1 grep -c '"tools/call"' "$FLOG"
}

@test "call: an argument without '=' (or with an empty key) is a usage error, exit 2" {
	config_echo_logged
	run -2 --separate-stderr corral_q call -c "$CONF" echo__echo hi
	assert_output ""
	[ "$stderr" = "corral: hi: arguments are key=value or one JSON object" ]
	run -2 --separate-stderr corral_q call -c "$CONF" echo__echo =hi
	assert_output ""
	[ "$stderr" = "corral: =hi: arguments are key=value or one JSON object" ]
	run -1 grep -c '"tools/call"' "$FLOG"
}

@test "call: a non-number for a number-typed property is refused with exit 2" {
	config_echo_logged
	run -2 --separate-stderr corral_q call -c "$CONF" echo__add a=two b=3
	assert_output ""
	[ "$stderr" = "corral: a: expected a number" ]
	run -2 --separate-stderr corral_q call -c "$CONF" echo__exit code=x
	assert_output ""
	[ "$stderr" = "corral: code: expected an integer" ]
	run -1 grep -c '"tools/call"' "$FLOG"
}

@test "call: a tool error (isError) prints the content, says so on stderr, exit 1" {
	servers echo
	run -1 --separate-stderr corral_q call -c "$CONF" echo__fail
	assert_output "failed as asked"
	[ "$stderr" = "corral: echo__fail reported an error" ]
}

@test "call: a JSON-RPC error goes to stderr with its code, nothing on stdout, exit 1" {
	servers echo
	run -1 --separate-stderr corral_q call -c "$CONF" echo__rpcerror
	assert_output ""
	[ "$stderr" = "corral: echo__rpcerror: rpcerror as asked (-32000)" ]
}

@test "call: an unknown tool is named, exit 1, nothing on stdout" {
	config_echo_logged
	run -1 --separate-stderr corral_q call -c "$CONF" echo__nope x=1
	assert_output ""
	[ "$stderr" = "corral: echo__nope: unknown tool: echo__nope (-32602)" ]
	run -1 grep -c '"tools/call"' "$FLOG"
}

@test "call: a server dying mid-call is an error naming it, with its stderr tail, exit 1" {
	servers echo
	run -1 --separate-stderr corral_q call -c "$CONF" echo__exit code=3
	assert_output ""
	assert_stderr_line "corral: echo__exit: server echo exited with status 3 (-32000)"
	assert_stderr_line "corral: [echo] | echo: started"
	# The tail is shown once (when the child exits), not again with the error.
	[ "$(grep -cxF "corral: [echo] | echo: started" <<<"$stderr")" -eq 1 ]
}

@test "call --json: the result as one line of JSON" {
	servers echo
	run -0 --separate-stderr corral_q call -c "$CONF" --json echo__echo text=hi
	assert_output '{"content":[{"type":"text","text":"hi"}]}'
	no_stderr
	run -0 --separate-stderr corral_q call --json -c "$CONF" echo__add a=2 b=3
	run -0 jq -c .structuredContent <<<"$output"
	assert_output '{"sum":5}'
}

@test "call --json: an isError result is printed and exits 1" {
	servers echo
	run -1 --separate-stderr corral_q call -c "$CONF" --json echo__fail
	assert_output '{"content":[{"type":"text","text":"failed as asked"}],"isError":true}'
	[ "$stderr" = "corral: echo__fail reported an error" ]
}

@test "call --json: a JSON-RPC error prints the error response, exit 1" {
	servers echo
	run -1 --separate-stderr corral_q call -c "$CONF" --json echo__rpcerror
	run -0 jq -r '.error.code, .error.message, has("result")' <<<"$output"
	assert_output "$(printf '%s\n' -32000 "rpcerror as asked" false)"
}

@test "call: links, images and embedded resources are shown for a person" {
	servers echo
	run -0 --separate-stderr corral_q call -c "$CONF" echo__links
	assert_output "$(printf '%s\n' \
	    "[resource link: echo://hidden/1]" \
	    "[image: image/png, 8 bytes of base64]" \
	    "[resource: echo://static/hello]" \
	    "hello")"
	no_stderr
}

@test "call: a config error exits 1 with the message, nothing on stdout" {
	write_config <<EOF
{"mcpServers":{"echo":{"command":"$SRV/echo","bogus":1}}}
EOF
	run -1 --separate-stderr corral_q call -c "$CONF" echo__echo text=hi
	assert_output ""
	[ "$stderr" = "corral: $CONF: mcpServers.echo: unknown key \"bogus\"" ]
}

@test "call: the tool of a healthy server works while another fails to start" {
	servers bad=initexit echo
	run -0 --separate-stderr corral_q call -c "$CONF" echo__echo text=still
	assert_output "still"
	assert_stderr_line "corral: [bad] exited with status 3"
}
