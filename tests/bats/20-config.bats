#!/usr/bin/env bats
# The configuration file: validation, where it is found, and what it does to
# the children (names, filters, environment, working directory).

load helpers

# helpers.bash's config_with writes the config from inside a pipeline, whose
# subshell cannot set CONF for the test: set it here.
servers() {
	config_with "$@"
	CONF="$BATS_TEST_TMPDIR/c.json"
}

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


# The config text $1 is refused by `corral tools`: exit 1, nothing on
# stdout, and stderr exactly "corral: $CONF: $2".
refused() {
	write_config < <(printf '%s' "$1")
	run -1 --separate-stderr corral_q tools -c "$CONF"
	assert_output ""
	[ "$stderr" = "corral: $CONF: $2" ] || {
		printf 'config: %s\nwanted: %s\ngot:    %s\n' "$1" \
		    "corral: $CONF: $2" "$stderr" >&2
		return 1
	}
}

# A server entry for echo with extra members $1 (JSON text, may be empty).
echo_entry() {
	printf '{"command":"%s/echo"%s}' "$SRV" "${1:+,$1}"
}

# Fail, showing stderr, unless $stderr has the exact line $1.
assert_stderr_line() {
	grep -qxF -- "$1" <<<"$stderr" && return 0
	printf 'no line "%s" in stderr:\n%s\n' "$1" "$stderr" >&2
	return 1
}

# The exposed tool names of `corral tools --json`, one per line.
tool_names() {
	run -0 --separate-stderr corral_q tools -c "${1:-$CONF}" --json
	jq -r '.[].name' <<<"$output"
}

# --- validation: each error names its key path ------------------------------

@test "an unknown top-level key is refused" {
	refused '{"mcpServers":{},"mcpservers":{}}' \
	    '(top level): unknown key "mcpservers"'
}

@test "a top level that is not an object is refused" {
	refused '[]' '(top level): expected an object, got an array'
}

@test "\$schema at the top level is accepted and ignored" {
	write_config <<<'{"$schema":"https://example.com/s.json","mcpServers":{}}'
	run -0 --separate-stderr corral_q tools -c "$CONF"
	[ "$stderr" = "corral: no tools" ]
}

@test "an unknown server key is refused with its path" {
	refused '{"mcpServers":{"notes":'"$(echo_entry '"cwdir":"/tmp"')"'}}' \
	    'mcpServers.notes: unknown key "cwdir"'
}

@test "an unknown key under the VS Code servers key names that path" {
	refused '{"servers":{"notes":'"$(echo_entry '"inputs":[]')"'}}' \
	    'servers.notes: unknown key "inputs"'
}

@test "a key given twice in one object is refused" {
	refused '{"mcpServers":{"a":{"command":"x","command":"y"}}}' \
	    'mcpServers.a: duplicate key "command"'
}

@test "an alias defined under both mcpServers and servers is refused" {
	refused '{"mcpServers":{"a":'"$(echo_entry)"'},"servers":{"a":'"$(echo_entry)"'}}' \
	    'servers: server "a" is defined twice'
}

@test "an alias with a slash is refused" {
	refused '{"mcpServers":{"a/b":'"$(echo_entry)"'}}' \
	    "mcpServers.a/b: server names must be 1 to 64 characters without '/' or control characters"
}

@test "values of the wrong type name the key, the wanted and the given type" {
	refused '{"mcpServers":[]}' 'mcpServers: expected an object, got an array'
	refused '{"mcpServers":{"a":"echo"}}' 'mcpServers.a: expected an object, got a string'
	refused '{"mcpServers":{"a":{"command":7}}}' 'mcpServers.a.command: expected a string, got a number'
	refused '{"mcpServers":{"a":'"$(echo_entry '"args":"--x"')"'}}' \
	    'mcpServers.a.args: expected an array of strings, got a string'
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"X":1}')"'}}' \
	    'mcpServers.a.env.X: expected a string, got a number'
	refused '{"mcpServers":{"a":'"$(echo_entry '"disabled":"yes"')"'}}' \
	    'mcpServers.a.disabled: expected a boolean, got a string'
	refused '{"mcpServers":{"a":'"$(echo_entry '"tools":{"allow":"echo"}')"'}}' \
	    'mcpServers.a.tools.allow: expected an array of strings, got a string'
	refused '{"mcpServers":{"a":'"$(echo_entry '"timeouts":{"call":"5"}')"'}}' \
	    'mcpServers.a.timeouts.call: expected a number of seconds, got a string'
	refused '{"mcpServers":{},"corral":{"naming":{"separator":null}}}' \
	    'corral.naming.separator: expected a string, got null'
}

