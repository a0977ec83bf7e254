#!/usr/bin/env bash
# HTTPS with mutual TLS against the running daemon: a device certificate
# gets its own file and 403 for another device's; no certificate, a revoked
# one (revoked while the server runs), an expired one, one from another CA,
# one the device CA signed but provbox never issued, and a TLS 1.1 client are
# all refused in the handshake. Checked with curl and openssl s_client, and
# in the server's log, `device show` and /metrics.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

init_demo_and_start
PHONE_FILE=/fv0021F2011B19.conf
ATA_FILE=/fv0021F222AEF1.conf
issue_cert "$PHONE" "$TEST_DIR/phone"
mapfile -t AS_PHONE < <(tls_args "$TEST_DIR/phone")
issue_cert "$ATA" "$TEST_DIR/ata"
mapfile -t AS_ATA < <(tls_args "$TEST_DIR/ata")
CA=$DATA/ca/ca.pem

# ---- a device gets its own file ---------------------------------------------------
fetch "$HTTPS$PHONE_FILE" "${AS_PHONE[@]}"
assert_code 200 "the IP542N's certificate, its own file"
pb render "$PHONE" --output "$TEST_DIR/phone.rendered" >/dev/null
assert_files_equal "$TEST_DIR/phone.rendered" "$TEST_DIR/body" "HTTPS body equals provbox render"
fetch "$HTTPS/IP542N.conf" "${AS_PHONE[@]}"
assert_code 200 "the IP542N's certificate, the model's file name from its address"
fetch "$HTTPS$ATA_FILE" "${AS_ATA[@]}"
assert_code 200 "the G502N's certificate, its own (encrypted) file"
decrypt 123456 "$TEST_DIR/body" "$TEST_DIR/ata.served.plain"
pb render "$ATA" --plain --output "$TEST_DIR/ata.plain" >/dev/null
assert_files_equal "$TEST_DIR/ata.plain" "$TEST_DIR/ata.served.plain" "the G502N file over HTTPS decrypts to render --plain"

# ...and openssl s_client agrees: the server's certificate verifies against
# the device CA, and the request on that connection gets the file.
s_client -cert "$TEST_DIR/phone/sslclientcert.pem" -key "$TEST_DIR/phone/sslclientkey.pem" -CAfile "$CA"
assert_contains "$S_OUT" "Verify return code: 0 (ok)" "s_client verifies provbox's server certificate"
assert_contains "$S_OUT" "HTTP/1.0 200 OK" "s_client with the IP542N's certificate gets 200"
assert_contains "$S_OUT" "DBID_DBASE_VERSION=$(render_version "$PHONE")" "s_client gets the profile"
assert_match "Protocol *: TLSv1\.[23]|New, TLSv1\.[23]" "$S_OUT" "TLS 1.2 or newer"

# ---- another device's file: 403, with both MACs named -------------------------------
fetch "$HTTPS$ATA_FILE" "${AS_PHONE[@]}"
assert_code 403 "the IP542N's certificate asking for the G502N's file"
assert_not_contains "$BODY" "DBID" "a 403 carries no profile"
fetch "$HTTPS$PHONE_FILE" "${AS_ATA[@]}"
assert_code 403 "the G502N's certificate asking for the IP542N's file"
# The model's file name: the certificate's device is a G502N, so IP542N.conf
# is not its file, whoever has the address.
fetch "$HTTPS/IP542N.conf" "${AS_ATA[@]}"
assert_match '^40[34]$' "$CODE" "the G502N's certificate asking for IP542N.conf (the IP542N's address) is refused"
assert_not_contains "$BODY" "DBID" "and gets no profile"
fetch "$HTTPS/G502N.conf" "${AS_ATA[@]}"
assert_code 200 "the G502N's certificate asking for G502N.conf"
decrypt 123456 "$TEST_DIR/body" "$TEST_DIR/ata.by-model.plain"
assert_files_equal "$TEST_DIR/ata.plain" "$TEST_DIR/ata.by-model.plain" "G502N.conf over HTTPS is the certificate's device's file"
wait_for_log "certificate of $PHONE asked for the file of $ATA"
line=$(grep -F "certificate of $PHONE asked for the file of $ATA" "$SERVER_LOG" | head -n1)
assert_contains "$line" " 403 " "the access line says 403"
assert_contains "$line" "https" "the access line says https"
ok pb device show "$ATA"
assert_contains "$OUT" "403" "device show of the G502N lists the refused request"
assert_contains "$OUT" "certificate of $PHONE asked for the file of $ATA" \
  "device show of the G502N names the MAC that asked for its file"
