#!/usr/bin/env bats
# Lazy start from the list cache, idle stop, corral.max_starting.

load helpers

setup() {
	T="$BATS_TEST_TMPDIR"
	STARTS="$T/starts"
	: >"$STARTS"
	# A fake server that notes each start ("start ALIAS PID") before it
	# becomes the echo server; $T/desc-ALIAS holds the echo tool's
	# description, $T/fail-ALIAS makes it fail to start.
	cat >"$T/wrap" <<EOF
#!/bin/sh
alias="\$1"
shift
echo "start \$alias \$\$" >>"$STARTS"
if [ -e "$T/fail-\$alias" ]; then
	echo "cannot open the database" >&2
	exit 3
fi
if [ -e "$T/desc-\$alias" ]; then
	exec "$SRV/echo" --echo-desc "\$(cat "$T/desc-\$alias")" "\$@"
fi
exec "$SRV/echo" "\$@"
EOF
	chmod 755 "$T/wrap"
	CACHE="$XDG_STATE_HOME/corral/cache/lz.json"
}

# A config with the lazy server lz; $1: more arguments (JSON), $2: more
# members of its entry.
lazy_config() {
	write_config <<EOF
{"mcpServers":{"lz":{"command":"$T/wrap","args":["lz"$1],"start":"lazy"$2}},
 "corral":{"consent":{"channels":["elicitation"]}}}
EOF
}

starts() {
	grep -c "^start ${1:-lz} " "$STARTS" || true
}

# Send request $1 with method $2 and params $3; wait for its answer.
ask() {
	send '{"jsonrpc":"2.0","id":'"$1"',"method":"'"$2"'","params":'"$3"'}'
	wait_for '"id":'"$1"',"(result|error)"' "${4:-10}"
}

# One run that starts lz and fills its cache.
fill_cache() {
	start_corral
	initialize
	wait_err '\[lz\] lazy, but no cache yet: starting it now to fill its cache'
	ask 1 tools/list '{}'
	line_for '"id":1,' | jq -c '.result' >"$T/live-list"
	stop_corral
	[ "$STATUS" -eq 0 ]
}

call_echo() {
	ask "$1" tools/call '{"name":"lz__echo","arguments":{"text":"'"$2"'"}}' "${3:-10}"
}

@test "a lazy server with no cache starts at once and fills its cache (0600, its lists as it sent them)" {
	lazy_config
	fill_cache
	[ "$(starts)" = 1 ]
	[ -f "$CACHE" ]
	run -0 stat -c %a "$CACHE"
	assert_output 600
	run -0 jq -r '.lists.tools[] | fromjson | .name' "$CACHE"
	assert_line echo
	assert_line add
	run -0 jq -r '.lists.prompts | length > 0' "$CACHE"
	assert_output true
	run -0 jq -r '.capabilities.tools | type' "$CACHE"
	assert_output object
	# The fingerprint is a hash: the entry's values are not in the file.
	run -1 grep -F "$T/wrap" "$CACHE"
}

@test "second run: its tools are listed at once from the cache without starting it; the first call starts it" {
	lazy_config
	fill_cache
	start_corral
	initialize
	ask 2 tools/list '{}'
	# The same list, byte for byte, as the server's own.
	run -0 bash -c "grep -E -m1 '\"id\":2,' '$OUT' | jq -c '.result'"
	assert_output "$(cat "$T/live-list")"
	ask 3 prompts/list '{}'
	run -0 jq -r 'select(.id == 3) | .result.prompts | length > 0' "$OUT"
	assert_output true
	grep -qF '[lz] lazy: its lists come from its cache; it starts on the first request' "$ERR"
	sleep 0.3
	[ "$(starts)" = 1 ]
	call_echo 4 hello
	run -0 jq -r 'select(.id == 4) | .result.content[0].text' "$OUT"
	assert_output hello
	[ "$(starts)" = 2 ]
	grep -qF '[lz] starting it for a request' "$ERR"
	# Same lists live as cached: no list_changed.
	sleep 0.2
	run -1 grep -F 'list_changed' "$OUT"
	stop_corral
	[ "$STATUS" -eq 0 ]
}