@test "a server without a command, or with an empty one, is refused" {
	refused '{"mcpServers":{"a":{"args":[]}}}' 'mcpServers.a: missing "command"'
	refused '{"mcpServers":{"a":{"command":""}}}' 'mcpServers.a.command: must not be empty'
}

@test "an args element that is not a string is refused with its index" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"args":["--name","x",3]')"'}}' \
	    'mcpServers.a.args[2]: expected a string, got a number'
}

@test "a bad prefix is refused" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"prefix":"a.b"')"'}}' \
	    'mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -'
	refused '{"mcpServers":{"a":'"$(echo_entry '"prefix":"'"$(printf 'p%.0s' {1..49})"'"')"'}}' \
	    'mcpServers.a.prefix: must be empty or 1 to 48 of A-Z a-z 0-9 _ -'
}

@test "a bad separator is refused" {
	local e='corral.naming.separator: must be 1 to 8 of A-Z a-z 0-9 _ -'
	refused '{"mcpServers":{},"corral":{"naming":{"separator":"."}}}' "$e"
	refused '{"mcpServers":{},"corral":{"naming":{"separator":""}}}' "$e"
	refused '{"mcpServers":{},"corral":{"naming":{"separator":"123456789"}}}' "$e"
}

@test "timeouts.call_max less than timeouts.call is refused; a call above the default cap raises it" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"timeouts":{"call":10,"call_max":5}')"'}}' \
	    'mcpServers.a.timeouts: call_max (5) is less than call (10)'
	write_config <<<'{"mcpServers":{"a":'"$(echo_entry '"timeouts":{"call":4000}')"'}}'
	run -0 corral_q call -c "$CONF" a__echo text=ok
	assert_output ok
}

@test "restart.backoff_max less than restart.backoff is refused" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"restart":{"backoff":5,"backoff_max":2}')"'}}' \
	    'mcpServers.a.restart: backoff_max is less than backoff'
}

@test "seconds and counts out of range are refused" {
	local r='must be more than 0 and at most 10000000'
	refused '{"mcpServers":{"a":'"$(echo_entry '"timeouts":{"start":0}')"'}}' \
	    "mcpServers.a.timeouts.start: $r"
	refused '{"mcpServers":{},"corral":{"timeouts":{"shutdown":-1}}}' \
	    "corral.timeouts.shutdown: $r"
	refused '{"mcpServers":{},"corral":{"timeouts":{"initialize":10000001}}}' \
	    "corral.timeouts.initialize: $r"
	refused '{"mcpServers":{"a":'"$(echo_entry '"restart":{"max_failures":1.5}')"'}}' \
	    'mcpServers.a.restart.max_failures: must be an integer from 0 to 1000'
	refused '{"mcpServers":{"a":'"$(echo_entry '"restart":{"max_failures":1001}')"'}}' \
	    'mcpServers.a.restart.max_failures: must be an integer from 0 to 1000'
	refused '{"mcpServers":{},"corral":{"max_message":4095}}' \
	    'corral.max_message: must be an integer from 4096 to 1073741824'
}

