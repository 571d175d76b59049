#!/usr/bin/env bats
# OAuth 2.1 for remote servers: corral login against the fake
# authorization server of tests/servers/httpmcp, refresh, logout, doctor,
# and the refusals (http and local addresses for discovery, a forged
# state, an error answer, a browser that never comes back).

load helpers

# Start httpmcp with these flags, a fresh log; sets HPORT, HLOG, HPID, URL.
start_auth() {
	rm -f "$BATS_TEST_TMPDIR/http.log"
	start_httpmcp "$@"
	URL="http://127.0.0.1:$HPORT/mcp"
}

# A config with remote server r at $URL; $1: more members of its entry.
auth_config() {
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"r":{"type":"http","url":"%s"%s}}}\n' \
	    "$URL" "${1:-}" >"$CONF"
	allow_by_default "$CONF"
}

LOCAL_OK=',"oauth":{"allow_local_discovery":true}'

# A fake xdg-open, first on PATH, running the shell code $1 with the
# URL in $1 of the script.
fake_browser() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\n%s\n' "$1" >"$BATS_TEST_TMPDIR/bin/xdg-open"
	chmod +x "$BATS_TEST_TMPDIR/bin/xdg-open"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

# The browser a user would be: follow the authorization server's redirect.
FOLLOW='curl -s -o /dev/null -L "$1"'
# Pieces of the authorization URL, for browsers that answer themselves.
REDIRECT='r=$(printf "%s" "$1" | sed -n "s/.*[?&]redirect_uri=\([^&]*\).*/\1/p" | sed "s/%3A/:/g; s/%2F/\//g")'
STATE='s=$(printf "%s" "$1" | sed -n "s/.*[?&]state=\([^&]*\).*/\1/p")'

TOKENS() { printf '%s' "$XDG_STATE_HOME/corral/tokens/r.json"; }

teardown() {
	[ -z "${HPID:-}" ] || kill "$HPID" 2>/dev/null || true
}

@test "oauth: a 401 with metadata drives the whole login; tokens are stored 0600 in a 0700 directory" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	fake_browser "$FOLLOW"
	run -0 --separate-stderr "$CORRAL" login -c "$CONF" r --timeout 20
	assert_output ""
	[ "${#stderr_lines[@]}" = 2 ]
	[[ "${stderr_lines[0]}" =~ ^"Open this URL to log in to r: http://127.0.0.1:$HPORT/authorize?response_type=code&client_id=client-1&redirect_uri=http%3A%2F%2F127.0.0.1%3A"[0-9]+"%2Fcallback&code_challenge="[A-Za-z0-9_-]{43}"&code_challenge_method=S256&state="[A-Za-z0-9_-]{22}"&resource=http%3A%2F%2F127.0.0.1%3A$HPORT%2Fmcp"$ ]]
	[[ "${stderr_lines[1]}" =~ ^"corral: logged in to r (the access token expires at "[0-9]{4}-[0-9]{2}-[0-9]{2}" "[0-9:]{8}" UTC)"$ ]]
	run -0 stat -c %a "$XDG_STATE_HOME/corral/tokens" "$(TOKENS)"
	assert_output $'700\n600'
	run -0 jq -c '{server_url, resource, client_id, token_endpoint, access_token, refresh_token, e: (.expires_at > now + 3500)}' "$(TOKENS)"
	assert_output "{\"server_url\":\"$URL\",\"resource\":\"$URL\",\"client_id\":\"client-1\",\"token_endpoint\":\"http://127.0.0.1:$HPORT/token\",\"access_token\":\"TOK\",\"refresh_token\":\"r1\",\"e\":true}"
	# The requests, in order: the probe, metadata, registration, the
	# browser's authorize, the code exchange.
	run -0 awk '{print $1, $2}' "$HLOG"
	assert_line --index 0 "POST /mcp"
	assert_line --index 1 "GET /.well-known/oauth-protected-resource"
	assert_line --index 2 "GET /.well-known/oauth-authorization-server"
	assert_line --index 3 "POST /register"
	assert_line --index 4 --regexp "^GET /authorize\?response_type=code&client_id=client-1&.*&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256&state=.*&resource=http%3A%2F%2F127.0.0.1%3A$HPORT%2Fmcp$"
	assert_line --index 5 "POST /token"
	run -0 grep '^POST /register ' "$HLOG"
	assert_output --regexp 'body=\{"client_name":"corral","redirect_uris":\["http://127.0.0.1:[0-9]+/callback"\],"grant_types":\["authorization_code","refresh_token"\],"response_types":\["code"\],"token_endpoint_auth_method":"none"\}$'
	run -0 grep '^POST /token ' "$HLOG"
	assert_output --regexp 'body=grant_type=authorization_code&code=[0-9a-f]+&redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9]+%2Fcallback&client_id=client-1&code_verifier=[A-Za-z0-9_-]{43}&'
	# The token is good: doctor initializes with it.
	run -0 "$CORRAL" doctor -c "$CONF"
	assert_line "ok    server r: reachable, initialize answered ($URL)"
	assert_line --regexp '^ok    server r: logged in, the access token expires at [0-9-]+ [0-9:]+ UTC$'
	run -0 grep -c '^POST /mcp .* auth=Bearer TOK ' "$HLOG"
	assert_output 1
}

