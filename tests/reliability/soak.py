#!/usr/bin/env python3
"""The device side of the soak test (soak_test.sh, issue 12): HTTP, HTTPS and
TFTP clients that fetch device files for SECONDS while the test script
reloads, revokes, kills and restarts the server under them.

    soak.py --server ADDR --http-port P --https-port P --tftp-port P
            --seconds S --phase-dir DIR --report FILE
            [--http-source A] [--https-source A] [--tftp-source A]
            --http FILE:CONNECTIONS ... --tftp FILE ... [--tftp-hpa FILE]
            --https NAME:CERT_DIR:FILE ... [--revoked NAME]
            [--image FILE:SHA256 ...]

Clients (one thread each):
  http       one keep-alive connection fetching FILE again and again
             (CONNECTIONS of them per file);
  https      two keep-alive connections per certificate, with its device's
             file, and one that reconnects every 0.2 s resuming the previous
             connection's TLS session;
  holder     for the --revoked certificate: a keep-alive connection that
             asks every 2 s, so it is open when the revocation comes;
  tftp       a small RFC 1350/2348/7440 client in this process: three
             fetching each --tftp device file in turn, one per --tftp image;
             tftp-hpa: `tftp` fetching --tftp-hpa once a second.
An --image (a firmware image) is checked against its SHA-256 instead of a
version, whatever the transport.

Phase files, written by the test script into --phase-dir:
  revoked    `cert revoke` of the --revoked certificate returned 0;
  killing    the server is about to be killed with SIGKILL;
  up         the restarted server answers /healthz;
each holds the time it was written (seconds since the epoch).
Written here: `ready` once every client had its first 200, `holder_open`
once the revoked certificate's holder connection is open and answered.

Checked for every answer, whatever the phase: no 5xx (and no status but 200,
except 403 for the revoked certificate once revoked); DBID_DBASE_VERSION of
each file (the body's first line, or X-Dbase-Version for an encrypted file)
never below one already received before the request was sent, on any
connection or transport, across the restart. A failure to connect or a
connection cut is allowed only in the window of the kill and restart (from
`killing` to 3 s after `up`) and counted apart. After `revoked`: a request
on an open connection of the revoked certificate gets 403 or the
connection's end, a new connection or a resumed session gets no 200.

REPORT gets one JSON object (counts, failures, ...). Exit 0 when no check
failed, 1 otherwise.
"""
import argparse
import bisect
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

VERSION = re.compile(rb"^DBID_DBASE_VERSION=(\d+)\r?$", re.M)
GAP_SLACK = 3.0          # seconds after `up` in which a connection error still counts as the kill's
HTTP_TIMEOUT = 10.0
MAX_FAILURES_KEPT = 40


def now() -> float:
    return time.monotonic()


class Phases:
    """The test script's phase files, polled every 50 ms by one thread."""

    def __init__(self, folder: str):
        self.folder = folder
        self.seen = {}  # name -> monotonic time it was first seen
        self.lock = threading.Lock()

    def poll(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for name in ("revoked", "killing", "up"):
                if name not in self.seen and os.path.exists(os.path.join(self.folder, name)):
                    with self.lock:
                        self.seen[name] = now()
            stop.wait(0.05)

    def has(self, name: str) -> bool:
        return name in self.seen

    def stamp(self, name: str):
        """The wall-clock time the test script wrote into a phase file, or None."""
        try:
            with open(os.path.join(self.folder, name)) as f:
                return float(f.read())
        except (FileNotFoundError, ValueError):
            return None

    def in_gap(self, t: float) -> bool:
        """Did something that started at t (monotonic) and failed now overlap
        the kill-and-restart window, from `killing` (written before the kill)
        to GAP_SLACK seconds after `up`? Read from the files' own times, so
        that it does not depend on when this process noticed them."""
        killed = self.stamp("killing")
        if killed is None:
            return False
        wall_now = time.time()
        started = wall_now - (now() - t)
        if wall_now < killed - 0.5:
            return False
        up = self.stamp("up")
        return up is None or started <= up + GAP_SLACK

    def write(self, name: str) -> None:
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "w") as f:
            f.write(f"{time.time():.3f}\n")
        os.replace(path + ".tmp", path)


