#!/usr/bin/env python3
"""Opens HTTPS keep-alive connections with a device certificate, has each
answered once, runs REVOKE (a shell command: `provbox cert revoke ...`, in
its own process) and reports what each connection gets afterwards, one
line each:

  busy:      was in the middle of a slow firmware download when the
             certificate was revoked; its next request (sent during the
             download, waiting behind it) gets "busy: STATUS CONNECTION"
             after the whole image ("busy: short N" when it is cut short),
             then "closed" or "open" when the server has or has not closed;
  asks:      asks again right after the revocation: "asks: STATUS ..." or
             "asks: closed" when the server closed it first;
  idle:      sends nothing more: "idle: closed" when the server closes it
             within --idle-wait seconds, else "idle: open";
  other:     another device's certificate, asking again: "other: STATUS".

STATUS is the HTTP status, CONNECTION the Connection header's value ("-"
when absent). Exits 1 on anything unexpected before the revocation."""
import argparse
import socket
import ssl
import subprocess
import sys
import time

TIMEOUT = 20.0


def context(cert_dir: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=f"{cert_dir}/cacert.pem")
    ctx.check_hostname = False
    ctx.load_cert_chain(f"{cert_dir}/sslclientcert.pem", f"{cert_dir}/sslclientkey.pem")
    return ctx


def connect(port: int, ctx: ssl.SSLContext, small_window: bool = False) -> ssl.SSLSocket:
    raw = socket.socket()
    if small_window:
        # Before connect: fixes the window, so the server is still writing
        # a large body long after the request (slow_get.py does the same).
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    raw.settimeout(TIMEOUT)
    raw.connect(("127.0.0.1", port))
    return ctx.wrap_socket(raw)


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


class reader:
    """Reads responses off one connection."""

    def __init__(self, s: ssl.SSLSocket):
        self.s = s
        self.data = b""

    def fill(self) -> bool:
        try:
            chunk = self.s.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            chunk = b""
        if not chunk:
            return False
        self.data += chunk
        return True

    def head(self):
        """(status, headers dict) or None when the server closed first."""
        while b"\r\n\r\n" not in self.data:
            if not self.fill():
                return None
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(" ", 2)[1]), headers

    def body(self, length: int, partial: bool = False) -> int:
        """Reads up to `length` body bytes (at least one when partial); returns how many."""
        got = 0
        while got < length:
            if not self.data and not self.fill():
                break
            take = min(len(self.data), length - got)
            got += take
            self.data = self.data[take:]
            if partial:
                break
        return got

    def response(self):
        """(status, connection header) after reading the whole body, or None."""
        h = self.head()
        if h is None:
            return None
        status, headers = h
        self.body(int(headers.get("content-length", "0")))
        return status, headers.get("connection", "-")

    def closed_within(self, seconds: float) -> str:
        self.s.settimeout(seconds)
        try:
            return "closed" if not self.fill() else "open (more bytes)"
        except (socket.timeout, TimeoutError):
            return "open"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert-dir", required=True, help="the certificate to revoke")
    p.add_argument("--other-cert-dir", required=True, help="another device's certificate")
    p.add_argument("--profile", required=True, help="the revoked device's file")
    p.add_argument("--other-profile", required=True, help="the other device's file")
    p.add_argument("--firmware", required=True, help="a large firmware image the device may fetch")
    p.add_argument("--revoke", required=True, help="shell command that revokes the certificate")
    p.add_argument("--idle-wait", type=float, default=5.0)
    a = p.parse_args()

    ctx = context(a.cert_dir)
    other_ctx = context(a.other_cert_dir)

    def first_answer(name, s, path):
        r = reader(s)
        s.sendall(request(path))
        got = r.response()
        if got is None or got[0] != 200:
            print(f"{name}: first request got {got}, expected 200", file=sys.stderr)
            sys.exit(1)
        return r

    asks = first_answer("asks", connect(a.port, ctx), a.profile)
    idle = first_answer("idle", connect(a.port, ctx), a.profile)
    other = first_answer("other", connect(a.port, other_ctx), a.other_profile)

    busy_socket = connect(a.port, ctx, small_window=True)
    busy = reader(busy_socket)
    busy_socket.sendall(request(a.firmware))
    h = busy.head()
    if h is None or h[0] != 200:
        print(f"busy: firmware request got {h}, expected 200", file=sys.stderr)
        return 1
    image_length = int(h[1]["content-length"])
    received = busy.body(image_length, partial=True)

    done = subprocess.run(a.revoke, shell=True, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"revoke failed ({done.returncode}): {done.stdout}{done.stderr}", file=sys.stderr)
        return 1

    asks.s.sendall(request(a.profile))
    got = asks.response()
    print("asks: " + ("closed" if got is None else f"{got[0]} {got[1]} then {asks.closed_within(5)}"))

    # The server still writes the image (its socket buffers hold a few MB of
    # it at most); the next request waits behind it, sent after the revocation.
    busy_socket.sendall(request(a.profile))
    started = time.monotonic()
    print("idle: " + idle.closed_within(a.idle_wait), flush=True)
    received += busy.body(image_length - received)
    if received < image_length:
        print(f"busy: short {received}")
    else:
        got = busy.response()
        print("busy: " + ("closed" if got is None else f"{got[0]} {got[1]} then {busy.closed_within(5)}"))
    print(f"busy: download held for {time.monotonic() - started:.1f} s after the revocation", file=sys.stderr)

    other.s.sendall(request(a.other_profile))
    got = other.response()
    print("other: " + ("closed" if got is None else str(got[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
