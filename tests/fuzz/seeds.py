#!/usr/bin/python3
"""Write the hand-made seed inputs of the fuzz corpora (tests/fuzz/corpus/
<target>/seed-*). Run from the top directory; the audit seeds need
build/tests/tools/auditgen. Inputs libFuzzer found (merged with -merge=1)
sit beside them under their SHA-1 names."""
import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def j(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return j(m)


def note(method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return j(m)


def resp(i, result):
    return j({"jsonrpc": "2.0", "id": i, "result": result})


def err(i, code, msg):
    return j({"jsonrpc": "2.0", "id": i, "error": {"code": code, "message": msg}})


def call(i, tool, args, meta=None):
    p = {"name": "fake__" + tool, "arguments": args}
    if meta:
        p["_meta"] = meta
    return req(i, "tools/call", p)


def host():
    s = {}
    s["ping"] = "0" + req(1, "ping")
    s["lists"] = "0" + "\n".join([req(1, "tools/list"), req(2, "prompts/list"),
                                  req(3, "resources/list"),
                                  req(4, "resources/templates/list"),
                                  req(5, "tools/list", {"cursor": "x"})])
    s["call-echo"] = "0" + call(1, "echo", {"text": "hi"})
    s["call-progress"] = "1" + call("a", "echo", {"text": "hi", "_progress": True},
                                    {"progressToken": "tok"})
    s["call-noreply-cancel"] = "0" + "\n".join([
        call(7, "echo", {"_noreply": True}, {"progressToken": 9}),
        note("notifications/cancelled", {"requestId": 7, "reason": "user"}),
        note("notifications/cancelled", {"requestId": 99})])
    s["call-error"] = "0" + call(2, "add", {"_error": {"code": -32000, "message": "boom",
                                                       "data": [1, 2]}})
    s["call-result-big"] = "0" + call(3, "add", {"_result": {"content": [
        {"type": "text", "text": "x" * 5000}]}})
    s["call-result-iserror"] = "0" + call(3, "add", {"_result": {"isError": True,
                                                                 "content": []}})
    s["call-deny"] = "0" + "\n".join([call(1, "deny_me", {}),
                                      call(2, "echo", {"text": "forbidden"}),
                                      call(3, "nosuch", {})])
    s["call-ask-elicit"] = "0" + "\n".join([
        call(1, "ask_me", {"a": 1}),
        resp(0, {"action": "accept", "content": {"answer": "session"}}),
        call(2, "ask_me", {"a": 2})])
    s["call-ask-decline"] = "0" + "\n".join([
        call(1, "ask_me", {}), resp(0, {"action": "decline"})])
    s["call-ask-error"] = "0" + "\n".join([
        call(1, "ask_me", {}), err(0, -1, "no")])
    s["call-ask-auto"] = "4" + "\n".join([call(1, "ask_me", {}), call(2, "ask_me", {})])
    s["call-rate"] = "0" + "\n".join(call(i, "slow", {}) for i in range(1, 6))
    s["call-concurrent"] = "0" + "\n".join(call(i, "echo", {"_noreply": True})
                                           for i in range(1, 7))
    s["call-script-sampling"] = "0" + "\n".join([
        call(1, "echo", {"_script": [
            req(50, "sampling/createMessage", {"messages": [], "maxTokens": 5}),
            req(51, "roots/list"), req(52, "elicitation/create",
                                       {"message": "?", "requestedSchema": {}}),
            req(53, "ping"), note("notifications/message",
                                  {"level": "info", "data": "x"})]}),
        resp(0, {"role": "assistant", "content": {"type": "text", "text": "x"},
                 "model": "m"}),
        resp(1, {"roots": []}), err(2, -1, "no"), resp(3, {})])
    s["call-script-auto"] = "4" + call(1, "echo", {"_script": [
        req(50, "sampling/createMessage", {"messages": []}), req(51, "roots/list"),
        note("notifications/tools/list_changed"),
        note("notifications/resources/updated", {"uri": "file:///a.txt"}),
        "not json", "{\"jsonrpc\":\"2.0\"}"]})
    s["call-task"] = "0" + "\n".join([
        call(1, "echo", {"_result": {"task": {"taskId": "t1", "status": "working"}}}),
        req(2, "tasks/get", {"taskId": "t1"}), req(3, "tasks/result", {"taskId": "t1"}),
        req(4, "tasks/cancel", {"taskId": "t1"}), req(5, "tasks/list"),
        req(6, "tasks/get", {"taskId": "nope"}), req(7, "tasks/get", {})])
    s["prompts-get"] = "0" + "\n".join([
        req(1, "prompts/get", {"name": "fake__greet", "arguments": {"who": "me"}}),
        req(2, "prompts/get", {"name": "nope"}), req(3, "prompts/get", {})])
    s["resources"] = "0" + "\n".join([
        req(1, "resources/read", {"uri": "file:///a.txt"}),
        req(2, "resources/read", {"uri": "file:///t/zz"}),
        req(3, "resources/read", {"uri": "http://nope"}),
        req(4, "resources/subscribe", {"uri": "file:///a.txt"}),
        req(5, "resources/subscribe", {"uri": "file:///a.txt"}),
        req(6, "resources/unsubscribe", {"uri": "file:///a.txt"}),
        req(7, "resources/unsubscribe", {"uri": "file:///b"})])
    s["complete"] = "0" + "\n".join([
        req(1, "completion/complete", {"ref": {"type": "ref/prompt", "name": "fake__greet"},
                                       "argument": {"name": "who", "value": "a"}}),
        req(2, "completion/complete", {"ref": {"type": "ref/resource",
                                               "uri": "file:///t/{x}"},
                                       "argument": {"name": "x", "value": ""}})])
    s["logging"] = "0" + "\n".join([req(1, "logging/setLevel", {"level": "debug"}),
                                    req(2, "logging/setLevel", {"level": "bogus"})])
    s["batch"] = "2" + "[" + ",".join([req(1, "ping"), req(2, "tools/list"),
                                       note("notifications/cancelled",
                                            {"requestId": 5}),
                                       call(3, "echo", {"text": "b"}),
                                       call(4, "ask_me", {})]) + "]"
    s["batch-bad"] = "2" + "\n".join(["[]", "[1,2]", "[" + req(1, "ping") + "]",
                                      "[" + req(1, "ping") + "," + req(1, "ping") + "]"])
    s["batch-old"] = "0[" + req(1, "ping") + "]"
    s["framing"] = "0" + "\n".join([
        "", "   ", "\t\r", "{", "}", "not json", "[", "null", "1", "\"x\"",
        "{\"jsonrpc\":\"2.0\"}", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"id\":1,\"method\":\"ping\"}", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[]}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nosuch\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":77,\"error\":{\"code\":1,\"message\":\"x\"}}",
        "[" * 200 + "]" * 200, "{\"a\":\"\\ud800\"}", "\xff\xfe"]) + "\r\n" + req(2, "ping") + "\r\n"
    s["dup-ids"] = "0" + "\n".join([call(1, "echo", {"_noreply": True}),
                                    call(1, "echo", {}), req(1, "ping")])
    s["preinit"] = "3" + "\n".join([
        req(1, "tools/list"), note("notifications/initialized"),
        req(2, "initialize", {"protocolVersion": "1999-01-01", "capabilities": {},
                              "clientInfo": {"name": "x", "version": "1"}}),
        req(3, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "x", "version": "1"}}),
        req(4, "initialize", {}), req(5, "ping")])
    s["reinit"] = "0" + req(9, "initialize", {"protocolVersion": "2025-11-25",
                                             "capabilities": {}, "clientInfo": {}})
    s["roots-changed"] = "0" + "\n".join([note("notifications/roots/list_changed"),
                                          note("notifications/progress",
                                               {"progressToken": 1, "progress": 1}),
                                          note("notifications/unknown")])
    s["timeouts"] = "8" + "\n".join([
        call(1, "echo", {"_noreply": True}),
        req(2, "resources/read", {"uri": "file:///a.txt", "_noreply": True}),
        call(3, "ask_me", {})])
    s["listchanged"] = "4" + call(1, "echo", {"_script": [
        note("notifications/tools/list_changed"),
        note("notifications/prompts/list_changed"),
        note("notifications/resources/list_changed")]})
    for k, v in s.items():
        put("fuzz_host", k, v)


