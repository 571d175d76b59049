#!/usr/bin/python3
"""Run inside a sandbox with a host list: talks to corral's egress proxy
(from HTTPS_PROXY) by hand.

tunnels HOST PORT N DIR   open N CONNECT tunnels and never read them;
                          write "200=A 503=B other=C" to DIR/status, wait
                          for DIR/done, close them all.
refused HOST PORT N       N tunnels one after another; print how many got
                          each status ("403=N").
close-client HOST PORT    tunnel, send a line, close: "closed" at once.
close-server HOST PORT    tunnel, ask the far end to close: "eof" when
                          the tunnel ends within 10 s, else "hung"."""
import os
import socket
import sys
import time
import urllib.parse

proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])


def tunnel(host, port):
    s = socket.create_connection((proxy.hostname, proxy.port))
    s.sendall(("CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" %
               (host, port, host, port)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    code = head.split(b" ")[1].decode() if head.count(b" ") else "none"
    return s, code


def main():
    mode, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "tunnels":
        n, d = int(sys.argv[4]), sys.argv[5]
        counts, socks = {}, []
        for _ in range(n):
            s, code = tunnel(host, port)
            socks.append(s)
            k = code if code in ("200", "503") else "other"
            counts[k] = counts.get(k, 0) + 1
        with open(os.path.join(d, "status"), "w") as f:
            f.write("200=%d 503=%d other=%d\n" % (counts.get("200", 0),
                    counts.get("503", 0), counts.get("other", 0)))
        while not os.path.exists(os.path.join(d, "done")):
            time.sleep(0.1)
        for s in socks:
            s.close()
        return
    if mode == "refused":
        counts = {}
        for _ in range(int(sys.argv[4])):
            s, code = tunnel(host, port)
            s.close()
            counts[code] = counts.get(code, 0) + 1
        print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
        return
    s, code = tunnel(host, port)
    if code != "200":
        print("status", code)
        return
    if mode == "close-client":
        s.sendall(b"bye\n")
        s.close()
        print("closed")
        return
    s.sendall(b"close\n")
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
        print("eof")
    except socket.timeout:
        print("hung")


main()
