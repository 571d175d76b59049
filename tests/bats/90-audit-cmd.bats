#!/usr/bin/env bats
# corral audit verify, tail and stats, on logs written by the test tool
# auditgen (the audit module without a broker): what verify catches and
# where, what tail shows and follows, and what stats adds up.

load helpers

setup() {
	# No default config: the log is the one in the state directory.
	export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
	STATE="$XDG_STATE_HOME/corral"
	LOG="$STATE/audit.jsonl"
	GEN="$BUILD/tests/tools/auditgen"
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
	mkdir -p "$STATE"
	chmod 700 "$STATE"
}

# --- local helpers ----------------------------------------------------------

# Append the events on stdin ({"event":"NAME", ...} per line) to $LOG,
# with the key in $STATE; options go to auditgen.
gen() {
	"$GEN" "$STATE" audit.jsonl "$@"
}

# N call events of echo's tools t1 .. tN, latency i ms.
calls() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf '{"event":"call","server":"echo","tool":"t%d","decision":"allow","by":"policy allow echo__*","outcome":"ok","latency_ms":%d}\n' "$i" "$i"
	done
}

# Line $1 of file $2 ($LOG).
line() {
	sed -n "${1}p" "${2:-$LOG}"
}

# Replace line $1 of $LOG by $2, keeping the file (and its mode).
set_line() {
	T="$2" awk -v k="$1" 'NR == k { print ENVIRON["T"]; next } 1' "$LOG" >"$BATS_TEST_TMPDIR/edit"
	cat "$BATS_TEST_TMPDIR/edit" >"$LOG"
}

# The seq of line $1 of file $2.
seq_of() {
	line "$1" "$2" | jq -r .seq
}

# The time column tail prints for line $1 of $LOG: the record's UTC ts.
ts() {
	line "$1" | jq -r '.ts | sub("T"; " ") | .[0:23]'
}

# Write call events one run of auditgen at a time (rotating beyond 1000
# bytes, keeping 3) until $LOG.3 exists: 3 rotated files and the live one,
# the chain complete from seq 1.
rotated3() {
	local i=0
	while [ ! -e "$LOG.3" ]; do
		calls 1 | gen --max-bytes 1000 --keep 3
		i=$((i + 1))
		[ "$i" -lt 200 ] || return 1
	done
}

# Records in all files of the log.
total_records() {
	cat "$LOG".* "$LOG" | wc -l
}

# The six events the tail tests show.
six_events() {
	gen <<-'EOF'
	{"event":"session_start","session":"0123456789abcdef","client":{"name":"bats","version":"1"},"protocol":"2025-06-18","corral":"0.1","pid":42}
	{"event":"child_spawn","server":"echo","pid":100,"argv":["/bin/echo"],"sandbox":"namespaces net=none ro=1 rw=0 seccomp landlock"}
	{"event":"call","server":"echo","tool":"add","name":"echo__add","decision":"allow","by":"policy allow echo__*","outcome":"ok","latency_ms":0.81,"bytes_in":40,"bytes_out":80,"tokens":30}
	{"event":"call","server":"echo","tool":"add","name":"echo__add","decision":"allow","by":"policy allow echo__*","outcome":"rpc_error","code":-32602,"latency_ms":1.5,"bytes_in":40,"bytes_out":80,"tokens":30}
	{"event":"consent_answer","server":"echo","tool":"add","answer":"once","channel":"tty"}
	{"event":"child_exit","server":"echo","pid":100,"signal":"KILL","stderr":["bye"]}
	EOF
}

# Start `corral audit tail` with the arguments given in the background,
# output to $OUT and $ERR.
start_tail() {
	: >"$OUT"
	"$CORRAL" audit tail "$@" >"$OUT" 2>"$ERR" 3>&- &
	CPID=$!
}

# Stop it with signal $1 and insist that it exits 0.
stop_tail() {
	local rc=0
	kill -"$1" "$CPID"
	wait "$CPID" || rc=$?
	CPID=
	[ "$rc" -eq 0 ] || {
		echo "tail exited $rc" >&2
		cat "$ERR" >&2
		return 1
	}
}