class Record:
    """Everything the clients saw, under one lock."""

    def __init__(self, phases: Phases):
        self.phases = phases
        self.lock = threading.Lock()
        self.responses = {}        # transport -> count
        self.statuses = {}         # "transport status" -> count
        self.failures = []         # what fails the test (first MAX_FAILURES_KEPT)
        self.failure_count = 0
        self.gap_errors = {}       # transport -> connection errors in the kill window
        self.maxima = {}           # file -> ([first-seen times], [versions]) of each new highest version
        self.first_version = {}
        self.revocation = {"open_refused": 0, "open_refusals": [], "new_refused": 0, "resume_refused": 0,
                           "resumed_after_revocation": 0, "served_after_revocation": 0}
        self.resumption = {"attempts": 0, "reused": 0, "attempts_after_restart": 0, "reused_after_restart": 0}
        self.versions_checked = 0
        self.images = {}           # transport -> whole images received

    def fail(self, text: str) -> None:
        with self.lock:
            self.failure_count += 1
            if len(self.failures) < MAX_FAILURES_KEPT:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {text}")

    def error(self, transport: str, t: float, text: str) -> None:
        """A connection that failed or was cut: allowed only in the kill window."""
        if self.phases.in_gap(t):
            with self.lock:
                self.gap_errors[transport] = self.gap_errors.get(transport, 0) + 1
        else:
            self.fail(f"{transport}: {text} (outside the kill and restart)")

    def count(self, key: str, group: str = "revocation") -> None:
        with self.lock:
            getattr(self, group)[key] += 1

    def answer(self, transport: str, status: int) -> None:
        with self.lock:
            self.responses[transport] = self.responses.get(transport, 0) + 1
            key = f"{transport} {status}"
            self.statuses[key] = self.statuses.get(key, 0) + 1
        if status >= 500:
            self.fail(f"{transport}: HTTP {status}")

    def version(self, transport: str, file: str, sent: float, version: int) -> None:
        """version of file in an answer to a request sent at `sent`: never
        below a version some answer had already brought before that."""
        with self.lock:
            self.versions_checked += 1
            self.first_version.setdefault(file, version)
            times, versions = self.maxima.setdefault(file, ([], []))
            i = bisect.bisect_left(times, sent)  # answers received before `sent`
            floor = versions[i - 1] if i else 0
            if version > (versions[-1] if versions else 0):
                times.append(now())
                versions.append(version)
        if version < floor:
            self.fail(f"{transport} {file}: DBID_DBASE_VERSION {version} after {floor} had been served")

    def report(self) -> dict:
        with self.lock:
            return {
                "responses": self.responses,
                "statuses": self.statuses,
                "failure_count": self.failure_count,
                "failures": self.failures,
                "gap_errors": self.gap_errors,
                "versions": {f: {"first": self.first_version[f], "last": v[-1], "changes": len(v)}
                             for f, (_, v) in self.maxima.items()},
                "versions_checked": self.versions_checked,
                "images": self.images,
                "revocation": self.revocation,
                "resumption": self.resumption,
                "phases": sorted(self.phases.seen),
            }


def version_of(body: bytes, header) -> tuple:
    """(version or None, problem or None) from a body and its X-Dbase-Version."""
    match = VERSION.search(body[:200])
    if match and header and int(header) != int(match.group(1)):
        return None, f"body says {match.group(1).decode()}, X-Dbase-Version {header}"
    if match:
        return int(match.group(1)), None
    if header:
        return int(header), None
    return None, "no DBID_DBASE_VERSION in the body or X-Dbase-Version header"