@test "an unset \${env:NAME} is refused wherever it is used" {
	unset CORRAL_T_UNSET
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"TOKEN":"x-${env:CORRAL_T_UNSET}"}')"'}}' \
	    'mcpServers.a.env.TOKEN: ${env:CORRAL_T_UNSET}: variable is not set'
	refused '{"mcpServers":{"a":'"$(echo_entry '"args":["--name","${env:CORRAL_T_UNSET}"]')"'}}' \
	    'mcpServers.a.args[1]: ${env:CORRAL_T_UNSET}: variable is not set'
	refused '{"mcpServers":{"a":{"command":"${env:CORRAL_T_UNSET}/echo"}}}' \
	    'mcpServers.a.command: ${env:CORRAL_T_UNSET}: variable is not set'
	refused '{"mcpServers":{"a":'"$(echo_entry '"cwd":"${env:CORRAL_T_UNSET}"')"'}}' \
	    'mcpServers.a.cwd: ${env:CORRAL_T_UNSET}: variable is not set'
}

@test "a malformed \${env:...} is refused" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"T":"${env:HOME"}')"'}}' \
	    'mcpServers.a.env.T: unterminated ${env:...}'
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"T":"${env:}"}')"'}}' \
	    'mcpServers.a.env.T: bad variable name in ${env:...}'
}

@test "an env name that is empty or has '=' is refused" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"A=B":"x"}')"'}}' \
	    'mcpServers.a.env.A=B: not a valid variable name'
	refused '{"mcpServers":{"a":'"$(echo_entry '"env":{"":"x"}')"'}}' \
	    'mcpServers.a.env.: not a valid variable name'
}

@test "a type other than stdio, http or sse is refused; stdio is accepted" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"type":"ws"')"'}}' \
	    'mcpServers.a.type: must be "stdio", "http" or "sse"'
	write_config <<<'{"mcpServers":{"a":'"$(echo_entry '"type":"stdio"')"'}}'
	run -0 corral_q call -c "$CONF" a__echo text=ok
	assert_output ok
}

@test "a server's policy, limits and trust_annotations are checked" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":{"default":"sometimes"}')"'}}' \
	    'mcpServers.a.policy.default: must be "allow", "ask" or "deny"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":{"bogus":1}')"'}}' \
	    'mcpServers.a.policy: unknown key "bogus"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":[]')"'}}' \
	    'mcpServers.a.policy: expected an object, got an array'
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":{"allow":"echo"}')"'}}' \
	    'mcpServers.a.policy.allow: expected an array of rules, got a string'
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":{"deny":[{"args":{}}]}')"'}}' \
	    'mcpServers.a.policy.deny[0]: missing "tool"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"policy":{"ask":[{"tool":"x","args":{"p":1}}]}')"'}}' \
	    'mcpServers.a.policy.ask[0].args.p: keys are JSON pointers such as "/path"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"limits":{"rate":"fast"}')"'}}' \
	    'mcpServers.a.limits.rate: "fast": expected N/sec, N/min, N/hour or N/day'
	refused '{"mcpServers":{"a":'"$(echo_entry '"limits":{"max_concurrent":0}')"'}}' \
	    'mcpServers.a.limits.max_concurrent: must be an integer from 1 to 100000'
	refused '{"mcpServers":{"a":'"$(echo_entry '"limits":{"bogus":1}')"'}}' \
	    'mcpServers.a.limits: unknown key "bogus"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"limits":{"tools":{"x*":{"tools":{}}}}')"'}}' \
	    'mcpServers.a.limits.tools.x*: unknown key "tools"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"trust_annotations":"yes"')"'}}' \
	    'mcpServers.a.trust_annotations: expected a boolean, got a string'
	# Valid ones are accepted.
	write_config <<<'{"mcpServers":{"a":'"$(echo_entry '"policy":{"default":"allow","deny":["fail"]},"trust_annotations":true,"limits":{"rate":"30/min","max_concurrent":2,"tools":{"e*":{"rate":"10/sec"}}}')"'}}'
	run -0 corral_q call -c "$CONF" a__echo text=ok
	assert_output ok
}

@test "remote keys: url only with type http, headers only on remote servers" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"url":"https://example.com/mcp"')"'}}' \
	    'mcpServers.a.url: only for remote servers ("type": "http" or "sse")'
	refused '{"mcpServers":{"a":'"$(echo_entry '"headers":{}')"'}}' \
	    'mcpServers.a.headers: only for remote servers ("type": "http" or "sse")'
}

