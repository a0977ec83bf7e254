#!/usr/bin/env bash
# Firmware downloads from the running daemon: a 5 MB random image whole and
# by range (first bytes, an open end, a suffix), 416 past the end, HEAD,
# ETag/If-None-Match and If-Range, and over HTTPS only for a device of the
# image's model.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
IMAGE=$TEST_DIR/ip542n-1.0.bin
head -c $((5 * 1024 * 1024)) /dev/urandom >"$IMAGE"
SIZE=$(stat -c %s "$IMAGE")
ok pb firmware add "$IMAGE" --model IP542N --version 1.0
URL_PATH=/firmware/IP542N/1.0/$(basename "$IMAGE")
start_server

sha() { sha256sum "$1" | cut -d' ' -f1; }
# bytes FIRST COUNT: that slice of the image.
bytes() { dd if="$IMAGE" iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; }

# ---- the whole image ---------------------------------------------------------
fetch "$HTTP$URL_PATH"
assert_code 200 "GET of the firmware image"
assert_eq "$(sha "$IMAGE")" "$(sha "$TEST_DIR/body")" "the downloaded image's SHA-256 is the original's"
assert_eq "$SIZE" "$(header content-length)" "Content-Length is the image's size"
assert_eq bytes "$(header accept-ranges)" "Accept-Ranges: bytes"
etag=$(header etag)
assert_match '^"[^"]+"$' "$etag" "a quoted ETag"
assert_match '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' "$(header last-modified)" \
  "Last-Modified is an HTTP date"

# ---- ranges ----------------------------------------------------------------------
fetch "$HTTP$URL_PATH" -H 'Range: bytes=0-99'
assert_code 206 "Range: bytes=0-99"
assert_eq "bytes 0-99/$SIZE" "$(header content-range)" "Content-Range of the first 100 bytes"
assert_eq 100 "$(header content-length)" "Content-Length of the first 100 bytes"
bytes 0 100 >"$TEST_DIR/expected"
assert_files_equal "$TEST_DIR/expected" "$TEST_DIR/body" "the first 100 bytes"

fetch "$HTTP$URL_PATH" -H 'Range: bytes=100-'
assert_code 206 "Range: bytes=100-"
assert_eq "bytes 100-$((SIZE - 1))/$SIZE" "$(header content-range)" "Content-Range from byte 100 to the end"
bytes 100 "$SIZE" >"$TEST_DIR/expected"
assert_eq "$(sha "$TEST_DIR/expected")" "$(sha "$TEST_DIR/body")" "everything from byte 100"

fetch "$HTTP$URL_PATH" -H 'Range: bytes=-100'
assert_code 206 "Range: bytes=-100"
assert_eq "bytes $((SIZE - 100))-$((SIZE - 1))/$SIZE" "$(header content-range)" "Content-Range of the last 100 bytes"
tail -c 100 "$IMAGE" >"$TEST_DIR/expected"
assert_files_equal "$TEST_DIR/expected" "$TEST_DIR/body" "the last 100 bytes"

fetch "$HTTP$URL_PATH" -H "Range: bytes=$((SIZE - 10))-$((SIZE + 1000))"
assert_code 206 "a range running past the end is cut at the end"
assert_eq "bytes $((SIZE - 10))-$((SIZE - 1))/$SIZE" "$(header content-range)" "Content-Range of the cut range"
tail -c 10 "$IMAGE" >"$TEST_DIR/expected"
assert_files_equal "$TEST_DIR/expected" "$TEST_DIR/body" "the last 10 bytes"

# A resumed download put together from two ranges is the image.
fetch "$HTTP$URL_PATH" -H 'Range: bytes=0-2999999'
cp "$TEST_DIR/body" "$TEST_DIR/joined"
fetch "$HTTP$URL_PATH" -H 'Range: bytes=3000000-'
cat "$TEST_DIR/body" >>"$TEST_DIR/joined"
assert_eq "$(sha "$IMAGE")" "$(sha "$TEST_DIR/joined")" "two ranges joined are the image"