def child():
    s = {}
    s["responses"] = "0" + "\n".join([
        j({"jsonrpc": "2.0", "method": "notifications/progress",
           "params": {"progressToken": 1, "progress": 0.5, "total": 1, "message": "m"}}),
        resp(6, {"content": [{"type": "text", "text": "hi"}]}),
        resp(7, {"contents": [{"uri": "file:///a.txt", "text": "a"}]}),
        resp(8, {"messages": []}),
        resp(9, {"completion": {"values": []}}),
        resp(10, {}), err(11, -32000, "x"), resp(12, {"tools": []})])
    s["errors"] = "0" + "\n".join([err(6, -32603, "boom"), err(7, 1, "x"),
                                   j({"jsonrpc": "2.0", "id": 8, "error": {}}),
                                   j({"jsonrpc": "2.0", "id": 9, "result": 1}),
                                   resp(99, {}), resp("6", {}), resp(None, {}),
                                   resp(6, {})])
    s["requests"] = "1" + "\n".join([
        req(1, "sampling/createMessage", {"messages": [], "maxTokens": 1}),
        req("r2", "elicitation/create", {"message": "?", "requestedSchema": {}}),
        req(3, "roots/list"), req(4, "ping"), req(5, "nosuch"),
        req(6, "tools/list"), req(1, "roots/list")])
    s["requests-unanswered"] = "0" + "\n".join([
        req(1, "sampling/createMessage", {"messages": []}),
        req(2, "roots/list", {"_meta": {"progressToken": 5}}),
        note("notifications/cancelled", {"requestId": 1}),
        note("notifications/progress", {"progressToken": 5, "progress": 1})])
    s["notifications"] = "0" + "\n".join([
        note("notifications/tools/list_changed"), note("notifications/prompts/list_changed"),
        note("notifications/resources/list_changed"),
        note("notifications/resources/updated", {"uri": "file:///a.txt"}),
        note("notifications/message", {"level": "error", "logger": "l", "data": {"a": 1}}),
        note("notifications/progress", {"progressToken": 7, "progress": 3}),
        note("notifications/progress", {"progressToken": 999, "progress": 3}),
        note("notifications/cancelled", {"requestId": 1}),
        note("notifications/tasks/status", {"taskId": "t9", "status": "working"}),
        note("notifications/elicitation/complete", {"elicitationId": "e"}),
        note("notifications/nosuch")])
    s["relist"] = "0" + "\n".join([
        note("notifications/tools/list_changed"),
        resp(13, {"tools": [{"name": "echo", "description": "changed!",
                             "inputSchema": {"type": "object"}}], "nextCursor": "c2"}),
        resp(14, {"tools": [{"name": "new", "inputSchema": {}}]})])
    s["task-result"] = "0" + "\n".join([
        resp(6, {"task": {"taskId": "t1", "status": "working"}}),
        note("notifications/tasks/status", {"taskId": "t1", "status": "completed"})])
    s["garbage"] = "0" + "\n".join(["", "x", "{", "[]", "{}", "null", "\"s\"",
                                    "{\"jsonrpc\":\"2.0\",\"id\":6}",
                                    "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{},\"error\":{}}",
                                    "[" * 300 + "]" * 300, "\x00\x01"])
    s["batch"] = "2" + "[" + ",".join([resp(6, {"content": []}), resp(7, {})]) + "]"
    s["big"] = "0" + resp(6, {"content": [{"type": "text", "text": "y" * 6000}]})
    s["timeouts"] = "\x04" + note("notifications/progress",
                                  {"progressToken": 1, "progress": 1})
    for k, v in s.items():
        put("fuzz_child", k, v)