@test "remote keys: plain http only to loopback" {
	refused '{"servers":{"gh":{"type":"http","url":"http://example.com/mcp"}}}' \
	    'servers.gh.url: must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost)'
	refused '{"mcpServers":{"gh":{"type":"sse","url":"http://example.com/sse"}}}' \
	    'mcpServers.gh.url: must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost)'
}

@test "corral.audit and corral.otel are checked" {
	refused '{"mcpServers":{},"corral":{"audit":{"capture":"everything"}}}' \
	    'corral.audit.capture: must be "shape", "none" or "full"'
	refused '{"mcpServers":{},"corral":{"audit":{"on_failure":"ignore"}}}' \
	    'corral.audit.on_failure: must be "refuse" or "continue"'
	refused '{"mcpServers":{},"corral":{"otel":{}}}' \
	    'corral.otel: missing "endpoint" (the collector'"'"'s OTLP/HTTP URL, e.g. http://127.0.0.1:4318)'
	refused '{"mcpServers":{},"corral":{"otel":{"endpoint":"http://127.0.0.1:1","headers":{"Authorization":"${env:CORRAL_NO_SUCH_VAR}"}}}}' \
	    'corral.otel.headers.Authorization: ${env:CORRAL_NO_SUCH_VAR}: variable is not set'
}

@test "corral.policy and corral.consent are checked" {
	refused '{"mcpServers":{},"corral":{"policy":{"default":"maybe"}}}' \
	    'corral.policy.default: must be "allow", "ask" or "deny"'
	refused '{"mcpServers":{},"corral":{"policy":{"default":"allow","deny":[7]}}}' \
	    'corral.policy.deny[0]: expected a tool name glob or an object, got a number'
	refused '{"mcpServers":{},"corral":{"consent":{"bogus":1}}}' \
	    'corral.consent: unknown key "bogus"'
	refused '{"mcpServers":{},"corral":{"consent":{"channels":["smoke"]}}}' \
	    'corral.consent.channels[0]: "smoke": channels are elicitation, tty, dialog and command'
	refused '{"mcpServers":{},"corral":{"consent":{"channels":["tty","tty"]}}}' \
	    'corral.consent.channels[1]: "tty" is listed twice'
	refused '{"mcpServers":{},"corral":{"consent":{"channels":["command"]}}}' \
	    'corral.consent.channels: "command" needs corral.consent.command'
	refused '{"mcpServers":{},"corral":{"consent":{"command":["prog"]}}}' \
	    'corral.consent.command[0]: must be a path to a program (absolute, or relative to the config file)'
	refused '{"mcpServers":{},"corral":{"consent":{"command":[]}}}' \
	    'corral.consent.command: must name a program'
	refused '{"mcpServers":{},"corral":{"consent":{"timeout":0}}}' \
	    'corral.consent.timeout: must be more than 0 and at most 10000000'
	# Valid ones are accepted.
	write_config <<<'{"mcpServers":{},"corral":{"policy":{"default":"deny"},"consent":{"channels":["tty"],"timeout":5}}}'
	run -0 --separate-stderr corral_q tools -c "$CONF"
	[ "$stderr" = "corral: no tools" ]
}

@test "a string holding \\u0000 is refused, in a value or a key" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"args":["a\u0000b"]')"'}}' \
	    'a string holds \u0000, which no key or value may contain'
	refused '{"mcpServers":{"a\u0000":'"$(echo_entry)"'}}' \
	    'a string holds \u0000, which no key or value may contain'
}

@test "sandbox settings are checked (this version does not apply them)" {
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"bogus":1}')"'}}' \
	    'mcpServers.a.sandbox: unknown key "bogus"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"network":"some"}')"'}}' \
	    'mcpServers.a.sandbox.network: must be "none" or "full"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"network":[]}')"'}}' \
	    'mcpServers.a.sandbox.network: an empty list lets nothing through; use "none"'
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"network":["example.com","*.x.org:99999"]}')"'}}' \
	    'mcpServers.a.sandbox.network[1]: "*.x.org:99999": the port must be a number from 1 to 65535'
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"rw":["rel/dir"]}')"'}}' \
	    'mcpServers.a.sandbox.rw: "rel/dir": paths must be absolute'
	refused '{"mcpServers":{"a":'"$(echo_entry '"sandbox":{"ro":["/"]}')"'}}' \
	    'mcpServers.a.sandbox.ro: "/": granting / would undo the sandbox'
}

