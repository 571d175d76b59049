#!/bin/sh
# make bench: what corral costs next to talking to a server directly and
# next to a plain byte relay (tests/bench/relay.c), with the figures
# checked against the targets of issue 6.
#
# usage: sh tests/bench/run.sh [BUILD]
#
# Every configuration is measured once per round and the rounds are
# interleaved (direct, relay, corral, ... then again), so that a noisy
# neighbour slows them all alike; the figures are medians over rounds.
# Environment: BENCH_ROUNDS (5), BENCH_N (lockstep calls, 20000),
# BENCH_NP (pipelined calls, 50000), BENCH_NB (16 MiB calls, 5),
# BENCH_NL (tools/list calls, 20). Writes BUILD/bench.json.
set -eu
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
B="${1:-build}"
BIN="$ROOT/$B/tests/bench"
CORRAL="$ROOT/$B/corral"
ROUNDS="${BENCH_ROUNDS:-5}"
N="${BENCH_N:-20000}"
NP="${BENCH_NP:-50000}"
NB="${BENCH_NB:-5}"
NL="${BENCH_NL:-20}"
BIG=16777216
OUTJSON="$ROOT/$B/bench.json"

for f in "$CORRAL" "$BIN/loadgen" "$BIN/benchecho" "$BIN/relay"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f missing: make all servers first" >&2
		exit 1
	fi
