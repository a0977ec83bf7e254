#!/usr/bin/env bash
# cert issue / list / revoke / ca on the real binary: exit codes, the three
# files the phone's upload page wants (checked with the openssl command
# line), what the store records, and that refused commands change nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh" "$@"

revision() { sqlite3 "$DB" "SELECT value FROM meta WHERE key = 'revision'"; }
mode() { stat -c %a "$1"; }

ok pb init --demo

# ---- refusals before anything exists ---------------------------------------
expect_error 1 pb cert issue 00:21:f2:99:99:99
assert_contains "$ERR" "unknown device 00:21:f2:99:99:99" "an unknown MAC is named"
assert_no_file 0021F2999999-certs "no files for an unknown device"
assert_no_file ca "no CA is made for a refused command"
expect_error 2 pb cert issue not-a-mac
expect_error 2 pb cert issue
expect_error 2 pb cert issue "$PHONE" --days 0
expect_error 2 pb cert issue "$PHONE" --days 12x
expect_error 2 pb cert issue "$PHONE" extra
CHECK_DB=$TEST_DIR/none.db expect_error 1 "$PROVBOX" --db "$TEST_DIR/none.db" cert issue "$PHONE"
assert_no_file "$TEST_DIR/none.db" "a mistyped --db creates no inventory"
assert_no_file ca "still no CA"

# ---- issue -----------------------------------------------------------------
ok pb cert issue "$PHONE"
dir=0021F2011B19-certs
for f in cacert.pem sslclientcert.pem sslclientkey.pem; do
  assert_file_exists "$dir/$f" "cert issue writes $f"
  assert_contains "$OUT" "$dir/$f" "cert issue prints the path of $f"
done
assert_contains "$OUT" "Provision CA Certification = cacert.pem" "upload instructions: CA"
assert_contains "$OUT" "Provision Client Certification = sslclientcert.pem" "upload instructions: certificate"
assert_contains "$OUT" "Provision Private Key = sslclientkey.pem" "upload instructions: key"
assert_contains "$OUT" "created the device CA" "the first issue says it made the CA"
[[ $OUT =~ serial\ ([0-9A-F]+) ]] || fail "cert issue prints the serial" "got: $OUT"
phone_serial=${BASH_REMATCH[1]}
assert_eq 32 "${#phone_serial}" "the serial is 128 bits of hex"

assert_eq 600 "$(mode "$dir/sslclientkey.pem")" "the device key is private"
assert_eq 644 "$(mode "$dir/sslclientcert.pem")" "the certificate is public"
assert_eq 700 "$(mode "$dir")" "the folder holding a key is private"
assert_eq 700 "$(mode ca)" "the CA folder is private"
assert_eq 600 "$(mode ca/ca.key)" "the CA key is private"

# What the phone and any TLS server will check, by openssl itself.
run openssl verify -CAfile "$dir/cacert.pem" "$dir/sslclientcert.pem"
assert_status 0 "openssl verify accepts the device certificate"
assert_eq "$dir/sslclientcert.pem: OK" "$OUT" "openssl verify says OK"
run openssl verify -purpose sslclient -CAfile "$dir/cacert.pem" "$dir/sslclientcert.pem"
assert_status 0 "the certificate is good for TLS client authentication"
run openssl verify -purpose sslserver -CAfile "$dir/cacert.pem" "$dir/sslclientcert.pem"
assert_ne 0 "$STATUS" "the certificate is no server certificate"
assert_contains "$(openssl x509 -noout -subject -in "$dir/sslclientcert.pem")" "CN = 00:21:f2:01:1b:19" \
  "the subject names the MAC"
assert_eq "serial=$phone_serial" "$(openssl x509 -noout -serial -in "$dir/sslclientcert.pem")" \
  "the printed serial is openssl's"
assert_eq "$(openssl x509 -noout -pubkey -in "$dir/sslclientcert.pem")" \
  "$(openssl pkey -pubout -in "$dir/sslclientkey.pem")" "the key belongs to the certificate"
assert_eq "-----BEGIN RSA PRIVATE KEY-----" "$(head -n1 "$dir/sslclientkey.pem")" \
  "the key is PKCS#1, as old phones expect"
run openssl rsa -check -noout -in "$dir/sslclientkey.pem"
assert_status 0 "the key is a sound RSA key"
assert_contains "$(openssl x509 -noout -text -in "$dir/sslclientcert.pem")" "Public-Key: (2048 bit)" "RSA-2048"
assert_contains "$(openssl x509 -noout -text -in "$dir/cacert.pem")" "sha256WithRSAEncryption" "signed with SHA-256"
assert_files_equal ca/ca.pem "$dir/cacert.pem" "cacert.pem is the device CA"
assert_eq "$phone_serial|00:21:f2:01:1b:19|device|NULL" \
  "$(sqlite3 -nullvalue NULL "$DB" 'SELECT serial, subject, kind, revoked_at FROM certificates')" \
  "the store records the certificate"