@test "oauth: a configured client_id skips registration; the configured scopes are asked for" {
	start_auth --oauth --require-auth TOK
	auth_config ',"oauth":{"allow_local_discovery":true,"client_id":"${env:CID}","scopes":"read write"}'
	# The fake server knows only the clients it registered: register one.
	curl -s -o /dev/null -H 'Content-Type: application/json' \
	    -d '{"redirect_uris":["http://127.0.0.1:1/callback"]}' "http://127.0.0.1:$HPORT/register"
	fake_browser "$FOLLOW"
	# Its redirect URI is not corral's, so the browser never comes back.
	CID=client-1 run -1 "$CORRAL" login -c "$CONF" r --timeout 2
	assert_line --regexp '^corral: login: r: timed out after 2 s '
	run -1 grep -c '^POST /register .*"client_name":"corral"' "$HLOG"
	run -0 grep '^GET /authorize' "$HLOG"
	assert_output --regexp 'client_id=client-1&.*&scope=read%20write '
}

@test "oauth: the refresh API gets a new access token, keeps the client, saves it; doctor uses it" {
	start_auth --oauth --require-auth TOK --refreshed-token T2
	auth_config "$LOCAL_OK"
	fake_browser "$FOLLOW"
	run -0 "$CORRAL" login -c "$CONF" r --timeout 20
	# Make the access token expire (within the 60 s margin).
	jq '.expires_at = (now + 30 | floor)' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t.json"
	cat "$BATS_TEST_TMPDIR/t.json" >"$(TOKENS)"
	run -0 "$CORRAL" doctor -c "$CONF"
	assert_line "ok    server r: the access token had expired; refreshed"
	assert_line "ok    server r: reachable, initialize answered ($URL)"
	assert_line --regexp '^ok    server r: logged in, the access token expires at '
	run -0 grep '^POST /token .*grant_type=refresh_token' "$HLOG"
	assert_output --regexp "body=grant_type=refresh_token&refresh_token=r1&client_id=client-1&resource=http%3A%2F%2F127.0.0.1%3A$HPORT%2Fmcp$"
	run -0 grep -c '^POST /mcp .* auth=Bearer T2 ' "$HLOG"
	assert_output 1
	run -0 jq -c '{access_token, refresh_token, client_id, e: (.expires_at > now + 3500)}' "$(TOKENS)"
	assert_output '{"access_token":"T2","refresh_token":"r2","client_id":"client-1","e":true}'
	run -0 stat -c %a "$(TOKENS)"
	assert_output 600
	# A refresh token the server no longer knows: log in again.
	jq '.expires_at = 1 | .refresh_token = "gone"' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t.json"
	cat "$BATS_TEST_TMPDIR/t.json" >"$(TOKENS)"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line "FAIL  server r: the access token has expired and could not be refreshed: http://127.0.0.1:$HPORT/token: the token endpoint refused: HTTP 400: invalid_grant (unknown refresh_token); run \`corral login r\`"
	assert_line "FAIL  server r: needs authorization (HTTP 401); run \`corral login r\` (or give it a token in \"headers\")"
}