# The plain listener still serves a device without certificate checks: the
# 403 is about the certificate's identity, not the file.
fetch "$HTTP$ATA_FILE"
assert_code 200 "the G502N's file over plain HTTP"

# ---- no client certificate -------------------------------------------------------------
fetch "$HTTPS$PHONE_FILE" --cacert "$CA"
assert_eq 000 "$CODE" "curl without a client certificate gets no HTTP response"
assert_ne 0 "$CURL_STATUS" "curl without a client certificate fails"
s_client -CAfile "$CA"
assert_ne 0 "$S_STATUS" "s_client without -cert fails"
assert_contains "$S_OUT" "alert certificate required" "the server demands a certificate (TLS 1.3 alert 116)"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response without a certificate"
s_client -CAfile "$CA" -tls1_2
assert_ne 0 "$S_STATUS" "s_client over TLS 1.2 without -cert fails"
assert_contains "$S_OUT" "handshake failure" "TLS 1.2: the handshake fails without a certificate"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response over TLS 1.2 either"
wait_for_log "failed (no_certificate)" 3

# ---- revoked while the server runs: the next handshake is refused ------------------
issue_cert "$PHONE" "$TEST_DIR/phone2"
revoked_serial=$SERIAL
mapfile -t AS_PHONE2 < <(tls_args "$TEST_DIR/phone2")
fetch "$HTTPS$PHONE_FILE" "${AS_PHONE2[@]}"
assert_code 200 "a second certificate for the IP542N works before it is revoked"
# A session to resume after the revocation (TLS 1.3 ticket, read with the response).
s_client -cert "$TEST_DIR/phone2/sslclientcert.pem" -key "$TEST_DIR/phone2/sslclientkey.pem" -CAfile "$CA" \
  -sess_out "$TEST_DIR/phone2.session"
assert_contains "$S_OUT" "HTTP/1.0 200 OK" "s_client with the second certificate, saving its session"
s_client -cert "$TEST_DIR/phone2/sslclientcert.pem" -key "$TEST_DIR/phone2/sslclientkey.pem" -CAfile "$CA" \
  -sess_in "$TEST_DIR/phone2.session"
assert_contains "$S_OUT" "Reused, TLSv1.3" "before the revocation, the saved session resumes"
assert_contains "$S_OUT" "HTTP/1.0 200 OK" "and the resumed session gets the file"

ok pb cert revoke "$revoked_serial"
fetch "$HTTPS$PHONE_FILE" "${AS_PHONE2[@]}"
assert_eq 000 "$CODE" "the revoked certificate gets no response on the next connection, without a restart"
s_client -cert "$TEST_DIR/phone2/sslclientcert.pem" -key "$TEST_DIR/phone2/sslclientkey.pem" -CAfile "$CA"
assert_ne 0 "$S_STATUS" "s_client with the revoked certificate fails"
assert_contains "$S_OUT" "alert certificate revoked" "the server says revoked (alert 44)"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response for a revoked certificate"
s_client -cert "$TEST_DIR/phone2/sslclientcert.pem" -key "$TEST_DIR/phone2/sslclientkey.pem" -CAfile "$CA" \
  -sess_in "$TEST_DIR/phone2.session"