@test "while a call waits for its lazy server to start, other requests are answered" {
	lazy_config ',"--delay-init","800"'
	fill_cache
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"lz__echo","arguments":{"text":"late"}}}'
	ask 3 ping '{}'
	ask 4 tools/list '{}'
	run -1 grep -E '"id":2,' "$OUT"
	wait_for '"id":2,"result"'
	run -0 jq -r 'select(.id == 2) | .result.content[0].text' "$OUT"
	assert_output late
	run -0 jq -r '.id' "$OUT"
	assert_output "$(printf '0\n3\n4\n2')"
	stop_corral
}

@test "a changed config entry (args) is not served from the old cache: the server starts with the session" {
	lazy_config
	fill_cache
	lazy_config ',"--extra-tool","more"'
	start_corral
	initialize
	wait_err '\[lz\] lazy, but its config entry changed: starting it now to fill its cache'
	[ "$(starts)" = 2 ]
	ask 2 tools/list '{}'
	run -0 jq -r 'select(.id == 2) | .result.tools[].name' "$OUT"
	assert_line lz__more
	run -0 jq -r '.lists.tools[] | fromjson | .name' "$CACHE"
	assert_line more
	stop_corral
}

@test "a definition that changed is caught when the server starts, and a cache that differs from the pins is not trusted" {
	echo "first words" >"$T/desc-lz"
	lazy_config
	fill_cache
	echo "second words" >"$T/desc-lz"
	# Run 2: the cache matches the pins, so it is served; the server has
	# changed meanwhile, which shows when it starts.
	start_corral
	initialize
	ask 2 tools/list '{}'
	run -0 jq -r 'select(.id == 2) | .result.tools[] | select(.name == "lz__echo") | .description' "$OUT"
	assert_output "first words"
	[ "$(starts)" = 1 ]
	call_echo 3 hi
	[ "$(starts)" = 2 ]
	# The held call is dispatched against the live definition: changed
	# since it was pinned, it needs consent, and there is no way to ask.
	run -0 jq -r 'select(.id == 3) | .result.content[0].text' "$OUT"
	assert_output 'corral denied lz__echo: its definition (or its server'"'"'s instructions) changed since it was approved, and there was no way to ask you. See what changed with `corral pins diff`; accept it with `corral pins accept lz__echo` (or the server'"'"'s name, for its instructions).'
	grep -qF '[lz] tool echo changed since it was pinned; its calls need fresh consent (corral pins diff lz)' "$ERR"
	wait_for '"method":"notifications/tools/list_changed"'
	ask 4 tools/list '{}'
	run -0 jq -r 'select(.id == 4) | .result.tools[] | select(.name == "lz__echo") | .description' "$OUT"
	assert_output "second words"
	stop_corral
	# The cache now holds what the server sent, which is not what is
	# pinned: run 3 does not trust it and starts the server at once.
	run -0 jq -r '.lists.tools[] | fromjson | select(.name == "echo") | .description' "$CACHE"
	assert_output "second words"
	start_corral
	initialize
	wait_err '\[lz\] lazy, but its cache does not match its pins: starting it now'
	[ "$(starts)" = 3 ]
	stop_corral
}

@test "an idle lazy server stops after timeouts.idle, is not counted as a failure, and the next call starts it again" {
	lazy_config '' ',"timeouts":{"idle":1}'
	start_corral
	initialize
	wait_err '\[lz\] idle for 1 s; stopped \(starts again on the next request\)' 10
	pid="$(awk '/^start lz /{print $3}' "$STARTS")"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 100 ]
	done
	# Its tools stay listed; nothing told the host they went.
	ask 1 tools/list '{}'
	run -0 jq -r 'select(.id == 1) | .result.tools[].name' "$OUT"
	assert_line lz__echo
	run -1 grep -F 'list_changed' "$OUT"
	call_echo 2 again
	run -0 jq -r 'select(.id == 2) | .result.content[0].text' "$OUT"
	assert_output again
	[ "$(starts)" = 2 ]
	run -1 grep -E '\[lz\] (restarting|exited|failed)' "$ERR"
	stop_corral
	[ "$STATUS" -eq 0 ]
}