HINT_RE='^corral: the audit log does not verify: '

# Assert that verify found $1 on stdout alone, exit 1, with the hint.
assert_tampered() {
	run --separate-stderr "$CORRAL" audit verify
	assert_equal "$status" 1
	assert_equal "$output" "$1"
	[[ "$stderr" =~ $HINT_RE ]] || {
		echo "no hint on stderr: $stderr" >&2
		return 1
	}
}

# --- verify -----------------------------------------------------------------

@test "verify: an intact log" {
	calls 5 | gen
	run --separate-stderr "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, 5 records (seq 1-5), 1 file"
	assert_equal "$stderr" ""
}

@test "verify: an empty log, and a log of one record" {
	gen </dev/null
	run --separate-stderr "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, 0 records, 1 file"
	calls 1 | gen
	run --separate-stderr "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, 1 record (seq 1), 1 file"
}

@test "verify: explicit files and --file" {
	calls 3 | gen
	cp -p "$LOG" "$BATS_TEST_TMPDIR/copy.jsonl"
	run --separate-stderr "$CORRAL" audit verify "$BATS_TEST_TMPDIR/copy.jsonl"
	assert_success
	assert_output "audit: intact, 3 records (seq 1-3), 1 file"
	run --separate-stderr "$CORRAL" audit verify --file "$BATS_TEST_TMPDIR/copy.jsonl"
	assert_success
	assert_output "audit: intact, 3 records (seq 1-3), 1 file"
}

@test "verify: one chain across three rotated files and the live one" {
	rotated3
	local n
	n="$(total_records)"
	[ "$(seq_of 1 "$LOG.3")" = 1 ]
	[ "$(line 1 "$LOG" | jq -r .event)" = rotate ]
	run --separate-stderr "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, $n records (seq 1-$n), 4 files"
	assert_equal "$stderr" ""
}

@test "verify: the oldest file gone is not detectable: the chain is anchored at the next one's rotate record" {
	rotated3
	local n first
	n="$(total_records)"
	first="$(seq_of 1 "$LOG.2")"
	rm "$LOG.3"
	run --separate-stderr "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, $((n - first + 1)) records (seq $first-$n), 3 files, anchored at seq $first (earlier files are gone)"
}

@test "verify: a rotated file missing between others" {
	rotated3
	rm "$LOG.2"
	assert_tampered "$LOG.2: missing rotated file"
}

@test "verify: every rotated file gone while the live log starts with a rotate record" {
	rotated3
	rm "$LOG".[0-9]
	assert_tampered "$LOG.1: missing rotated file ($LOG starts with a rotate record)"
}

@test "verify: files named out of the chain, and records cut from the end of a rotated file" {
	rotated3
	run --separate-stderr "$CORRAL" audit verify "$LOG.2" "$LOG"
	assert_failure 1
	assert_output "$LOG:1: prev_mac is not the last mac of audit.jsonl.2 (missing rotated file, or records cut from its end)"
	sed -i '$d' "$LOG.2"
	assert_tampered "$LOG.1:1: prev_mac is not the last mac of audit.jsonl.2 (missing rotated file, or records cut from its end)"
}

@test "verify: one byte changed in a field value" {
	calls 5 | gen
	set_line 3 "$(line 3 | sed 's/"server":"echo"/"server":"echp"/')"
	assert_tampered "$LOG:3: mac mismatch"
}

@test "verify: one byte changed in the mac itself" {
	calls 5 | gen
	local l c
	l="$(line 3)"
	c="${l: -3:1}"
	[ "$c" = 0 ] && c=1 || c=0
	set_line 3 "${l:0:${#l}-3}$c\"}"
	assert_tampered "$LOG:3: mac mismatch"
}

@test "verify: a record deleted, caught at the one after it" {
	calls 5 | gen
	sed -i 3d "$LOG"
	assert_tampered "$LOG:3: mac mismatch, seq gap (expected 3 got 4)"
}

