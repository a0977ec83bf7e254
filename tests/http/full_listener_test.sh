#!/usr/bin/env bash
# A device listener at http.max_connections: an idle keep-alive connection
# gives way to a new client at once; with none idle, the listener stops
# accepting (the client waits in the kernel's backlog, it is not accepted
# and closed) and takes the client in when a connection ends. The admin
# listener has its own pool and answers throughout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

MAX=8
cat >"$TEST_DIR/provbox.yaml" <<EOF
http:
  max_connections: $MAX
  max_connections_per_address: $MAX
  read_timeout: 4
  idle_timeout: 60
EOF
ok pb init --demo
start_server --config "$TEST_DIR/provbox.yaml"
FILE=/fv0021F2011B19.conf
ELSEWHERE=(--interface 127.0.0.2)

# hold MODE: MAX connections from 127.0.0.1 that stay open until killed;
# idle ones have had an answer each, silent ones never send a byte. Prints
# "ready" once all are open (and answered).
hold() {
  # exec: the background job is python itself, so killing it closes them.
  exec python3 - "$HTTP_PORT" "$MAX" "$1" <<'EOF'
import socket, sys, time
port, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
held = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if mode == "idle":
        s.sendall(b"GET /fv0021F2011B19.conf HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
    held.append(s)
print("ready", flush=True)
time.sleep(60)
EOF
}
wait_ready() {  # FILE
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q ready "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the held connections did not open" "$(cat "$1")"
}
open_http() { metric 'provbox_http_connections{listener="http"}'; }

# ---- full of idle keep-alive connections: the oldest gives way ------------------------
hold idle >"$TEST_DIR/idle.out" 2>&1 &
idle_pid=$!
wait_ready "$TEST_DIR/idle.out"
assert_eq "$MAX" "$(open_http)" "the listener is full of idle keep-alive connections"
# idle_timeout is 60 s: only a connection giving way can let this in at once.
fetch "$HTTP$FILE" "${ELSEWHERE[@]}" --max-time 3
assert_code 200 "a new client gets its file at once from a listener full of idle connections"
assert_eq 1 "$(metric 'provbox_http_connections_closed_total{listener="http",reason="gave_way"}')" \
  "metrics: one idle connection gave way"
kill "$idle_pid"
wait "$idle_pid" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do
  [[ $(open_http) == 0 ]] && break
  sleep 0.1
done

# ---- full of silent connections: not accepting until one ends ------------------------------
hold silent >"$TEST_DIR/silent.out" 2>&1 &
silent_pid=$!
wait_ready "$TEST_DIR/silent.out"
for ((i = 0; i < 50; i++)); do
  [[ $(open_http) == "$MAX" ]] && break
  sleep 0.1
done
assert_eq "$MAX" "$(open_http)" "the listener is full of connections that sent nothing"
# The silent ones are closed at read_timeout (4 s); the client waits in the
# backlog until then instead of being accepted and closed.
curl -s --max-time 15 "${ELSEWHERE[@]}" -o "$TEST_DIR/waited.body" -w '%{http_code}' "$HTTP$FILE" \
  >"$TEST_DIR/waited.code" 2>&1 &
waiting_pid=$!
for ((i = 0; i < 50; i++)); do
  (($(metric 'provbox_http_accept_pauses_total{listener="http"}') > 0)) && break
  sleep 0.1
done
assert_gt "$(metric 'provbox_http_accept_pauses_total{listener="http"}')" 0 "metrics: the full listener stopped accepting"
fetch "$ADMIN/healthz" --max-time 2
assert_code 200 "/healthz answers while the device listener is full"
waited=0
wait "$waiting_pid" || waited=$?
assert_eq "0 200" "$waited $(cat "$TEST_DIR/waited.code")" \
  "the client that waited in the backlog gets its file once a connection ended"
assert_eq 0 "$(metric 'provbox_http_connections_rejected_total{listener="http",reason="listener_full"}')" \
  "metrics: no connection was accepted and closed for a full listener"
kill "$silent_pid"
wait "$silent_pid" 2>/dev/null || true

stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
