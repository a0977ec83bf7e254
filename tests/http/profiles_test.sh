#!/usr/bin/env bash
# Profiles over plain HTTP from the running daemon: the bytes are exactly
# `provbox render`'s, the model's file name resolves by the peer address,
# ETag/If-None-Match, X-Dbase-Version, HEAD, 404s, keep-alive, a CLI change
# seen on the next request, and /healthz and /metrics.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

init_demo_and_start
PHONE_FILE=/fv0021F2011B19.conf  # fv$(MAU).conf
ATA_FILE=/fv0021F222AEF1.conf

# ---- the served bytes are render's ------------------------------------------
fetch "$HTTP$PHONE_FILE"
assert_code 200 "the IP542N's own file"
pb render "$PHONE" --output "$TEST_DIR/phone.rendered" >/dev/null
assert_files_equal "$TEST_DIR/phone.rendered" "$TEST_DIR/body" "HTTP body equals provbox render $PHONE"
phone_version=$(render_version "$PHONE")
assert_eq "$phone_version" "$(header x-dbase-version)" "X-Dbase-Version is the DBID_DBASE_VERSION served"
assert_eq "DBID_DBASE_VERSION=$phone_version" "$(head -n1 "$TEST_DIR/body")" "the body starts with that version"
assert_eq "$(stat -c %s "$TEST_DIR/body")" "$(header content-length)" "Content-Length is the body's size"
phone_etag=$(header etag)
assert_match '^"[^"]+"$' "$phone_etag" "a strong, quoted ETag"

# The G502N's file is encrypted, and every render draws a new salt: compare
# what the ciphertexts decrypt to, with openssl as the phone would.
fetch "$HTTP$ATA_FILE"
assert_code 200 "the G502N's own file"
assert_eq "Salted__" "$(head -c 8 "$TEST_DIR/body")" "the encrypted body starts with openssl's Salted__"
cp "$TEST_DIR/body" "$TEST_DIR/ata.served"
pb render "$ATA" --output "$TEST_DIR/ata.rendered" >/dev/null
decrypt 123456 "$TEST_DIR/ata.served" "$TEST_DIR/ata.served.plain"
decrypt 123456 "$TEST_DIR/ata.rendered" "$TEST_DIR/ata.rendered.plain"
assert_files_equal "$TEST_DIR/ata.rendered.plain" "$TEST_DIR/ata.served.plain" \
  "the served G502N file decrypts to what provbox render's does"
pb render "$ATA" --plain --output "$TEST_DIR/ata.plain" >/dev/null
assert_files_equal "$TEST_DIR/ata.plain" "$TEST_DIR/ata.served.plain" "and to render --plain"
assert_eq "$(render_version "$ATA")" "$(header x-dbase-version)" "X-Dbase-Version of the G502N file"

# ---- the model's Config File Name, resolved by the peer address ---------------
# The demo IP542N's static IP is 127.0.0.1, which is where curl comes from.
fetch "$HTTP/IP542N.conf"
assert_code 200 "IP542N.conf from the IP542N's address"
assert_files_equal "$TEST_DIR/phone.rendered" "$TEST_DIR/body" "IP542N.conf from 127.0.0.1 is the demo IP542N's file"
fetch "$HTTP/G502N.conf"
assert_code 404 "no G502N has the address 127.0.0.1, so G502N.conf is nobody's"

# ---- ETag and If-None-Match ---------------------------------------------------
fetch "$HTTP$PHONE_FILE" -H "If-None-Match: $phone_etag"
assert_code 304 "If-None-Match with the current ETag"
assert_eq 0 "$(stat -c %s "$TEST_DIR/body")" "a 304 has no body"
assert_eq "$phone_etag" "$(header etag)" "a 304 repeats the ETag"
fetch "$HTTP$PHONE_FILE" -H 'If-None-Match: "something-else", '"$phone_etag"
assert_code 304 "the ETag anywhere in an If-None-Match list"
fetch "$HTTP$PHONE_FILE" -H 'If-None-Match: "something-else"'
assert_code 200 "another ETag gets the file"

# ---- HEAD ---------------------------------------------------------------------
fetch "$HTTP$PHONE_FILE" --head
assert_code 200 "HEAD of a profile"
assert_eq "$(stat -c %s "$TEST_DIR/phone.rendered")" "$(header content-length)" "HEAD's Content-Length is GET's"
assert_eq "$phone_etag" "$(header etag)" "HEAD's ETag is GET's"
assert_eq "$phone_version" "$(header x-dbase-version)" "HEAD's X-Dbase-Version is GET's"
# curl would wait for the body a HEAD's Content-Length announces; a raw
# socket shows that nothing follows the head.
raw "$HTTP_PORT" "HEAD $PHONE_FILE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
assert_eq 0 "$RAW_STATUS" "the server closes after a HEAD with Connection: close"
assert_contains "$RAW" "HTTP/1.1 200 OK" "raw HEAD: 200"
assert_contains "$RAW" "Content-Length: $(stat -c %s "$TEST_DIR/phone.rendered")" "raw HEAD: GET's Content-Length"
assert_eq 0 "$(stat -c %s "$TEST_DIR/raw.body")" "HEAD sends no body bytes"

