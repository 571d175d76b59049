#!/usr/bin/env bats
# The egress allow-list ("network": [hosts]). A sandboxed server reaches
# exactly what its list allows, through corral's proxy: allowed
# destinations over CONNECT and plain HTTP, everything else refused with
# a status and an audit record, names that resolve to this machine or a
# private network refused unless the address itself is listed, no direct
# route out at all; many tunnels and a slow reader keep corral's memory
# bounded, and either side closing ends a tunnel. Destinations are
# loopback servers on the host (tests/servers/egress-dest.py); the client
# inside is curl, node, npm or tests/servers/egress-client.py, run by the
# probe's "run" tool. As root and as an unprivileged user.

load helpers
load sandbox-helpers

DEST_PY="$ROOT/tests/servers/egress-dest.py"
CLIENT="/usr/bin/python3 $ROOT/tests/servers/egress-client.py"

setup_file() {
	sbx_setup_file
}

setup() {
	sbx_setup
}

teardown() {
	if [ -n "${DEST:-}" ]; then
		kill "$DEST" 2>/dev/null || true
		wait "$DEST" 2>/dev/null || true
		DEST=
	fi
	sbx_cleanup
}

# The unprivileged mode of this machine: "user" as root, else "self".
user_mode() {
	if [ "$(id -u)" = 0 ]; then echo user; else echo self; fi
}

# Start the destinations: sets HTTP, FLOOD, HOLD (ports), DEST (pid) and
# DEST_LOG; with a certificate and key as $1 and $2, HTTPS too.
start_dest() {
	local i=0
	DEST_LOG="$SBX/dest.log"
	: >"$DEST_LOG"
	/usr/bin/python3 "$DEST_PY" "$DEST_LOG" "$@" >"$SBX/dest.ports" &
	DEST=$!
	while [ ! -s "$SBX/dest.ports" ]; do
		sleep 0.05
		i=$((i + 1))
		[ "$i" -lt 200 ] || return 1
	done
	eval "$(tr 'a-z' 'A-Z' <"$SBX/dest.ports" | tr ' ' '\n')"
}

# A config with the probe as server p, its network list $1 (JSON array),
# more sandbox members in $2.
egress_config() {
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"network":$1,
  "ro":["$ROOT/tests/servers"]${2:-}$(sbx_limits)}}}}
EOF
}

# Run shell command $1 inside server p with one `corral call`.
inside() {
	as_mode "$CORRAL" call -c "$SBX/c.json" p__run cmd="$1"
}

# The egress records of the audit log, one JSON object a line.
egress_records() {
	jq -c 'select(.event == "egress")' "$MODE_STATE/corral/audit.jsonl"
}

# curl's status code for $@ run inside, through the proxy.
CODE='curl -sS -o /dev/null -w "%{http_code}\n"'

allowed_works() {
	sbx_dirs "$1"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'"]'
	run -0 --separate-stderr inside "curl -sS --proxy-user u:secret \
	    http://127.0.0.1:$HTTP/hi; curl -sS -p http://127.0.0.1:$HTTP/hi"
	assert_output "exit 0
hello-egress
hello-egress"
	[[ "$stderr" == *"[p] sandbox: network limited to: 127.0.0.1:$HTTP (through corral's proxy"* ]]
	# Plain HTTP arrives in origin form, closed after one answer, the
	# proxy's credentials gone.
	grep -qx "http GET /hi HTTP/1.1 host=127.0.0.1:$HTTP conn=close proxy=None" \
	    "$DEST_LOG"
	run -0 egress_records
	[ "${#lines[@]}" = 2 ]
	jq -s -e --arg port "$HTTP" 'map(select(.method == "GET")) | length > 0 and
	    all(.[]; .decision == "allow" and .rule == "127.0.0.1:" + $port and
	    .host == "127.0.0.1" and .port == ($port | tonumber) and
	    .address == "127.0.0.1" and .bytes_up > 0 and .bytes_down > 0)' <<<"$output" >/dev/null
	jq -s -e 'map(select(.method == "CONNECT")) | length > 0 and
	    all(.[]; .decision == "allow" and
	    .bytes_up > 0 and .bytes_down > 0)' <<<"$output" >/dev/null
	# corral audit stats adds them up per server.
	run -0 as_mode "$CORRAL" audit stats --json
	jq -e '.egress | length == 1 and .[0].server == "p" and
	    .[0].connections == 2 and .[0].allowed == 2 and
	    .[0].bytes_down > 0' <<<"$output" >/dev/null
}