class Clients:
    def __init__(self, a, record: Record, phases: Phases, stop: threading.Event):
        self.a = a
        self.record = record
        self.phases = phases
        self.stop = stop
        self.ready_lock = threading.Lock()
        self.waiting = set()
        self.images = dict(spec.rsplit(":", 1) for spec in a.image)  # file name -> SHA-256

    # ---- readiness: every client's first 200 ----------------------------
    def expect_first(self, name: str) -> None:
        self.waiting.add(name)

    def got_first(self, name: str) -> None:
        with self.ready_lock:
            if name in self.waiting:
                self.waiting.discard(name)
                if not self.waiting:
                    self.phases.write("ready")

    def checked(self, transport: str, file: str, sent: float, status: int, body: bytes, header) -> None:
        self.record.answer(transport, status)
        if status != 200 and status < 500:
            self.record.fail(f"{transport} {file}: HTTP {status}")
        if status == 200:
            self.check_body(transport, file, sent, body, header)

    def check_body(self, transport: str, file: str, sent: float, body: bytes, header) -> None:
        """A whole file received: an image's SHA-256, a device file's version."""
        image = self.images.get(file.lstrip("/"))
        if image is not None:
            if hashlib.sha256(body).hexdigest() != image:
                self.record.fail(f"{transport} {file}: {len(body)} bytes that are not the image")
            else:
                with self.record.lock:
                    self.record.images[transport] = self.record.images.get(transport, 0) + 1
            return
        if header is None and body.startswith(b"Salted__"):
            return  # encrypted, over TFTP: no version to read without the key
        version, problem = version_of(body, header)
        if problem:
            self.record.fail(f"{transport} {file}: {problem}")
        else:
            self.record.version(transport, "/" + file.lstrip("/"), sent, version)

    # ---- HTTP -------------------------------------------------------------
    def http_client(self, name: str, path: str) -> None:
        a = self.a
        conn = None
        while not self.stop.is_set():
            t = now()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(a.server, a.http_port, timeout=HTTP_TIMEOUT,
                                                      source_address=(a.http_source, 0))
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                self.checked("http", path, t, response.status, body, response.getheader("X-Dbase-Version"))
                if response.status == 200:
                    self.got_first(name)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.record.error("http", t, f"{path}: {type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
                self.stop.wait(0.05)
        if conn is not None:
            conn.close()

    # ---- HTTPS ------------------------------------------------------------
    def tls_context(self, cert_dir: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=os.path.join(cert_dir, "cacert.pem"))
        ctx.load_cert_chain(os.path.join(cert_dir, "sslclientcert.pem"), os.path.join(cert_dir, "sslclientkey.pem"))
        return ctx

    def tls_connect(self, ctx: ssl.SSLContext, session=None) -> ssl.SSLSocket:
        raw = socket.create_connection((self.a.server, self.a.https_port), timeout=HTTP_TIMEOUT,
                                       source_address=(self.a.https_source, 0))
        try:
            return ctx.wrap_socket(raw, server_hostname=self.a.server, session=session)
        except BaseException:
            raw.close()
            raise

    @staticmethod
    def get(s: ssl.SSLSocket, path: str, host: str):
        """One GET on an open connection: (status, body, X-Dbase-Version, will_close)."""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        response = http.client.HTTPResponse(s, method="GET")
        response.begin()
        body = response.read()
        return response.status, body, response.getheader("X-Dbase-Version"), response.will_close

    def https_client(self, name: str, device: str, ctx: ssl.SSLContext, path: str, revoked_target: bool) -> None:
        """A keep-alive connection with a device certificate."""
        s = None
        while not self.stop.is_set():
            if revoked_target and self.phases.has("revoked"):
                if s is not None:
                    self.revoked_open(name, s, path)
                    s = None
                self.revoked_new(name, ctx, path)
                self.stop.wait(0.5)
                continue
            t = now()
            try:
                if s is None:
                    s = self.tls_connect(ctx)
                status, body, header, close = self.get(s, path, self.a.server)
                if status == 403 and revoked_target and self.revocation_seen():
                    # Asked just before the phase file was seen: refused all the same.
                    self.record.answer("https", status)
                    self.record.count("open_refused")
                    self.note_refusal(f"{name}: 403" + (" close" if close else ""))
                    s.close()
                    s = None
                    continue
                self.checked("https", path, t, status, body, header)
                if status == 200:
                    self.got_first(name)
                if close:
                    s.close()
                    s = None
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                was_open = s is not None
                if was_open:
                    s.close()
                s = None
                if revoked_target and self.revocation_seen():
                    # Refused a moment before the phase file was seen.
                    if was_open:
                        self.note_refusal(f"{name}: closed ({type(e).__name__})")
                        self.record.count("open_refused")
                    else:
                        self.record.count("new_refused")
                    continue
                self.record.error("https", t, f"{device} {path}: {type(e).__name__}: {e}")
                self.stop.wait(0.05)
        if s is not None:
            s.close()

    def revocation_seen(self, within: float = 1.0) -> bool:
        """Is the revocation's phase file there, or there within a second?
        (A refusal may come a moment before the file is seen.)"""
        deadline = now() + within
        while not self.phases.has("revoked") and now() < deadline:
            time.sleep(0.02)
        return self.phases.has("revoked")

    def note_refusal(self, text: str) -> None:
        with self.record.lock:
            if len(self.record.revocation["open_refusals"]) < 10:
                self.record.revocation["open_refusals"].append(text)

    def revoked_open(self, name: str, s: ssl.SSLSocket, path: str) -> None:
        """The next request on an open connection after the revocation: 403 or the end."""
        t = now()
        try:
            status, body, header, close = self.get(s, path, self.a.server)
            self.record.answer("https", status)
            outcome = f"{status}" + (" close" if close else "")
            if status == 200:
                self.record.count("served_after_revocation")
                self.record.fail(f"{name}: the revoked certificate got a 200 on its open connection")
            elif status == 403:
                self.record.count("open_refused")
            else:
                self.record.fail(f"{name}: the revoked certificate's open connection got HTTP {status}")
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            if self.phases.in_gap(t):
                outcome = f"cut by the kill ({type(e).__name__})"
            else:
                outcome = f"closed ({type(e).__name__})"
                self.record.count("open_refused")
        s.close()
        self.note_refusal(f"{name}: {outcome}")

    def revoked_new(self, name: str, ctx: ssl.SSLContext, path: str, session=None) -> None:
        """A new connection (or a resumption of `session`) with the revoked
        certificate after the revocation: no 200."""
        key = "resume_refused" if session is not None else "new_refused"
        t = now()
        try:
            s = self.tls_connect(ctx, session)
        except ConnectionRefusedError as e:
            self.record.error("https", t, f"{name}: {e}")
            return
        except (OSError, ssl.SSLError):
            if not self.phases.in_gap(t):
                self.record.count(key)  # the handshake refused it
            return
        try:
            if session is not None and s.session_reused:
                self.record.count("resumed_after_revocation")
            status, body, header, close = self.get(s, path, self.a.server)
            self.record.answer("https", status)
            if status == 200:
                self.record.count("served_after_revocation")
                self.record.fail(f"{name}: the revoked certificate got a 200 on a "
                                 + ("resumed session" if session is not None else "new connection"))
            elif status == 403:
                self.record.count(key)
            else:
                self.record.fail(f"{name}: the revoked certificate's new connection got HTTP {status}")
        except (OSError, ssl.SSLError, http.client.HTTPException):
            if not self.phases.in_gap(t):
                self.record.count(key)  # closed after the handshake
        finally:
            s.close()

    def resuming_client(self, name: str, device: str, ctx: ssl.SSLContext, path: str, revoked_target: bool) -> None:
        """A new connection every 0.2 s, resuming the previous one's session."""
        session = None
        while not self.stop.is_set():
            if revoked_target and self.phases.has("revoked"):
                # The session saved before the revocation, again and again.
                if session is not None:
                    self.revoked_new(name, ctx, path, session)
                self.stop.wait(0.5)
                continue
            t = now()
            s = None
            try:
                s = self.tls_connect(ctx, session)
                reused = s.session_reused
                status, body, header, _ = self.get(s, path, self.a.server)
                if status == 403 and revoked_target and self.revocation_seen():
                    self.record.answer("https", status)
                    self.record.count("resume_refused" if session is not None else "new_refused")
                    continue
                self.checked("https", path, t, status, body, header)
                if status == 200:
                    self.got_first(name)
                    if session is not None:
                        after_restart = self.phases.has("up")
                        with self.record.lock:
                            r = self.record.resumption
                            r["attempts"] += 1
                            r["reused"] += int(reused)
                            if after_restart:
                                r["attempts_after_restart"] += 1
                                r["reused_after_restart"] += int(reused)
                    # Read after the answer: TLS 1.3 tickets come after the handshake.
                    session = s.session
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                if revoked_target and self.revocation_seen():
                    self.record.count("resume_refused" if session is not None else "new_refused")
                else:
                    self.record.error("https", t, f"{device} resuming: {type(e).__name__}: {e}")
            finally:
                if s is not None:
                    s.close()
            self.stop.wait(0.2)

    def holder(self, name: str, ctx: ssl.SSLContext, path: str) -> None:
        """The revoked certificate's connection that is open, between two
        requests, when the revocation comes."""
        s = None
        while not self.stop.is_set():
            if self.phases.has("revoked"):
                if s is not None:
                    self.revoked_open(name, s, path)
                return
            t = now()
            try:
                if s is None:
                    s = self.tls_connect(ctx)
                status, body, header, close = self.get(s, path, self.a.server)
                if status == 403 and self.revocation_seen():
                    self.record.answer("https", status)
                    self.record.count("open_refused")
                    self.note_refusal(f"{name}: 403" + (" close" if close else ""))
                    s.close()
                    return
                self.checked("https", path, t, status, body, header)
                if status == 200:
                    self.got_first(name)
                    if not os.path.exists(os.path.join(self.a.phase_dir, "holder_open")):
                        self.phases.write("holder_open")
                if close:
                    s.close()
                    s = None
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                was_open = s is not None
                if was_open:
                    s.close()
                s = None
                if self.revocation_seen():
                    if was_open:
                        self.record.count("open_refused")
                        self.note_refusal(f"{name}: closed ({type(e).__name__})")
                    return
                self.record.error("https", t, f"{name}: {type(e).__name__}: {e}")
            # Asks every 2 s, and at once when the revocation is seen.
            deadline = now() + 2.0
            while now() < deadline and not self.stop.is_set() and not self.phases.has("revoked"):
                self.stop.wait(0.05)
        if s is not None:
            s.close()

    # ---- TFTP -------------------------------------------------------------
    def tftp_get(self, name: str) -> bytes:
        """One read request (octet, blksize 1428, windowsize 8: RFC 2348 and
        7440), the last ACK repeated on a 1 s timeout at most 3 times.
        Raises TimeoutError, or RuntimeError on an ERROR packet."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((self.a.tftp_source, 0))
            s.settimeout(1.0)
            server = (self.a.server, self.a.tftp_port)
            last = b"\x00\x01" + name.encode() + b"\x00octet\x00blksize\x001428\x00windowsize\x008\x00"
            s.sendto(last, server)
            peer, blksize, window, expected, in_window, data, tries = None, 512, 1, 1, 0, bytearray(), 0
            while True:
                try:
                    packet, source = s.recvfrom(65536)
                except socket.timeout:
                    tries += 1
                    if tries > 3:
                        raise TimeoutError(f"no answer after {tries} tries (block {expected})")
                    s.sendto(last, peer or server)
                    in_window = 0
                    continue
                if peer is None:
                    peer = source
                elif source != peer:
                    continue
                opcode = struct.unpack("!H", packet[:2])[0]
                if opcode == 5:
                    code = struct.unpack("!H", packet[2:4])[0]
                    message = packet[4:].rstrip(b"\x00").decode(errors="replace")
                    raise RuntimeError(f"ERROR {code} {message}")
                if opcode == 6:  # OACK
                    fields = packet[2:].split(b"\x00")
                    options = dict(zip(fields[0::2], fields[1::2]))
                    blksize = int(options.get(b"blksize", b"512"))
                    window = int(options.get(b"windowsize", b"1"))
                    last = b"\x00\x04\x00\x00"
                    s.sendto(last, peer)
                    tries = 0
                elif opcode == 3:
                    block = struct.unpack("!H", packet[2:4])[0]
                    ahead = (block - expected) % 65536
                    if ahead == 0:
                        data += packet[4:]
                        expected += 1
                        in_window += 1
                        tries = 0
                        final = len(packet) - 4 < blksize
                        if final or in_window >= window:
                            last = b"\x00\x04" + packet[2:4]
                            s.sendto(last, peer)
                            in_window = 0
                        if final:
                            return bytes(data)
                    elif ahead < 32768:
                        # A block lost: acknowledge what came in order, the
                        # server sends again from there.
                        last = struct.pack("!HH", 4, (expected - 1) % 65536)
                        s.sendto(last, peer)
                        in_window = 0
                    # else: a block already had (a window sent again): ignored
        finally:
            s.close()

    def tftp_client(self, name: str, files: list, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            file = files[i % len(files)]
            i += 1
            t = now()
            try:
                data = self.tftp_get(file)
            except TimeoutError as e:
                self.record.error("tftp", t, f"{file}: {e}")
                continue
            except RuntimeError as e:
                self.record.answer("tftp", 0)
                self.record.fail(f"tftp {file}: {e}")
                self.stop.wait(0.2)
                continue
            except OSError as e:
                self.record.error("tftp", t, f"{file}: {type(e).__name__}: {e}")
                self.stop.wait(0.05)
                continue
            self.record.answer("tftp", 200)
            self.got_first(name)
            self.check_body("tftp", file, t, data, None)

    def tftp_hpa_client(self, name: str, file: str) -> None:
        """tftp-hpa's `tftp`, as an operator would, once a second."""
        with tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, "got")
            while not self.stop.is_set():
                t = now()
                if os.path.exists(local):
                    os.unlink(local)
                try:
                    done = subprocess.run(["tftp", "-m", "binary", self.a.server, str(self.a.tftp_port),
                                           "-c", "get", file, local],
                                          capture_output=True, text=True, timeout=20)
                    said = (done.stdout + done.stderr).strip()
                except subprocess.TimeoutExpired:
                    said = "timed out (20 s)"
                data = b""
                if os.path.exists(local):
                    with open(local, "rb") as f:
                        data = f.read()
                if said or not data:
                    if "Error code" in said:
                        self.record.answer("tftp-hpa", 0)
                        self.record.fail(f"tftp-hpa {file}: {said}")
                    else:
                        self.record.error("tftp-hpa", t, f"{file}: {said or 'empty file'}")
                else:
                    self.record.answer("tftp-hpa", 200)
                    self.got_first(name)
                    self.check_body("tftp-hpa", file, t, data, None)
                self.stop.wait(1.0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True)
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--https-port", type=int, required=True)
    p.add_argument("--tftp-port", type=int, required=True)
    p.add_argument("--http-source", default="0.0.0.0")
    p.add_argument("--https-source", default="0.0.0.0")
    p.add_argument("--tftp-source", default="0.0.0.0")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--phase-dir", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--http", action="append", default=[], metavar="FILE:CONNECTIONS")
    p.add_argument("--tftp", action="append", default=[], metavar="FILE")
    p.add_argument("--tftp-hpa", metavar="FILE")
    p.add_argument("--https", action="append", default=[], metavar="NAME:CERT_DIR:FILE")
    p.add_argument("--revoked", metavar="NAME")
    p.add_argument("--image", action="append", default=[], metavar="FILE:SHA256")
    a = p.parse_args()
    # Some 30 threads share the interpreter: a thread woken by a packet
    # waits for it at most 1 ms, not the default 5 (TFTP's lockstep feels it).
    sys.setswitchinterval(0.001)

    phases = Phases(a.phase_dir)
    record = Record(phases)
    stop = threading.Event()
    clients = Clients(a, record, phases, stop)
    threads = []

    def start(target, name, *args):
        clients.expect_first(name)
        threads.append(threading.Thread(target=target, args=(name, *args), name=name, daemon=True))

    for spec in a.http:
        path, count = spec.rsplit(":", 1)
        for i in range(int(count)):
            start(clients.http_client, f"http {path} #{i + 1}", path)
    for spec in a.https:
        name, cert_dir, path = spec.split(":", 2)
        ctx = clients.tls_context(cert_dir)
        revoked = name == a.revoked
        for i in range(2):
            start(clients.https_client, f"https {name} #{i + 1}", name, ctx, path, revoked)
        start(clients.resuming_client, f"https {name} resuming", name, ctx, path, revoked)
        if revoked:
            start(clients.holder, f"https {name} holder", ctx, path)
    tftp_files = [f for f in a.tftp if f not in clients.images]
    for i in range(3 if tftp_files else 0):
        start(clients.tftp_client, f"tftp #{i + 1}", tftp_files, i)
    for f in a.tftp:
        if f in clients.images:
            start(clients.tftp_client, f"tftp {f}", [f], 0)
    if a.tftp_hpa:
        start(clients.tftp_hpa_client, "tftp-hpa", a.tftp_hpa)

    poller = threading.Thread(target=phases.poll, args=(stop,), daemon=True)
    poller.start()
    started = now()
    for t in threads:
        t.start()
    stop.wait(a.seconds)
    stop.set()
    for t in threads:
        t.join(HTTP_TIMEOUT + 25)
    stuck = [t.name for t in threads if t.is_alive()]

    result = record.report()
    result["seconds"] = round(now() - started, 1)
    result["never_ready"] = sorted(clients.waiting)
    checks = []
    if stuck:
        checks.append(f"clients still running {HTTP_TIMEOUT + 25:.0f} s after the end: {stuck}")
    if clients.waiting:
        checks.append(f"clients that never got a 200: {sorted(clients.waiting)}")
    if a.revoked:
        rev = record.revocation
        if not phases.has("revoked"):
            checks.append("the revocation never came (no 'revoked' phase file)")
        elif not rev["open_refusals"]:
            checks.append("no open connection of the revoked certificate was tried after the revocation")
        elif rev["new_refused"] == 0 or rev["resume_refused"] == 0:
            checks.append(f"new connections and resumptions of the revoked certificate were not all tried: {rev}")
    resumption = record.resumption
    if resumption["attempts"] == 0 or resumption["reused"] * 2 < resumption["attempts"]:
        checks.append(f"fewer than half the TLS sessions offered were resumed: {resumption}")
    if not (phases.has("killing") and phases.has("up")):
        checks.append("the kill and restart were not seen (phase files 'killing' and 'up')")
    result["checks_failed"] = checks
    with open(a.report, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    return 1 if record.failure_count or checks else 0


if __name__ == "__main__":
    sys.exit(main())