@test "oauth: the refresh API works on a multi handle too (tests/tools/oauthrefresh)" {
	start_auth --oauth --require-auth TOK --refreshed-token T3
	auth_config "$LOCAL_OK"
	fake_browser "$FOLLOW"
	run -0 "$CORRAL" login -c "$CONF" r --timeout 20
	run -0 "$BUILD/tests/tools/oauthrefresh" "$CONF" r
	assert_output "refreshed r: T3"
	run -0 jq -r .access_token "$(TOKENS)"
	assert_output T3
}

@test "oauth: discovery over http or to this machine is refused without the test override" {
	start_auth --oauth --require-auth TOK
	auth_config
	fake_browser "$FOLLOW"
	run -1 "$CORRAL" login -c "$CONF" r --timeout 5
	assert_output "corral: login: r: http://127.0.0.1:$HPORT/.well-known/oauth-protected-resource: refused: discovery URLs must be https"
	run -1 grep -c '^GET /.well-known' "$HLOG"
}

@test "oauth: a metadata URL at 127.0.0.1 is refused before any connection; a name resolving to loopback when connecting" {
	start_auth --oauth --require-auth TOK --metadata-url https://127.0.0.1:1/x
	auth_config
	run -1 "$CORRAL" login -c "$CONF" r --timeout 5 --no-browser
	assert_output "corral: login: r: https://127.0.0.1:1/x: refused: 127.0.0.1 is a loopback address; discovery URLs must lead to public addresses"
	kill "$HPID"
	start_auth --oauth --require-auth TOK --metadata-url "https://[::ffff:169.254.169.254]/latest"
	auth_config
	run -1 "$CORRAL" login -c "$CONF" r --timeout 5 --no-browser
	assert_output "corral: login: r: https://[::ffff:169.254.169.254]/latest: refused: ::ffff:169.254.169.254 is a link-local address; discovery URLs must lead to public addresses"
	kill "$HPID"
	# A name: only the address curl is about to connect to tells.
	start_auth --oauth --require-auth TOK --metadata-url "https://localhost:$HPORT/x"
	auth_config
	run -1 "$CORRAL" login -c "$CONF" r --timeout 5 --no-browser
	assert_output --regexp "^corral: login: r: https://localhost:[0-9]+/x: refused: (127\.0\.0\.1|::1) is a loopback address; discovery URLs must lead to public addresses$"
	run -0 awk '{print $1, $2}' "$HLOG"
	assert_output "POST /mcp"
}

@test "oauth: a redirect with another state is refused" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	fake_browser "$REDIRECT"'
curl -s -o /dev/null "$r?code=stolen&state=forged"'
	run -1 --separate-stderr "$CORRAL" login -c "$CONF" r --timeout 20
	assert_equal "${stderr_lines[1]}" "corral: login: r: the redirect's state does not match this login (a stale or forged redirect)"
	run -1 grep -c '^POST /token' "$HLOG"
	[ ! -e "$(TOKENS)" ]
}

@test "oauth: an error answer from the authorization server ends the login; other paths are ignored" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	fake_browser "$REDIRECT
$STATE"'
base=${r%/callback}
curl -s -o "$0.favicon" -w "%{http_code}\n" "$base/favicon.ico" >"$0.code"
curl -s -o "$0.page" "$r?error=access_denied&error_description=the+user+said+no&state=$s"'
	run -1 --separate-stderr "$CORRAL" login -c "$CONF" r --timeout 20
	assert_equal "${stderr_lines[1]}" "corral: login: r: the authorization server answered access_denied (the user said no)"
	run -0 cat "$BATS_TEST_TMPDIR/bin/xdg-open.code" "$BATS_TEST_TMPDIR/bin/xdg-open.page"
	assert_output $'404\ncorral: login failed; see the terminal.'
	[ ! -e "$(TOKENS)" ]
}

@test "oauth: a browser that never comes back times out" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	fake_browser 'exit 0'
	run -1 --separate-stderr "$CORRAL" login -c "$CONF" r --timeout 1
	[[ "${stderr_lines[1]}" =~ ^"corral: login: r: timed out after 1 s waiting for the browser to come back to http://127.0.0.1:"[0-9]+"/callback"$ ]]
}