@test "an allowed destination works through CONNECT and plain HTTP, each an audit record (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	allowed_works root
}

@test "an allowed destination works through CONNECT and plain HTTP, each an audit record (user)" {
	allowed_works "$(user_mode)"
}

not_listed() {
	sbx_dirs "$1"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'","registry.example.invalid"]'
	run -0 --separate-stderr inside "curl -sS http://127.0.0.1:$HOLD/x; \
	    $CODE -p http://127.0.0.1:$FLOOD/; \
	    $CODE http://example.com/; $CODE http://127.0.0.1:$HTTP@evil/; \
	    $CODE --proxy-user a:b http://registry.example.invalid/"
	assert_output "exit 0
corral: 127.0.0.1 port $HOLD is not on the network list of server p
curl: (56) CONNECT tunnel failed, response 403
000
403
403
502"
	[[ "$stderr" == *"[p] egress: denied: 127.0.0.1 port $HOLD is not on the network list of server p"* ]]
	# Nothing reached the destinations.
	[ ! -s "$DEST_LOG" ]
	run -0 egress_records
	[ "${#lines[@]}" = 5 ]
	jq -s -e --arg h "$HOLD" 'map(select(.port == ($h | tonumber))) | length > 0 and
	    all(.[]; .decision == "deny" and .method == "GET" and
	    (.reason | test("not on the network list")) and
	    .bytes_up == 0 and (has("rule") | not))' <<<"$output" >/dev/null
	jq -s -e --arg f "$FLOOD" 'map(select(.port == ($f | tonumber))) | length > 0 and
	    all(.[]; .decision == "deny" and .method == "CONNECT")' <<<"$output" >/dev/null
	jq -s -e 'map(select(.host == "example.com")) | length > 0 and
	    all(.[]; .decision == "deny")' <<<"$output" >/dev/null
	jq -s -e 'map(select(.host == "registry.example.invalid")) | length > 0 and
	    all(.[]; .decision == "error" and (.reason | test("does not resolve")))' <<<"$output" >/dev/null
}

@test "a destination not on the list gets 403 and an audit record; nothing reaches it (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	not_listed root
}

@test "a destination not on the list gets 403 and an audit record; nothing reaches it (user)" {
	not_listed "$(user_mode)"
}

@test "refusals are recorded and told at most 100 a minute; the rest are counted in one record" {
	sbx_dirs "$(user_mode)"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'"]'
	run -0 --separate-stderr inside "$CLIENT refused 127.0.0.1 $HOLD 250"
	assert_output "exit 0
403=250"
	run -0 grep -c "egress: denied: 127.0.0.1 port $HOLD" <<<"$stderr"
	assert_output 100
	run -0 jq -c 'select(.event == "egress") | .decision' "$MODE_STATE/corral/audit.jsonl"
	[ "${#lines[@]}" = 100 ]
	run -0 jq -c 'select(.event == "egress_suppressed") | {server, count}' "$MODE_STATE/corral/audit.jsonl"
	assert_output '{"server":"p","count":150}'
	[ ! -s "$DEST_LOG" ]
	# corral audit stats counts them all.
	run -0 as_mode "$CORRAL" audit stats --json
	jq -e '.egress[0].denied == 250' <<<"$output" >/dev/null
}