# --out, --days, another MAC spelling, and --json.
ok pb --json cert issue 0021F222AEF1 --out ata --days 30
assert_json "$TEST_DIR/out" 'd["mac"] == "00:21:f2:22:ae:f1"' 'len(d["serial"]) == 32' 'd["ca_created"] is False' \
  'd["files"]["key"] == "ata/sslclientkey.pem"' 'd["not_after"].endswith("Z")'
ata_serial=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["serial"])' "$TEST_DIR/out")
run openssl x509 -noout -checkend $((29 * 86400)) -in ata/sslclientcert.pem
assert_status 0 "--days 30: still valid in 29 days"
run openssl x509 -noout -checkend $((31 * 86400)) -in ata/sslclientcert.pem
assert_status 1 "--days 30: expired in 31 days"
ok openssl verify -CAfile ata/cacert.pem ata/sslclientcert.pem

ok pb cert issue "$PHONE" --out phone2
[[ $OUT =~ serial\ ([0-9A-F]+) ]] || fail "cert issue prints the serial" "got: $OUT"
phone_serial2=${BASH_REMATCH[1]}
assert_ne "$phone_serial" "$phone_serial2" "every certificate has its own serial"
assert_not_contains "$OUT" "created the device CA" "the CA is made once"
assert_files_equal ca/ca.pem phone2/cacert.pem "later certificates come from the same CA"

# ---- list ------------------------------------------------------------------
ok pb cert list
assert_eq 4 "$(wc -l <"$TEST_DIR/out")" "a header and three certificates"
assert_match '^SERIAL +SUBJECT +KIND +NOT AFTER +REVOKED$' "$(head -n1 "$TEST_DIR/out")" "the table's header"
assert_contains "$OUT" "$ata_serial  00:21:f2:22:ae:f1  device" "the ATA's row"
ok pb --json cert list
assert_json "$TEST_DIR/out" 'len(d) == 3' 'not any(c["revoked"] for c in d)' \
  'sorted(c["subject"] for c in d) == ["00:21:f2:01:1b:19", "00:21:f2:01:1b:19", "00:21:f2:22:ae:f1"]'
ok pb --json cert list "$ATA"
assert_json "$TEST_DIR/out" 'len(d) == 1' "d[0][\"serial\"] == \"$ata_serial\""

# ---- revoke ----------------------------------------------------------------
before=$(revision)
ok pb cert revoke 00-21-F2-01-1B-19
assert_contains "$OUT" "revoked 2 certificates of 00:21:f2:01:1b:19" "revoking a MAC revokes all its certificates"
assert_contains "$OUT" "$phone_serial" "the first serial is named"
assert_contains "$OUT" "$phone_serial2" "the second serial is named"
assert_gt "$(revision)" "$before" "revoking moves the revision, so the daemon notices"
ok pb --json cert list
assert_json "$TEST_DIR/out" \
  'all(c["revoked"] == (c["subject"] == "00:21:f2:01:1b:19") for c in d)' \
  'all(c["revoked_at"].endswith("Z") for c in d if c["revoked"])'

snapshot=$TEST_DIR/snapshot.revoked
db_snapshot "$snapshot"
ok pb cert revoke "$PHONE"
assert_contains "$OUT" "already revoked" "revoking twice says so"
assert_db_unchanged "$snapshot" "revoking twice"

# By serial, in the lower-case colon form of openssl x509 -text.
colon_serial=$(echo "${ata_serial,,}" | sed 's/../&:/g; s/:$//')
ok pb cert revoke "$colon_serial"
assert_contains "$OUT" "revoked 1 certificate of serial $ata_serial" "revoke by serial"
revoked=$(sqlite3 "$DB" "SELECT count(*) FROM certificates WHERE serial = '$ata_serial' AND revoked_at IS NOT NULL")
assert_eq 1 "$revoked" "the store marks it revoked"

expect_error 1 pb cert revoke 00:21:f2:99:99:99
assert_contains "$ERR" "no certificate matches" "an unknown MAC matches nothing"
expect_error 1 pb cert revoke ABCDEF0123456789
expect_error 2 pb cert revoke not-a-serial
expect_error 2 pb cert revoke

# ---- the CA certificate ----------------------------------------------------
ok pb cert ca
assert_eq "$(cat ca/ca.pem)" "$OUT" "cert ca prints the CA certificate"
assert_eq "" "$ERR" "and nothing else"
ok pb cert ca --out exported.pem
assert_files_equal ca/ca.pem exported.pem "cert ca --out writes it"
expect_error 1 pb --data-dir "$TEST_DIR/nowhere" cert ca
assert_no_file "$TEST_DIR/nowhere" "a mistyped --data-dir makes no CA"
expect_error 2 pb cert ca extra

# A fresh data folder gets its own CA from cert ca.
mkdir fresh
ok "$PROVBOX" --data-dir fresh cert ca --out fresh.pem
assert_file_exists fresh/ca/ca.key "cert ca makes the CA on first use"
assert_contains "$(openssl x509 -noout -subject -in fresh.pem)" "CN = provbox device CA" "the CA's name"
assert_contains "$(openssl x509 -noout -text -in fresh.pem)" "CA:TRUE" "it is a CA"

echo "cert CLI: all checks passed"