@test "oauth: logout removes the tokens; doctor says what each state means" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line "FAIL  server r: needs authorization (HTTP 401); run \`corral login r\` (or give it a token in \"headers\")"
	fake_browser "$FOLLOW"
	run -0 "$CORRAL" login -c "$CONF" r --timeout 20
	# A token file others can read is refused.
	chmod 644 "$(TOKENS)"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line "FAIL  server r: $(TOKENS): refusing a file that group or others can read or write (chmod 600 $(TOKENS))"
	chmod 600 "$(TOKENS)"
	# Tokens got for another URL are not sent.
	jq '.server_url = "https://elsewhere.test/mcp"' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t.json"
	cat "$BATS_TEST_TMPDIR/t.json" >"$(TOKENS)"
	run -1 "$CORRAL" doctor -c "$CONF"
	assert_line "note  server r: the stored token is for another URL (https://elsewhere.test/mcp), not used; run \`corral login r\` if it needs one"
	assert_line "FAIL  server r: needs authorization (HTTP 401); run \`corral login r\` (or give it a token in \"headers\")"
	run -0 "$CORRAL" logout r
	assert_output "corral: logged out of r (its tokens are removed)"
	[ ! -e "$(TOKENS)" ]
	run -1 "$CORRAL" logout r
	assert_output "corral: logout: r: no stored tokens"
	# A server without auth needs no login.
	kill "$HPID"
	start_auth
	auth_config
	run -0 "$CORRAL" doctor -c "$CONF"
	assert_line "ok    server r: no login needed"
}

@test "oauth: login usage and alias errors" {
	start_auth
	CONF="$BATS_TEST_TMPDIR/c.json"
	printf '{"mcpServers":{"r":{"type":"http","url":"%s"},"l":{"command":"/bin/true"}}}\n' "$URL" >"$CONF"
	chmod 600 "$CONF"
	run -2 "$CORRAL" login
	assert_output "usage: corral login [-c file] [--no-browser] [--timeout seconds] alias"
	run -2 "$CORRAL" login -c "$CONF" r extra
	run -2 "$CORRAL" login -c "$CONF" r --timeout 0
	assert_output "corral: login: --timeout: expected seconds from 1 to 86400"
	run -2 "$CORRAL" logout
	assert_output "usage: corral logout alias"
	run -1 "$CORRAL" login -c "$CONF" l
	assert_output "corral: login: l: not a remote server (\"type\": \"http\"); only remote servers log in"
	run -1 "$CORRAL" login -c "$CONF" nope
	assert_output "corral: login: nope: no such server in $CONF"
	# A server that does not ask for authorization has nothing to log in to.
	printf '{"mcpServers":{"r":{"type":"http","url":"%s","oauth":{"allow_local_discovery":true}}}}\n' "$URL" >"$CONF"
	run -1 "$CORRAL" login -c "$CONF" r --no-browser
	assert_output "corral: login: r: $URL answered HTTP 200 and publishes no protected-resource metadata (tried http://127.0.0.1:$HPORT/.well-known/oauth-protected-resource/mcp); it may need no login"
}

# Log in to r at a fresh httpmcp started with these flags.
logged_in() {
	start_auth --oauth "$@"
	auth_config "$LOCAL_OK"
	fake_browser "$FOLLOW"
	run -0 "$CORRAL" login -c "$CONF" r --timeout 20
	: >"$HLOG"
}

@test "oauth: corral sends the stored token with every request to the server" {
	logged_in --require-auth TOK
	run -0 "$CORRAL" call -c "$CONF" r__whoami '{}'
	assert_output "Bearer TOK"
	run grep -vc ' auth=Bearer TOK ' "$HLOG"
	assert_output 0
	run -0 grep -c '^POST /mcp ' "$HLOG"
	[ "$output" -ge 4 ]
	run -1 grep -F TOK "$XDG_STATE_HOME/corral/audit.jsonl"
}

