#!/bin/sh
# make demo: the main job on the bundled example: three small MCP servers
# written in C (examples/demo-*.c) behind one corral, each in its sandbox,
# one of them misbehaving, and a consent prompt answered.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="${1:-build}"
CORRAL="$ROOT/$B/corral"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Its own state (pins, consent, audit log) so the demo leaves yours alone.
export XDG_STATE_HOME="$tmp/state"
# A private copy of the config: corral refuses configs others may write.
sed -e "s#\.\./build#$ROOT/$B#g" -e "s#\./demo-consent.sh#$ROOT/examples/demo-consent.sh#" "$ROOT/examples/demo.json" >"$tmp/demo.json"
chmod 600 "$tmp/demo.json"

if [ -t 1 ]; then say() { printf "\n\033[1m$ %s\033[0m\n" "$*"; }; else say() { printf "\n$ %s\n" "$*"; }; fi

say "cat examples/demo.json"
cat "$ROOT/examples/demo.json"
echo

say "corral tools -c examples/demo.json"
"$CORRAL" tools -c "$tmp/demo.json"

say "corral call -c examples/demo.json text__wordcount text='one corral, many servers'"
"$CORRAL" call -c "$tmp/demo.json" text__wordcount text='one corral, many servers'

say "corral call -c examples/demo.json text__rot13 text=corral   # policy: ask"
"$CORRAL" call -c "$tmp/demo.json" text__rot13 text=corral

say "corral call -c examples/demo.json clock__countdown seconds=2"
"$CORRAL" call -c "$tmp/demo.json" clock__countdown seconds=2

say "corral call -c examples/demo.json snoop__snoop home=\$HOME   # an untrusted server, sandboxed"
"$CORRAL" call -c "$tmp/demo.json" snoop__snoop home="$HOME"

say "a host speaking MCP to corral serve (what a desktop client does):"
{
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}'
	printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"text__upper","arguments":{"text":"through the broker"}}}'
	sleep 0.5
} | "$CORRAL" serve -c "$tmp/demo.json" 2>/dev/null | while IFS= read -r line; do
	printf '  <- %s\n' "$line" | cut -c1-160
done

say "corral audit tail -n 12   # every call, decision and process event, in a chained log"
"$CORRAL" audit tail -n 12

say "corral audit stats"
"$CORRAL" audit stats

say "corral audit verify"
"$CORRAL" audit verify

say "sed -i '0,/\"outcome\":\"ok\"/s//\"outcome\":\"tool_error\"/' audit.jsonl; corral audit verify   # rewriting history shows"
log="$XDG_STATE_HOME/corral/audit.jsonl"
sed -i '0,/"outcome":"ok"/s//"outcome":"tool_error"/' "$log"
"$CORRAL" audit verify || echo "(exit $?)"
echo
echo "demo done. Next: 'make check' runs every test."