def config():
    d = os.path.join(TOP, "tests", "unit", "test_config.c")
    s = {}
    s["minimal"] = '{"mcpServers":{"a":{"command":"x"}}}'
    s["empty"] = "{}"
    s["full"] = j({
        "mcpServers": {
            "a": {"command": "/bin/echo", "args": ["a", "${env:FUZZ_TOKEN}"],
                  "env": {"A": "1", "T": "${env:FUZZ_TOKEN}"}, "cwd": "sub",
                  "prefix": "aa", "disabled": False, "description": "d",
                  "tools": {"allow": ["x*"], "deny": ["y"]},
                  "timeouts": {"start": 5, "call": 10, "call_max": 20, "idle": 3},
                  "restart": {"max_failures": 3, "backoff": 0.5, "backoff_max": 8,
                              "reset_after": 60},
                  "sandbox": {"profile": "strict", "network": "full", "ro": ["/etc"],
                              "rw": ["~/x"], "home": "ephemeral", "seccomp": "off",
                              "fallback": "landlock", "limits": {"nofile": 64},
                              "tmp": 1048576, "memory": 1e9, "pids": 10, "cpu": 0.5},
                  "policy": {"default": "ask", "allow": ["r*"],
                             "deny": [{"tool": "w", "args": {"/path": "/etc/**"}}]},
                  "trust_annotations": True,
                  "limits": {"rate": "5/min", "max_concurrent": 2,
                             "max_result_bytes": 1000,
                             "tools": {"big*": {"rate": "1/sec"}}}},
            "b": {"type": "stdio", "command": "y", "sandbox": {"profile": "none"}}},
        "corral": {"naming": {"separator": "."}, "max_message": 100000,
                   "timeouts": {"initialize": 2, "shutdown": 1},
                   "policy": {"default": "deny"},
                   "consent": {"channels": ["tty", "elicitation", "dialog", "command"],
                               "command": ["/bin/true"], "timeout": 30},
                   "audit": {"enabled": True, "path": "/tmp/a.jsonl", "capture": "full",
                             "fsync": "batch", "rotate_bytes": 100000, "keep": 3,
                             "on_failure": "continue"},
                   "otel": {"endpoint": "http://127.0.0.1:4318", "headers": {"X": "y"},
                            "service_name": "s", "timeout": 2, "max_queue": 10}}})
    s["servers-key"] = '{"servers":{"b":{"command":"x","args":[]}}}'
    s["errors"] = '{"mcpServers":{"a":{"command":"x","foo":1}}}'
    s["dup"] = '{"mcpServers":{"a":{"command":"x"},"a":{"command":"y"}}}'
    s["http"] = '{"mcpServers":{"a":{"type":"http","url":"https://e/x","headers":{"A":"b"}}}}'
    s["bad-utf8"] = b'{"mcpServers":{"a":{"command":"\xc3"}}}'
    s["env-missing"] = '{"mcpServers":{"a":{"command":"${env:NOPE_NOT_SET}"}}}'
    s["comments"] = '{\n  "mcpServers": {,}\n}'
    # The configs of the unit tests, as the C string literals there.
    if os.path.exists(d):
        import re
        txt = open(d, encoding="utf-8", errors="surrogateescape").read()
        n = 0
        for m in re.finditer(r'\{ "((?:[^"\\]|\\.)*)",', txt):
            lit = m.group(1)
            try:
                val = bytes(lit, "utf-8", "surrogateescape").decode(
                    "unicode_escape").encode("latin-1")
            except Exception:
                continue
            if b"mcpServers" in val or b"servers" in val or b"corral" in val:
                n += 1
                s["unit-%03d" % n] = val
    for k, v in s.items():
        put("fuzz_config", k, v)