assert_not_contains "$S_OUT" "HTTP/1.0 200" "a session saved before the revocation does not get the file either"
wait_for_log "failed (revoked)" 2
fetch "$HTTPS$PHONE_FILE" "${AS_PHONE[@]}"
assert_code 200 "the IP542N's other certificate still works"
ok pb cert list "$PHONE"
assert_match "$revoked_serial .* 20[0-9-]+T" "$OUT" "cert list shows when it was revoked"

# ---- certificates made with openssl: expired, another CA, not issued by provbox ----
# `openssl ca` with the device CA's key, to give dates in the past (OpenSSL
# 3.0's `x509 -req` cannot set a start date).
mkdir -p "$TEST_DIR/ownca/new"
: >"$TEST_DIR/ownca/index.txt"
cat >"$TEST_DIR/ownca/ca.cnf" <<EOF
[ca]
default_ca = here
[here]
dir = $TEST_DIR/ownca
database = \$dir/index.txt
new_certs_dir = \$dir/new
rand_serial = yes
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[authority]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
EOF
# openssl_client_cert NAME CA_CERT CA_KEY MAC START END: NAME.pem/NAME.key in $TEST_DIR/ownca.
openssl_client_cert() {
  local name=$1 ca_cert=$2 ca_key=$3 mac=$4 start=$5 end=$6 dir=$TEST_DIR/ownca
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "/O=provbox/CN=$mac" \
    -out "$dir/$name.csr" 2>"$dir/err" || fail "openssl req for $name" "$(cat "$dir/err")"
  openssl ca -batch -config "$dir/ca.cnf" -cert "$ca_cert" -keyfile "$ca_key" -in "$dir/$name.csr" \
    -out "$dir/$name.pem" -notext -startdate "$start" -enddate "$end" -extensions client 2>"$dir/err" ||
    fail "openssl ca for $name" "$(cat "$dir/err")"
}

openssl_client_cert expired "$CA" "$DATA/ca/ca.key" "$PHONE" 20200101000000Z 20210101000000Z
assert_contains "$(openssl x509 -noout -enddate -in "$TEST_DIR/ownca/expired.pem")" "2021" "the test certificate expired in 2021"
run openssl verify -CAfile "$CA" -no_check_time "$TEST_DIR/ownca/expired.pem"
assert_status 0 "the expired certificate chains to the device CA (dates aside)"
run openssl verify -CAfile "$CA" "$TEST_DIR/ownca/expired.pem"
assert_contains "$ERR" "certificate has expired" "openssl verify: expired is all that is wrong with it"
fetch "$HTTPS$PHONE_FILE" --cacert "$CA" --cert "$TEST_DIR/ownca/expired.pem" --key "$TEST_DIR/ownca/expired.key"
assert_eq 000 "$CODE" "an expired certificate gets no response"
s_client -cert "$TEST_DIR/ownca/expired.pem" -key "$TEST_DIR/ownca/expired.key" -CAfile "$CA"
assert_contains "$S_OUT" "alert certificate expired" "the server says expired (alert 45)"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response for an expired certificate"
wait_for_log "failed (expired)" 2

# Another CA, with a leaf naming a demo MAC.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TEST_DIR/ownca/other-ca.key" -subj "/O=provbox/CN=provbox device CA" \
  -days 30 -out "$TEST_DIR/ownca/other-ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl_client_cert foreign "$TEST_DIR/ownca/other-ca.pem" "$TEST_DIR/ownca/other-ca.key" "$PHONE" \
  "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
