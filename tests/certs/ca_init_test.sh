#!/usr/bin/env bash
# ca init: makes the CA and a server certificate with the names asked for,
# adopts an operator's own CA, and never replaces a CA devices already trust.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh" "$@"

ok pb ca init --server-name prov.example --server-address 10.1.1.1
assert_file_exists ca/ca.pem "the CA certificate is made"
assert_file_exists tls/server.pem "the server certificate is made"
sans=$(openssl x509 -in tls/server.pem -noout -ext subjectAltName)
assert_contains "$sans" "DNS:prov.example" "the server name is in the certificate"
assert_contains "$sans" "IP Address:10.1.1.1" "the server address is in the certificate"
verify=$(openssl verify -CAfile ca/ca.pem tls/server.pem)
assert_contains "$verify" "OK" "the device CA signed the server certificate"

ca_before=$(sha256sum ca/ca.pem ca/ca.key)
ok pb ca init
assert_eq "$ca_before" "$(sha256sum ca/ca.pem ca/ca.key)" "a second ca init keeps the CA"

# The operator's own CA.
mkdir own
openssl req -x509 -newkey rsa:2048 -nodes -keyout own/k.pem -out own/c.pem -days 30 -subj /CN=operator-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign 2>/dev/null
expect_error 1 pb ca init --import own/c.pem --key own/k.pem
assert_eq "$ca_before" "$(sha256sum ca/ca.pem ca/ca.key)" "an import never replaces an existing CA"
expect_error 2 pb ca init --import own/c.pem

other=$TEST_DIR/other
ok "$PROVBOX" --data-dir "$other" ca init --import own/c.pem --key own/k.pem
subject=$(openssl x509 -in "$other/ca/ca.pem" -noout -subject)
assert_contains "$subject" "operator-ca" "the imported CA is the one in use"
verify=$(openssl verify -CAfile own/c.pem "$other/tls/server.pem")
assert_contains "$verify" "OK" "the operator's CA signed the server certificate"
assert_eq "600" "$(stat -c %a "$other/ca/ca.key")" "the CA key is private"
