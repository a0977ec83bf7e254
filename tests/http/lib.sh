# Shared helpers for the HTTP/HTTPS integration tests: the real provbox
# daemon on free loopback ports, driven with curl, openssl and python3.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
#
# $1 is the provbox binary (ctest passes $<TARGET_FILE:provbox>). On top of
# the CLI tests' helpers (../cli/lib.sh: $TEST_DIR, run/ok, assert_*, fail,
# $PHONE and $ATA), this gives:
#   - a demo inventory in $DATA (pb runs the CLI on it);
#   - start_server / stop_server: the daemon on three free loopback ports,
#     $HTTP, $HTTPS and $ADMIN (base URLs), up when /healthz says ok, and
#     killed by the EXIT trap whatever happens;
#   - fetch: one curl request, its status, headers and body kept in files;
#   - issue_cert, wait_for_log, metric.
# shellcheck disable=SC2034  # the variables here are for the scripts that source this file
set -euo pipefail
HTTP_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/lib.sh
source "$HTTP_TESTS_DIR/../cli/lib.sh" "$@"

for tool in curl openssl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool' (deploy/install-deps.sh installs it)" >&2; exit 1; }
done

DATA=$TEST_DIR/data
DB=$DATA/provbox.db
SERVER_LOG=$TEST_DIR/server.log
SERVER_PID=""
pb() { "$PROVBOX" --data-dir "$DATA" "$@"; }

# The server is never left running: the EXIT trap kills it (and any job the
# script left in the background) before the folder goes.
_http_cleanup() {
  local job
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for job in $(jobs -p); do kill -KILL "$job" 2>/dev/null || true; done
  if [[ ${KEEP_TEST_DIR:-} == 1 ]]; then echo "kept $TEST_DIR" >&2; else rm -rf "$TEST_DIR"; fi
}
trap _http_cleanup EXIT

# The test lines that led here, innermost first, skipping both lib.sh files.
_where() {
  local i where="" here
  for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
    [[ $(basename "${BASH_SOURCE[i]}") != lib.sh && ${BASH_LINENO[i - 1]} -gt 0 ]] || continue
    here="$(basename "${BASH_SOURCE[i]}"):${BASH_LINENO[i - 1]}"
    if [[ -z $where ]]; then where=$here; else where+=" (from $here)"; fi
  done
  echo "${where:-?}"
}

# When a test fails, the server's log is the first thing to read.
_on_fail() {
  [[ -s $SERVER_LOG ]] || return 0
  echo "---- last lines of the server log ($SERVER_LOG) ----" >&2
  tail -n 25 "$SERVER_LOG" >&2
}

# free_ports N: N distinct loopback TCP ports nobody listens on now, one a
# line (the kernel picks them; all are held until all are picked).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
for s in held:
    print(s.getsockname()[1])
EOF
}