def canon():
    s = {
        "object": '{"b":1,"a":[true,false,null],"c":{"z":"\\u00e9","y":-0.5e10}}',
        "nested": '[[[[{"a":[[{}]]}]]]]',
        "dup": '{"a":1,"a":2,"b":{"c":1,"c":[]}}',
        "escapes": '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\ud83d\\ude00"',
        "lone-surrogate": '["\\ud800","\\udc00x"]',
        "numbers": '[0,-0,1e308,1e309,-1e-400,123456789012345678901234567890,0.1,1E+2]',
        "bad-numbers": '[01,1.,.5,+1,1e,--1,0x10,NaN,Infinity]',
        "utf8": '{"k\xc3\xa9":"\xe2\x82\xac\xf0\x9f\x98\x80"}',
        "bad-utf8": b'["\xc3\x28","\xed\xa0\x80","\xf4\x90\x80\x80","\xc0\xaf"]',
        "ws": ' \t\r\n{ "a" : [ 1 , 2 ] } \n',
        "trailing": '{"a":1} x',
        "tool": '{"name":"t","title":"T","description":"d","inputSchema":{"type":"object",'
                '"properties":{"b":{},"a":{}}},"annotations":{"readOnlyHint":true},"extra":1}',
        "rpc": '{"jsonrpc":"2.0","id":"x\\"y","method":"tools/call","params":{"name":"a"}}',
        "rpc-resp": '{"jsonrpc":"2.0","result":{},"id":12345678901234567890}',
        "nul-key": '{"a\\u0000b":1,"a":2}',
        "deep": "[" * 130 + "]" * 130,
        "empty": "",
        "ctrl": '"a\x01b"',
        "long-number": "[" + "1" * 80 + "]",
    }
    for k, v in s.items():
        put("fuzz_canon", k, v)


