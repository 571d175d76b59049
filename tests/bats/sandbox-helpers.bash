# Helpers for 70-sandbox.bats: run corral as root and as an unprivileged
# user, each with a HOME and XDG_STATE_HOME of its own in a directory that
# user owns (BATS_TEST_TMPDIR is not reachable by another user).

SBX_USER=corral-test
PROBE="$SRV/probe"
PYMCP="$ROOT/tests/servers/pymcp.py"
NODE_MODULES="$ROOT/tests/interop/node_modules"
EVERYTHING="$NODE_MODULES/@modelcontextprotocol/server-everything/dist/index.js"

# In CI a missing feature fails the test instead of skipping it.
skip_unless_ci() {
	if [ "${CI:-}" = true ]; then
		echo "CI: $1" >&2
		return 1
	fi
	skip "$1"
}

# The modes this machine can test: root and user when we are root (the
# user is created if missing), else only the current user.
sbx_modes() {
	if [ "$(id -u)" = 0 ]; then
		echo root user
	else
		echo self
	fi
}

# setup_file of a sandbox suite: the test user, and whether user
# namespaces work here at all.
sbx_setup_file() {
	sbx_make_user
	# Without user namespaces nothing here can run: a skip, except in CI.
	if ! sbx_doctor >/dev/null; then
		export SBX_NO_NS=1
	fi
}

# setup of each sandbox test.
sbx_setup() {
	if [ -n "${SBX_NO_NS:-}" ]; then
		skip_unless_ci "this machine cannot create the sandbox (see corral doctor)"
	fi
}

# corral run has no limits option, and an ASan probe cannot start under
# the default data limit: the ASan corral runs the normal build's probe.
run_probe() {
	RUN_PROBE="$PROBE"
	if asan_build; then
		RUN_PROBE="$ROOT/build/tests/servers/probe"
		[ -x "$RUN_PROBE" ] || skip "an ASan build needs build/tests/servers/probe for corral run"
	fi
}

# Write $SBX/c.json with server-everything run by npx -y as server
# "npx", its sandbox members $1; skip when the registry is unreachable.
sbx_npx_config() {
	if ! timeout 20 npm view @modelcontextprotocol/server-everything version >/dev/null 2>&1; then
		skip "the npm registry is not reachable"
	fi
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"npx":{"command":"npx","args":["-y","@modelcontextprotocol/server-everything","stdio"],
  "sandbox":{$1},"timeouts":{"start":120}}}}
EOF
}

# Make the test user (idempotent; only as root).
sbx_make_user() {
	[ "$(id -u)" = 0 ] || return 0
	id -u "$SBX_USER" >/dev/null 2>&1 && return 0
	# Both builds' suites may run at once: one useradd at a time.
	flock /tmp/.corral-test-useradd.lock sh -c \
	    'id -u "$1" >/dev/null 2>&1 || useradd -M -r -s /usr/sbin/nologin "$1"' \
	    sh "$SBX_USER"
}

# A directory for this test that every mode's user can reach, under /tmp.
# Sets SBX (the directory), MODE_HOME, MODE_STATE for mode $1.
sbx_dirs() {
	local mode="$1" owner
	SBX="$(mktemp -d /tmp/corral-sbx.XXXXXX)"
	chmod 0755 "$SBX"
	MODE="$mode"
	MODE_HOME="$SBX/home"
	MODE_STATE="$SBX/state"
	mkdir -p "$MODE_HOME/.ssh" "$MODE_STATE"
	echo "not for servers" >"$MODE_HOME/.ssh/id_test"
	chmod 0700 "$MODE_HOME" "$MODE_HOME/.ssh" "$MODE_STATE"
	if [ "$mode" = user ]; then
		owner="$SBX_USER"
		chown -R "$owner:" "$MODE_HOME" "$MODE_STATE"
	fi
}

# The uid the sandbox runs as in mode $1, as seen inside.
sbx_uid() {
	case "$1" in
	root) echo 65534 ;;
	user) id -u "$SBX_USER" ;;
	self) id -u ;;
	esac
}

# MODE_CMD: the command prefix that runs a program as the mode's user
# with its HOME and state directory (each part execs the next, so a
# background job's $! is the program's pid).
mode_cmd() {
	local envs=(HOME="$MODE_HOME" XDG_STATE_HOME="$MODE_STATE"
	    PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS")
	if [ "$MODE" = user ]; then
		MODE_CMD=(setpriv --reuid="$SBX_USER" --regid="$SBX_USER"
		    --clear-groups --inh-caps=-all env -i "${envs[@]}")
	else
		MODE_CMD=(env -i "${envs[@]}")
	fi
}

# Run a command as the mode's user.
as_mode() {
	mode_cmd
	"${MODE_CMD[@]}" "$@"
}

# Write stdin as a config at $1 owned by the mode's user, mode 0600.
sbx_config() {
	cat >"$1"
	chmod 0600 "$1"
	if [ "$MODE" = user ]; then
		chown "$SBX_USER:" "$1"
	fi
}

# ASan binaries reserve terabytes of shadow memory, which RLIMIT_DATA
# counts: their sandbox gets a larger data limit (the normal build checks
# the default one).
asan_build() {
	case "$BUILD" in *asan*) return 0 ;; esac
	return 1
}
# The sandbox's "limits" member, with extra members $1 (JSON text).
sbx_limits() {
	local l="${1:-}"
	if asan_build; then
		l="${l:+$l,}\"data\":100000000000000"
	fi
	[ -z "$l" ] || printf ',"limits":{%s}' "$l"
}
# A whole "sandbox" member for a server that needs nothing else.
sbx_asan_sandbox() {
	if asan_build; then
		printf ',"sandbox":{"limits":{"data":100000000000000}}'
	fi
}
sbx_data() {
	if asan_build; then
		echo 100000000000000
	else
		echo 4294967296
	fi
}

