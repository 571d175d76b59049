# Shared helpers for the bats suites. Each test gets its own directory.
# CORRAL_BUILD selects the build to test (build, build-asan).
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BUILD="$ROOT/${CORRAL_BUILD:-build}"
CORRAL="$BUILD/corral"
SRV="$BUILD/tests/servers"
# Each test has its own state (pins, consent, private homes): never the
# user's.
export XDG_STATE_HOME="${BATS_TEST_TMPDIR:-${BATS_RUN_TMPDIR:-/tmp}}/state"
# ... and its own status sockets of corral serve: never in the user's
# runtime directory.
if [ -n "${BATS_TEST_TMPDIR:-}" ]; then
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# These suites test the broker and watch its children from outside (their
# logs, pids), so children run unsandboxed here unless a test sets
# KEEP_SANDBOX=1 or configures a sandbox itself; the sandbox has its own
# suite (70-sandbox) and the interop suite runs children sandboxed.
# Consent has its own suite too: elsewhere calls are allowed unless a test
# sets KEEP_POLICY=1 or writes a corral.policy of its own.
allow_by_default() {
	/usr/bin/python3 "$ROOT/tests/bats/testconf.py" "$1"
	chmod 600 "$1"
}

# Write stdin as the test's config (mode 0600).
write_config() {
	CONF="$BATS_TEST_TMPDIR/c.json"
	cat >"$CONF"
	allow_by_default "$CONF"
}

# A config with the named fake servers: config_with echo pages ...
# Each may be ALIAS=SERVER to pick an alias.
config_with() {
	local s alias srv first=1
	CONF="$BATS_TEST_TMPDIR/c.json"
	{
		printf '{"mcpServers":{'
		for s in "$@"; do
			alias="${s%%=*}"
			srv="${s#*=}"
			[ "$first" = 1 ] || printf ','
			first=0
			printf '"%s":{"command":"%s/%s"}' "$alias" "$SRV" "$srv"
		done
		printf '}}'
	} >"$CONF"
	allow_by_default "$CONF"
}

# Start `corral serve` on the test's config with a fifo as its stdin
# (held open on fd 7: fd 3 is bats' own). Output goes to $OUT, stderr to
# $ERR.
start_corral() {
	IN="$BATS_TEST_TMPDIR/in"
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	rm -f "$IN"
	mkfifo "$IN"
	: >"$OUT"
	"$CORRAL" serve -c "${1:-$CONF}" <"$IN" >"$OUT" 2>"$ERR" 3>&- 7>&- &
	CPID=$!
	exec 7>"$IN"
}

# Send one line to corral.
send() {
	printf '%s\n' "$1" >&7
}

# Send lines in one write(2): bash's printf may flush at every newline,
# cat of a small file writes it whole (atomic on a pipe up to PIPE_BUF).
send_once() {
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/send_once"
	cat "$BATS_TEST_TMPDIR/send_once" >&7
}

# Wait until $OUT has a line matching the extended regex $1 (timeout $2 s,
# default 10). Prints nothing; fails with the output shown on timeout.
wait_for() {
	local pat="$1" t="${2:-10}" i=0
	while ! grep -qE -- "$pat" "$OUT"; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting for: $pat" >&2
			echo "--- stdout:" >&2
			cat "$OUT" >&2
			echo "--- stderr:" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
}

# Wait until $ERR matches $1.
wait_err() {
	local pat="$1" t="${2:-10}" i=0
	while ! grep -qE -- "$pat" "$ERR"; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			echo "timed out waiting on stderr for: $pat" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
}

# The line of $OUT matching $1 (the first one).
line_for() {
	grep -E -m1 -- "$1" "$OUT"
}

# Send initialize (protocol version $1, capabilities $2) and wait for it.
initialize() {
	local v="${1:-2025-06-18}" caps="${2:-{\}}"
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"'"$v"'","capabilities":'"$caps"',"clientInfo":{"name":"bats","version":"1"}}}'
	wait_for '"id":0,"result"' 15
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
}

# Close corral's stdin and wait for it to exit (at most $1 s, default 15);
# sets STATUS.
stop_corral() {
	local t="${1:-15}" i=0
	exec 7>&-
	while kill -0 "$CPID" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge $((t * 20)) ]; then
			kill -9 "$CPID" 2>/dev/null
			echo "corral did not exit" >&2
			return 1
		fi
	done
	wait "$CPID"
	STATUS=$?
}

