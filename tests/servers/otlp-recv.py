#!/usr/bin/env python3
"""A tiny OTLP/HTTP receiver for tests (stdlib only, loopback only).

usage: otlp-recv.py PORTFILE LOGFILE [--status N [--times K]] [--hang]
                    [--delay S] [--partial N]

Listens on 127.0.0.1 on a free port and writes the port to PORTFILE (whole,
by rename, once it listens). Every POST is appended to LOGFILE as one JSON
line: {"method", "path", "content_type", "headers" (names in lower case),
"body" (the parsed JSON, or null), "raw" (the body text when it is not
JSON)}. Then it answers:

  default       200, {} as application/json
  --status N    that status (with a JSON Status body, and a Location for
                3xx); with --times K only for the first K posts, 200 after
  --partial N   200 with partialSuccess rejecting N spans
  --delay S     wait S seconds before answering
  --hang        log the request, then never answer (the connection stays
                open until the process ends)
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
posts = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_POST(self):
        global posts
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        rec = {
            "method": "POST",
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": None,
        }
        try:
            rec["body"] = json.loads(raw)
        except ValueError:
            rec["raw"] = raw.decode("utf-8", "replace")
        with lock:
            posts += 1
            nth = posts
            with open(args.logfile, "a") as f:
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        if args.hang:
            while True:
                time.sleep(3600)
        if args.delay > 0:
            time.sleep(args.delay)
        status, body = 200, {}
        if args.status and (args.times is None or nth <= args.times):
            status = args.status
            body = {"code": 2, "message": "test status %d" % status}
        elif args.partial:
            body = {"partialSuccess": {"rejectedSpans": str(args.partial),
                                       "errorMessage": "test rejection"}}
        out = json.dumps(body).encode()
        self.send_response(status)
        if 300 <= status < 400:
            # Somewhere a client must not follow to.
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("portfile")
    p.add_argument("logfile")
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--times", type=int, default=None)
    p.add_argument("--partial", type=int, default=0)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--hang", action="store_true")
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.portfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
