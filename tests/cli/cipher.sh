#!/usr/bin/env bash
# `provbox encrypt K SRC DST` is decrypted by `openssl enc -d -aes-256-cbc -md
# md5 -k K`, and `openssl enc -aes-256-cbc -md md5 -k K` output is decrypted by
# `provbox decrypt`; a wrong key exits 1 and leaves DST alone.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# Plain files around the AES block size, text with tabs, and binary bytes.
printf '' >size0
printf 'x' >size1
printf '0123456789abcde' >size15
printf '0123456789abcdef' >size16
printf '0123456789abcdef0' >size17
printf 'DBID_DBASE_VERSION=10001\nDBID_SIP_ENABLE=1\t0\t0\t0\nDBID_SIP_ACCOUNT=23103\n' >profile.conf
head -c 5000 /dev/urandom >random.bin
long_key=$(printf 'k%.0s' {1..128})

for key in 123456 'pass!#$%&*()_+-=;:,.<>/?' "$long_key"; do
  for plain in size0 size1 size15 size16 size17 profile.conf random.bin; do
    # provbox encrypts, openssl decrypts.
    rm -f enc dec
    ok "$PROVBOX" encrypt "$key" "$plain" enc
    assert_stdout_empty "encrypt $plain"
    assert_eq Salted__ "$(head -c8 enc)" "encrypt $plain: openssl's Salted__ header"
    size=$(stat -c %s "$plain")
    assert_eq $((16 + (size / 16 + 1) * 16)) "$(stat -c %s enc)" "encrypt $plain: header, salt and padded blocks"
    openssl enc -d -aes-256-cbc -md md5 -k "$key" -in enc -out dec 2>"$TEST_DIR/openssl.err" ||
      fail "openssl decrypts provbox encrypt of $plain (key '$key')" "$(cat "$TEST_DIR/openssl.err")"
    assert_files_equal "$plain" dec "openssl decrypts provbox encrypt of $plain"

    # openssl encrypts, provbox decrypts.
    rm -f enc dec
    openssl enc -aes-256-cbc -md md5 -k "$key" -in "$plain" -out enc 2>/dev/null || fail "openssl encrypts $plain"
    ok "$PROVBOX" decrypt "$key" enc dec
    assert_stdout_empty "decrypt $plain"
    assert_files_equal "$plain" dec "provbox decrypts openssl's encryption of $plain"
  done
done

# Two encryptions of one file use different salts.
ok "$PROVBOX" encrypt 123456 profile.conf enc1
ok "$PROVBOX" encrypt 123456 profile.conf enc2
assert_ne "$(od -An -tx1 enc1)" "$(od -An -tx1 enc2)" "every encryption draws a fresh salt"

# encrypt overwrites DST and leaves no temporary file behind.
echo old >dst
ok "$PROVBOX" encrypt 123456 profile.conf dst
ok "$PROVBOX" decrypt 123456 dst back
assert_files_equal profile.conf back "encrypt replaces an existing DST"
assert_eq "" "$(find . -name '*tmp*')" "no temporary files left"

# ---- a wrong key -------------------------------------------------------------
# A wrong key passes the padding check about 1 time in 256, so this is a fixed
# file made once with `openssl enc -aes-256-cbc -md md5 -k rightkey` from
# fixture.txt below; the wrong keys here were checked to fail, with openssl too.
printf 'DBID_DBASE_VERSION=10001\nDBID_SIP_ENABLE=1\t0\t0\t0\n' >fixture.txt
echo 'U2FsdGVkX19Mg/sPyJGdD5odEl8upI4sD3ynvh+o7Pc+xvWh8Ixf6hym2N/joscwKQfGtbDlpMlBAyTPNsOFzQ98yltnXu3p9fiGzfAJ6zQ=' |
  base64 -d >fixture.enc
ok "$PROVBOX" decrypt rightkey fixture.enc fixture.dec
assert_files_equal fixture.txt fixture.dec "the fixture decrypts with its key"
for key in wrongkey 123456 rightKey; do
  if openssl enc -d -aes-256-cbc -md md5 -k "$key" -in fixture.enc -out /dev/null 2>/dev/null; then
    fail "openssl rejects the fixture with key '$key' (else the fixture is no wrong-key test)"
  fi
  expect_error 1 "$PROVBOX" decrypt "$key" fixture.enc never.txt
  assert_no_file never.txt "decrypt with the wrong key '$key' does not create DST"
  assert_no_file never.txt.provbox-tmp "decrypt with the wrong key '$key' leaves no temporary file"
  echo keep >existing.txt
  expect_error 1 "$PROVBOX" decrypt "$key" fixture.enc existing.txt
  assert_eq keep "$(cat existing.txt)" "decrypt with the wrong key leaves an existing DST alone"
done

# Not an encrypted file at all, or cut short.
expect_error 1 "$PROVBOX" decrypt 123456 profile.conf never.txt
assert_no_file never.txt "decrypt of a plain file does not create DST"
head -c 40 fixture.enc >truncated.enc
expect_error 1 "$PROVBOX" decrypt rightkey truncated.enc never.txt
assert_no_file never.txt "decrypt of a truncated file does not create DST"
head -c 16 fixture.enc >header-only.enc
expect_error 1 "$PROVBOX" decrypt rightkey header-only.enc never.txt
assert_no_file never.txt "decrypt of a header without data does not create DST"

# Wrong arguments.
expect_error 2 "$PROVBOX" encrypt "" profile.conf never.txt
expect_error 2 "$PROVBOX" encrypt 123456 profile.conf
expect_error 2 "$PROVBOX" decrypt 123456 fixture.enc
assert_no_file never.txt "no DST after wrong arguments"
# encrypt and decrypt need no inventory, and create none.
assert_no_file provbox-data "encrypt and decrypt do not create the default inventory"
assert_no_file "$DB" "encrypt and decrypt do not create an inventory"