@test "serve announces each child that runs unsandboxed, and only those" {
	# a gets "profile": "none" from the test config; b keeps the default.
	write_config <<<'{"mcpServers":{"a":'"$(echo_entry)"',"b":'"$(echo_entry '"sandbox":{"network":"none"}')"'}}'
	run -0 --separate-stderr "$CORRAL" serve -c "$CONF" </dev/null
	assert_output ""
	assert_stderr_line 'corral: [a] WARNING: NOT SANDBOXED ("profile": "none"): this server runs with all of your rights'
	# Once, for a alone; no global warning any more.
	[ "$(grep -ci 'sandboxed' <<<"$stderr")" -eq 1 ] || {
		printf 'want one announcement, for a:\n%s\n' "$stderr" >&2
		return 1
	}
}

@test "invalid JSON is refused with its line and column" {
	refused "$(printf '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}')" \
	    'line 3, column 26: expected member name'
	refused '{"mcpServers":{"a":{"command":"x"}}' 'line 1, column 36: unexpected end'
	refused "$(printf '{"mcpServers":{}}\n\n  x')" 'line 3, column 3: trailing data after value'
	refused '' 'line 1, column 1: unexpected end'
}

@test "JSON nested deeper than 64 levels is refused" {
	local deep
	deep="$(printf '[%.0s' {1..70})$(printf ']%.0s' {1..70})"
	refused '{"$schema":'"$deep"'}' 'line 1, column 75: nesting too deep'
}

@test "serve refuses a bad config too, exit 1, before reading anything" {
	write_config <<<'{"mcpServers":{},"bogus":1}'
	run -1 --separate-stderr corral_q serve -c "$CONF" </dev/null
	assert_output ""
	[ "$stderr" = "corral: $CONF: (top level): unknown key \"bogus\"" ]
}

@test "the whole file is checked before any server starts" {
	write_config <<EOF
{"mcpServers":{"good":$(echo_entry '"env":{"FAKE_PIDFILE":"'"$BATS_TEST_TMPDIR/good.pid"'"}'),
 "bad":$(echo_entry '"bogus":1')}}
EOF
	run -1 --separate-stderr corral_q serve -c "$CONF" </dev/null
	[ "$stderr" = "corral: $CONF: mcpServers.bad: unknown key \"bogus\"" ]
	[ ! -e "$BATS_TEST_TMPDIR/good.pid" ]
}

# --- the file itself ---------------------------------------------------------

@test "a group-writable config is refused with a chmod hint" {
	servers echo
	chmod 664 "$CONF"
	run -1 --separate-stderr corral_q tools -c "$CONF"
	assert_output ""
	[ "$stderr" = "corral: $CONF: refusing a config that is writable by group or others (chmod go-w $CONF)" ]
	run -1 --separate-stderr corral_q serve -c "$CONF" </dev/null
	[ "$stderr" = "corral: $CONF: refusing a config that is writable by group or others (chmod go-w $CONF)" ]
}

@test "a world-writable config is refused with a chmod hint" {
	servers echo
	chmod 602 "$CONF"
	run -1 --separate-stderr corral_q call -c "$CONF" echo__echo text=hi
	assert_output ""
	[ "$stderr" = "corral: $CONF: refusing a config that is writable by group or others (chmod go-w $CONF)" ]
}

@test "a read-only-for-others config (0644) is accepted" {
	servers echo
	chmod 644 "$CONF"
	run -0 corral_q call -c "$CONF" echo__echo text=hi
	assert_output hi
}

@test "a missing config file is named, exit 1" {
	run -1 --separate-stderr corral_q tools -c "$BATS_TEST_TMPDIR/nope.json"
	assert_output ""
	[ "$stderr" = "corral: $BATS_TEST_TMPDIR/nope.json: No such file or directory" ]
}

