#!/usr/bin/env bats
# corral import and export: each client's config format, the odd entries,
# the rewrite of the client's file, backups and a second run that changes
# nothing. Every test has its own HOME and XDG_CONFIG_HOME.

load helpers

setup() {
	export HOME="$BATS_TEST_TMPDIR/home"
	export XDG_CONFIG_HOME="$HOME/.config"
	D="$BATS_TEST_TMPDIR/d"
	mkdir -p "$HOME/notes" "$D/notes" "$D/work" "$D/proj"
	: >"$D/readme.txt"
	CCONF="$XDG_CONFIG_HOME/corral/config.json"
	unset GH_KEY MY_TOKEN
}

# Install sample $1 (tests/bats/import/) at path $2 with its placeholders
# filled in.
sample() {
	mkdir -p "$(dirname "$2")"
	sed -e "s|@SRV@|$SRV|g" -e "s|@DIR@|$D|g" -e "s|@HOME@|$HOME|g" \
	    "$BATS_TEST_DIRNAME/import/$1" >"$2"
}

# Fail unless $stderr has the exact line $1.
has_line() {
	grep -qxF -- "$1" <<<"$stderr" && return 0
	printf 'no line "%s" in stderr:\n%s\n' "$1" "$stderr" >&2
	return 1
}

backups() {
	ls "$1".corral-backup-* 2>/dev/null | wc -l
}

@test "claude: preview on stdout, report on stderr, nothing written" {
	F="$XDG_CONFIG_HOME/Claude/claude_desktop_config.json"
	sample claude_desktop_config.json "$F"
	cp "$F" "$BATS_TEST_TMPDIR/orig"
	run -0 --separate-stderr "$CORRAL" import --from claude
	has_line "corral: import from Claude Desktop: $F"
	has_line "  imported: echo: $SRV/echo $D/notes $D/readme.txt /nonexistent/x --api-key=(hidden)"
	has_line "    env DEBUG=1"
	has_line "    env API_KEY=(hidden)"
	has_line "    grant rw $D/notes: an argument that names a directory; confirm"
	has_line "    grant ro $D/readme.txt: an argument that names a file; confirm"
	has_line "  imported: files: npx -y @modelcontextprotocol/server-filesystem $HOME/notes"
	has_line "    argument ~/notes written as $HOME/notes"
	has_line "    network full: needs network for its first download (npx fetches the package); narrow it to a list of hosts: the package registry and the hosts the server uses"
	has_line "    not granted $HOME: granting your home directory would undo the sandbox; grant the folders the server needs"
	has_line "    not granted /: granting / would undo the sandbox; grant the folders the server needs"
	has_line "corral: 3 imported, 0 skipped, 3 grants to confirm"
	has_line "corral: imported local servers start lazily: each starts when first used and stops when idle (\"start\": \"eager\" keeps one running)"
	has_line "corral: nothing written; run again with --write to apply"
	[ "$(jq -r '[.mcpServers[].start] | unique | join(",")' <<<"$output")" = lazy ]
	[ "$(jq -c '.mcpServers.echo.sandbox' <<<"$output")" = \
	    "{\"rw\":[\"$D/notes\"],\"ro\":[\"$D/readme.txt\"]}" ]
	[ "$(jq -r '.mcpServers.echo.env.API_KEY' <<<"$output")" = sk-secret-123 ]
	[ "$(jq -c '.mcpServers.files.sandbox' <<<"$output")" = \
	    "{\"rw\":[\"$HOME/notes\"],\"home\":\"private\",\"network\":\"full\"}" ]
	[ "$(jq -c '.mcpServers.wide | has("sandbox")' <<<"$output")" = false ]
	cmp "$F" "$BATS_TEST_TMPDIR/orig"
	[ ! -e "$CCONF" ]
	[ "$(backups "$F")" = 0 ]
	# The secret is imported (it must work) but never shown in the report.
	run -1 grep -F sk-secret-123 <<<"$stderr"
	run -1 grep -F sk-abc <<<"$stderr"
}