fetch "$HTTP$URL_PATH" -H "Range: bytes=$SIZE-"
assert_code 416 "a range starting at the end"
assert_eq "bytes */$SIZE" "$(header content-range)" "a 416 names the size"
fetch "$HTTP$URL_PATH" -H "Range: bytes=$((SIZE + 5))-$((SIZE + 10))"
assert_code 416 "a range beyond the end"
fetch "$HTTP$URL_PATH" -H 'Range: bytes=-0'
assert_code 416 "an empty suffix range"
fetch "$HTTP$URL_PATH" -H 'Range: pages=0-1'
assert_code 200 "a unit other than bytes is ignored: the whole image"
assert_eq "$SIZE" "$(stat -c %s "$TEST_DIR/body")" "the whole image for an unknown range unit"

# If-Range: the range only while the client's copy is current.
fetch "$HTTP$URL_PATH" -H 'Range: bytes=0-99' -H "If-Range: $etag"
assert_code 206 "If-Range with the current ETag gives the range"
fetch "$HTTP$URL_PATH" -H 'Range: bytes=0-99' -H 'If-Range: "stale"'
assert_code 200 "If-Range with another ETag gives the whole image"
assert_eq "$SIZE" "$(stat -c %s "$TEST_DIR/body")" "the whole image for a stale If-Range"

# ---- HEAD and conditional GET ---------------------------------------------------------
raw "$HTTP_PORT" "HEAD $URL_PATH HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
assert_contains "$RAW" "HTTP/1.1 200 OK" "HEAD of the image"
assert_contains "$RAW" "Content-Length: $SIZE" "HEAD has the image's Content-Length"
assert_contains "$RAW" "ETag: $etag" "HEAD has the ETag"
assert_eq 0 "$(stat -c %s "$TEST_DIR/raw.body")" "HEAD sends no body bytes"
assert_eq 0 "$RAW_STATUS" "the server closes after the HEAD (Connection: close)"
raw "$HTTP_PORT" "HEAD $URL_PATH HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\nConnection: close\r\n\r\n"
assert_contains "$RAW" "HTTP/1.1 206 Partial Content" "HEAD with a range"
assert_contains "$RAW" "Content-Length: 100" "HEAD with a range has the range's length"
assert_eq 0 "$(stat -c %s "$TEST_DIR/raw.body")" "HEAD with a range sends no body bytes"

fetch "$HTTP$URL_PATH" -H "If-None-Match: $etag"
assert_code 304 "If-None-Match with the image's ETag"
assert_eq 0 "$(stat -c %s "$TEST_DIR/body")" "a 304 has no body"
fetch "$HTTP$URL_PATH" -H 'If-None-Match: "another"'
assert_code 200 "If-None-Match with another ETag"

# ---- 404s --------------------------------------------------------------------------------
fetch "$HTTP/firmware/IP542N/9.9/$(basename "$IMAGE")"
assert_code 404 "a version that does not exist"
fetch "$HTTP/firmware/IP542N/1.0/other.bin"
assert_code 404 "a file name that is not the version's"
fetch "$HTTP/firmware/G502N/1.0/$(basename "$IMAGE")"
assert_code 404 "the image under another model"

# ---- HTTPS: the image's model only -----------------------------------------------------------
issue_cert "$PHONE" "$TEST_DIR/phone"
issue_cert "$ATA" "$TEST_DIR/ata"
mapfile -t AS_PHONE < <(tls_args "$TEST_DIR/phone")
mapfile -t AS_ATA < <(tls_args "$TEST_DIR/ata")
fetch "$HTTPS$URL_PATH" "${AS_PHONE[@]}" -H 'Range: bytes=-100'
assert_code 206 "an IP542N's certificate, IP542N firmware over HTTPS"
tail -c 100 "$IMAGE" >"$TEST_DIR/expected"
assert_files_equal "$TEST_DIR/expected" "$TEST_DIR/body" "the last 100 bytes over HTTPS"
fetch "$HTTPS$URL_PATH" "${AS_PHONE[@]}"
assert_code 200 "the whole image over HTTPS"
assert_eq "$(sha "$IMAGE")" "$(sha "$TEST_DIR/body")" "the image over HTTPS"
fetch "$HTTPS$URL_PATH" "${AS_ATA[@]}"
assert_code 403 "a G502N's certificate asking for IP542N firmware"
assert_gt 100 "$(stat -c %s "$TEST_DIR/body")" "the 403 carries no image (a short text at most)"
wait_for_log "$URL_PATH 403"

stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