@test "a directory as config is refused" {
	run -1 --separate-stderr corral_q tools -c "$BATS_TEST_TMPDIR"
	[ "$stderr" = "corral: $BATS_TEST_TMPDIR: not a regular file" ]
}

@test "without -c, \$XDG_CONFIG_HOME/corral/config.json is used" {
	local x="$BATS_TEST_TMPDIR/xdg"
	mkdir -p "$x/corral"
	printf '{"mcpServers":{"xdg":%s}}\n' "$(echo_entry)" >"$x/corral/config.json"
	allow_by_default "$x/corral/config.json"
	XDG_CONFIG_HOME="$x" run -0 corral_q call xdg__echo text=found
	assert_output found
}

@test "without -c and no default file, the default path is named" {
	local x="$BATS_TEST_TMPDIR/xdg"
	XDG_CONFIG_HOME="$x" run -1 --separate-stderr corral_q tools
	assert_output ""
	[ "$stderr" = "corral: $x/corral/config.json: No such file or directory" ]
}

@test "without -c, ~/.config/corral/config.json when XDG_CONFIG_HOME is unset or relative" {
	local h="$BATS_TEST_TMPDIR/home"
	mkdir -p "$h/.config/corral"
	printf '{"mcpServers":{"home":%s}}\n' "$(echo_entry)" >"$h/.config/corral/config.json"
	allow_by_default "$h/.config/corral/config.json"
	run -0 --separate-stderr env -u XDG_CONFIG_HOME HOME="$h" "$CORRAL" call home__echo text=found
	assert_output found
	no_stderr
	HOME="$h" XDG_CONFIG_HOME=relative/dir run -0 corral_q call home__echo text=again
	assert_output again
}

# --- what the settings do ----------------------------------------------------

@test "the VS Code servers key works like mcpServers, after it in order" {
	write_config <<EOF
{"servers":{"vs":$(echo_entry '"type":"stdio"')},"mcpServers":{"mc":$(echo_entry)}}
EOF
	run -0 --separate-stderr corral_q tools -c "$CONF" --json
	run -0 jq -r '.[0].name, .[13].name, length' <<<"$output"
	assert_output "$(printf '%s\n' mc__echo vs__echo 26)"
}

@test "a disabled server is not started and offers nothing, but is checked" {
	write_config <<EOF
{"mcpServers":{
 "on":$(echo_entry '"env":{"FAKE_PIDFILE":"'"$BATS_TEST_TMPDIR/on.pid"'"}'),
 "off":$(echo_entry '"disabled":true,"env":{"FAKE_PIDFILE":"'"$BATS_TEST_TMPDIR/off.pid"'"}')}}
EOF
	run -0 tool_names
	[ "${#lines[@]}" -eq 13 ]
	refute_output --partial "off__"
	assert_line on__echo
	[ -s "$BATS_TEST_TMPDIR/on.pid" ]
	[ ! -e "$BATS_TEST_TMPDIR/off.pid" ]
	refused '{"mcpServers":{"off":'"$(echo_entry '"disabled":true,"bogus":1')"'}}' \
	    'mcpServers.off: unknown key "bogus"'
}

@test "prefix overrides the alias; an empty prefix exposes the names as they are" {
	write_config <<EOF
{"mcpServers":{"first":$(echo_entry '"prefix":"e1"'),"second":$(echo_entry '"prefix":"","args":["--no-prompts","--no-resources"]')}}
EOF
	run -0 tool_names
	assert_line --index 0 e1__echo
	assert_line --index 13 echo
	refute_output --partial first
	refute_output --partial second
	run -0 corral_q call -c "$CONF" e1__echo text=one
	assert_output one
	run -0 corral_q call -c "$CONF" echo text=two
	assert_output two
}

@test "corral.naming.separator changes the exposed names" {
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry)},"corral":{"naming":{"separator":"-"}}}
EOF
	run -0 tool_names
	assert_line --index 0 e-echo
	refute_output --partial "e__"
	run -0 corral_q call -c "$CONF" e-add a=1 b=2
	assert_output 3
}

