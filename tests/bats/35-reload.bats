#!/usr/bin/env bats
# Reloading the configuration while serving: SIGHUP and a changed file.
# Servers whose entry did not change keep their process and their calls
# in flight; added, removed and changed ones are started, stopped and
# restarted; a broken file is refused and the old configuration stays.

load helpers

# Write the config: each argument is ALIAS or ALIAS:EXTRA (more members
# of the entry, JSON text without braces), an echo server that writes its
# pid to ALIAS.pid. GLOBAL, when set, is the "corral" section.
conf() {
	local s alias extra first=1
	CONF="$BATS_TEST_TMPDIR/c.json"
	{
		printf '{"mcpServers":{'
		for s in "$@"; do
			alias="${s%%:*}"
			extra=""
			[ "$alias" = "$s" ] || extra=",${s#*:}"
			[ "$first" = 1 ] || printf ','
			first=0
			printf '"%s":{"command":"%s/echo","env":{"FAKE_PIDFILE":"%s/%s.pid"}%s}' \
			    "$alias" "$SRV" "$BATS_TEST_TMPDIR" "$alias" "$extra"
		done
		printf '}%s}\n' "${GLOBAL:+,\"corral\":$GLOBAL}"
	} >"$BATS_TEST_TMPDIR/c.new"
	allow_by_default "$BATS_TEST_TMPDIR/c.new"
	mv "$BATS_TEST_TMPDIR/c.new" "$CONF"
}

pid_of() {
	cat "$BATS_TEST_TMPDIR/$1.pid"
}

# Wait (at most 10 s) until server $1 has written its pid.
wait_pid() {
	local i=0
	until [ -s "$BATS_TEST_TMPDIR/$1.pid" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || { cat "$ERR" >&2; fail "$1 did not start"; }
	done
}

# The servers with tools in a fresh tools/list (id $1): their prefixes,
# sorted, one per line; and every one has echo.
tool_names() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"tools/list"}'
	wait_for '"id":'"$1"',"result"'
	jq -r 'select(.id == '"$1"') | .result.tools[].name | select(endswith("__echo")) | sub("__echo$"; "")' "$OUT" | sort
}

serve_with() {
	conf "$@"
	start_corral
	initialize
	for s in "$@"; do
		wait_pid "${s%%:*}"
	done
}

@test "reload: SIGHUP keeps an unchanged server and its call in flight, adds and removes the others" {
	serve_with a b
	run -0 tool_names 1
	assert_output "a
b"
	apid="$(pid_of a)"
	bpid="$(pid_of b)"
	send '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a__slow","arguments":{"ms":1500,"steps":3}}}'
	conf a c
	kill -HUP "$CPID"
	wait_err 'reload \(SIGHUP\): 1 added, 1 removed, 0 restarted, 1 unchanged'
	wait_err 'corral: \[b\] removed from the configuration; stopped'
	wait_for '"id":5,' 10
	run -0 jq -c 'select(.id == 5) | .result.content[0].text' "$OUT"
	assert_output '"slept 1500 ms"'
	[ "$(pid_of a)" = "$apid" ]
	kill -0 "$apid"
	run -1 kill -0 "$bpid"
	wait_pid c
	wait_for '"method":"notifications/tools/list_changed"'
	run -0 tool_names 6
	assert_output "a
c"
	send '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"c__echo","arguments":{"text":"new"}}}'
	wait_for '"id":7,'
	run -0 jq -c 'select(.id == 7) | .result.content[0].text' "$OUT"
	assert_output '"new"'
	stop_corral
	[ "$STATUS" -eq 0 ]
	run -0 jq -c 'select(.event == "config_reload") | {added, removed, changed, unchanged}' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_output '{"added":["c"],"removed":["b"],"changed":[],"unchanged":1}'
}