done
command -v python3 >/dev/null || { echo "run.sh: needs python3" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_STATE_HOME="$tmp/state"
RAW="$tmp/raw.jsonl"
ERRLOG="$tmp/stderr.log"
: >"$RAW"

# conf NAME COUNT SANDBOX(on|off) AUDIT(on|off) [CHILD ARGS as JSON array]
conf() {
	name="$1" count="$2" sbx="$3" audit="$4" args="${5:-[]}"
	if [ "$sbx" = on ]; then s=''; else s=',"sandbox":{"profile":"none"}'; fi
	if [ "$audit" = on ]; then
		a='{"capture":"shape","fsync":"batch"}'
	else
		a='{"enabled":false}'
	fi
	{
		printf '{"mcpServers":{'
		i=1
		while [ "$i" -le "$count" ]; do
			[ "$i" = 1 ] || printf ','
			# One child is "e" (tools e__echo, e__big); many are e1..eN.
			if [ "$count" = 1 ]; then alias=e; else alias="e$i"; fi
			printf '"%s":{"command":"%s","args":%s%s}' \
			    "$alias" "$BIN/benchecho" "$args" "$s"
			i=$((i + 1))
		done
		printf '},"corral":{"policy":{"default":"allow"},'
		printf '"timeouts":{"initialize":300},"audit":%s}}\n' "$a"
	} >"$tmp/$name.json"
	chmod 600 "$tmp/$name.json"
}

conf off 1 off off
conf sbx 1 on off
conf audit 1 off on
conf list1 1 off off '["--delay-list","50"]'
conf list20 20 off off '["--delay-list","50"]'
conf cold20 20 on off
conf cold20off 20 off off
conf idle10 10 on off

BWRAP="$(command -v bwrap || true)"
# Round trips in lock step are measured twice: as they come, and with the
# client, corral and the server all on one CPU. As they come, the figure
# is mostly where the scheduler put the processes (a wakeup across CPUs
# of a VM can cost 50-100 us and varies from run to run); on one CPU it is
# the work done per round trip, which is what the targets compare.
PIN=""
if command -v taskset >/dev/null; then
	PIN="taskset -c $(($(nproc) - 1))"
fi

# run BENCH CONFIG ROUND loadgen-args... -- command...
# (with $pin set, on one CPU)
pin=""
run() {
	bench="$1" cfg="$2" round="$3"
	shift 3
	if ! line="$($pin "$BIN/loadgen" "$@" 2>>"$ERRLOG")"; then
		echo "run.sh: $bench $cfg failed: loadgen $*" >&2
		tail -n 20 "$ERRLOG" >&2
		exit 1
	fi
	printf '{"bench":"%s","cfg":"%s","round":%s,"res":%s}\n' \
	    "$bench" "$cfg" "$round" "$line" >>"$RAW"
}

started=$(date +%s)
echo "corral bench: $ROUNDS rounds, $(nproc) cpus, build $B"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	printf 'round %s/%s:' "$r" "$ROUNDS"
	printf ' B1'
	run B1 direct "$r" --mode lockstep --n "$N" -- "$BIN/benchecho"
	run B1 relay "$r" --mode lockstep --n "$N" -- "$BIN/relay" "$BIN/benchecho"
	run B1 corral "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/off.json"
	run B1 corral_sbx "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/sbx.json"
	if [ -n "$PIN" ]; then
		pin="$PIN"
		run B1pin direct "$r" --mode lockstep --n "$N" -- "$BIN/benchecho"
		run B1pin relay "$r" --mode lockstep --n "$N" -- "$BIN/relay" "$BIN/benchecho"
		run B1pin corral "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/off.json"
		run B1pin corral_sbx "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/sbx.json"
		pin=""
	fi
	printf ' B2'
	run B2 direct "$r" --mode pipelined --n "$NP" -- "$BIN/benchecho"
	run B2 relay "$r" --mode pipelined --n "$NP" -- "$BIN/relay" "$BIN/benchecho"
	run B2 corral "$r" --mode pipelined --n "$NP" --tool e__echo -- "$CORRAL" serve -c "$tmp/off.json"
	run B2 corral_sbx "$r" --mode pipelined --n "$NP" --tool e__echo -- "$CORRAL" serve -c "$tmp/sbx.json"
	printf ' B3'
	run B3 direct "$r" --mode big --n "$NB" --bytes "$BIG" -- "$BIN/benchecho"
	run B3 relay "$r" --mode big --n "$NB" --bytes "$BIG" -- "$BIN/relay" "$BIN/benchecho"
	run B3 corral "$r" --mode big --n "$NB" --bytes "$BIG" --tool e__big -- "$CORRAL" serve -c "$tmp/off.json"
	printf ' B4'
	run B4 direct1 "$r" --mode list --n "$NL" --warmup 2 -- "$BIN/benchecho" --delay-list 50
	run B4 list1 "$r" --mode list --n "$NL" --warmup 2 -- "$CORRAL" serve -c "$tmp/list1.json"
	run B4 list20 "$r" --mode list --n "$NL" --warmup 2 -- "$CORRAL" serve -c "$tmp/list20.json"
	run B4 cold20 "$r" --mode init -- "$CORRAL" serve -c "$tmp/cold20.json"
	run B4 cold20off "$r" --mode init -- "$CORRAL" serve -c "$tmp/cold20off.json"
	printf ' B5'
	run B5 idle10 "$r" --mode idle --wait 500 -- "$CORRAL" serve -c "$tmp/idle10.json"
	printf ' B6'
	run B6 audit "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/audit.json"
	if [ -n "$PIN" ]; then
		pin="$PIN"
		run B6pin audit "$r" --mode lockstep --n "$N" --tool e__echo -- "$CORRAL" serve -c "$tmp/audit.json"
		pin=""
	fi
	printf ' B7'
	for i in 1 2 3; do
		run B7 corral "$r" --mode init -- "$CORRAL" serve -c "$tmp/off.json"
		run B7 corral_sbx "$r" --mode init -- "$CORRAL" serve -c "$tmp/sbx.json"
	done
	if [ -n "$BWRAP" ]; then
		# The same child started by hand the bubblewrap way: its own
		# namespaces, the root read-only, fresh /dev, /proc and /tmp.
		run B7 bwrap "$r" --mode init -- "$BWRAP" --unshare-all \
		    --die-with-parent --ro-bind / / --dev /dev --proc /proc \
		    --tmpfs /tmp "$BIN/benchecho"
		run B7 direct "$r" --mode init -- "$BIN/benchecho"
	fi
	echo
	r=$((r + 1))
done
elapsed=$(($(date +%s) - started))

python3 - "$RAW" "$OUTJSON" "$elapsed" "$BWRAP" <<'EOF'
import json, statistics, sys

raw, outpath, elapsed, bwrap = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
runs = [json.loads(l) for l in open(raw)]


def med(bench, cfg, key):
    v = [x["res"][key] for x in runs if x["bench"] == bench and x["cfg"] == cfg]
    return statistics.median(v) if v else None


fig = {}
for x in runs:
    fig.setdefault(x["bench"], {}).setdefault(x["cfg"], {})
for b, cfgs in fig.items():
    for c in cfgs:
        keys = [k for k, v in next(x["res"] for x in runs
                if x["bench"] == b and x["cfg"] == c).items()
                if isinstance(v, (int, float)) and k not in
                ("n", "server_pid", "server_status", "bytes", "inflight")]
        cfgs[c] = {k: med(b, c, k) for k in keys}

rows = []   # (label, value text, target text, verdict)


def check(label, value, fmt, target, ok):
    rows.append((label, fmt % value, target, "PASS" if ok else "MISS"))
    return {"value": value, "target": target, "pass": ok}


res = {}
for b, tag in (("B1pin", " 1cpu"), ("B1", "")):
    if b not in fig:
        continue
    d, rl = fig[b]["direct"]["p50_us"], fig[b]["relay"]["p50_us"]
    relay_add = rl - d
    for c in ("corral", "corral_sbx"):
        add = fig[b][c]["p50_us"] - d
        ratio = add / relay_add if relay_add > 0 else float("inf")
        res[b + "_" + c] = check("B1%s %s added p50/relay's" % (tag, c),
                                 ratio, "%.2fx", "<= 1.5x", ratio <= 1.5)
for c in ("corral", "corral_sbx"):
    ratio = fig["B2"][c]["rps"] / fig["B2"]["relay"]["rps"]
    res["B2_" + c] = check("B2 %s rps / relay's" % c, ratio, "%.2f",
                           ">= 0.70", ratio >= 0.70)
ratio = fig["B3"]["corral"]["median_ms"] / fig["B3"]["relay"]["median_ms"]
res["B3_time"] = check("B3 16 MiB corral time / relay's", ratio, "%.2fx",
                       "<= 2x", ratio <= 2)
hwm = fig["B3"]["corral"]["server_hwm_kb"] / 1024
res["B3_rss"] = check("B3 corral peak RSS (MiB)", hwm, "%.1f", "<= 56",
                      hwm <= 3 * 16 + 8)
# corral answers tools/list from what it listed at start, so the 20 slow
# children are asked in parallel when corral starts: compare both the list
# round trip and the start (to initialize's answer) with one such child.
f4 = fig["B4"]
one = f4["direct1"]["p50_us"]
ratio = f4["list20"]["p50_us"] / one
res["B4_list"] = check("B4 list, 20 children / 1 direct", ratio, "%.2fx",
                       "<= 1.6x", ratio <= 1.6)
# The same 20 unsandboxed children with and without the 50 ms wait: the
# difference is what the slow lists cost corral's start.
wait20 = f4["list20"]["init_us"] - f4["cold20off"]["init_us"]
ratio = wait20 / one
res["B4_start"] = check("B4 lists at start, 20 / 1 direct", ratio, "%.2fx",
                        "<= 1.6x", ratio <= 1.6)
rss = fig["B5"]["idle10"]["server_rss_kb"] / 1024
res["B5_rss"] = check("B5 idle RSS, 10 children (MiB)", rss, "%.2f",
                      "<= 4", rss <= 4)
for b6, b1, tag in (("B6pin", "B1pin", " 1cpu"), ("B6", "B1", "")):
    if b6 not in fig:
        continue
    ratio = fig[b6]["audit"]["p50_us"] / fig[b1]["corral"]["p50_us"]
    res[b6 + "_audit"] = check("B6%s p50 audit on / off" % tag, ratio,
                               "%.2fx", "<= 1.1x", ratio <= 1.1)
f7 = fig["B7"]
sbx_start = (f7["corral_sbx"]["init_us"] - f7["corral"]["init_us"]) / 1000
if "bwrap" in f7:
    bw = (f7["bwrap"]["init_us"] - f7["direct"]["init_us"]) / 1000
    ratio = sbx_start / bw if bw > 0 else float("inf")
    res["B7_start"] = check("B7 sandboxed start / bwrap's", ratio, "%.2fx",
                            "<= 1.0x", ratio <= 1.0)
else:
    res["B7_start"] = {"skipped": "bwrap not installed"}

f1, f2, f3 = fig["B1"], fig["B2"], fig["B3"]
print()
print("%-26s %10s %10s %10s %12s" % ("figures (medians)", "direct", "relay",
                                     "corral", "corral+sbx"))
for b, tag in (("B1pin", ", 1 cpu"), ("B1", "")):
    if b not in fig:
        continue
    for q in ("p50", "p99"):
        print("%-26s %10.1f %10.1f %10.1f %12.1f" % (
            "B1 lockstep %s%s (us)" % (q, tag), *(fig[b][c][q + "_us"] for c in
                                  ("direct", "relay", "corral", "corral_sbx"))))
print("%-26s %10.0f %10.0f %10.0f %12.0f" % (
    "B2 pipelined (req/s)", *(f2[c]["rps"] for c in
                             ("direct", "relay", "corral", "corral_sbx"))))
print("%-26s %10.1f %10.1f %10.1f %12s" % (
    "B3 16 MiB call (ms)", *(f3[c]["median_ms"] for c in
                            ("direct", "relay", "corral")), "-"))
print("%-26s %10.1f %10.1f %10.1f %12s" % (
    "B3 peak RSS (MiB)", *(f3[c]["server_hwm_kb"] / 1024 for c in
                          ("direct", "relay", "corral")), "-"))
print("%-26s %10.1f %10s %10.1f %12.1f" % (
    "start to initialize (ms)", f1["direct"]["init_us"] / 1000, "",
    f7["corral"]["init_us"] / 1000, f7["corral_sbx"]["init_us"] / 1000))
print("B4 tools/list p50, children answering lists after 50 ms: direct "
      "%.1f ms, corral 1 child %.2f ms, 20 children %.2f ms" %
      (one / 1000, f4["list1"]["p50_us"] / 1000, f4["list20"]["p50_us"] / 1000))
print("B4 start to initialize, those children: 1 %.1f ms, 20 %.1f ms "
      "(%.1f ms more than 20 quick ones)" % (f4["list1"]["init_us"] / 1000,
      f4["list20"]["init_us"] / 1000, wait20 / 1000))
print("B4 cold start, 20 children to initialize: sandboxed %.1f ms, "
      "unsandboxed %.1f ms" % (f4["cold20"]["init_us"] / 1000,
                               f4["cold20off"]["init_us"] / 1000))
print("B5 idle corral, 10 children: VmRSS %.2f MiB, of which anonymous "
      "(not shared libraries) %.2f MiB" %
      (fig["B5"]["idle10"]["server_rss_kb"] / 1024,
       fig["B5"]["idle10"]["server_rss_anon_kb"] / 1024))
for b, tag in (("B6pin", ", 1 cpu"), ("B6", "")):
    if b in fig:
        print("B6 lockstep with audit (shape, fsync batch)%s: p50 %.1f us, "
              "p99 %.1f us" % (tag, fig[b]["audit"]["p50_us"],
                               fig[b]["audit"]["p99_us"]))
if "bwrap" in f7:
    print("B7 start of one child: corral sandbox %.1f ms, bwrap %.1f ms "
          "(over unsandboxed)" % (sbx_start, bw))
else:
    print("B7 skipped: bwrap not installed (corral's sandboxed start: "
          "%.1f ms over unsandboxed)" % sbx_start)
print()
print("%-38s %9s %9s  %s" % ("target", "measured", "wanted", ""))
for label, v, t, verdict in rows:
    print("%-38s %9s %9s  %s" % (label, v, t, verdict))
npass = sum(1 for r in rows if r[3] == "PASS")
print("%d of %d targets met; %d s" % (npass, len(rows), elapsed))
with open(outpath, "w") as f:
    json.dump({"rounds": max(x["round"] for x in runs), "elapsed_s": elapsed,
               "figures": fig, "targets": res,
               "runs": [dict(x["res"], bench=x["bench"], cfg=x["cfg"],
                             round=x["round"]) for x in runs]}, f, indent=1)
    f.write("\n")
print("figures: %s" % outpath)
EOF
