#!/usr/bin/env python3
"""Makes COUNT requests against a provbox daemon, one at a time, in a fixed
mix that touches every way a connection can end:

  new plain connections (profile 200, unknown file 404, firmware range 206,
  POST 405, garbage 400), requests on one long keep-alive connection, new
  HTTPS connections with a device certificate (200), HTTPS handshakes without
  one (refused), and clients that connect and leave without a word or in the
  middle of a request.

Prints one line, "STATUS=N ..." sorted by key (tls_refused and dropped count
the handshakes refused and the connections dropped on purpose), and exits 1
when anything else happened (an unexpected status or error), naming it."""
import argparse
import collections
import http.client
import socket
import ssl
import sys

TIMEOUT = 10.0


def status_of(conn: http.client.HTTPConnection, method: str, path: str, headers=None) -> int:
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status


def raw_status(port: int, data: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else -1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--http", type=int, required=True)
    p.add_argument("--https", type=int, required=True)
    p.add_argument("--cert-dir", required=True, help="cacert.pem, sslclientcert.pem, sslclientkey.pem")
    p.add_argument("--profile", required=True, help="a path the certificate's device may fetch")
    p.add_argument("--firmware", required=True, help="a firmware path")
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()

    with_cert = ssl.create_default_context(cafile=f"{a.cert_dir}/cacert.pem")
    with_cert.check_hostname = False
    with_cert.load_cert_chain(f"{a.cert_dir}/sslclientcert.pem", f"{a.cert_dir}/sslclientkey.pem")
    without_cert = ssl.create_default_context(cafile=f"{a.cert_dir}/cacert.pem")
    without_cert.check_hostname = False

    counts: collections.Counter = collections.Counter()
    unexpected = []
    keep_alive = http.client.HTTPConnection("127.0.0.1", a.http, timeout=TIMEOUT)

    def plain(method, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", a.http, timeout=TIMEOUT)
        try:
            return status_of(conn, method, path, headers)
        finally:
            conn.close()

    def https(context, path):
        conn = http.client.HTTPSConnection("127.0.0.1", a.https, timeout=TIMEOUT, context=context)
        try:
            return status_of(conn, "GET", path)
        finally:
            conn.close()

    for i in range(a.count):
        kind = i % 10
        expected = None
        try:
            if i % 50 == 49:
                # Connect and leave, silently or half-way through a request.
                with socket.create_connection(("127.0.0.1", a.http), timeout=TIMEOUT) as s:
                    if i % 100 == 99:
                        s.sendall(b"GET " + a.profile.encode() + b" HTTP/1.1\r\nHost:")
                counts["dropped"] += 1
                continue
            if kind in (0, 1, 2):
                expected, got = 200, plain("GET", a.profile)
            elif kind == 3:
                expected, got = 404, plain("GET", "/no-such-file.cfg")
            elif kind == 4:
                expected, got = 206, plain("GET", a.firmware, {"Range": "bytes=0-99"})
            elif kind == 5:
                expected, got = 200, status_of(keep_alive, "GET", a.profile)
            elif kind == 6:
                expected, got = 200, https(with_cert, a.profile)
            elif kind == 7:
                try:
                    got = https(without_cert, a.profile)
                except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                    counts["tls_refused"] += 1
                    continue
                expected = "a refused handshake"
            elif kind == 8:
                expected, got = 405, plain("POST", a.profile)
            else:
                expected, got = 400, raw_status(a.http, b"GARBAGE\r\n\r\n")
        except Exception as e:  # noqa: BLE001 - report whatever broke, with the request
            unexpected.append(f"request {i} (kind {kind}): {type(e).__name__}: {e}")
            continue
        counts[str(got)] += 1
        if got != expected:
            unexpected.append(f"request {i} (kind {kind}): expected {expected}, got {got}")
    keep_alive.close()

    print(" ".join(f"{k}={counts[k]}" for k in sorted(counts)))
    for line in unexpected[:20]:
        print(line, file=sys.stderr)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