# Listeners this binary has besides HTTP, HTTPS and admin (TFTP, ...) are
# switched off when `provbox help` shows them as "[--NAME ADDR:PORT|off]",
# so tests never need privileged ports or collide on default ones.
_extra_listener_flags() {
  local usage option
  usage=$("$PROVBOX" help 2>&1 | grep -m1 '^ *serve ' || true)
  while read -r option; do
    [[ -n $option ]] || continue
    option=${option#[}
    printf '%s\noff\n' "${option%% *}"
  done < <(grep -o '\[--[a-z0-9-]* [^]|]*|off\]' <<<"$usage" | grep -v -e '^\[--http ' -e '^\[--https ' -e '^\[--admin ' || true)
}

# start_server [SERVE-ARGS...]: starts `provbox serve` on free ports and
# waits (at most 15 s) until the admin listener's /healthz answers ok.
start_server() {
  local attempt ports extra i
  mapfile -t extra < <(_extra_listener_flags)
  # A listener the caller sets itself (--tftp ADDR) is not switched off.
  local -a kept=()
  for ((i = 0; i < ${#extra[@]}; i += 2)); do
    [[ " $* " == *" ${extra[i]} "* ]] || kept+=("${extra[i]}" "${extra[i + 1]}")
  done
  extra=("${kept[@]}")
  for attempt in 1 2 3; do
    mapfile -t ports < <(free_ports 3)
    HTTP_PORT=${ports[0]} HTTPS_PORT=${ports[1]} ADMIN_PORT=${ports[2]}
    HTTP=http://127.0.0.1:$HTTP_PORT
    HTTPS=https://127.0.0.1:$HTTPS_PORT
    ADMIN=http://127.0.0.1:$ADMIN_PORT
    "$PROVBOX" --data-dir "$DATA" serve --http "127.0.0.1:$HTTP_PORT" --https "127.0.0.1:$HTTPS_PORT" \
      --admin "127.0.0.1:$ADMIN_PORT" "${extra[@]}" "$@" >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 150; i++)); do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        local status=0
        wait "$SERVER_PID" || status=$?
        SERVER_PID=""
        # Another process took a port between free_ports and bind: retry.
        grep -q "cannot listen" "$SERVER_LOG" && [[ $attempt -lt 3 ]] && continue 2
        fail "provbox serve exited with status $status while starting"
      fi
      [[ $(curl -s --max-time 1 "$ADMIN/healthz" 2>/dev/null) == ok ]] && return 0
      sleep 0.1
    done
    fail "provbox serve did not answer /healthz within 15 s"
  done
}

# stop_server [SIGNAL]: signals the server (TERM by default) and waits for
# it to exit (wait_server_exit).
stop_server() {
  kill "-${1:-TERM}" "$SERVER_PID"
  wait_server_exit
}

# wait_server_exit: waits at most 20 s for the server to exit by itself and
# sets SERVER_STATUS to its exit status.
wait_server_exit() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "provbox serve still running 20 s after it was told to stop"
  SERVER_STATUS=0
  wait "$SERVER_PID" || SERVER_STATUS=$?
  SERVER_PID=""
}

# fetch URL [CURL-ARGS...]: one request with curl (10 s at most). Sets CODE
# (the HTTP status, 000 when there was no response) and CURL_STATUS; the
# body is in $TEST_DIR/body, the response headers in HEADERS (lower-cased
# names, CR removed) and $TEST_DIR/headers.
fetch() {
  local url=$1
  shift
  CURL_STATUS=0
  # curl creates the body file only when bytes arrive: start from an empty one.
  : >"$TEST_DIR/body"
  : >"$TEST_DIR/headers.raw"
  CODE=$(curl -s --max-time 10 -o "$TEST_DIR/body" -D "$TEST_DIR/headers.raw" -w '%{http_code}' "$@" "$url" \
    2>"$TEST_DIR/curl.err") || CURL_STATUS=$?
  tr -d '\r' <"$TEST_DIR/headers.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$TEST_DIR/headers"
  HEADERS=$(cat "$TEST_DIR/headers")
  BODY=$(tr -d '\0' <"$TEST_DIR/body")
}

# A response header's value ("" when absent): header NAME (lower case).
header() { sed -n "s/^$1: //p" "$TEST_DIR/headers" | tail -n1; }

assert_code() {  # EXPECTED WHAT: the last fetch's HTTP status
  [[ $CODE == "$1" ]] || fail "$2" "expected HTTP $1" "got HTTP $CODE (curl exit $CURL_STATUS: $(cat "$TEST_DIR/curl.err"))" \
    "headers: $(tr '\n' '|' <"$TEST_DIR/headers")" "body: $(head -c 200 "$TEST_DIR/body" | tr -d '\0')"
}

# The curl arguments that present a device's certificate (as issued into DIR).
tls_args() {  # DIR
  printf '%s\n' --cacert "$1/cacert.pem" --cert "$1/sslclientcert.pem" --key "$1/sslclientkey.pem"
}

# issue_cert MAC DIR: a fresh device certificate; its serial in SERIAL.
issue_cert() {
  ok pb cert issue "$1" --out "$2"
  [[ $OUT =~ serial\ ([0-9A-F]+) ]] || fail "cert issue $1 prints a serial" "got: $OUT"
  SERIAL=${BASH_REMATCH[1]}
}

# s_client ARGS...: `openssl s_client` to the HTTPS port sending one HTTP/1.0
# GET of $S_CLIENT_PATH (default the phone's profile); its whole output
# (both streams) is in S_OUT and its exit status in S_STATUS.
s_client() {
  S_STATUS=0
  printf 'GET %s HTTP/1.0\r\n\r\n' "${S_CLIENT_PATH:-/fv0021F2011B19.conf}" |
    timeout 10 openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost -ign_eof "$@" \
      >"$TEST_DIR/s_client.out" 2>&1 || S_STATUS=$?
  S_OUT=$(tr -d '\0' <"$TEST_DIR/s_client.out")
}

# wait_for_log TEXT [COUNT]: waits (at most 5 s) until the server log holds
# TEXT (fixed string) on at least COUNT lines; the access line is written
# once the response went out, so it may trail the client by a moment.
wait_for_log() {
  local text=$1 count=${2:-1} i
  for ((i = 0; i < 50; i++)); do
    (($(grep -cF -- "$text" "$SERVER_LOG" || true) >= count)) && return 0
    sleep 0.1
  done
  fail "expected the server log to contain '$text' (at least $count time(s))" \
    "got $(grep -cF -- "$text" "$SERVER_LOG" || true) line(s)"
}

# metric 'NAME{LABELS}': the value of one sample on /metrics, 0 when absent.
metric() {
  local text
  text=$(curl -s --max-time 5 "$ADMIN/metrics")
  awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' <<<"$text"
}

# Open file descriptors of the server process.
fd_count() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# raw PORT REQUEST: sends REQUEST (printf %b escapes: \r\n) on a new
# connection and reads until the server closes it (5 s at most). RAW is the
# response's head (CR removed; also in $TEST_DIR/raw.head), its body is in
# $TEST_DIR/raw.body; RAW_STATUS is 0 when the server closed, 3 when not.
raw() {
  RAW_STATUS=0
  printf '%b' "$2" | python3 "$HTTP_TESTS_DIR/raw.py" 127.0.0.1 "$1" --body "$TEST_DIR/raw.body" \
    >"$TEST_DIR/raw.head" || RAW_STATUS=$?
  RAW=$(tr -d '\r' <"$TEST_DIR/raw.head")
}

# decrypt KEY IN OUT: as the phone does (openssl enc, MD5 key derivation).
decrypt() {
  openssl enc -d -aes-256-cbc -md md5 -k "$1" -in "$2" -out "$3" 2>"$TEST_DIR/openssl.err" ||
    fail "openssl cannot decrypt $2 with key $1" "$(grep -v -e WARNING -e pbkdf2 "$TEST_DIR/openssl.err")"
}

# A demo inventory and a running server, the usual start of a test.
init_demo_and_start() {
  ok pb init --demo
  start_server "$@"
}