@test "oauth: a token the server stops accepting is refreshed once and the request sent again" {
	logged_in --require-auth TOK --expire-token-after 2 --refreshed-token NEW
	run -0 --separate-stderr "$CORRAL" call -c "$CONF" r__whoami '{}'
	assert_output "Bearer NEW"
	[[ "$stderr" == *"corral: [r] the OAuth access token was refreshed"* ]]
	run -0 grep -c '^POST /token .*grant_type=refresh_token&refresh_token=r1&client_id=client-1&resource=' "$HLOG"
	assert_output 1
	# What the server refused went again with the new token.
	run -0 grep -c '^POST /mcp .* auth=Bearer NEW .*"method":"tools/call"' "$HLOG"
	assert_output 1
	run -0 jq -c '{access_token, refresh_token}' "$(TOKENS)"
	assert_output '{"access_token":"NEW","refresh_token":"r2"}'
	run -0 stat -c %a "$(TOKENS)"
	assert_output 600
}

@test "oauth: an access token that expired is refreshed before initialize" {
	logged_in --require-auth TOK
	jq '.expires_at = (now - 10)' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t" && cat "$BATS_TEST_TMPDIR/t" >"$(TOKENS)"
	run -0 --separate-stderr "$CORRAL" call -c "$CONF" r__whoami '{}'
	assert_output "Bearer httpmcp-refreshed"
	run -0 awk '{print $1, $2}' "$HLOG"
	assert_line --index 0 "POST /token"
	run -1 grep -q ' auth=Bearer TOK ' "$HLOG"
}

@test "oauth: a refresh the authorization server refuses fails the calls with \"run corral login\", no hang" {
	# initialize, initialized, the GET stream and four lists use it;
	# the call is refused.
	logged_in --require-auth TOK --expire-token-after 7
	jq '.refresh_token = "bogus"' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t" && cat "$BATS_TEST_TMPDIR/t" >"$(TOKENS)"
	start_corral
	initialize
	send '{"jsonrpc":"2.0","id":9,"method":"tools/list"}'
	wait_for '"id":9,"result":.*r__whoami'
	send '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"r__whoami","arguments":{}}}'
	wait_for '"id":1,'
	run -0 line_for '"id":1,'
	assert_output --regexp '^\{"jsonrpc":"2.0","id":1,"error":\{"code":-32000,"message":"remote server r: needs login: the access token could not be refreshed \(.*invalid_grant.*\); run `corral login r`"'
	wait_err 'corral: \[r\] needs login: the access token could not be refreshed'
	stop_corral
}

@test "oauth: without a login, serve says so on stderr and in the error of calls to the server" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"
	run -1 --separate-stderr "$CORRAL" call -c "$CONF" r__whoami '{}'
	[[ "$stderr" == *'corral: [r] initialize failed: remote server r: needs authorization (HTTP 401): run `corral login r` (or give it a token in "headers")'* ]]
	[[ "$stderr" == *'corral: r__whoami: unknown tool: r__whoami (server r is not ready: initialize failed: remote server r: needs authorization (HTTP 401): run `corral login r` (or give it a token in "headers")) (-32602)'* ]]
}

@test "oauth: tokens stored for another URL are not sent" {
	logged_in --require-auth TOK
	jq '.server_url = "https://elsewhere.test/mcp"' "$(TOKENS)" >"$BATS_TEST_TMPDIR/t" && cat "$BATS_TEST_TMPDIR/t" >"$(TOKENS)"
	run -1 --separate-stderr "$CORRAL" call -c "$CONF" r__whoami '{}'
	[[ "$stderr" == *'corral: [r] the stored OAuth tokens are for another URL (https://elsewhere.test/mcp); not used: run `corral login r` if it needs them'* ]]
	run -1 grep -F 'Bearer TOK' "$HLOG"
}

@test "oauth: a server that gave up for want of a login is tried again on SIGHUP after corral login" {
	start_auth --oauth --require-auth TOK
	auth_config "$LOCAL_OK"',"restart":{"max_failures":0}'
	start_corral
	initialize
	wait_err 'corral: \[r\] failed 1 time in a row; not restarting it'
	fake_browser "$FOLLOW"
	run -0 "$CORRAL" login -c "$CONF" r --timeout 20
	kill -HUP "$CPID"
	wait_err 'corral: \[r\] gave up earlier; trying again'
	wait_for '"method":"notifications/tools/list_changed"'
	send '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"r__whoami","arguments":{}}}'
	wait_for '"id":4,'
	run -0 jq -c 'select(.id == 4) | .result.content[0].text' "$OUT"
	assert_output '"Bearer TOK"'
	stop_corral
}
