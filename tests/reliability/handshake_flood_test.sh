#!/usr/bin/env bash
# A client looping TLS handshakes with a certificate of its own (found by the
# soak): each refusal used to write a log line, 1,436 lines in 5 s from one
# client. Now an address's refused handshakes share its line budget (60 a
# minute, then one line with the count), and every one is still counted in
# provbox_tls_handshake_failures_total. Bounded: 400 handshakes.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../http/lib.sh" "$@"

init_demo_and_start
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=00:21:f2:01:1b:19" -days 1 \
  -keyout "$TEST_DIR/own.key" -out "$TEST_DIR/own.pem" 2>/dev/null
lines_before=$(grep -c "handshake with" "$SERVER_LOG" || true)
python3 - "$HTTPS_PORT" "$TEST_DIR/own.pem" "$TEST_DIR/own.key" <<'PY'
import socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.load_cert_chain(cert, key)
refused = 0
for _ in range(400):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"GET /fv0021F2011B19.conf HTTP/1.1\r\nHost: x\r\n\r\n")
                if not tls.recv(100).startswith(b"HTTP/1.1 200"):
                    refused += 1
    except (OSError, ssl.SSLError):
        refused += 1
print("refused", refused)
sys.exit(0 if refused == 400 else 1)
PY
sleep 0.5
lines=$(($(grep -c "handshake with" "$SERVER_LOG" || true) - lines_before))
failures=$(curl -s "$ADMIN/metrics" | awk '$1 ~ /^provbox_tls_handshake_failures_total/ { n += $2 } END { print n + 0 }')
echo "400 refused handshakes: $lines log lines, $failures counted"
((lines <= 60)) || fail "an address's refused handshakes stay within its line budget" "got $lines lines"
((failures >= 400)) || fail "every refused handshake is counted" "counted $failures"
[[ $(metric provbox_access_lines_held_back_total) -ge 340 ]] || fail "the lines held back are counted"
stop_server