@test "names and addresses of this machine or private networks are refused unless the address is listed" {
	sbx_dirs "$(user_mode)"
	start_dest
	# localhost is listed by name only: it resolves to loopback.
	egress_config '["localhost:'"$HTTP"'","*:'"$FLOOD"'"]'
	run -0 --separate-stderr inside "curl -sS http://localhost:$HTTP/hi; \
	    curl -sS http://10.0.0.1:$FLOOD/; \
	    curl -sS http://169.254.169.254:$FLOOD/; \
	    curl -sS http://[::ffff:127.0.0.1]:$FLOOD/; \
	    curl -sS http://100.64.0.1:$FLOOD/"
	assert_output "exit 0
corral: localhost resolves to 127.0.0.1 (loopback), which only an entry naming that address lets through
corral: 10.0.0.1 resolves to 10.0.0.1 (private), which only an entry naming that address lets through
corral: 169.254.169.254 resolves to 169.254.169.254 (link-local), which only an entry naming that address lets through
corral: ::ffff:127.0.0.1 resolves to ::ffff:127.0.0.1 (loopback), which only an entry naming that address lets through
corral: 100.64.0.1 resolves to 100.64.0.1 (cgnat), which only an entry naming that address lets through"
	[ ! -s "$DEST_LOG" ]
	run -0 egress_records
	[ "$(jq -r '.decision' <<<"$output" | sort -u)" = deny ]
	jq -s -e 'map(select(.host == "localhost")) | length > 0 and
	    all(.[]; .address == "127.0.0.1" and .decision == "deny" and
	    (.reason | test("loopback")))' <<<"$output" >/dev/null
	# Naming the address lets the name through too.
	egress_config '["localhost:'"$HTTP"'","127.0.0.1:'"$HTTP"'"]'
	run -0 --separate-stderr inside "curl -sS http://localhost:$HTTP/hi"
	assert_output "exit 0
hello-egress"
}

no_route() {
	sbx_dirs "$1"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'"]'
	# Without the proxy: the sandbox has lo only; the host's 127.0.0.1
	# is not its 127.0.0.1.
	run -0 --separate-stderr inside "/usr/bin/python3 -c '
import errno, socket
for a in ((\"192.0.2.1\", 80), (\"10.1.2.3\", 443), (\"203.0.113.80\", 443)):
    s = socket.socket()
    try:
        s.connect(a)
        print(a[0], \"connected\")
    except OSError as e:
        print(a[0], errno.errorcode[e.errno])
'; curl -sS --noproxy '*' http://127.0.0.1:$HTTP/hi 2>&1 | sed 's/ after.*//'"
	assert_output "exit 0
192.0.2.1 ENETUNREACH
10.1.2.3 ENETUNREACH
203.0.113.80 ENETUNREACH
curl: (7) Failed to connect to 127.0.0.1 port $HTTP"
	[ ! -s "$DEST_LOG" ]
}

@test "a direct connect from inside fails with ENETUNREACH; proxy-unaware programs get no network (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	no_route root
}

@test "a direct connect from inside fails with ENETUNREACH; proxy-unaware programs get no network (user)" {
	no_route "$(user_mode)"
}

@test "the proxy variables name 127.0.0.1:3128 and override the configured ones" {
	sbx_dirs "$(user_mode)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","env":{"HTTPS_PROXY":"http://elsewhere:1","NO_PROXY":"*"},
  "sandbox":{"network":["example.org"]$(sbx_limits)}}}}
EOF
	run -0 --separate-stderr inside 'env | grep -i -e proxy -e NODE_USE | sort'
	assert_output "exit 0
ALL_PROXY=http://127.0.0.1:3128
HTTPS_PROXY=http://127.0.0.1:3128
HTTP_PROXY=http://127.0.0.1:3128
NODE_OPTIONS=--require=/etc/corral-fetch-proxy.cjs
NODE_USE_ENV_PROXY=1
NO_PROXY=
all_proxy=http://127.0.0.1:3128
http_proxy=http://127.0.0.1:3128
https_proxy=http://127.0.0.1:3128
no_proxy=
npm_config_https_proxy=http://127.0.0.1:3128
npm_config_proxy=http://127.0.0.1:3128"
}

