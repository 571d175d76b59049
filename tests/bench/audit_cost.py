#!/usr/bin/env python3
"""What the audit log costs corral per tools/call, measured side by side.

usage: python3 tests/bench/audit_cost.py [BUILD] [CALLS] [ROUNDS]

Runs `corral serve` with the fake echo server (unsandboxed, so only the
broker is measured) under three audit settings -- off, capture "shape"
(the default) and capture "full" -- interleaved round by round, and drives
CALLS sequential tools/call round trips through each. Prints, per setting,
the median over ROUNDS of corral's own CPU time per call (user + system,
from wait4) and of the round-trip time, and the ratios to "off". Times on
a shared machine are noisy: compare the ratios of one run, not absolute
numbers across runs.
"""
import json, os, resource, statistics, subprocess, sys, tempfile, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
corral = os.path.join(root, build, "corral")
echo = os.path.join(root, build, "tests", "servers", "echo")
settings = {
    "off": {"enabled": False},
    "shape": {},
    "full": {"capture": "full"},
}


def one(conf, state):
    env = dict(os.environ, XDG_STATE_HOME=state)
    p = subprocess.Popen([corral, "serve", "-c", conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def send(o):
        p.stdin.write((json.dumps(o) + "\n").encode())
        p.stdin.flush()

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"}}})
    p.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    t0 = time.perf_counter()
    for i in range(1, calls + 1):
        send({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "echo__echo", "arguments": {"text": "hello %d" % i}}})
        line = p.stdout.readline()
        if b'"result"' not in line:
            sys.exit("unexpected answer: %r" % line)
    rtt = (time.perf_counter() - t0) / calls
    p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("corral exited with status %d" % status)
    return (ru.ru_utime + ru.ru_stime) / calls, rtt


def main():
    if not os.access(corral, os.X_OK) or not os.access(echo, os.X_OK):
        sys.exit("build first: make all servers (%s)" % corral)
    with tempfile.TemporaryDirectory() as tmp:
        confs = {}
        for name, audit in settings.items():
            c = {"mcpServers": {"echo": {"command": echo,
                                         "sandbox": {"profile": "none"}}},
                 "corral": {"policy": {"default": "allow"}, "audit": audit}}
            confs[name] = os.path.join(tmp, name + ".json")
            with open(os.open(confs[name], os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                json.dump(c, f)
        cpu = {n: [] for n in settings}
        rtt = {n: [] for n in settings}
        for r in range(rounds):
            for name in settings:
                state = tempfile.mkdtemp(dir=tmp)
                c, t = one(confs[name], state)
                cpu[name].append(c)
                rtt[name].append(t)
        base_c = statistics.median(cpu["off"])
        base_t = statistics.median(rtt["off"])
        print("%d calls x %d rounds, medians" % (calls, rounds))
        print("%-6s %14s %8s %14s %8s" % ("audit", "corral cpu/call", "ratio", "round trip", "ratio"))
        for name in settings:
            c = statistics.median(cpu[name])
            t = statistics.median(rtt[name])
            print("%-6s %11.1f us %8.2f %11.1f us %8.2f" % (name, c * 1e6, c / base_c, t * 1e6, t / base_t))


main()