@test "claude: --write merges, rewrites the client, keeps its other keys and a backup" {
	F="$XDG_CONFIG_HOME/Claude/claude_desktop_config.json"
	sample claude_desktop_config.json "$F"
	cp "$F" "$BATS_TEST_TMPDIR/orig"
	run -0 --separate-stderr "$CORRAL" import --from claude --write
	assert_output ""
	has_line "corral: wrote $CCONF"
	[ "$(stat -c %a "$CCONF")" = 600 ]
	[ "$(jq -r '.mcpServers | keys | join(",")' "$CCONF")" = "echo,files,wide" ]
	[ "$(jq -c '.mcpServers' "$F")" = \
	    "{\"corral\":{\"command\":\"$CORRAL\",\"args\":[\"serve\"]}}" ]
	[ "$(jq -c 'del(.mcpServers)' "$F")" = \
	    "$(jq -c 'del(.mcpServers)' "$BATS_TEST_TMPDIR/orig")" ]
	[ "$(backups "$F")" = 1 ]
	cmp "$F".corral-backup-* "$BATS_TEST_TMPDIR/orig"
	has_line "corral: wrote $F (the old one is $(ls "$F".corral-backup-*))"
	# The imported config loads and its servers answer.
	run -0 --separate-stderr "$CORRAL" tools -c "$CCONF" --json
}

@test "a second run changes nothing and makes no backup" {
	F="$XDG_CONFIG_HOME/Claude/claude_desktop_config.json"
	sample claude_desktop_config.json "$F"
	run -0 --separate-stderr "$CORRAL" import --from claude --write
	cp "$F" "$BATS_TEST_TMPDIR/after1"
	cp "$CCONF" "$BATS_TEST_TMPDIR/conf1"
	run -0 --separate-stderr "$CORRAL" import --from claude --write
	has_line "  already corral: corral"
	has_line "corral: 0 imported, 0 skipped, 0 grants to confirm"
	has_line "corral: nothing to change"
	cmp "$F" "$BATS_TEST_TMPDIR/after1"
	cmp "$CCONF" "$BATS_TEST_TMPDIR/conf1"
	[ "$(backups "$F")" = 1 ]
	[ "$(backups "$CCONF")" = 0 ]
}

@test "cursor: remote url, disabled, sse, envFile, plain http and unknown keys" {
	F="$HOME/.cursor/mcp.json"
	sample cursor-mcp.json "$F"
	chmod 644 "$F"
	run -0 --separate-stderr "$CORRAL" import --from cursor --write
	has_line "  imported: remote: https://mcp.example.com/mcp"
	has_line "    header Authorization: (hidden)"
	has_line "  imported: legacy: https://old.example.com/sse"
	has_line "  imported: off: $SRV/echo"
	has_line "    disabled, as in the client"
	has_line "  skipped: withenvfile: \"envFile\": corral reads no env files; copy the variables into \"env\" (\${env:NAME} for secrets); left in the client"
	has_line "  skipped: plainhttp: corral would refuse it: mcpServers.plainhttp.url: must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost); left in the client"
	has_line "  skipped: odd: \"autoApprove\" has no counterpart in corral; left in the client"
	has_line "corral: 3 imported, 3 skipped, 0 grants to confirm"
	run -1 grep -F abc123 <<<"$stderr"
	[ "$(jq -c '.mcpServers.remote' "$CCONF")" = \
	    '{"type":"http","url":"https://mcp.example.com/mcp","headers":{"Authorization":"Bearer abc123"}}' ]
	[ "$(jq -c '.mcpServers.legacy' "$CCONF")" = \
	    '{"type":"sse","url":"https://old.example.com/sse"}' ]
	[ "$(jq -c '.mcpServers.off.disabled' "$CCONF")" = true ]
	# What could not be translated stays in the client, beside corral.
	[ "$(jq -r '.mcpServers | keys_unsorted | join(",")' "$F")" = \
	    "corral,withenvfile,plainhttp,odd" ]
	[ "$(stat -c %a "$F")" = 644 ]
	run -0 --separate-stderr "$CORRAL" import --from cursor --write
	has_line "corral: 0 imported, 3 skipped, 0 grants to confirm"
	has_line "corral: nothing to change"
	[ "$(backups "$F")" = 1 ]
}