def audit():
    gen = os.path.join(TOP, "build", "tests", "tools", "auditgen")
    if not os.access(gen, os.X_OK):
        print("seeds.py: no %s; audit seeds skipped" % gen, file=sys.stderr)
        return
    events = [
        {"event": "config_load", "path": "/c.json", "sha256": "0" * 64, "servers": ["a"]},
        {"event": "session_start", "session": "0123456789abcdef",
         "client": {"name": "c", "version": "1"}, "protocol": "2025-11-25",
         "corral": "0.1.0", "pid": 1},
        {"event": "call", "session": "0123456789abcdef", "id": "1", "server": "a",
         "tool": "t", "name": "a__t", "decision": "allow", "by": "policy: default",
         "outcome": "ok", "latency_ms": 1.5, "bytes_in": 10, "bytes_out": 20,
         "tokens": 7, "args": {"sha256": "1" * 64, "shape": {"x": "string(3)"}}},
        {"event": "session_end", "session": "0123456789abcdef", "reason": "shutdown",
         "requests": 1, "duration_ms": 3},
    ]
    lines = "".join(j(e) + "\n" for e in events)
    with tempfile.TemporaryDirectory() as t:
        with open(os.path.join(t, "audit.key"), "wb") as f:
            f.write(b"\x42" * 32)
        os.chmod(os.path.join(t, "audit.key"), 0o600)
        subprocess.run([gen, t, "a.jsonl"], input=lines.encode(), check=True)
        log = open(os.path.join(t, "a.jsonl"), "rb").read()
        r = os.path.join(t, "r")
        os.mkdir(r, 0o700)
        os.link(os.path.join(t, "audit.key"), os.path.join(r, "audit.key"))
        subprocess.run([gen, r, "a.jsonl", "--max-bytes", "700", "--keep", "5"],
                       input=(lines * 2).encode(), check=True)
        rot = sorted(x for x in os.listdir(r) if x.startswith("a.jsonl"))
        newest = open(os.path.join(r, "a.jsonl"), "rb").read()
        older = open(os.path.join(r, "a.jsonl.1"), "rb").read()
    ls = log.split(b"\n")
    put("fuzz_audit", "valid", b"\x00" + log)
    put("fuzz_audit", "valid-remac", b"\x01" + log)
    put("fuzz_audit", "valid-split", b"\x02" + log)
    put("fuzz_audit", "rotated-newest", b"\x00" + newest)
    put("fuzz_audit", "rotated-pair", b"\x02" + older + newest)
    put("fuzz_audit", "torn", b"\x00" + log + ls[0][:30])
    put("fuzz_audit", "torn-next", b"\x00" + log + b'{"v":1,"seq":5,"ts":"')
    put("fuzz_audit", "tampered", b"\x00" + log.replace(b'"reason":"shutdown"',
                                                         b'"reason":"shutdowN"'))
    put("fuzz_audit", "deleted", b"\x00" + b"\n".join(ls[:1] + ls[2:]))
    put("fuzz_audit", "reordered", b"\x01" + b"\n".join([ls[1], ls[0]] + ls[2:]))
    put("fuzz_audit", "seq-gap", b"\x01" + log.replace(b'"seq":3', b'"seq":9'))
    put("fuzz_audit", "not-json", b"\x01" + log + b"xx,\"mac\":\"" + b"0" * 64 + b"\"}\n")
    put("fuzz_audit", "empty", b"\x00")
    put("fuzz_audit", "crlf", b"\x01" + log.replace(b"\n", b"\r\n"))


def main():
    which = sys.argv[1:] or ["host", "child", "config", "canon", "audit"]
    for w in which:
        globals()[w]()


main()