@test "verify: the first record deleted" {
	calls 5 | gen
	sed -i 1d "$LOG"
	assert_tampered "$LOG:1: mac mismatch, seq gap (expected 1 got 2)"
}

@test "verify: two records swapped" {
	calls 5 | gen
	sed -i '3{h;d};4G' "$LOG"
	[ "$(seq_of 3)" = 4 ]
	assert_tampered "$LOG:3: mac mismatch, seq gap (expected 3 got 4)"
}

@test "verify: a forged record inserted" {
	calls 5 | gen
	local forged
	forged="$(line 3 | jq -c '.tool = "forged" | .mac = ("0" * 64)')"
	awk -v t="$forged" 'NR == 3 { print t } 1' "$LOG" >"$BATS_TEST_TMPDIR/edit"
	cat "$BATS_TEST_TMPDIR/edit" >"$LOG"
	assert_tampered "$LOG:3: mac mismatch"
}

@test "verify: a final record cut short by a crash is not tampering" {
	calls 5 | gen
	local l
	l="$(line 5)"
	truncate -s $(($(stat -c %s "$LOG") - ${#l} / 2 - 1)) "$LOG"
	run --separate-stderr "$CORRAL" audit verify
	assert_equal "$status" 3
	assert_equal "$output" "$LOG:5: truncated final record (a crash while writing; not tampering)
audit: intact, 4 records (seq 1-4), 1 file"
	assert_equal "$stderr" ""
	# The next writer removes the fragment and writes seq 5 anew.
	calls 1 | gen 2>/dev/null
	run "$CORRAL" audit verify
	assert_success
	assert_output "audit: intact, 5 records (seq 1-5), 1 file"
}

@test "verify: a record that lost only its newline is cut short too" {
	calls 3 | gen
	truncate -s $(($(stat -c %s "$LOG") - 1)) "$LOG"
	run "$CORRAL" audit verify
	assert_equal "$status" 3
	assert_line -n 0 "$LOG:3: truncated final record (a crash while writing; not tampering)"
}

@test "verify: garbage after the last record" {
	calls 4 | gen
	echo 'garbage' >>"$LOG"
	assert_tampered "$LOG:5: not JSON"
}

@test "verify: garbage without a newline is not taken for a crash" {
	calls 4 | gen
	printf '{"v":1,"seq":9,"ts":"' >>"$LOG"
	assert_tampered "$LOG:5: unterminated last line that is not a record cut short"
}

@test "verify: another key" {
	calls 3 | gen
	head -c 32 /dev/urandom >"$BATS_TEST_TMPDIR/other.key"
	chmod 600 "$BATS_TEST_TMPDIR/other.key"
	run --separate-stderr "$CORRAL" audit verify --key "$BATS_TEST_TMPDIR/other.key"
	assert_failure 1
	assert_output "$LOG:1: mac mismatch"
	[[ "$stderr" == *"or $BATS_TEST_TMPDIR/other.key is not the key that wrote them" ]]
	# The key in the state directory replaced.
	cat "$BATS_TEST_TMPDIR/other.key" >"$STATE/audit.key"
	assert_tampered "$LOG:1: mac mismatch"
}

@test "verify: a missing key, a bad key, a missing log" {
	calls 3 | gen
	rm "$STATE/audit.key"
	run --separate-stderr "$CORRAL" audit verify
	assert_failure 2
	assert_output ""
	assert_equal "$stderr" "corral: $STATE/audit.key: no such file"
	head -c 16 /dev/urandom >"$STATE/audit.key"
	chmod 600 "$STATE/audit.key"
	run --separate-stderr "$CORRAL" audit verify
	assert_failure 2
	assert_equal "$stderr" "corral: $STATE/audit.key: not a 32-byte file of mode 0600 owned by you"
	rm "$LOG"
	run --separate-stderr "$CORRAL" audit verify
	assert_failure 2
	assert_equal "$stderr" "corral: $LOG: No such file or directory"
	run --separate-stderr "$CORRAL" audit verify "$BATS_TEST_TMPDIR/nonesuch"
	assert_failure 2
	assert_equal "$stderr" "corral: $BATS_TEST_TMPDIR/nonesuch: No such file or directory"
}

@test "the log named by corral.audit.path in the config given with -c, or the default config" {
	mkdir -p "$BATS_TEST_TMPDIR/logs"
	calls 2 | "$GEN" "$BATS_TEST_TMPDIR/logs" my.jsonl
	write_config <<-EOF
	{"mcpServers":{},"corral":{"audit":{"path":"$BATS_TEST_TMPDIR/logs/my.jsonl"}}}
	EOF
	run --separate-stderr "$CORRAL" audit verify -c "$CONF" --key "$BATS_TEST_TMPDIR/logs/audit.key"
	assert_success
	assert_output "audit: intact, 2 records (seq 1-2), 1 file"
	run --separate-stderr "$CORRAL" audit tail -c "$CONF" --json
	assert_success
	assert_output "$(cat "$BATS_TEST_TMPDIR/logs/my.jsonl")"
	# The default config, when there is one, says so too.
	mkdir -p "$XDG_CONFIG_HOME/corral"
	cp -p "$CONF" "$XDG_CONFIG_HOME/corral/config.json"
	run --separate-stderr "$CORRAL" audit stats --json
	assert_success
	assert_equal "$(jq .total.calls <<<"$output")" 2
	# --file wins.
	calls 1 | gen
	run --separate-stderr "$CORRAL" audit stats --json --file "$LOG"
	assert_equal "$(jq .total.calls <<<"$output")" 1
}

# --- usage ------------------------------------------------------------------

AUDIT_USAGE="usage: corral audit verify [-c file] [--key file] [--file path | file ...]
       corral audit tail [-c file] [-f] [-n count] [--json] [--file path]
       corral audit stats [-c file] [--since duration] [--json] [--file path]"

@test "audit: usage errors" {
	run --separate-stderr "$CORRAL" audit
	assert_failure 2
	assert_output ""
	assert_equal "$stderr" "$AUDIT_USAGE"
	run --separate-stderr "$CORRAL" audit bogus
	assert_failure 2
	assert_equal "$stderr" "corral: audit: unknown subcommand: bogus
$AUDIT_USAGE"
	run --separate-stderr "$CORRAL" audit verify --file x y
	assert_failure 2
	assert_equal "$stderr" "$AUDIT_USAGE"
	run --separate-stderr "$CORRAL" audit verify -f
	assert_failure 2
	assert_equal "$stderr" "corral: audit verify: option not taken: -f
$AUDIT_USAGE"
	run --separate-stderr "$CORRAL" audit tail extra
	assert_failure 2
	run --separate-stderr "$CORRAL" audit tail -n x
	assert_failure 2
	assert_equal "$stderr" 'corral: -n: "x" is not a count of records'
	run --separate-stderr "$CORRAL" audit stats --key k
	assert_failure 2
	assert_equal "$stderr" "corral: audit stats: option not taken: --key
$AUDIT_USAGE"
}

# --- tail -------------------------------------------------------------------

@test "tail: the last 20 records by default" {
	calls 25 | gen
	run --separate-stderr "$CORRAL" audit tail
	assert_success
	assert_equal "${#lines[@]}" 20
	local i
	for ((i = 6; i <= 25; i++)); do
		assert_line -n $((i - 6)) "$(ts "$i")  echo            $(printf '%-20s' "t$i")  allow (policy allow echo__*)  ok  $i.00 ms"
	done
	assert_equal "$stderr" ""
}

@test "tail: -n 3, one line per event" {
	six_events
	run --separate-stderr "$CORRAL" audit tail -n 3
	assert_success
	assert_equal "$output" "$(ts 4)  echo            add                   allow (policy allow echo__*)  rpc_error -32602  1.50 ms
$(ts 5)  consent_answer  server=echo tool=add answer=once channel=tty
$(ts 6)  child_exit      server=echo pid=100 signal=KILL"
	run --separate-stderr "$CORRAL" audit tail -n 6
	assert_success
	assert_line -n 0 "$(ts 1)  session_start   session=0123456789abcdef client=bats/1 protocol=2025-06-18"
	assert_line -n 1 "$(ts 2)  child_spawn     server=echo pid=100 sandbox=\"namespaces net=none ro=1 rw=0 seccomp landlock\""
	assert_line -n 2 "$(ts 3)  echo            add                   allow (policy allow echo__*)  ok  0.81 ms"
}

@test "tail: events it has no summary for show all their members" {
	gen <<-'EOF'
	{"event":"future_event","a":1,"b":"two words","c":{"d":true}}
	EOF
	run "$CORRAL" audit tail
	assert_success
	assert_output "$(ts 1)  future_event    a=1 b=\"two words\" c={\"d\":true}"
}

@test "tail: --json prints the last records as stored" {
	six_events
	run --separate-stderr "$CORRAL" audit tail -n 4 --json
	assert_success
	assert_output "$(tail -n 4 "$LOG")"
	run --separate-stderr "$CORRAL" audit tail -n 0 --json
	assert_success
	assert_output ""
}

@test "tail: reaches back into rotated files" {
	rotated3
	local n
	n="$(wc -l <"$LOG")"
	run --separate-stderr "$CORRAL" audit tail -n $((n + 2)) --json
	assert_success
	assert_output "$(cat "$LOG.1" "$LOG" | tail -n $((n + 2)))"
	run --separate-stderr "$CORRAL" audit tail -n 1000 --json
	assert_output "$(cat "$LOG.3" "$LOG.2" "$LOG.1" "$LOG")"
}

@test "tail: an unreadable line is shown in place, or skipped with --json; a cut-short last line is left out" {
	calls 4 | gen
	set_line 3 'garbage'
	local l
	l="$(line 4)"
	truncate -s $(($(stat -c %s "$LOG") - ${#l} / 2 - 1)) "$LOG"
	run --separate-stderr "$CORRAL" audit tail
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line -n 2 "?  unreadable record at $LOG:3"
	assert_equal "$stderr" ""
	run --separate-stderr "$CORRAL" audit tail --json
	assert_success
	assert_output "$(head -n 2 "$LOG")"
	assert_equal "$stderr" "corral: $LOG:3: unreadable record, skipped"
}

@test "tail: a missing log" {
	run --separate-stderr "$CORRAL" audit tail
	assert_failure 2
	assert_equal "$stderr" "corral: $LOG: No such file or directory"
}

@test "tail -f: records appended after it started; a partial line waits for its end" {
	calls 3 | gen
	start_tail -f -n 1 --json
	wait_for '"seq":3,'
	calls 2 | gen
	wait_for '"seq":5,'
	# Half a line is not shown until its newline comes.
	local rec
	rec='{"v":1,"seq":6,"ts":"2026-11-25T18:00:00.000000Z","event":"pin","server":"x","change":"first_seen","mac":"'"$(printf '0%.0s' {1..64})"'"}'
	printf '%s' "${rec:0:30}" >>"$LOG"
	sleep 0.5
	! grep -q '"seq":6' "$OUT"
	printf '%s\n' "${rec:30}" >>"$LOG"
	wait_for '"seq":6,'
	stop_tail TERM
	assert_equal "$(cat "$OUT")" "$(sed -n '3,6p' "$LOG")"
	assert_equal "$(cat "$ERR")" ""
}

@test "tail -f: text lines, and SIGINT ends it" {
	calls 1 | gen
	start_tail -f
	wait_for 't1 '
	calls 2 | gen
	wait_for 't2 '
	stop_tail INT
	assert_equal "$(wc -l <"$OUT")" 3
	grep -qxF "$(ts 3)  echo            t2                    allow (policy allow echo__*)  ok  2.00 ms" "$OUT"
}

@test "tail -f: follows the log across rotations, every record once and in order" {
	calls 1 | gen --max-bytes 1000 --keep 100
	start_tail -f -n 1 --json
	wait_for '"seq":1,'
	# Many rotations in one go, faster than tail looks.
	calls 40 | gen --max-bytes 1000 --keep 100
	[ -e "$LOG.5" ]
	local last
	last="$(seq_of '$')"
	wait_for "\"seq\":$last,"
	stop_tail TERM
	local k want=""
	for k in $(ls "$LOG".* | sed -n 's/.*\.\([0-9][0-9]*\)$/\1/p' | sort -rn); do
		want+="$(cat "$LOG.$k")"$'\n'
	done
	want+="$(cat "$LOG")"
	assert_equal "$(cat "$OUT")" "$want"
	assert_equal "$(cat "$ERR")" ""
}

@test "tail -f: a writer after a crash replaces the cut-short record" {
	calls 3 | gen
	local l
	l="$(line 3)"
	truncate -s $(($(stat -c %s "$LOG") - ${#l} / 2 - 1)) "$LOG"
	start_tail -f -n 5 --json
	wait_for '"seq":2,'
	calls 2 | gen 2>/dev/null
	wait_for '"seq":4,'
	stop_tail TERM
	assert_equal "$(cat "$OUT")" "$(cat "$LOG")"
}

# --- stats ------------------------------------------------------------------

# Calls with known outcomes, latencies and sizes. By tool:
#   clock now: denied (no latency), transport_error 100 ms, cancelled 50 ms
#     sorted 50 100: p50 rank ceil(0.5*2)=1 -> 50, p95 rank ceil(0.95*2)=2
#     -> 100; 3 x 12 bytes in; tokens 3 each
#   echo add: 1 .. 10 ms, the tenth a tool_error; 10 bytes in, 30 out,
#     tokens 10 each
#     p50 rank ceil(5)=5 -> 5, p95 rank ceil(9.5)=10 -> 10
#   echo echo: 0.5 ok, 2.25 rpc_error, 7 timeout; 8 bytes in, no tokens
#     member: (8 + 0) / 4 = 2 each
#     p50 rank ceil(1.5)=2 -> 2.25, p95 rank ceil(2.85)=3 -> 7
#   all 15 latencies sorted 0.5 1 2 2.25 3 4 5 6 7 7 8 9 10 50 100:
#     p50 rank ceil(7.5)=8 -> 6, p95 rank ceil(14.25)=15 -> 100
stats_events() {
	local i out
	{
		echo '{"event":"session_start","session":"0123456789abcdef"}'
		echo '{"event":"call","server":"clock","tool":"now","decision":"deny","outcome":"denied","bytes_in":12,"bytes_out":0,"tokens":3}'
		echo '{"event":"call","server":"clock","tool":"now","decision":"allow","outcome":"transport_error","latency_ms":100,"bytes_in":12,"bytes_out":0,"tokens":3}'
		echo '{"event":"call","server":"clock","tool":"now","decision":"allow","outcome":"cancelled","latency_ms":50,"bytes_in":12,"bytes_out":0,"tokens":3}'
		for ((i = 1; i <= 10; i++)); do
			out=ok
			[ "$i" = 10 ] && out=tool_error
			echo '{"event":"call","server":"echo","tool":"add","decision":"allow","outcome":"'$out'","latency_ms":'$i',"bytes_in":10,"bytes_out":30,"tokens":10}'
		done
		echo '{"event":"request","method":"tools/list","outcome":"ok","latency_ms":999}'
		echo '{"event":"call","server":"echo","tool":"echo","decision":"allow","outcome":"ok","latency_ms":0.5,"bytes_in":8,"bytes_out":0}'
		echo '{"event":"call","server":"echo","tool":"echo","decision":"allow","outcome":"rpc_error","code":-32602,"latency_ms":2.25,"bytes_in":8,"bytes_out":0}'
		echo '{"event":"call","server":"echo","tool":"echo","decision":"allow","outcome":"timeout","latency_ms":7,"bytes_in":8,"bytes_out":0}'
	} | gen "$@"
}

STATS_TABLE="SERVER  TOOL  CALLS  DENIED  TOOL_ERROR  RPC_ERROR  TRANSPORT_ERROR  TIMEOUT  CANCELLED  P50_MS  P95_MS  BYTES_IN  BYTES_OUT  TOKENS
clock   now       3       1           0          0                1        0          1   50.00  100.00        36          0       9
echo    add      10       0           1          0                0        0          0    5.00   10.00       100        300     100
echo    echo      3       0           0          1                0        1          0    2.25    7.00        24          0       6
TOTAL            16       1           1          1                1        1          1    6.00  100.00       160        300     115"

@test "stats: calls per server and tool" {
	stats_events
	run --separate-stderr "$CORRAL" audit stats
	assert_success
	assert_equal "$output" "$STATS_TABLE"
	assert_equal "$stderr" ""
}

@test "stats: over rotated files too" {
	stats_events --max-bytes 1000 --keep 10
	[ -e "$LOG.2" ]
	run --separate-stderr "$CORRAL" audit stats
	assert_success
	assert_equal "$output" "$STATS_TABLE"
}

@test "stats: --json" {
	stats_events
	run --separate-stderr "$CORRAL" audit stats --json
	assert_success
	assert_output '{"tools":[{"server":"clock","tool":"now","calls":3,"denied":1,"tool_error":0,"rpc_error":0,"transport_error":1,"timeout":0,"cancelled":1,"p50_ms":50,"p95_ms":100,"bytes_in":36,"bytes_out":0,"tokens":9},{"server":"echo","tool":"add","calls":10,"denied":0,"tool_error":1,"rpc_error":0,"transport_error":0,"timeout":0,"cancelled":0,"p50_ms":5,"p95_ms":10,"bytes_in":100,"bytes_out":300,"tokens":100},{"server":"echo","tool":"echo","calls":3,"denied":0,"tool_error":0,"rpc_error":1,"transport_error":0,"timeout":1,"cancelled":0,"p50_ms":2.25,"p95_ms":7,"bytes_in":24,"bytes_out":0,"tokens":6}],"total":{"calls":16,"denied":1,"tool_error":1,"rpc_error":1,"transport_error":1,"timeout":1,"cancelled":1,"p50_ms":6,"p95_ms":100,"bytes_in":160,"bytes_out":300,"tokens":115},"egress":[],"unreadable":0}'
}

@test "stats: egress per server, after the calls" {
	{
		echo '{"event":"call","server":"web","tool":"get","decision":"allow","outcome":"ok","latency_ms":1,"bytes_in":1,"bytes_out":3,"tokens":1}'
		echo '{"event":"egress","server":"web","method":"CONNECT","host":"a.org","port":443,"decision":"allow","rule":"a.org","bytes_up":100,"bytes_down":2000}'
		echo '{"event":"egress","server":"web","method":"GET","host":"b.org","port":80,"decision":"deny","reason":"not listed","bytes_up":0,"bytes_down":0}'
		echo '{"event":"egress","server":"npm","method":"CONNECT","host":"registry.npmjs.org","port":443,"decision":"allow","bytes_up":5,"bytes_down":7}'
		echo '{"event":"egress","server":"web","method":"CONNECT","host":"c.invalid","port":443,"decision":"error","reason":"does not resolve","bytes_up":0,"bytes_down":0}'
	} | gen
	run --separate-stderr "$CORRAL" audit stats
	assert_success
	assert_output "SERVER  TOOL  CALLS  DENIED  TOOL_ERROR  RPC_ERROR  TRANSPORT_ERROR  TIMEOUT  CANCELLED  P50_MS  P95_MS  BYTES_IN  BYTES_OUT  TOKENS
web     get       1       0           0          0                0        0          0    1.00    1.00         1          3       1
TOTAL             1       0           0          0                0        0          0    1.00    1.00         1          3       1

SERVER  CONNECTIONS  ALLOWED  DENIED  ERRORS  BYTES_UP  BYTES_DOWN
npm               1        1       0       0         5           7
web               3        1       1       1       100        2000"
	run --separate-stderr "$CORRAL" audit stats --json
	assert_success
	[ "$(jq -c .egress <<<"$output")" = '[{"server":"npm","connections":1,"allowed":1,"denied":0,"errors":0,"bytes_up":5,"bytes_down":7},{"server":"web","connections":3,"allowed":1,"denied":1,"errors":1,"bytes_up":100,"bytes_down":2000}]' ]
}

@test "stats: no calls" {
	calls 0 | gen
	run --separate-stderr "$CORRAL" audit stats
	assert_success
	assert_output "SERVER  TOOL  CALLS  DENIED  TOOL_ERROR  RPC_ERROR  TRANSPORT_ERROR  TIMEOUT  CANCELLED  P50_MS  P95_MS  BYTES_IN  BYTES_OUT  TOKENS
TOTAL             0       0           0          0                0        0          0       -       -         0          0       0"
}

# stats reads records without checking their macs, so these lines are
# written by hand, with the times they need and made-up macs.
since_log() {
	local mac old week hours now
	mac="$(printf '0%.0s' {1..64})"
	old="2020-01-01T00:00:00.000000Z"
	week="$(date -u -d '-6 days' +%Y-%m-%dT%H:%M:%S.000000Z)"
	hours="$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%S.000000Z)"
	now="$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%S.000000Z)"
	{
		for t in "$old" "$week" "$hours" "$now"; do
			printf '{"v":1,"seq":1,"ts":"%s","event":"call","server":"s","tool":"t","outcome":"ok","latency_ms":1,"mac":"%s"}\n' "$t" "$mac"
		done
	} >"$LOG"
}

@test "stats: --since counts the records of the last 30s, 15m, 2h, 7d" {
	since_log
	local d want
	for d in 30s:0 15m:1 2h:1 4h:2 7d:3 ""; do
		want="${d#*:}"
		run --separate-stderr "$CORRAL" audit stats --json ${d:+--since "${d%%:*}"}
		assert_success
		assert_equal "$(jq .total.calls <<<"$output")" "${want:-4}"
	done
	run --separate-stderr "$CORRAL" audit stats --since 2h
	assert_success
	assert_output "SERVER  TOOL  CALLS  DENIED  TOOL_ERROR  RPC_ERROR  TRANSPORT_ERROR  TIMEOUT  CANCELLED  P50_MS  P95_MS  BYTES_IN  BYTES_OUT  TOKENS
s       t         1       0           0          0                0        0          0    1.00    1.00         0          0       0
TOTAL             1       0           0          0                0        0          0    1.00    1.00         0          0       0"
}

@test "stats: a bad --since" {
	calls 1 | gen
	local d
	for d in 2x h -1h 1.5h 2hh ""; do
		run --separate-stderr "$CORRAL" audit stats --since "$d"
		assert_failure 2
		assert_output ""
		assert_equal "$stderr" "corral: --since: \"$d\" is not a duration: give a number and s, m, h or d, such as 30s, 15m, 2h or 7d"
	done
}

@test "stats: unreadable lines are skipped and counted" {
	stats_events
	echo 'garbage' >>"$LOG"
	echo '[1,2]' >>"$LOG"
	run --separate-stderr "$CORRAL" audit stats
	assert_success
	assert_equal "$output" "$STATS_TABLE"
	assert_equal "$stderr" "corral: skipped 2 unreadable lines"
	run --separate-stderr "$CORRAL" audit stats --json
	assert_equal "$(jq .unreadable <<<"$output")" 2
}

@test "stats: a missing log" {
	run --separate-stderr "$CORRAL" audit stats
	assert_failure 2
	assert_equal "$stderr" "corral: $LOG: No such file or directory"
}