@test "a call in flight keeps an idle server running until it is answered" {
	lazy_config '' ',"timeouts":{"idle":1}'
	start_corral
	initialize
	# Sent as soon as it is ready, well within its idle second.
	ask 2 tools/call '{"name":"lz__slow","arguments":{"ms":2500}}' 10
	run -1 grep -F 'idle for' "$ERR"
	[ "$(starts)" = 1 ]
	wait_err '\[lz\] idle for 1 s; stopped' 10
	stop_corral
}

@test "corral.max_starting 1: three slow servers start one after another, in order" {
	write_config <<EOF
{"mcpServers":{
 "a":{"command":"$T/wrap","args":["a","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}},
 "b":{"command":"$T/wrap","args":["b","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}},
 "c":{"command":"$T/wrap","args":["c","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}}},
 "corral":{"max_starting":1}}
EOF
	start_corral
	initialize
	ask 1 tools/list '{}'
	run -0 jq -r 'select(.id == 1) | .result.tools | length > 0' "$OUT"
	stop_corral
	# Each start comes after the previous server answered initialize and
	# was asked for its tools.
	run -0 bash -c "grep -E '^start |\"method\":\"tools/list\"' '$STARTS' | sed -E 's/^(start [a-c]).*/\\1/; s/.*tools\\/list.*/list/'"
	assert_output "$(printf 'start a\nlist\nstart b\nlist\nstart c\nlist')"
	grep -qF '[b] waits to start: 1 server is starting (corral.max_starting)' "$ERR"
	grep -qF '[c] waits to start: 1 server is starting (corral.max_starting)' "$ERR"
}

@test "without corral.max_starting 1 the same servers start together" {
	write_config <<EOF
{"mcpServers":{
 "a":{"command":"$T/wrap","args":["a","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}},
 "b":{"command":"$T/wrap","args":["b","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}},
 "c":{"command":"$T/wrap","args":["c","--delay-init","300"],"env":{"FAKE_LOG":"$STARTS"}}}}
EOF
	start_corral
	initialize
	stop_corral
	run -0 bash -c "grep -E '^start |\"method\":\"tools/list\"' '$STARTS' | head -3 | cut -c1-5"
	assert_output "$(printf 'start\nstart\nstart')"
	run -1 grep -F 'waits to start' "$ERR"
}

@test "a lazy server that fails to start answers the waiting call with the reason" {
	lazy_config
	fill_cache
	touch "$T/fail-lz"
	start_corral
	initialize
	call_echo 2 hi
	run -0 jq -r 'select(.id == 2) | .error.message' "$OUT"
	assert_output 'server lz did not start: exited with status 3'
	run -0 jq -r 'select(.id == 2) | .error.data.server, .error.data.stderr[-1]' "$OUT"
	assert_output "$(printf 'lz\ncannot open the database')"
	stop_corral
	[ "$STATUS" -eq 0 ]
}

@test "a waiting call gets the start timeout's reason; timeouts are not part of the cache's fingerprint" {
	lazy_config ',"--delay-init","1500"'
	fill_cache
	lazy_config ',"--delay-init","1500"' ',"timeouts":{"start":0.5}'
	start_corral
	initialize
	grep -qF '[lz] lazy: its lists come from its cache; it starts on the first request' "$ERR"
	call_echo 2 hi
	run -0 jq -r 'select(.id == 2) | .error.message' "$OUT"
	assert_output --regexp '^server lz did not start: it was not ready after 0\.5 s \((exited with status 0|killed by signal 15 \(Terminated\))\)$'
	stop_corral
}