@test "vscode: comments, trailing commas, inputs and variables" {
	F="$XDG_CONFIG_HOME/Code/User/mcp.json"
	sample vscode-mcp.json "$F"
	run -0 --separate-stderr "$CORRAL" import --from vscode --write
	has_line "corral: import from VS Code: $F"
	has_line "  imported: echo: $SRV/echo"
	has_line "    env URL=http://localhost//x"
	has_line "    grant rw $D/work: the working folder that names a directory; confirm"
	has_line "  skipped: prompted: \${input:token} asks the editor to prompt for a value, which corral cannot; put the value in an environment variable and write \${env:NAME}; left in the client"
	has_line "  skipped: ws: \${workspaceFolder} is known only inside the editor; write the folder's path instead; left in the client"
	has_line "  imported: gh: https://api.example.com/mcp"
	has_line "    \${env:GH_KEY}: variable is not set where corral runs"
	[ "$(jq -c '.mcpServers.echo' "$CCONF")" = \
	    "{\"command\":\"$SRV/echo\",\"cwd\":\"$D/work\",\"env\":{\"URL\":\"http://localhost//x\"},\"sandbox\":{\"rw\":[\"$D/work\"]},\"start\":\"lazy\"}" ]
	[ "$(jq -r '.mcpServers.gh.headers["X-Key"]' "$CCONF")" = '${env:GH_KEY}' ]
	# Comments outside the servers object and the inputs survive; the
	# servers are corral and what could not be translated.
	cat >"$BATS_TEST_TMPDIR/want" <<-WANT
	// VS Code: user MCP servers
	{
	  "inputs": [
	    {"type": "promptString", "id": "token", "description": "Token // not a comment", "password": true}
	  ],
	  "servers": {
	    "corral": {
	      "type": "stdio",
	      "command": "$CORRAL",
	      "args": ["serve"]
	    },
	    "prompted": {
	      "type": "stdio",
	      "command": "$SRV/echo",
	      "env": {
	        "TOKEN": "\${input:token}"
	      }
	    },
	    "ws": {
	      "command": "$SRV/echo",
	      "args": ["\${workspaceFolder}"]
	    }
	  },
	}
	WANT
	diff "$BATS_TEST_TMPDIR/want" "$F"
	run -0 --separate-stderr "$CORRAL" import --from vscode --write
	has_line "corral: nothing to change"
}

@test "vscode: the older settings.json mcp.servers" {
	F="$XDG_CONFIG_HOME/Code/User/settings.json"
	sample vscode-settings.json "$F"
	run -0 --separate-stderr "$CORRAL" import --from vscode --write
	has_line "corral: import from VS Code settings: $F"
	has_line "  imported: echo: $SRV/echo"
	grep -qxF '  // older VS Code kept servers here' "$F"
	grep -qxF '  "editor.fontSize": 14,' "$F"
	[ "$(grep -v '^ *//' "$F" | jq -r '.mcp.servers | keys | join(",")')" = corral ]
}

