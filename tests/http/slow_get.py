#!/usr/bin/env python3
"""GETs PATH from 127.0.0.1:PORT slowly, through a small receive buffer, so
the server is still writing long after the request (curl --limit-rate
cannot do that on loopback: the kernel would buffer the whole image).

Writes the body to OUT and prints "STATUS BODY_BYTES" when the body is
complete, then waits (at most 5 s) for the server to close the connection
and prints "closed" or "open"."""
import argparse
import socket
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("path")
    p.add_argument("out")
    p.add_argument("--rate", type=float, default=4e6, help="bytes per second")
    a = p.parse_args()

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)  # before connect: fixes the window
    s.settimeout(20)
    s.connect(("127.0.0.1", a.port))
    s.sendall(f"GET {a.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            print("closed before the head", file=sys.stderr)
            return 1
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)

    start = time.monotonic()
    with open(a.out, "wb") as f:
        f.write(body)
        received = len(body)
        while received < length:
            chunk = s.recv(min(16384, length - received))
            if not chunk:
                break
            f.write(chunk)
            received += len(chunk)
            ahead = received / a.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    print(status, received, flush=True)

    s.settimeout(5)
    try:
        print("closed" if s.recv(1) == b"" else "open (more bytes)")
    except socket.timeout:
        print("open")
    except ConnectionResetError:
        print("closed (reset)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
