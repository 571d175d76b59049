#!/usr/bin/python3
"""Destinations for the egress tests, on 127.0.0.1, ports printed as
"http=P flood=P hold=P" on the first line of stdout (and " https=P" when
argv[2] and argv[3] name a certificate and its key: the http server's
answers over TLS).

http   GET /hi answers "hello-egress"; GET /big 16 MiB of
       random.Random(8).randbytes; any other path 404.
flood  sends zeros until the peer goes away (a slow reader's source).
hold   logs "open", then each line it receives; "close" closes it from
       this side ("closed"), EOF from the peer logs "eof". Log: argv[1]."""
import random
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()


def log(s):
    with lock:
        LOG.write(s + "\n")


BIG = random.Random(8).randbytes(16 << 20)


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.end_headers()
            self.wfile.write(BIG)
            return
        body = b"hello-egress\n" if self.path == "/hi" else b"no\n"
        self.send_response(200 if self.path == "/hi" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log("http %s host=%s conn=%s proxy=%s" % (
            self.requestline, self.headers.get("Host"),
            self.headers.get("Connection"),
            self.headers.get("Proxy-Authorization")))

    def log_message(self, *a):
        pass


def flood(c):
    chunk = b"\0" * 65536
    try:
        while True:
            c.sendall(chunk)
    except OSError:
        pass
    c.close()


def hold(c):
    log("open")
    f = c.makefile("rb")
    for line in f:
        log("line " + line.decode().strip())
        if line.strip() == b"close":
            c.shutdown(socket.SHUT_RDWR)
            c.close()
            log("closed")
            return
    log("eof")
    c.close()


def serve(s, fn):
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    return s


http = ThreadingHTTPServer(("127.0.0.1", 0), H)
http.daemon_threads = True
fl, ho = listener(), listener()
threading.Thread(target=serve, args=(fl, flood), daemon=True).start()
threading.Thread(target=serve, args=(ho, hold), daemon=True).start()
extra = ""
if len(sys.argv) > 3:
    https = ThreadingHTTPServer(("127.0.0.1", 0), H)
    https.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    https.socket = ctx.wrap_socket(https.socket, server_side=True)
    threading.Thread(target=https.serve_forever, daemon=True).start()
    extra = " https=%d" % https.server_address[1]
print("http=%d flood=%d hold=%d%s" % (http.server_address[1],
      fl.getsockname()[1], ho.getsockname()[1], extra), flush=True)
http.serve_forever()