@test "reload: a changed entry restarts that server only, with its new entry" {
	serve_with a b
	apid="$(pid_of a)"
	bpid="$(pid_of b)"
	conf 'a:"description":"the first","prefix":"alpha"' b
	rm -f "$BATS_TEST_TMPDIR/a.pid"
	kill -HUP "$CPID"
	wait_err 'reload \(SIGHUP\): 0 added, 0 removed, 1 restarted, 1 unchanged'
	wait_err 'corral: \[a\] its entry changed; starting it again'
	wait_pid a
	[ "$(pid_of a)" != "$apid" ]
	run -1 kill -0 "$apid"
	[ "$(pid_of b)" = "$bpid" ]
	wait_for '"method":"notifications/tools/list_changed"'
	run -0 tool_names 3
	assert_output "alpha
b"
	stop_corral
}

@test "reload: a file that does not load is refused with its error; the running configuration stays" {
	serve_with a
	apid="$(pid_of a)"
	printf '{"mcpServers":{"a":{"command":' >"$CONF"
	kill -HUP "$CPID"
	wait_err 'reload \(SIGHUP\): '
	run -0 grep 'reload (SIGHUP)' "$ERR"
	assert_output "corral: reload (SIGHUP): $CONF: line 1, column 31: unexpected end; the running configuration stays in force"
	send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"still"}}}'
	wait_for '"id":3,'
	run -0 jq -c 'select(.id == 3) | .result.content[0].text' "$OUT"
	assert_output '"still"'
	[ "$(pid_of a)" = "$apid" ]
	# A config that parses but is refused is refused the same way.
	printf '{"mcpServers":{"a":{"command":"x","bogus":1}}}\n' >"$CONF"
	chmod 600 "$CONF"
	kill -HUP "$CPID"
	wait_err 'bogus'
	run -0 grep 'bogus' "$ERR"
	assert_output "corral: reload (SIGHUP): $CONF: mcpServers.a: unknown key \"bogus\"; the running configuration stays in force"
	stop_corral
	# (The file's changes may be read a second time by the watch.)
	run -0 jq -c 'select(.event == "config_reload") | .error' "$XDG_STATE_HOME/corral/audit.jsonl"
	assert_line --index 0 "\"$CONF: line 1, column 31: unexpected end\""
	assert_line "\"$CONF: mcpServers.a: unknown key \\\"bogus\\\"\""
}

@test "reload: replacing the file is noticed without a signal" {
	serve_with a
	conf a d
	wait_err 'reload \(file changed\): 1 added, 0 removed, 0 restarted, 1 unchanged' 10
	wait_pid d
	run -0 grep -c 'reload (file changed)' "$ERR"
	assert_output 1
	stop_corral
}

@test "reload: a server disabled by the new file is stopped; most of the corral section is read at start only" {
	serve_with a b
	bpid="$(pid_of b)"
	GLOBAL='{"timeouts":{"initialize":5}}' conf a 'b:"disabled":true'
	kill -HUP "$CPID"
	wait_err 'reload \(SIGHUP\): 0 added, 0 removed, 1 restarted, 1 unchanged'
	wait_err 'corral: \[b\] disabled by the new configuration'
	run -0 grep -c 'the "corral" section changed beyond its policy, consent and max_starting; the rest is read at start only: restart corral serve to apply it' "$ERR"
	assert_output 1
	run -1 kill -0 "$bpid"
	run -0 tool_names 2
	assert_output "a"
	stop_corral
}

@test "reload: a new policy in the corral section applies to the next call; the servers keep running" {
	serve_with a
	apid="$(pid_of a)"
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"before"}}}'
	wait_for '"id":2,'
	run -0 jq -c 'select(.id == 2) | .result.content[0].text' "$OUT"
	assert_output '"before"'
	GLOBAL='{"policy":{"default":"deny"}}' conf a
	kill -HUP "$CPID"
	wait_err 'reload \(SIGHUP\): the policy, consent and max_starting of the "corral" section are in force'
	send '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"after"}}}'
	wait_for '"id":3,'
	run -0 jq -c 'select(.id == 3) | .result.isError' "$OUT"
	assert_output true
	run -0 jq -r 'select(.id == 3) | .result.content[0].text' "$OUT"
	assert_output --partial "denied"
	[ "$(pid_of a)" = "$apid" ]
	run -1 grep -q 'read at start only' "$ERR"
	stop_corral
}