@test "tools.allow offers only matching tools (shell globs on the server's names)" {
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"tools":{"allow":["echo","?dd","[ef]*l"]}')}}
EOF
	run -0 tool_names
	assert_output "$(printf '%s\n' e__echo e__add e__fail)"
}

@test "tools.deny hides matching tools, even when allow matches them" {
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"tools":{"deny":["e*","*progress"]}')}}
EOF
	run -0 tool_names
	[ "${#lines[@]}" -eq 9 ]
	refute_line e__echo
	refute_line e__env
	refute_line e__exit
	refute_line e__lateprogress
	assert_line e__add
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"tools":{"allow":["e*"],"deny":["env"]}')}}
EOF
	run -0 tool_names
	assert_output "$(printf '%s\n' e__echo e__exit)"
}

@test "tools.allow as an empty array offers no tools" {
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"tools":{"allow":[]}')}}
EOF
	run -0 --separate-stderr corral_q tools -c "$CONF"
	assert_output ""
	[ "$stderr" = "corral: no tools" ]
}

@test "a hidden tool cannot be called: -32602 to the host, nothing reaches the server" {
	local log="$BATS_TEST_TMPDIR/e.log"
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"tools":{"deny":["fail"]},"env":{"FAKE_LOG":"'"$log"'"}')},
 "corral":{"timeouts":{"shutdown":0.3}}}
EOF
	start_serve
	initialize
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e__fail","arguments":{}}}'
	wait_for '"id":1,'
	run -0 jq -c 'select(.id == 1) | [.error.code, .error.message]' "$OUT"
	assert_output '[-32602,"unknown tool: e__fail"]'
	# Prompts are not filtered.
	send '{"jsonrpc":"2.0","id":2,"method":"prompts/list"}'
	wait_for '"id":2,'
	run -0 jq -r 'select(.id == 2) | .result.prompts[].name' "$OUT"
	assert_output e__greet
	stop_serve
	[ "$STATUS" -eq 0 ]
	run -1 grep -c '"tools/call"' "$log"
	run -1 --separate-stderr corral_q call -c "$CONF" e__fail
	[ "$stderr" = "corral: e__fail: unknown tool: e__fail (-32602)" ]
}

@test "\${env:NAME} is substituted in command, args and env" {
	export CORRAL_T_DIR="$SRV" CORRAL_T_TOOL="from_env" CORRAL_T_TOKEN="s3cret" CORRAL_T_EMPTY=""
	write_config <<'EOF'
{"mcpServers":{"e":{"command":"${env:CORRAL_T_DIR}/echo",
 "args":["--extra-tool","x_${env:CORRAL_T_TOOL}"],
 "env":{"TOKEN":"<${env:CORRAL_T_TOKEN}>","EMPTY":"[${env:CORRAL_T_EMPTY}]","LITERAL":"${HOME}"}}}}
EOF
	run -0 tool_names
	assert_line e__x_from_env
	run -0 corral_q call -c "$CONF" e__env name=TOKEN
	assert_output "<s3cret>"
	run -0 corral_q call -c "$CONF" e__env name=EMPTY
	assert_output "[]"
	# Only ${env:NAME} is substituted.
	run -0 corral_q call -c "$CONF" e__env name=LITERAL
	assert_output '${HOME}'
}

