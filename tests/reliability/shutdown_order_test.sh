#!/usr/bin/env bash
# Issue 12, finding 8: a stop whose grace period ends with work still open.
# The io_context used to be destroyed after the state its suspended
# coroutines still referenced (a session's end touched the connection list
# that was already gone), and the stop did not wait for the DHCP lease
# writer. With `shutdown_grace: 1`, SIGTERM while these are open:
#   - a firmware download whose client stopped reading (it can never finish),
#   - a TCP connection to HTTPS that never says hello (a half-open handshake),
#   - an HTTP request cut in the middle of its headers,
#   - a TFTP read request whose client never acknowledges a block.
# The server must exit 0 soon after the grace period, with no sanitizer
# report: run by the AddressSanitizer build too (.ci/run), where a use after
# destruction is an error, not luck.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../http/lib.sh" "$@"

ok pb init --demo
IMAGE=$TEST_DIR/fw.bin
head -c $((32 * 1024 * 1024)) /dev/urandom >"$IMAGE"
ok pb firmware add "$IMAGE" --model IP542N --version 1.0
TFTP_PORT=$(free_ports 1)
printf 'shutdown_grace: 1\n' >"$TEST_DIR/provbox.yaml"
start_server --config "$TEST_DIR/provbox.yaml" --tftp "127.0.0.1:$TFTP_PORT"

python3 - "$HTTP_PORT" "$HTTPS_PORT" "$TFTP_PORT" >"$TEST_DIR/clients.out" 2>&1 <<'PY' &
import socket, sys, time
http, https, tftp = (int(p) for p in sys.argv[1:4])
held = []
# A download that stalls: ask for 32 MiB, read a little, then nothing.
s = socket.create_connection(("127.0.0.1", http))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /firmware/IP542N/1.0/fw.bin HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(1024)
held.append(s)
# A TLS connection that never sends its ClientHello.
held.append(socket.create_connection(("127.0.0.1", https)))
# Half a request.
h = socket.create_connection(("127.0.0.1", http))
h.sendall(b"GET /fv0021F2011B19.conf HTTP/1.1\r\nHo")
held.append(h)
# A TFTP read never acknowledged.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"\x00\x01firmware/IP542N/1.0/fw.bin\x00octet\x00", ("127.0.0.1", tftp))
u.settimeout(5)
u.recvfrom(65536)
held.append(u)
print("holding", flush=True)
time.sleep(30)
PY
clients_pid=$!
for ((i = 0; i < 100; i++)); do
  grep -q holding "$TEST_DIR/clients.out" 2>/dev/null && break
  sleep 0.1
done
grep -q holding "$TEST_DIR/clients.out" || fail "the clients got their connections open" "$(cat "$TEST_DIR/clients.out")"
# Open connections, every listener's together.
open_connections() {
  curl -s --max-time 5 "$ADMIN/metrics" | awk '$1 ~ /^provbox_http_connections($|\{)/ { n += $2 } END { print n + 0 }'
}
[[ $(open_connections) -ge 3 ]] || fail "the server holds the three TCP connections" "open: $(open_connections)"

started=$SECONDS
kill -TERM "$SERVER_PID"
wait_server_exit
took=$((SECONDS - started))
kill "$clients_pid" 2>/dev/null || true
wait "$clients_pid" 2>/dev/null || true
[[ $SERVER_STATUS -eq 0 ]] || fail "the server exits 0 when the grace period ends with work open" \
  "exit $SERVER_STATUS; $(tail -5 "$SERVER_LOG")"
((took <= 6)) || fail "it stops soon after the 1 s grace period" "took $took s"
if grep -E "AddressSanitizer|LeakSanitizer|runtime error:" "$SERVER_LOG" >/dev/null; then
  fail "no sanitizer report at the stop" "$(grep -A 12 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$SERVER_LOG" | head -40)"
fi
grep -q "still open after the grace period" "$SERVER_LOG" || fail "the log says what was cut off"
echo "ok: stopped in ${took} s with a stalled download, a half-open TLS connection, half a request and an unacknowledged TFTP read"