# ---- 404: an unknown file, an unknown MAC, a disabled device --------------------
fetch "$HTTP/nothing-here.conf"
assert_code 404 "a file name no model has"
fetch "$HTTP/fv0021F2999999.conf"
assert_code 404 "a model's file name with a MAC not in the inventory"
fetch "$HTTP/fv0021F2011B19.conf.bak"
assert_code 404 "the file name with something after it"
wait_for_log "0021F2999999" 1
ok pb device set "$ATA" --disable
fetch "$HTTP$ATA_FILE"
assert_code 404 "a disabled device's file"
ok pb device set "$ATA" --enable
fetch "$HTTP$ATA_FILE"
assert_code 200 "enabled again, it is served again"

# ---- a MAC in the User-Agent must agree -------------------------------------------
fetch "$HTTP$PHONE_FILE" -A 'Flyingvoice FIP13G V0.6.24 00:21:F2:01:1B:19'
assert_code 200 "a User-Agent naming the file's own MAC"
fetch "$HTTP$PHONE_FILE" -A 'Flyingvoice FIP13G V0.6.24 00:21:F2:22:AE:F1'
assert_code 403 "a User-Agent naming another device's MAC"
assert_not_contains "$BODY" "DBID" "and no profile"

# ---- keep-alive: two requests on one connection --------------------------------
run curl -s --max-time 10 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  "$HTTP$PHONE_FILE" "$HTTP/nothing-here.conf"
assert_status 0 "curl with two URLs"
assert_eq $'200 1\n404 0' "$OUT" "the second request reuses the first one's connection (num_connects 0)"
run curl -s --max-time 10 -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  "$HTTP$PHONE_FILE" "$HTTP$PHONE_FILE" -I "$HTTP$ATA_FILE"
assert_eq $'200 1\n200 0\n200 0' "$OUT" "three requests (HEAD among them) on one connection"

# ---- a CLI change while the server runs ------------------------------------------
fetch "$HTTP$PHONE_FILE"
before=$(header x-dbase-version)
ok pb param set DBID_SIP_DIS_NAME changed-while-serving --device "$PHONE"
fetch "$HTTP$PHONE_FILE"
assert_code 200 "the file after param set"
after=$(header x-dbase-version)
assert_gt "$after" "$before" "DBID_DBASE_VERSION rises with a CLI change, seen on the next request"
assert_contains "$BODY" $'\nDBID_SIP_DIS_NAME=changed-while-serving\n' "the new value is served at once"
assert_eq "DBID_DBASE_VERSION=$after" "$(head -n1 "$TEST_DIR/body")" "the body's version is the header's"
pb render "$PHONE" --output "$TEST_DIR/phone.rendered2" >/dev/null
assert_files_equal "$TEST_DIR/phone.rendered2" "$TEST_DIR/body" "still byte for byte render's"
fetch "$HTTP$PHONE_FILE" -H "If-None-Match: $phone_etag"
assert_code 200 "the old ETag no longer matches after a change"
assert_ne "$phone_etag" "$(header etag)" "the ETag changed with the version"
ok pb bump "$PHONE"
fetch "$HTTP/IP542N.conf"
assert_gt "$(header x-dbase-version)" "$after" "bump is seen on the next request too (by address)"

# ---- what device show tells -------------------------------------------------------
ok pb device show "$PHONE"
assert_contains "$OUT" "IP542N.conf" "device show lists the last requests"
assert_match "state: +in sync" "$OUT" "the phone fetched the current version"

# ---- admin: /healthz and /metrics ------------------------------------------------
fetch "$ADMIN/healthz"
assert_code 200 "/healthz"
assert_eq ok "$BODY" "/healthz says ok"
fetch "$ADMIN/metrics"
assert_code 200 "/metrics"
assert_contains "$(header content-type)" "text/plain" "Prometheus text format"
assert_gt "$(metric 'provbox_requests_total{transport="http",status="200"}')" 10 "requests by transport and status: 200s"
assert_gt "$(metric 'provbox_requests_total{transport="http",status="404"}')" 3 "requests by transport and status: 404s"
assert_gt "$(metric 'provbox_requests_total{transport="http",status="304"}')" 1 "requests by transport and status: 304s"
assert_gt "$(metric 'provbox_sent_bytes_total{transport="http"}')" 1000 "bytes sent"
assert_gt "$(metric 'provbox_profile_cache_hits_total')" 0 "cache hits"
assert_gt "$(metric 'provbox_http_connections{listener="admin"}')" 0 "open admin connections (this request's at least)"
fetch "$ADMIN/nothing"
assert_code 404 "the admin listener knows only /healthz and /metrics"
fetch "$HTTP/healthz"
assert_code 404 "/healthz is not on the device listener"

stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
