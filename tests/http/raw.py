#!/usr/bin/env python3
"""Sends standard input as is to HOST:PORT and writes everything the server
sends back, until it closes the connection, to standard output (with
--body FILE: the head, up to and with the first blank line, to standard
output and the rest to FILE).

For requests curl will not make: garbage, a body, HEAD without waiting for
one. Exits 0 when the server closed the connection, 3 when it was still
open after --timeout seconds (what was read is written all the same)."""
import argparse
import socket
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--body", help="write what follows the head here")
    args = parser.parse_args()

    request = sys.stdin.buffer.read()
    received = bytearray()
    status = 0
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as s:
        s.sendall(request)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            status = 3
        except ConnectionResetError:
            pass
    if args.body is None:
        sys.stdout.buffer.write(received)
    else:
        end = received.find(b"\r\n\r\n")
        end = len(received) if end < 0 else end + 4
        sys.stdout.buffer.write(received[:end])
        with open(args.body, "wb") as f:
            f.write(received[end:])
    return status


if __name__ == "__main__":
    sys.exit(main())