@test "children get a clean environment: a short allow-list plus their env" {
	local h="$BATS_TEST_TMPDIR/h"
	mkdir -p "$h"
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"env":{"MY_SETTING":"on","TZ":"Europe/Paris"}')}}
EOF
	# corral runs with a known environment, secrets included.
	penv() {
		env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$h" USER=tester \
		    LANG=C.UTF-8 LC_TIME=C TZ=UTC TERM=dumb SECRET_X=1 \
		    AWS_SECRET_ACCESS_KEY=k LD_PRELOAD= \
		    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		    "$CORRAL" call -c "$CONF" e__env name="$1"
	}
	run -0 --separate-stderr penv SECRET_X
	assert_output "(unset)"
	no_stderr
	run -0 --separate-stderr penv AWS_SECRET_ACCESS_KEY
	assert_output "(unset)"
	no_stderr
	run -0 --separate-stderr penv LD_PRELOAD
	assert_output "(unset)"
	no_stderr
	run -0 --separate-stderr penv PATH
	assert_output "/usr/local/bin:/usr/bin:/bin"
	no_stderr
	run -0 --separate-stderr penv HOME
	assert_output "$h"
	no_stderr
	run -0 --separate-stderr penv USER
	assert_output tester
	no_stderr
	run -0 --separate-stderr penv LANG
	assert_output C.UTF-8
	no_stderr
	run -0 --separate-stderr penv LC_TIME
	assert_output C
	no_stderr
	run -0 --separate-stderr penv TERM
	assert_output dumb
	no_stderr
	# Configured values arrive, and win over corral's own.
	run -0 --separate-stderr penv MY_SETTING
	assert_output on
	no_stderr
	run -0 --separate-stderr penv TZ
	assert_output Europe/Paris
	no_stderr
}

@test "a relative command with a slash is resolved against the config's directory" {
	local d="$BATS_TEST_TMPDIR/conf"
	mkdir -p "$d"
	ln -s "$SRV" "$d/bin"
	printf '{"mcpServers":{"e":{"command":"bin/echo"}}}\n' >"$d/c.json"
	allow_by_default "$d/c.json"
	cd /
	run -0 corral_q call -c "$d/c.json" e__echo text=resolved
	assert_output resolved
	# And through a relative -c path from elsewhere.
	cd "$BATS_TEST_TMPDIR"
	run -0 corral_q call -c conf/c.json e__echo text=again
	assert_output again
}

@test "a command without a slash is looked up in the PATH of env, else corral's" {
	local b="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$b"
	ln -s "$SRV/echo" "$b/fake-echo"
	write_config <<EOF
{"mcpServers":{"e":{"command":"fake-echo","env":{"PATH":"$b:/usr/bin:/bin"}}}}
EOF
	run -0 corral_q call -c "$CONF" e__echo text=via-env
	assert_output via-env
	write_config <<<'{"mcpServers":{"e":{"command":"fake-echo"}}}'
	PATH="$b:$PATH" run -0 corral_q call -c "$CONF" e__echo text=via-corral
	assert_output via-corral
	run -1 --separate-stderr corral_q call -c "$CONF" e__echo text=x
	assert_stderr_line "corral: [e] cannot start: fake-echo: command not found"
}

@test "cwd is honoured, a relative one against the config's directory" {
	mkdir -p "$BATS_TEST_TMPDIR/work" "$BATS_TEST_TMPDIR/rel"
	write_config <<EOF
{"mcpServers":{"abs":$(echo_entry '"cwd":"'"$BATS_TEST_TMPDIR/work"'"'),"rel":$(echo_entry '"cwd":"rel","args":["--no-resources"]')}}
EOF
	cd /
	run -0 corral_q call -c "$CONF" abs__cwd
	assert_output "$(cd "$BATS_TEST_TMPDIR/work" && pwd -P)"
	run -0 corral_q call -c "$CONF" rel__cwd
	assert_output "$(cd "$BATS_TEST_TMPDIR/rel" && pwd -P)"
}

@test "without cwd a server runs in corral's working directory" {
	servers echo
	cd "$BATS_TEST_TMPDIR"
	run -0 corral_q call -c "$CONF" echo__cwd
	assert_output "$(pwd -P)"
}

@test "a cwd that does not exist: the server cannot start, the message names it" {
	local gone="$BATS_TEST_TMPDIR/no-such-dir"
	write_config <<EOF
{"mcpServers":{"e":$(echo_entry '"cwd":"'"$gone"'"'),"ok":$(echo_entry)}}
EOF
	run -0 --separate-stderr corral_q tools -c "$CONF"
	[ "${#lines[@]}" -eq 13 ]
	refute_output --partial "e__"
	assert_stderr_line "corral: [e] cannot start: chdir $gone: No such file or directory"
}
