#!/bin/sh
# make fuzz: run each libFuzzer harness for a while on its corpus.
# run.sh FZDIR SECONDS JOBS TARGET...
# New inputs go to FZDIR/corpus-new/TARGET (the committed corpus in
# tests/fuzz/corpus/TARGET is only read), crashes to FZDIR/crashes/TARGET,
# the log to FZDIR/logs/TARGET.log. JOBS targets run at a time. Ends with
# a summary line per target; exit status 1 when any target crashed.
set -u
fz="$1" secs="$2" jobs="$3"
shift 3
cd "$(dirname "$0")/../.."
mkdir -p "$fz/logs"

run_one() {
	t="$1"
	mkdir -p "$fz/corpus-new/$t" "$fz/crashes/$t" "tests/fuzz/corpus/$t"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	# -close_fd_mask=2: the broker's diagnostics would drown the log;
	# sanitizer reports still come through.
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
	"$fz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=16384 -print_final_stats=1 -close_fd_mask=2 $dict \
	    -artifact_prefix="$fz/crashes/$t/" \
	    "$fz/corpus-new/$t" "tests/fuzz/corpus/$t" \
	    >"$fz/logs/$t.log" 2>&1
	echo $? >"$fz/logs/$t.rc"
}

pids=""
n=0
for t in "$@"; do
	echo "fuzz: $t for ${secs}s (log $fz/logs/$t.log)"
	run_one "$t" &
	pids="$pids $!"
	n=$((n + 1))
	if [ "$n" -ge "$jobs" ]; then
		wait
		n=0
	fi
done
wait

echo
printf '%-12s %8s %8s %8s %8s %s\n' target execs exec/s cov corpus result
fail=0
for t in "$@"; do
	log="$fz/logs/$t.log"
	rc=$(cat "$fz/logs/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
	crashes=$(ls "$fz/crashes/$t" 2>/dev/null | wc -l)
	if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
		res=ok
	else
		res="FAILED (rc $rc, $crashes file(s) in $fz/crashes/$t)"
		fail=1
	fi
	printf '%-12s %8s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" \
	    "${cov:-?}" "${corp:-?}" "$res"
done
exit $fail
