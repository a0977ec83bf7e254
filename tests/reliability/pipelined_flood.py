"""Pipelined GETs as fast as the server answers, bounded in count and time.

    pipelined_flood.py PORT COUNT SECONDS CONNECTIONS PATH-TEMPLATE

PATH-TEMPLATE may hold {mac}: each request then names another invented MAC
(0021F2 followed by six hex digits). Requests go out in pipelined batches of
64 on each connection; the responses are read and counted by status. Prints
one JSON object: sent, answered, statuses, seconds.
"""
import json
import random
import socket
import sys
import threading
import time


def flood(port, count, deadline, template, out, lock):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    buffer = b""
    sent = answered = 0
    statuses = {}
    rng = random.Random()
    try:
        while sent < count and time.monotonic() < deadline:
            batch = min(64, count - sent)
            requests = []
            for _ in range(batch):
                path = template.format(mac="0021F2%06X" % rng.randrange(1 << 24))
                requests.append(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.sendall(b"".join(requests))
            sent += batch
            got = 0
            while got < batch:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed by the server")
                    buffer += chunk
                    continue
                head = buffer[:end].decode("latin-1")
                status = head.split(" ", 2)[1]
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if len(buffer) < end + 4 + length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("closed by the server")
                    buffer += chunk
                    continue
                buffer = buffer[end + 4 + length:]
                statuses[status] = statuses.get(status, 0) + 1
                got += 1
                answered += 1
    except OSError as e:
        with lock:
            out["errors"].append(str(e))
    finally:
        sock.close()
    with lock:
        out["sent"] += sent
        out["answered"] += answered
        for k, v in statuses.items():
            out["statuses"][k] = out["statuses"].get(k, 0) + v


def main():
    port, count, seconds, connections, template = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]),
                                                   int(sys.argv[4]), sys.argv[5])
    started = time.monotonic()
    deadline = started + seconds
    out = {"sent": 0, "answered": 0, "statuses": {}, "errors": []}
    lock = threading.Lock()
    per = count // connections
    threads = [threading.Thread(target=flood, args=(port, per, deadline, template, out, lock))
               for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