# Every line corral wrote to stdout is a JSON object (or array).
assert_stdout_json() {
	local n=0 line
	while IFS= read -r line; do
		n=$((n + 1))
		printf '%s' "$line" | jq -e 'type == "object" or type == "array"' >/dev/null || {
			echo "stdout line $n is not JSON: $line" >&2
			return 1
		}
	done <"$OUT"
}

teardown() {
	if [ -n "${CPID:-}" ] && kill -0 "$CPID" 2>/dev/null; then
		kill -9 "$CPID" 2>/dev/null || true
	fi
	# Sanitizer reports go to stderr; a test fails on any.
	if [ -n "${ERR:-}" ] && [ -f "$ERR" ] && grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
		echo "sanitizer report:" >&2
		cat "$ERR" >&2
		return 1
	fi
}

# stderr of the last `run --separate-stderr` without corral's announcements
# of unsandboxed children (the broker suites run them so on purpose).
stderr_rest() {
	printf '%s\n' "$stderr" | grep -v 'WARNING: NOT SANDBOXED' | sed '/^$/d'
}

# Assert the last run printed nothing on stderr but those announcements.
no_stderr() {
	local rest
	rest="$(stderr_rest)"
	if [ -n "$rest" ]; then
		echo "unexpected stderr: $rest" >&2
		return 1
	fi
}

# Run corral by hand (tools, call, ...) with its announcements of
# unsandboxed children left out of stderr; everything else passes through.
corral_q() {
	local errf rc
	errf="$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/stderr.XXXXXX")"
	"$CORRAL" "$@" 2>"$errf"
	rc=$?
	grep -v 'WARNING: NOT SANDBOXED' "$errf" >&2
	rm -f "$errf"
	return "$rc"
}

# Like start_corral, but stdout goes to a fifo that nobody reads yet (held
# on fd 8): the host is not reading. read_host_output starts reading it
# into $OUT.
start_corral_unread() {
	IN="$BATS_TEST_TMPDIR/in"
	OUTF="$BATS_TEST_TMPDIR/outfifo"
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	rm -f "$IN" "$OUTF"
	mkfifo "$IN" "$OUTF"
	: >"$OUT"
	"$CORRAL" serve -c "${1:-$CONF}" <"$IN" >"$OUTF" 2>"$ERR" 3>&- 7>&- 8>&- &
	CPID=$!
	exec 7>"$IN"
	exec 8<"$OUTF"
}

read_host_output() {
	cat <&8 >"$OUT" 7>&- &
}

# With the host not reading, call TOOL N times for a text of BYTES bytes;
# then read: every answer must arrive whole and nothing be dropped.
big_answers_survive_a_lagging_host() {
	local tool="$1" n="$2" bytes="$3" i
	start_corral_unread
	send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bats","version":"1"}}}'
	send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	for i in $(seq 1 "$n"); do
		send '{"jsonrpc":"2.0","id":'"$i"',"method":"tools/call","params":{"name":"'"$tool"'","arguments":{"bytes":'"$bytes"'}}}'
	done
	sleep 1.5	# the pipe to the host is full long before that
	read_host_output
	wait_for '"id":'"$n"'[,}]' 20
	for i in $(seq 1 "$n"); do
		run -0 jq -r "select(.id == $i) | .result.content[0].text | length" "$OUT"
		assert_output "$bytes"
	done
	run -1 grep -E 'not reading|dropped' "$ERR"
	stop_corral
}

# Start the fake network server tests/servers/$1 (httpmcp, ssemcp) with
# its request log in $2 and the flags that follow; sets FAKE_PORT and
# FAKE_PID.
start_net_server() {
	local name="$1" log="$2" i=0
	shift 2
	rm -f "$BATS_TEST_TMPDIR/port"
	"$SRV/$name" --port-file "$BATS_TEST_TMPDIR/port" --log "$log" "$@" \
	    >/dev/null 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	FAKE_PID=$!
	until [ -s "$BATS_TEST_TMPDIR/port" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || fail "$name did not start"
	done
	FAKE_PORT="$(cat "$BATS_TEST_TMPDIR/port")"
}

# Start tests/servers/httpmcp with these flags, its log in $HLOG; sets
# HPORT and HPID.
start_httpmcp() {
	HLOG="$BATS_TEST_TMPDIR/http.log"
	start_net_server httpmcp "$HLOG" "$@"
	HPID=$FAKE_PID
	HPORT=$FAKE_PORT
}
