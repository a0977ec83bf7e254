#!/usr/bin/env bash
# `init --demo`, then `render` of both demo devices: the plain IP542N file,
# the encrypted G502N file (openssl decrypts it to `render --plain`), and
# `render --output FILE`.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
assert_file_exists "$DB" "init --demo creates the database"

# ---- IP542N: a plain file -------------------------------------------------
ok pb render "$PHONE"
assert_eq "" "$ERR" "render $PHONE prints no warning"
cp "$TEST_DIR/out" phone.conf

first=$(head -n1 phone.conf)
assert_match '^DBID_DBASE_VERSION=[0-9]+$' "$first" "the first line is the version"
version=${first#DBID_DBASE_VERSION=}
assert_gt "$version" 10000 "the first version is above the default floor"
assert_eq 1 "$(grep -c '^DBID_DBASE_VERSION=' phone.conf)" "DBID_DBASE_VERSION appears once"
assert_eq "$version" "$(show_field "$PHONE" 'dbase version')" "device show tells the version render uses"

grep -qxF "$(printf 'DBID_SIP_ENABLE=1\t0\t0\t0')" phone.conf ||
  fail "the IP542N file has DBID_SIP_ENABLE=1<TAB>0<TAB>0<TAB>0" "got: $(grep '^DBID_SIP_ENABLE=' phone.conf | od -An -c)"
for line in DBID_SIP_ACCOUNT=23103 DBID_SIP_PHONE_NUM=23103 DBID_SIP_DIS_NAME=23103_name \
            DBID_SIP_PASSWORD=23103 DBID_WEB_SIP_SERVER=192.168.10.200 DBID_SUBNET_MASK=255.255.255.0; do
  grep -qxF "$line" phone.conf || fail "the IP542N file has the line $line" "file: $(cat phone.conf)"
done
assert_not_contains "$(cat phone.conf)" '$' "every macro is expanded"
assert_eq "" "$(grep -v '^[A-Za-z0-9_.-]*=' phone.conf || true)" "every line is KEY=VALUE (comments dropped)"
assert_eq 0a "$(last_byte phone.conf)" "the IP542N file ends with a newline"
assert_eq 0 "$(tr -cd '\r' <phone.conf | wc -c)" "no CR in the IP542N file"
# Template keys keep their order; a param the template lacks follows them.
assert_eq "DBID_DBASE_VERSION DBID_IPMODE DBID_SIP_ENABLE" "$(head -n3 phone.conf | cut -d= -f1 | xargs)" \
  "the version, then the template's keys in order"
assert_eq DBID_SUBNET_MASK "$(tail -n1 phone.conf | cut -d= -f1)" "the global param the template lacks comes last"

ok pb render --plain "$PHONE"
assert_files_equal phone.conf "$TEST_DIR/out" "render --plain of a device without a key is render"

ok pb render "$PHONE" --output phone.out
assert_stdout_empty "render --output"
assert_files_equal phone.conf phone.out "render --output writes the bytes render prints"

# The MAC may be given in any spelling.
ok pb render 0021.F201.1B19
assert_files_equal phone.conf "$TEST_DIR/out" "render accepts 0021.F201.1B19"

# ---- G502N: an encrypted file ----------------------------------------------
ok pb render --plain "$ATA"
cp "$TEST_DIR/out" ata.plain
assert_match '^DBID_DBASE_VERSION=[0-9]+$' "$(head -n1 ata.plain)" "the G502N plain file starts with the version"
assert_gt "$(head -n1 ata.plain | cut -d= -f2)" 10000 "the G502N version is above the floor"
grep -qxF "$(printf 'DBID_SIP_ENABLE=1\t1')" ata.plain || fail "the G502N file has DBID_SIP_ENABLE=1<TAB>1" "file: $(cat ata.plain)"
grep -qxF DBID_SIP_ACCOUNT=23104 ata.plain || fail "the G502N file has its own SIP_USER" "file: $(cat ata.plain)"
grep -qxF DBID_DFLT_GW_IP_ADDR=192.168.10.1 ata.plain || fail "the G502N file has its group's param" "file: $(cat ata.plain)"
assert_eq 0a "$(last_byte ata.plain)" "the G502N file ends with a newline"

ok pb render "$ATA"
cp "$TEST_DIR/out" ata.enc
assert_eq Salted__ "$(head -c8 ata.enc)" "the G502N file is in openssl's Salted__ format"
plain_size=$(stat -c %s ata.plain)
assert_eq $((16 + (plain_size / 16 + 1) * 16)) "$(stat -c %s ata.enc)" "header, salt and PKCS#7-padded AES blocks"
openssl enc -d -aes-256-cbc -md md5 -k 123456 -in ata.enc -out ata.dec 2>"$TEST_DIR/openssl.err" ||
  fail "openssl decrypts render's output with the device key" "$(cat "$TEST_DIR/openssl.err")"
assert_files_equal ata.plain ata.dec "the decrypted file is exactly render --plain"

ok pb render "$ATA" --output ata.out
assert_stdout_empty "render --output of an encrypted device"
assert_eq Salted__ "$(head -c8 ata.out)" "render --output writes the encrypted bytes"
openssl enc -d -aes-256-cbc -md md5 -k 123456 -in ata.out -out ata.out.dec 2>/dev/null ||
  fail "openssl decrypts render --output's file"
assert_files_equal ata.plain ata.out.dec "render --output decrypts to render --plain"
assert_ne "$(head -c16 ata.enc | od -An -tx1)" "$(head -c16 ata.out | od -An -tx1)" "every render draws a fresh salt"

ok pb render --plain "$ATA" --output ata.plain.out
assert_files_equal ata.plain ata.plain.out "render --plain --output writes the plain bytes"
