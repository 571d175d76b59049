#!/usr/bin/python3
"""A small MCP server in Python, standard library only, for the sandbox
tests: a real interpreter (not a fake built here) must start and work
inside corral's sandbox.

Tools: echo {text}; whoami (uid, HOME, cwd, hostname, python version);
write_home {name} (writes a file in HOME and reads it back)."""
import json
import os
import socket
import sys


def tool_list():
    obj = {"type": "object", "properties": {}}
    return [
        {"name": "echo", "description": "Echo the text back",
         "inputSchema": {"type": "object",
                         "properties": {"text": {"type": "string"}}}},
        {"name": "whoami", "description": "Describe the process",
         "inputSchema": obj},
        {"name": "write_home", "description": "Write a file in HOME",
         "inputSchema": {"type": "object",
                         "properties": {"name": {"type": "string"}}}},
    ]


def call(name, args):
    if name == "echo":
        return str(args.get("text", ""))
    if name == "whoami":
        return "uid=%d home=%s cwd=%s host=%s python=%s" % (
            os.getuid(), os.environ.get("HOME"), os.getcwd(),
            socket.gethostname(), sys.version.split()[0])
    if name == "write_home":
        path = os.path.join(os.environ["HOME"], args.get("name", "py.txt"))
        with open(path, "w") as f:
            f.write("written by python\n")
        with open(path) as f:
            return f.read().strip()
    raise KeyError(name)


def answer(mid, result=None, error=None):
    msg = {"jsonrpc": "2.0", "id": mid}
    if error is not None:
        msg["error"] = error
    else:
        msg["result"] = result
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "id" not in msg or "method" not in msg:
            continue
        mid, method = msg["id"], msg["method"]
        params = msg.get("params") or {}
        if method == "initialize":
            answer(mid, {"protocolVersion": params.get("protocolVersion",
                                                       "2025-06-18"),
                         "capabilities": {"tools": {}},
                         "serverInfo": {"name": "pymcp", "version": "1"}})
        elif method == "ping":
            answer(mid, {})
        elif method == "tools/list":
            answer(mid, {"tools": tool_list()})
        elif method == "tools/call":
            try:
                text = call(params.get("name"), params.get("arguments") or {})
                answer(mid, {"content": [{"type": "text", "text": text}]})
            except KeyError:
                answer(mid, error={"code": -32602, "message": "no such tool"})
            except OSError as e:
                answer(mid, {"content": [{"type": "text", "text": str(e)}],
                             "isError": True})
        else:
            answer(mid, error={"code": -32601, "message": "unknown method"})


if __name__ == "__main__":
    main()
