#!/usr/bin/env bash
# No descriptor leaks: after 1000 requests of every kind (plain and HTTPS,
# 200/206/404/405/400, keep-alive, refused handshakes, clients that drop the
# connection) the daemon has as many open file descriptors as before.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
head -c 200000 /dev/urandom >"$TEST_DIR/fw.bin"
ok pb firmware add "$TEST_DIR/fw.bin" --model IP542N --version 1.0
start_server
issue_cert "$PHONE" "$TEST_DIR/phone"

load() {  # COUNT: runs load.py; its summary in LOAD
  LOAD=$(python3 "$HTTP_TESTS_DIR/load.py" --http "$HTTP_PORT" --https "$HTTPS_PORT" --cert-dir "$TEST_DIR/phone" \
    --profile /fv0021F2011B19.conf --firmware /firmware/IP542N/1.0/fw.bin --count "$1" 2>"$TEST_DIR/load.err") ||
    fail "load.py: requests went wrong" "$(cat "$TEST_DIR/load.err")"
}

# Warm-up: every kind of request once, so whatever the server opens for
# good on first use (the database's journal, caches) is open already.
load 100
# Open connections on the three listeners, as "http https admin".
open_connections() {
  local text
  text=$(curl -s --max-time 5 "$ADMIN/metrics")
  awk '$1 ~ /^provbox_http_connections\{listener="(http|https|admin)"\}$/ { split($1, p, "\""); n[p[2]] = $2 }
       END { print n["http"] + 0, n["https"] + 0, n["admin"] + 0 }' <<<"$text"
}
# Only the admin connection that asks is open once the warm-up is done.
for ((i = 0; i < 50; i++)); do
  [[ $(open_connections) == "0 0 1" ]] && break
  sleep 0.1
done
before=$(fd_count)

load 1000
assert_eq "200=500 206=100 400=80 404=100 405=100 dropped=20 tls_refused=100" "$LOAD" \
  "the mix of 1000 requests (statuses counted by the client)"

# Connections end asynchronously after the client's last byte; give the
# server a moment (at most 5 s) to close them all.
for ((i = 0; i < 50; i++)); do
  after=$(fd_count)
  ((after <= before)) && break
  sleep 0.1
done
if ((after > before)); then
  fail "file descriptors after 1000 requests: expected at most $before (the count before)" \
    "got $after; open now:" "$(find "/proc/$SERVER_PID/fd" -mindepth 1 -printf '%l\n' | sort | uniq -c)"
fi
echo "fds: before $before, after $after" >&2
assert_eq "0 0 1" "$(open_connections)" "no connection but this admin one is open after the load (http https admin)"

# The server went on serving throughout.
fetch "$HTTP/fv0021F2011B19.conf"
assert_code 200 "the server serves after 1000 requests"
stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