# Listen on the host: a TCP port on 127.0.0.1 and an abstract unix socket
# named $1. Sets PORT and LISTENER (its pid).
start_listener() {
	local f="$SBX/port"
	/usr/bin/python3 -c '
import socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8)
u = socket.socket(socket.AF_UNIX); u.bind("\0" + sys.argv[1]); u.listen(8)
print(t.getsockname()[1], flush=True)
time.sleep(120)' "$1" >"$f" &
	LISTENER=$!
	local i=0
	while [ ! -s "$f" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || return 1
	done
	PORT="$(cat "$f")"
}

# Start `corral serve -c $1` (or `corral run ARGS` with $1 = run) as the
# mode's user with a fifo as its stdin; as start_corral.
sbx_start() {
	IN="$SBX/in"
	OUT="$SBX/out"
	ERR="$SBX/err"
	rm -f "$IN"
	mkfifo "$IN"
	: >"$OUT"
	: >"$ERR"
	chmod 0666 "$IN" "$OUT" "$ERR"
	mode_cmd
	if [ "$1" = run ]; then
		shift
		"${MODE_CMD[@]}" "$CORRAL" run "$@" <"$IN" >"$OUT" 2>"$ERR" &
	else
		"${MODE_CMD[@]}" "$CORRAL" serve -c "$1" <"$IN" >"$OUT" \
		    2>"$ERR" &
	fi
	CPID=$!
	# fd 3 is bats' own.
	exec 4>"$IN"
	FIFO_OPEN=1
}

# Send one line to corral.
sbx_send() {
	printf '%s\n' "$1" >&4
}

# Close corral's stdin.
sbx_close() {
	if [ -n "${FIFO_OPEN:-}" ]; then
		exec 4>&-
		FIFO_OPEN=
	fi
}

# Call tool $2 with arguments $3 (JSON) as request id $1 and wait for the
# answer, accepting corral's consent questions (elicitation) for the
# session on the way. Prints the answer's first text content.
sbx_call() {
	local id="$1" name="$2" args="$3" i=0 eid seen=""
	sbx_send '{"jsonrpc":"2.0","id":'"$id"',"method":"tools/call","params":{"name":"'"$name"'","arguments":'"$args"'}}'
	while ! grep -qE '"id":'"$id"',"(result|error)"' "$OUT"; do
		for eid in $(grep '"method":"elicitation/create"' "$OUT" |
		    jq -r '.id' 2>/dev/null); do
			case " $seen " in *" $eid "*) continue ;; esac
			seen="$seen $eid"
			sbx_send '{"jsonrpc":"2.0","id":'"$eid"',"result":{"action":"accept","content":{"decision":"allow for this session"}}}'
		done
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge 600 ]; then
			echo "no answer to $name" >&2
			cat "$OUT" "$ERR" >&2
			return 1
		fi
	done
	grep -E '"id":'"$id"',"(result|error)"' "$OUT" | head -n 1 |
	    jq -r '.result.content[0].text // .error.message'
}

# Send initialize declaring elicitation, and initialized.
sbx_initialize() {
	sbx_send '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"bats","version":"1"}}}'
	wait_for '"id":0,"result"' 30
	sbx_send '{"jsonrpc":"2.0","method":"notifications/initialized"}'
}

# Processes whose command line contains $1, one pid per line.
pids_of() {
	pgrep -f -- "$1" || true
}

# Run a command (as uid $1, gid $2) in a user namespace whose
# user.max_user_namespaces is 0, so corral cannot make its own: the
# machine "without user namespaces", without touching the real sysctl.
# Root only.
without_userns() {
	/usr/bin/python3 - "$@" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.close(r2)
    if libc.unshare(0x10000000) != 0:
        sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
    os.write(w2, b"u")
    os.close(w2)
    os.read(r, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0")
    os.setgroups([])
    os.setgid(int(sys.argv[2]))
    os.setuid(int(sys.argv[1]))
    os.execvp(sys.argv[3], sys.argv[3:])
os.close(r)
os.close(w2)
os.read(r2, 1)
for name in ("uid_map", "gid_map"):
    with open("/proc/%d/%s" % (pid, name), "w") as m:
        m.write("0 0 65536\n")
os.write(w, b"g")
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

sbx_cleanup() {
	local bad=0
	if [ -n "${ERR:-}" ] && [ -f "$ERR" ] &&
	    grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$ERR"; then
		echo "sanitizer report:" >&2
		cat "$ERR" >&2
		bad=1
	fi
	if [ -n "${LISTENER:-}" ]; then
		kill "$LISTENER" 2>/dev/null || true
		wait "$LISTENER" 2>/dev/null || true
	fi
	sbx_close
	if [ -n "${CPID:-}" ] && kill -0 "$CPID" 2>/dev/null; then
		kill -9 "$CPID" 2>/dev/null || true
		wait "$CPID" 2>/dev/null || true
	fi
	if [ -n "${SBX:-}" ] && [ -d "$SBX" ]; then
		rm -rf "$SBX"
	fi
	LISTENER= CPID= ERR= SBX=
	return "$bad"
}

# Whether the whole sandbox works here (doctor's trial), and the
# Landlock line of doctor's report.
sbx_doctor() {
	local tmp rc
	tmp="$(mktemp -d /tmp/corral-doc.XXXXXX)"
	env -i HOME="$tmp" XDG_STATE_HOME="$tmp" PATH=/usr/bin:/bin \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$CORRAL" doctor >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	rm -rf "$tmp"
	return "$rc"
}