@test "Node: http through the proxy works, and fetch (on every Node version)" {
	sbx_dirs "$(user_mode)"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'"]'
	run -0 --separate-stderr inside "node -e '
const http = require(\"http\");
http.get({host: \"127.0.0.1\", port: 3128, path: \"http://127.0.0.1:$HTTP/hi\"},
  r => { let b = \"\"; r.on(\"data\", d => b += d);
         r.on(\"end\", () => console.log(\"http\", r.statusCode, b.trim())); });
'; node -e '
fetch(\"http://127.0.0.1:$HTTP/hi\").then(r => r.text())
  .then(t => console.log(\"fetch\", t.trim()))
  .catch(e => console.log(\"fetch failed\", e.cause && e.cause.code));
'"
	# Node 24 (and late 22 releases) read NODE_USE_ENV_PROXY; older
	# ones get fetch through the proxy from /etc/corral-fetch-proxy.cjs.
	assert_output "exit 0
http 200 hello-egress
fetch hello-egress"
}

@test "Node: fetch over https goes through the CONNECT tunnel with TLS inside it" {
	sbx_dirs "$(user_mode)"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 -keyout "$SBX/key.pem" \
	    -out "$SBX/cert.pem" 2>/dev/null
	chmod 644 "$SBX/cert.pem" "$SBX/key.pem"
	start_dest "$SBX/cert.pem" "$SBX/key.pem"
	cat >"$SBX/fetch.js" <<EOF
fetch("https://127.0.0.1:$HTTPS/hi").then(r => r.text())
  .then(t => console.log("fetch", t.trim()))
  .catch(e => console.log("fetch failed", e.cause && e.cause.code));
EOF
	chmod 644 "$SBX/fetch.js"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","env":{"NODE_EXTRA_CA_CERTS":"$SBX/cert.pem"},
  "sandbox":{"network":["127.0.0.1:$HTTPS"],
  "ro":["$ROOT/tests/servers","$SBX/cert.pem","$SBX/fetch.js"]$(sbx_limits)}}}}
EOF
	run -0 --separate-stderr inside "node $SBX/fetch.js; env -u NODE_EXTRA_CA_CERTS node $SBX/fetch.js"
	# The certificate is checked: without its CA, no answer.
	assert_output "exit 0
fetch hello-egress
fetch failed DEPTH_ZERO_SELF_SIGNED_CERT"
	# The proxy saw a tunnel to that port, and never the request inside.
	run -0 egress_records
	jq -s -e --arg port "$HTTPS" 'length == 2 and all(.[]; .method == "CONNECT" and
	    .port == ($port | tonumber) and .decision == "allow" and
	    .bytes_up > 0 and .bytes_down > 0)' <<<"$output" >/dev/null
}

@test "npx -y installs from the npm registry with only its host on the list" {
	sbx_dirs "$(user_mode)"
	sbx_npx_config '"network":["registry.npmjs.org"]'"$(sbx_limits)"
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    npx__echo message=through-the-proxy
	assert_output "Echo: through-the-proxy"
	[ -d "$MODE_STATE/corral/servers/npx/home/.npm/_npx" ]
	run -0 egress_records
	jq -s -e 'map(select(.host == "registry.npmjs.org")) | length > 0 and
	    all(.[]; .decision == "allow" and
	    .method == "CONNECT" and .port == 443 and .bytes_down > 0)' <<<"$output" >/dev/null
	[ "$(jq -r '.decision' <<<"$output" | sort -u)" = allow ]
}

# VmRSS of pid $1 in KiB.
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

many_tunnels() {
	local share before during i=0
	sbx_dirs "$1"
	start_dest
	share="$SBX/share"
	mkdir -m 0777 "$share"
	egress_config '["127.0.0.1:'"$FLOOD"'"]' ',"rw":["'"$share"'"]'
	sbx_start "$SBX/c.json"
	sbx_initialize
	run -0 sbx_call 1 p__run '{"cmd":"true"}'
	before="$(rss_kib "$CPID")"
	# 260 tunnels to a source that never stops, none of them read.
	run -0 sbx_call 2 p__run '{"cmd":"'"$CLIENT"' tunnels 127.0.0.1 '"$FLOOD"' 260 '"$share"' >'"$share"'/log 2>&1 &"}'
	while [ ! -s "$share/status" ]; do
		sleep 0.1
		i=$((i + 1))
		[ "$i" -lt 600 ] || { cat "$share/log" "$ERR" >&2; return 1; }
	done
	run cat "$share/status"
	assert_output "200=256 503=4 other=0"
	# Let the source fill every buffer it can.
	sleep 2
	during="$(rss_kib "$CPID")"
	echo "corral VmRSS: $before KiB before, $during KiB with 256 full tunnels" >&3
	# 256 tunnels x (64 KiB each way) is 32 MiB; a proxy without
	# backpressure would hold what the source sent (gigabytes).
	[ $((during - before)) -lt $((64 * 1024)) ]
	touch "$share/done"
	i=0
	while [ "$(egress_records | grep -c '"decision":"allow"')" -lt 256 ]; do
		sleep 0.1
		i=$((i + 1))
		[ "$i" -lt 300 ] || { egress_records | wc -l >&2; return 1; }
	done
	run -0 egress_records
	[ "$(grep -c '"reason":"server stopped"' <<<"$output")" = 0 ]
	[ "$(jq -r 'select(.decision == "deny") | .reason' <<<"$output" | sort -u)" = "" ]
	# The server still works afterwards.
	run -0 sbx_call 3 p__run '{"cmd":"echo still"}'
	assert_output "exit 0
still"
}

@test "260 tunnels: 256 carried, 4 refused with 503; slow readers keep corral's memory bounded (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	many_tunnels root
}

@test "260 tunnels: 256 carried, 4 refused with 503; slow readers keep corral's memory bounded (user)" {
	many_tunnels "$(user_mode)"
}

either_side_closes() {
	sbx_dirs "$1"
	start_dest
	egress_config '["127.0.0.1:'"$HOLD"'"]'
	run -0 --separate-stderr inside "$CLIENT close-client 127.0.0.1 $HOLD; \
	    $CLIENT close-server 127.0.0.1 $HOLD"
	assert_output "exit 0
closed
eof"
	# The far end saw the sandbox's close, and closed at the other's
	# request.
	grep -qx eof "$DEST_LOG"
	grep -qx closed "$DEST_LOG"
	run -0 egress_records
	[ "${#lines[@]}" = 2 ]
	[ "$(jq -r '.decision' <<<"$output" | sort -u)" = allow ]
	# Both ended on their own, not when the server stopped.
	[ "$(grep -c 'server stopped' <<<"$output")" = 0 ]
	jq -s -e 'map(select(.bytes_up == 4)) | length > 0 and
	    all(.[]; .bytes_down == 0)' <<<"$output" >/dev/null
}

@test "closing either side tears the tunnel down (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	either_side_closes root
}

@test "closing either side tears the tunnel down (user)" {
	either_side_closes "$(user_mode)"
}

@test "corral run --net: hosts are repeatable, announced at start; bad ones and full with hosts exit 2" {
	sbx_dirs "$(user_mode)"
	start_dest
	run_probe
	sbx_start run --name p --net "127.0.0.1:$HTTP" --net '*.example.org' \
	    -- "$RUN_PROBE"
	sbx_initialize
	run -0 sbx_call 1 run '{"cmd":"curl -sS http://127.0.0.1:'"$HTTP"'/hi"}'
	assert_output "exit 0
hello-egress"
	grep -qF "[p] sandbox: network limited to: 127.0.0.1:$HTTP, *.example.org (through corral's proxy" "$ERR"
	run -2 --separate-stderr "$CORRAL" run --net 'a b' -- /bin/true
	assert_equal "$stderr" 'corral: --net "a b": not a host pattern (host, *.domain, an address, [IPv6], each with an optional :port)'
	run -2 --separate-stderr "$CORRAL" run --net full --net x.org -- /bin/true
	assert_equal "$stderr" 'corral: --net x.org: "full" and a list of hosts exclude each other'
}

@test "corral doctor notes a listed host that does not resolve, or resolves only to refused addresses" {
	sbx_dirs "$(user_mode)"
	egress_config '["nothing.invalid:443","localhost:8080","localhost:8081","127.0.0.1:8081","*.example.org"]'
	run -0 --separate-stderr as_mode "$CORRAL" doctor -c "$SBX/c.json"
	assert_line --regexp '^note  server p: network entry "nothing.invalid:443": nothing.invalid does not resolve here \(.*\); the proxy will answer 502$'
	assert_line 'note  server p: network entry "localhost:8080": localhost resolves only to 127.0.0.1 (loopback), which the proxy refuses unless an entry names that address'
	refute_line --partial '"localhost:8081"'
	refute_line --partial 'example.org":'
}

@test "a malformed or oversized request gets 400 or 431, its reason without control characters" {
	sbx_dirs "$(user_mode)"
	start_dest
	egress_config '["*"]'
	run -0 --separate-stderr inside "/usr/bin/python3 -c '
import socket
def ask(req):
    s = socket.create_connection((\"127.0.0.1\", 3128))
    s.sendall(req)
    print(s.recv(100).split(b\"\\r\\n\")[0].decode())
ask(b\"get http://127.0.0.1:$HTTP/hi HTTP/1.1\\r\\n\\r\\n\")
ask(b\"CONNECT \\x1b[31mx:443 HTTP/1.1\\r\\n\\r\\n\")
ask(b\"GET /hi HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\")
ask(b\"GET http://u:p@127.0.0.1:$HTTP/hi HTTP/1.1\\r\\n\\r\\n\")
ask(b\"GET http://127.0.0.1:$HTTP/\" + b\"x\" * 20000)
'"
	assert_output "exit 0
HTTP/1.1 400 Bad Request
HTTP/1.1 400 Bad Request
HTTP/1.1 400 Bad Request
HTTP/1.1 400 Bad Request
HTTP/1.1 431 Request Header Fields Too Large"
	[ ! -s "$DEST_LOG" ]
	[[ "$stderr" != *$'\e'* ]]
	run -0 egress_records
	[ "$(jq -r .decision <<<"$output" | sort -u)" = deny ]
	[[ "$output" != *'\u001b'* ]]
}

@test "16 MiB arrive intact through CONNECT and plain HTTP" {
	local want
	sbx_dirs "$(user_mode)"
	start_dest
	egress_config '["127.0.0.1:'"$HTTP"'"]'
	want="$(/usr/bin/python3 -c 'import hashlib, random
print(hashlib.sha256(random.Random(8).randbytes(16 << 20)).hexdigest())')"
	run -0 --separate-stderr inside "curl -sS http://127.0.0.1:$HTTP/big |
	    sha256sum; curl -sS -p http://127.0.0.1:$HTTP/big | sha256sum"
	assert_output "exit 0
$want  -
$want  -"
	run -0 egress_records
	[ "$(jq -r 'select(.bytes_down > 16777216) | .method' <<<"$output" |
	    sort | tr '\n' ' ')" = "CONNECT GET " ]
}

probe_with_list() {
	local vars=HTTP_PROXY,HTTPS_PROXY,ALL_PROXY,NO_PROXY,http_proxy,https_proxy
	vars="$vars,all_proxy,no_proxy,NODE_USE_ENV_PROXY,npm_config_proxy"
	vars="$vars,npm_config_https_proxy,NODE_OPTIONS"
	sbx_dirs "$1"
	start_listener "corral-egress-$$-$1"
	egress_config '["example.org"]'
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__probe env="$vars" uid="$(sbx_uid "$1")" hostname=corral-p \
	    port="$PORT" abstract="corral-egress-$$-$1" data="$(sbx_data)"
	refute_output --partial FAIL
	assert_line "ok no leaked descriptors"
	assert_line "ok environment allow-list"
	[ "${#lines[@]}" -gt 100 ]
}

@test "with a host list every other check of the probe still passes; the listener is not the server's (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	probe_with_list root
}

@test "with a host list every other check of the probe still passes; the listener is not the server's (user)" {
	probe_with_list "$(user_mode)"
}
