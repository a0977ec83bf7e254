#!/usr/bin/env bash
# Graceful stop: SIGTERM while a firmware download is in flight. The server
# stops accepting at once (a new connection is refused), closes idle
# keep-alive connections, lets the download finish whole, then exits 0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
IMAGE=$TEST_DIR/fw.bin
SIZE=$((8 * 1024 * 1024))
head -c "$SIZE" /dev/urandom >"$IMAGE"
ok pb firmware add "$IMAGE" --model IP542N --version 1.0
start_server

# A download that takes about 4 s (8 MiB at 2 MB/s through a 32 KB receive
# buffer; the server's send buffer holds at most 4 MB of it, so the server
# is writing for 2 s at least).
python3 "$HTTP_TESTS_DIR/slow_get.py" "$HTTP_PORT" /firmware/IP542N/1.0/fw.bin "$TEST_DIR/download" --rate 2e6 \
  >"$TEST_DIR/download.status" 2>"$TEST_DIR/download.err" &
download_pid=$!
# An idle keep-alive connection: it has had its answer and waits for more.
python3 - "$HTTP_PORT" >"$TEST_DIR/idle.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"GET /fv0021F2011B19.conf HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
start = time.monotonic()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
# The server closed it; say how long after the answer.
print("closed", data.count(b"HTTP/1.1 200"), round(time.monotonic() - start, 1))
EOF
idle_pid=$!

# Wait until the download is under way (bytes arrived), at most 5 s.
for ((i = 0; i < 50; i++)); do
  [[ -s $TEST_DIR/download ]] && break
  sleep 0.1
done
[[ -s $TEST_DIR/download ]] || fail "the download did not start"
wait_for_log "/fv0021F2011B19.conf 200"  # the idle connection got its answer

# The server logs the download once it has written the last byte: it must
# still be writing when the signal comes, or this test proves nothing.
assert_not_contains "$(cat "$SERVER_LOG")" "fw.bin 200" "the server is still sending the image when the stop begins"
kill -TERM "$SERVER_PID"
wait_for_log "stopping"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited while a download was in flight"
kill -0 "$download_pid" 2>/dev/null || fail "the download ended before the test could check the stop" \
  "download: $(cat "$TEST_DIR/download.status" "$TEST_DIR/download.err")"

# Stopping: new connections are refused, on every listener.
run curl -s --max-time 5 -o /dev/null "$HTTP/fv0021F2011B19.conf"
assert_eq 7 "$STATUS" "a new HTTP connection during the stop is refused (curl exit 7: could not connect)"
run curl -s --max-time 5 -o /dev/null -k "$HTTPS/fv0021F2011B19.conf"
assert_eq 7 "$STATUS" "a new HTTPS connection during the stop is refused"
run curl -s --max-time 5 -o /dev/null "$ADMIN/healthz"
assert_eq 7 "$STATUS" "a new admin connection during the stop is refused"

# The idle keep-alive connection was closed by the stop, not by its 30 s timeout.
wait "$idle_pid" || fail "the idle client failed" "$(cat "$TEST_DIR/idle.out")"
assert_match "^closed 1 [0-9.]+$" "$(cat "$TEST_DIR/idle.out")" "the idle keep-alive connection is closed"
[[ $(cat "$TEST_DIR/idle.out") =~ ([0-9.]+)$ ]] && idle_seconds=${BASH_REMATCH[1]%.*}
((idle_seconds < 10)) || fail "the idle connection closed with the stop" "got closed after ${BASH_REMATCH[1]} s"

download_status=0
wait "$download_pid" || download_status=$?
assert_eq 0 "$download_status" "the slow client finished ($(cat "$TEST_DIR/download.err"))"
assert_eq "200 $SIZE"$'\n'"closed" "$(cat "$TEST_DIR/download.status")" \
  "the download got 200 and every byte, then the server closed the keep-alive connection"
assert_eq "$(sha256sum <"$IMAGE")" "$(sha256sum <"$TEST_DIR/download")" "the download is whole (SHA-256)"
wait_for_log "fw.bin 200 ${SIZE}B"

wait_server_exit
assert_eq 0 "$SERVER_STATUS" "the server exits 0 once the download is done"
wait_for_log "stopped"
assert_not_contains "$(cat "$SERVER_LOG")" "still open after the grace period" "nothing had to be cut off"