@test "claude-code: user and project servers, name clashes, the rest kept exactly" {
	F="$HOME/.claude.json"
	sample claude.json "$F"
	cp "$F" "$BATS_TEST_TMPDIR/orig"
	run -0 --separate-stderr "$CORRAL" import --from claude-code --write
	has_line "corral: import from Claude Code: $F"
	has_line "  imported: echo: $SRV/echo"
	has_line "  project $D/proj:"
	has_line "  imported: pages: $SRV/pages"
	has_line "  skipped: echo: corral's config has a different server of that name; kept corral's, left this one in the client"
	has_line "corral: 2 imported, 1 skipped, 0 grants to confirm"
	[ "$(jq -r '.mcpServers.echo.env.TOKEN' "$CCONF")" = '${env:MY_TOKEN}' ]
	[ "$(jq -c '.mcpServers' "$F")" = \
	    "{\"corral\":{\"type\":\"stdio\",\"command\":\"$CORRAL\",\"args\":[\"serve\"]}}" ]
	[ "$(jq -r ".projects[\"$D/proj\"].mcpServers | keys | join(\",\")" "$F")" = echo ]
	# Everything outside the servers objects is byte for byte the same.
	run -1 diff "$BATS_TEST_TMPDIR/orig" "$F"
	[ "$(grep -c '^[<>]' <<<"$output")" = 13 ]
	[ "$(grep -c '^<' <<<"$output")" = 3 ]
	[ "$(grep -c '^[0-9]' <<<"$output")" = 2 ]
	[ "$(jq -c 'del(.mcpServers, .projects[].mcpServers)' "$F")" = \
	    "$(jq -c 'del(.mcpServers, .projects[].mcpServers)' "$BATS_TEST_TMPDIR/orig")" ]
	head -2 "$F" | grep -qxF '  "numStartups": 12,'
	grep -qxF "    \"$D/other\": {\"mcpServers\": {}}" "$F"
	MY_TOKEN=t run -0 --separate-stderr "$CORRAL" tools -c "$CCONF" --json
}

@test "--from FILE detects the format; a name corral already has is kept" {
	sample cursor-mcp.json "$BATS_TEST_TMPDIR/x.json"
	mkdir -p "$(dirname "$CCONF")"
	printf '{"mcpServers":{"off":{"command":"%s/echo"}}}\n' "$SRV" >"$CCONF"
	chmod 600 "$CCONF"
	cp "$CCONF" "$BATS_TEST_TMPDIR/conf0"
	run -0 --separate-stderr "$CORRAL" import --from "$BATS_TEST_TMPDIR/x.json" --write
	has_line "corral: import from Claude Desktop: $BATS_TEST_TMPDIR/x.json"
	has_line "  skipped: off: corral's config has a different server of that name; kept corral's, left this one in the client"
	[ "$(jq -c '.mcpServers.off' "$CCONF")" = "{\"command\":\"$SRV/echo\"}" ]
	[ "$(backups "$CCONF")" = 1 ]
	cmp "$CCONF".corral-backup-* "$BATS_TEST_TMPDIR/conf0"
	[ "$(jq -r '.mcpServers | keys_unsorted | join(",")' "$BATS_TEST_TMPDIR/x.json")" = \
	    "corral,off,withenvfile,plainhttp,odd" ]
}

@test "-c: another config, named in the client's entry" {
	F="$HOME/.cursor/mcp.json"
	sample cursor-mcp.json "$F"
	run -0 --separate-stderr "$CORRAL" import -c "$BATS_TEST_TMPDIR/mine.json" --from cursor --write
	[ "$(jq -c '.mcpServers.corral.args' "$F")" = \
	    "[\"serve\",\"-c\",\"$BATS_TEST_TMPDIR/mine.json\"]" ]
	[ "$(jq -r '.mcpServers | keys | join(",")' "$BATS_TEST_TMPDIR/mine.json")" = legacy,off,remote ]
	[ ! -e "$CCONF" ]
}

@test "refusals: a corral config that does not load, a broken client file, no client" {
	F="$HOME/.cursor/mcp.json"
	sample cursor-mcp.json "$F"
	cp "$F" "$BATS_TEST_TMPDIR/orig"
	mkdir -p "$(dirname "$CCONF")"
	printf '{"mcpServers":{"a":{"command":"x","bogus":1}}}' >"$CCONF"
	chmod 600 "$CCONF"
	run -1 --separate-stderr "$CORRAL" import --from cursor --write
	[ "$stderr" = "corral: $CCONF: mcpServers.a: unknown key \"bogus\"; fix it before importing into it" ]
	cmp "$F" "$BATS_TEST_TMPDIR/orig"
	chmod 666 "$CCONF"
	run -1 --separate-stderr "$CORRAL" import --from cursor
	[ "$stderr" = "corral: $CCONF: refusing a config that is writable by group or others (chmod go-w $CCONF); fix it before importing into it" ]
	rm "$CCONF"
	printf '{\n"mcpServers": {/* open\n' >"$F"
	run -1 --separate-stderr "$CORRAL" import --from cursor
	[ "$stderr" = "corral: $F: line 2: a comment that is not closed" ]
	printf '{"mcpServers": {"a": 1, "a": 2}}' >"$F"
	run -1 --separate-stderr "$CORRAL" import --from cursor
	assert_output ""
	[[ "$stderr" == "corral: $F: line 1: "* ]]
	printf '{"other": 1}' >"$BATS_TEST_TMPDIR/y.json"
	run -1 --separate-stderr "$CORRAL" import --from "$BATS_TEST_TMPDIR/y.json"
	[ "$stderr" = "corral: $BATS_TEST_TMPDIR/y.json: no \"mcpServers\", \"servers\" or \"mcp.servers\": not a client config corral knows" ]
	rm "$F"
	run -1 --separate-stderr "$CORRAL" import
	[ "$stderr" = "corral: no client config found; name one with --from" ]
	run -1 --separate-stderr "$CORRAL" import --from claude
	[ "$stderr" = "corral: $XDG_CONFIG_HOME/Claude/claude_desktop_config.json: No such file or directory" ]
	[ ! -e "$CCONF" ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr "$CORRAL" import --bogus
	has_line "usage: corral import [-c file] [--from claude|cursor|vscode|claude-code|file] [--write]"
	run -2 --separate-stderr "$CORRAL" import extra
	run -2 --separate-stderr "$CORRAL" export --for zed
	has_line "usage: corral export [-c file] [--for claude|cursor|vscode|claude-code]"
}

@test "without --from, every client found is imported" {
	sample claude_desktop_config.json "$XDG_CONFIG_HOME/Claude/claude_desktop_config.json"
	sample vscode-settings.json "$XDG_CONFIG_HOME/Code/User/settings.json"
	sample cursor-mcp.json "$HOME/.cursor/mcp.json"
	run -0 --separate-stderr "$CORRAL" import --write
	has_line "corral: import from Claude Desktop: $XDG_CONFIG_HOME/Claude/claude_desktop_config.json"
	has_line "corral: import from Cursor: $HOME/.cursor/mcp.json"
	# VS Code's mcp.json is absent: without --from it is not looked for
	# in settings.json.
	run -1 grep -F "VS Code" <<<"$stderr"
	[ "$(jq -r '.mcpServers | keys | join(",")' "$CCONF")" = echo,files,legacy,off,remote,wide ]
}

@test "export: the snippet for each client" {
	run -0 "$CORRAL" export
	[ "$(jq -c . <<<"$output")" = "{\"mcpServers\":{\"corral\":{\"command\":\"$CORRAL\",\"args\":[\"serve\"]}}}" ]
	run -0 "$CORRAL" export --for cursor
	[ "$(jq -c . <<<"$output")" = "{\"mcpServers\":{\"corral\":{\"command\":\"$CORRAL\",\"args\":[\"serve\"]}}}" ]
	run -0 "$CORRAL" export --for vscode -c "$BATS_TEST_TMPDIR/c.json"
	[ "$(jq -c . <<<"$output")" = "{\"servers\":{\"corral\":{\"type\":\"stdio\",\"command\":\"$CORRAL\",\"args\":[\"serve\",\"-c\",\"$BATS_TEST_TMPDIR/c.json\"]}}}" ]
	run -0 "$CORRAL" export --for claude-code -c "$CCONF"
	[ "$(jq -c . <<<"$output")" = "{\"mcpServers\":{\"corral\":{\"type\":\"stdio\",\"command\":\"$CORRAL\",\"args\":[\"serve\"]}}}" ]
}
