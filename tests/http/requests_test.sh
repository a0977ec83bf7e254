#!/usr/bin/env bash
# Requests a device listener must refuse, and that it goes on serving
# after each: other methods (405 with Allow), path traversal in every
# spelling (400), oversized and too many headers (431), a body (413), and
# bytes that are no HTTP at all (400).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

init_demo_and_start
PHONE_FILE=/fv0021F2011B19.conf

# still_serving WHAT: the next request on a new connection gets the profile.
still_serving() {
  fetch "$HTTP$PHONE_FILE"
  assert_code 200 "the server still serves after $1"
}

# ---- methods ------------------------------------------------------------------------
for method in POST PUT DELETE PATCH OPTIONS; do
  fetch "$HTTP$PHONE_FILE" -X "$method"
  assert_code 405 "$method of a profile"
  assert_eq "GET, HEAD" "$(header allow)" "$method: the 405 says Allow: GET, HEAD"
done
raw "$HTTP_PORT" "TRACE $PHONE_FILE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
assert_contains "$RAW" "HTTP/1.1 405" "TRACE"
assert_not_contains "$(cat "$TEST_DIR/raw.body")" "DBID" "TRACE echoes nothing of the profile"
still_serving "405s"

# ---- traversal and odd paths: 400, never a file ---------------------------------------
for path in '/../etc/passwd' '/%2e%2e/etc/passwd' '/%2E%2E/%2E%2E/etc/passwd' '/a/..%2f..%2fetc' \
  '/a/..%2F..%2Fetc/passwd' '/firmware/IP542N/../../../etc/passwd' '/./fv0021F2011B19.conf' \
  '/a\..\..\etc\passwd' '/%5c..%5cetc%5cpasswd' '/fv0021F2011B19.conf%00.txt' '/%00' '//etc/passwd' \
  '/%zz'; do
  fetch "$HTTP$path" --path-as-is
  assert_code 400 "traversal or malformed path: $path"
  assert_not_contains "$BODY" "root:" "no /etc/passwd for $path"
done
# What curl would clean up, sent as is.
raw "$HTTP_PORT" 'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "raw /../../etc/passwd"
raw "$HTTP_PORT" 'GET etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
assert_match "HTTP/1.1 40[04]" "$RAW" "a target without its leading slash"
raw "$HTTP_PORT" 'GET http://127.0.0.1/../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
assert_match "HTTP/1.1 40[04]" "$RAW" "an absolute-form target with ..: 400 or 404"
assert_not_contains "$(cat "$TEST_DIR/raw.body")" "root:" "no /etc/passwd for an absolute-form target"
still_serving "the traversal attempts"

# ---- header limits ---------------------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' a)
fetch "$HTTP$PHONE_FILE" -H "X-Big: $big"
assert_code 431 "a 20 KB header"
assert_eq close "$(header connection)" "the connection closes after a 431"
still_serving "a 20 KB header"
args=()
for i in $(seq 1 70); do args+=(-H "X-Field-$i: $i"); done
fetch "$HTTP$PHONE_FILE" "${args[@]}"
assert_code 431 "70 header fields (more than 64)"
still_serving "70 header fields"
args=()
for i in $(seq 1 40); do args+=(-H "X-Field-$i: $i"); done
fetch "$HTTP$PHONE_FILE" "${args[@]}"
assert_code 200 "40 header fields are fine"
# Many small header lines adding up past 8 KB.
args=()
for i in $(seq 1 60); do args+=(-H "X-Field-$i: $(head -c 200 /dev/zero | tr '\0' b)"); done
fetch "$HTTP$PHONE_FILE" "${args[@]}"
assert_code 431 "60 fields of 200 bytes (12 KB of headers)"
still_serving "12 KB of headers"

# ---- a body ------------------------------------------------------------------------------
raw "$HTTP_PORT" "GET $PHONE_FILE HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
assert_contains "$RAW" "HTTP/1.1 413" "a GET with a 10-byte body"
assert_eq 0 "$RAW_STATUS" "the server closes the connection after a 413"
raw "$HTTP_PORT" "GET $PHONE_FILE HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
assert_contains "$RAW" "HTTP/1.1 413" "a GET with a chunked body"
still_serving "requests with bodies"

# ---- garbage -------------------------------------------------------------------------------
raw "$HTTP_PORT" 'GARBAGE\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "garbage bytes get 400"
assert_eq 0 "$RAW_STATUS" "the server closes the connection after garbage"
raw "$HTTP_PORT" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "a TLS ClientHello on the plain port gets 400"
raw "$HTTP_PORT" 'GET / HTTP/9.9\r\n\r\n'
assert_match "HTTP/1.1 (400|404|505)" "$RAW" "an unknown HTTP version"
raw "$HTTP_PORT" 'GET /\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "control characters in the target"
raw "$HTTP_PORT" 'GET / HTTP/1.1\r\nHost x\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "a header line without a colon"
# Random bytes, several times; a session may fail, the server may not.
for i in 1 2 3 4 5; do
  head -c 4000 /dev/urandom >"$TEST_DIR/random"
  python3 "$HTTP_TESTS_DIR/raw.py" 127.0.0.1 "$HTTP_PORT" <"$TEST_DIR/random" >/dev/null 2>&1 || true
done
# A half request, then the client goes away.
printf 'GET /fv0021F2011B19.conf HTTP/1.1\r\nHost:' |
  python3 "$HTTP_TESTS_DIR/raw.py" 127.0.0.1 "$HTTP_PORT" --timeout 0.3 >/dev/null 2>&1 || true
still_serving "garbage on the socket"

# The HTTPS and admin listeners take garbage as well.
raw "$HTTPS_PORT" 'GARBAGE\r\n\r\n'
assert_not_contains "$RAW" "200 OK" "garbage on the HTTPS port gets no response"
raw "$ADMIN_PORT" 'GARBAGE\r\n\r\n'
assert_contains "$RAW" "HTTP/1.1 400" "garbage on the admin port gets 400"
fetch "$ADMIN/healthz"
assert_eq ok "$BODY" "/healthz still ok after all of it"

# Every refusal was counted.
assert_gt "$(metric 'provbox_requests_total{transport="http",status="405"}')" 4 "metrics count the 405s"
assert_gt "$(metric 'provbox_requests_total{transport="http",status="400"}')" 10 "metrics count the 400s"
stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
