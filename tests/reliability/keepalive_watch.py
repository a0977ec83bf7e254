"""Keep-alive HTTP clients fetching device files while something else happens.

    keepalive_watch.py PORT SECONDS REPORT PATH [PATH...]

One thread per PATH keeps one connection open and fetches its file again and
again (a new connection only when the server closed one) until SIGTERM or,
at most, SECONDS; then it reports. Every
answer is checked: status 200, and DBID_DBASE_VERSION never below the one
before for that file. REPORT gets one JSON object: responses, errors (the
first few, with what was wrong), and the versions seen per path. Exit 0 when
nothing was wrong, 1 otherwise.
"""
import http.client
import json
import re
import signal
import sys
import threading
import time

VERSION = re.compile(rb"^DBID_DBASE_VERSION=(\d+)\r?$", re.M)


STOP = threading.Event()


def watch(port, deadline, path, out):
    conn = None
    highest = 0
    while time.monotonic() < deadline and not STOP.is_set():
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            out["responses"] += 1
            if response.status != 200:
                out["errors"].append(f"{path}: HTTP {response.status}")
                continue
            # The body when it is plain text; an encrypted one's version is
            # said in X-Dbase-Version (the same number).
            match = VERSION.search(body)
            header = response.getheader("X-Dbase-Version")
            if not match and not header:
                out["errors"].append(f"{path}: no DBID_DBASE_VERSION in the body or header")
                continue
            version = int(match.group(1)) if match else int(header)
            if match and header and int(header) != version:
                out["errors"].append(f"{path}: body says {version}, X-Dbase-Version {header}")
            if version < highest:
                out["errors"].append(f"{path}: version {version} after {highest}")
            highest = max(highest, version)
            out["versions"].setdefault(path, [])
            if not out["versions"][path] or out["versions"][path][-1] != version:
                out["versions"][path].append(version)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            out["errors"].append(f"{path}: {type(e).__name__}: {e}")
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.05)


def main():
    port, seconds, report = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    paths = sys.argv[4:]
    deadline = time.monotonic() + seconds
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    outs = [{"responses": 0, "errors": [], "versions": {}} for _ in paths]
    threads = [threading.Thread(target=watch, args=(port, deadline, p, o)) for p, o in zip(paths, outs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = {"responses": sum(o["responses"] for o in outs),
             "errors": [e for o in outs for e in o["errors"]][:20],
             "error_count": sum(len(o["errors"]) for o in outs),
             "versions": {k: v for o in outs for k, v in o["versions"].items()}}
    with open(report, "w") as f:
        json.dump(total, f)
    sys.exit(1 if total["error_count"] else 0)


if __name__ == "__main__":
    main()