fetch "$HTTPS$PHONE_FILE" --cacert "$CA" --cert "$TEST_DIR/ownca/foreign.pem" --key "$TEST_DIR/ownca/foreign.key"
assert_eq 000 "$CODE" "a certificate from another CA (same CA name, CN = a demo MAC) gets no response"
s_client -cert "$TEST_DIR/ownca/foreign.pem" -key "$TEST_DIR/ownca/foreign.key" -CAfile "$CA"
assert_ne 0 "$S_STATUS" "s_client with another CA's certificate fails"
assert_match "alert (unknown ca|decrypt error|bad certificate)" "$S_OUT" "the server refuses the foreign chain"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response for another CA's certificate"
# The same, sending the foreign CA along as a chain.
cat "$TEST_DIR/ownca/foreign.pem" "$TEST_DIR/ownca/other-ca.pem" >"$TEST_DIR/ownca/foreign-chain.pem"
fetch "$HTTPS$PHONE_FILE" --cacert "$CA" --cert "$TEST_DIR/ownca/foreign-chain.pem" --key "$TEST_DIR/ownca/foreign.key"
assert_eq 000 "$CODE" "another CA's certificate with its CA sent along gets no response"
wait_for_log "failed (unknown_ca)" 3

# Signed by the device CA, valid, right MAC, but never issued by provbox:
# the store does not know the serial.
openssl_client_cert stray "$CA" "$DATA/ca/ca.key" "$PHONE" \
  "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
run openssl verify -CAfile "$CA" "$TEST_DIR/ownca/stray.pem"
assert_status 0 "the stray certificate verifies against the device CA"
fetch "$HTTPS$PHONE_FILE" --cacert "$CA" --cert "$TEST_DIR/ownca/stray.pem" --key "$TEST_DIR/ownca/stray.key"
assert_eq 000 "$CODE" "a device-CA certificate that provbox never issued gets no response"

# ---- TLS 1.1 ------------------------------------------------------------------------
# The client's own security level would stop it from offering TLS 1.1 at
# all; lowered, it does offer it, and the server must say no.
s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -cert "$TEST_DIR/phone/sslclientcert.pem" \
  -key "$TEST_DIR/phone/sslclientkey.pem" -CAfile "$CA"
assert_ne 0 "$S_STATUS" "a TLS 1.1-only client fails"
assert_contains "$S_OUT" "alert protocol version" "the server refuses TLS 1.1 (alert 70)"
assert_not_contains "$S_OUT" "HTTP/1." "no HTTP response over TLS 1.1"
run curl -s --max-time 10 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' "${AS_PHONE[@]}" "$HTTPS$PHONE_FILE"
assert_ne 0 "$STATUS" "curl limited to TLS 1.1 fails"
wait_for_log "failed (protocol)" 1

# ---- /metrics: handshake failures by reason, HTTPS requests by status ------------------
assert_gt "$(metric 'provbox_tls_handshake_failures_total{reason="no_certificate"}')" 2 "metrics: no certificate"
assert_gt "$(metric 'provbox_tls_handshake_failures_total{reason="revoked"}')" 1 "metrics: revoked"
assert_gt "$(metric 'provbox_tls_handshake_failures_total{reason="expired"}')" 1 "metrics: expired"
assert_gt "$(metric 'provbox_tls_handshake_failures_total{reason="unknown_ca"}')" 2 "metrics: unknown CA"
assert_gt "$(metric 'provbox_tls_handshake_failures_total{reason="protocol"}')" 0 "metrics: protocol version"
assert_eq 2 "$(metric provbox_tls_cached_sessions)" "metrics: one TLS session kept per device (the phone, with two certificates, and the ATA)"
assert_gt "$(metric 'provbox_requests_total{transport="https",status="200"}')" 5 "metrics: HTTPS 200s"
assert_gt "$(metric 'provbox_requests_total{transport="https",status="403"}')" 1 "metrics: HTTPS 403s"

# After all those refusals the server still serves.
fetch "$HTTPS$PHONE_FILE" "${AS_PHONE[@]}"
assert_code 200 "HTTPS still serves after the refused handshakes"
stop_server
assert_eq 0 "$SERVER_STATUS" "SIGTERM: provbox serve exits 0"
