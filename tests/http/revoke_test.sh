#!/usr/bin/env bash
# Revoking a certificate ends what it already has open (issue 12, finding 4:
# an open connection used to keep getting 200s after `cert revoke`, every
# request resetting its idle timer). While the server runs, `provbox cert
# revoke` in another process, then:
#   - a keep-alive connection's next request gets 403 (logged and in the
#     device's events as revoked) and the connection closes;
#   - a connection in the middle of a download finishes it, and its next
#     request gets 403 and the close;
#   - an idle connection is closed by the server without asking anything;
#   - another device's open connection goes on being served;
#   - sessions saved before the revocation do not resume (TLS 1.3 ticket,
#     TLS 1.2 session), even presented without the certificate.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
# Large enough that the server is still writing it while the test looks:
# the client's 32 KB window and the server's send buffer (4 MB at most)
# hold a fraction of it.
IMAGE=$TEST_DIR/fw.bin
head -c $((16 * 1024 * 1024)) /dev/urandom >"$IMAGE"
ok pb firmware add "$IMAGE" --model IP542N --version 1.0
start_server
PHONE_FILE=/fv0021F2011B19.conf
ATA_FILE=/fv0021F222AEF1.conf
issue_cert "$PHONE" "$TEST_DIR/phone"
revoked_serial=$SERIAL
issue_cert "$ATA" "$TEST_DIR/ata"
CA=$DATA/ca/ca.pem
AS_PHONE=(-cert "$TEST_DIR/phone/sslclientcert.pem" -key "$TEST_DIR/phone/sslclientkey.pem" -CAfile "$CA")

# ---- sessions to resume later, and proof that they do resume now ------------------
for version in 1.3 1.2; do
  s_client "${AS_PHONE[@]}" "-tls${version/./_}" -sess_out "$TEST_DIR/session-$version"
  assert_contains "$S_OUT" "HTTP/1.0 200 OK" "TLS $version: a session saved with the file"
  # Without the certificate: only the resumed session can say who this is.
  s_client -CAfile "$CA" "-tls${version/./_}" -sess_in "$TEST_DIR/session-$version"
  assert_contains "$S_OUT" "Reused, TLSv$version" "TLS $version: before the revocation, the session resumes"
  assert_contains "$S_OUT" "HTTP/1.0 200 OK" "TLS $version: and the resumed session gets the file"
done

# ---- open connections when the revocation comes ------------------------------------
RESULT=$(python3 "$HTTP_TESTS_DIR/revoked_connections.py" --port "$HTTPS_PORT" \
  --cert-dir "$TEST_DIR/phone" --other-cert-dir "$TEST_DIR/ata" \
  --profile "$PHONE_FILE" --other-profile "$ATA_FILE" --firmware /firmware/IP542N/1.0/fw.bin \
  --revoke "'$PROVBOX' --data-dir '$DATA' cert revoke $revoked_serial" 2>"$TEST_DIR/revoked.err") ||
  fail "revoked_connections.py went wrong" "$(cat "$TEST_DIR/revoked.err")"
echo "$RESULT" >&2
line() { grep "^$1: " <<<"$RESULT" | head -n1; }
# Asked at once, the server may have closed it already (the upkeep tick);
# either way the revoked certificate gets nothing more.
assert_match "^asks: (403 close then closed|closed)$" "$(line asks)" \
  "a keep-alive connection's next request after the revocation gets 403 and the close"
assert_eq "busy: 403 close then closed" "$(line busy)" \
  "a connection busy with a download at the revocation: its next request gets 403 and the close"
assert_eq "idle: closed" "$(line idle)" "an idle connection of the revoked certificate is closed by the server"
assert_eq "other: 200" "$(line other)" "another device's open connection is still served"

wait_for_log "certificate $revoked_serial revoked"
line=$(grep -F "certificate $revoked_serial revoked" "$SERVER_LOG" | grep -F " 403 " | head -n1)
assert_contains "$line" "https" "the refusal is an access line of an https request"
assert_contains "$line" "$PHONE_FILE" "naming the file asked for"
ok pb device show "$PHONE"
assert_contains "$OUT" "certificate $revoked_serial revoked" "device show lists the refused request and why"
assert_gt "$(metric 'provbox_http_connections_closed_total{listener="https",reason="revoked"}')" 0 \
  "metrics: connections closed for a revoked certificate"
assert_gt "$(metric 'provbox_requests_total{transport="https",status="403"}')" 0 "metrics: the 403s"

# ---- resumption after the revocation ---------------------------------------------------
for version in 1.3 1.2; do
  s_client -CAfile "$CA" "-tls${version/./_}" -sess_in "$TEST_DIR/session-$version"
  assert_not_contains "$S_OUT" "Reused" "TLS $version: the session saved before the revocation does not resume"
  assert_not_contains "$S_OUT" "HTTP/1." "TLS $version: and gets no HTTP response"
  s_client "${AS_PHONE[@]}" "-tls${version/./_}" -sess_in "$TEST_DIR/session-$version"
  assert_not_contains "$S_OUT" "Reused" "TLS $version: nor with the certificate presented as well"
  assert_contains "$S_OUT" "alert certificate revoked" "TLS $version: the full handshake that follows refuses it"
done

fetch "$HTTPS$ATA_FILE" --cacert "$CA" --cert "$TEST_DIR/ata/sslclientcert.pem" --key "$TEST_DIR/ata/sslclientkey.pem"
assert_code 200 "a new connection with the other device's certificate gets its file"
stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
