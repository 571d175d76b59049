# Shared by the remote-server suites: the reference server-everything
# over HTTP on a free loopback port.

EVERYTHING="$ROOT/tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start server-everything in mode $1 (streamableHttp, the default, or sse)
# on a free port; sets EVPORT, EVPID, EVLOG and EVURL.
start_everything() {
	local mode="${1:-streamableHttp}" i=0
	command -v node >/dev/null || fail "node is not installed"
	[ -f "$EVERYTHING" ] || fail "tests/interop/node_modules is not installed"
	EVPORT="$(free_port)"
	EVLOG="$BATS_TEST_TMPDIR/everything.log"
	PORT="$EVPORT" node "$EVERYTHING" "$mode" >"$EVLOG" 2>&1 3>&- &
	EVPID=$!
	until grep -qE "(listening|running) on port" "$EVLOG"; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 400 ] || { cat "$EVLOG"; fail "server-everything did not start"; }
	done
	if [ "$mode" = sse ]; then
		EVURL="http://127.0.0.1:$EVPORT/sse"
	else
		EVURL="http://127.0.0.1:$EVPORT/mcp"
	fi
}
