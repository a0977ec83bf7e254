#!/usr/bin/env bash
# bump: MAC, --model, --group and --all raise the rendered version (of those
# devices only); bump with nothing is a usage error; --floor raises every
# version above the floor and refuses to lower it.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
# PHONE: model IP542N, no group. ATA: model G502N, group office.

# expect_bump WHAT PHONE_RISES ATA_RISES BUMP-ARGS...
expect_bump() {
  local what=$1 phone_rises=$2 ata_rises=$3
  shift 3
  local phone_before ata_before phone_after ata_after
  phone_before=$(render_version "$PHONE")
  ata_before=$(render_version "$ATA")
  ok pb bump "$@"
  phone_after=$(render_version "$PHONE")
  ata_after=$(render_version "$ATA")
  if [[ $phone_rises == yes ]]; then
    assert_gt "$phone_after" "$phone_before" "$what raises the IP542N's version"
  else
    assert_eq "$phone_before" "$phone_after" "$what leaves the IP542N's version alone"
  fi
  if [[ $ata_rises == yes ]]; then
    assert_gt "$ata_after" "$ata_before" "$what raises the G502N's version"
  else
    assert_eq "$ata_before" "$ata_after" "$what leaves the G502N's version alone"
  fi
  assert_eq "$phone_after" "$(show_field "$PHONE" 'dbase version')" "$what: device show agrees with render"
}

expect_bump "bump MAC" yes no "$PHONE"
expect_bump "bump MAC (dotted)" no yes 0021.f222.aef1
expect_bump "bump MAC MAC" yes yes "$PHONE" "$ATA"
expect_bump "bump --model IP542N" yes no --model IP542N
expect_bump "bump --model g502n" no yes --model g502n
expect_bump "bump --group office" no yes --group office
expect_bump "bump --group nobody" no no --group nobody
expect_bump "bump --all" yes yes --all

# The encrypted file carries the new version too.
ok pb render "$ATA"
openssl enc -d -aes-256-cbc -md md5 -k 123456 -in "$TEST_DIR/out" -out ata.dec 2>/dev/null || fail "openssl decrypts"
assert_eq "DBID_DBASE_VERSION=$(render_version "$ATA")" "$(head -n1 ata.dec)" "the encrypted file has the bumped version"

# Nothing to bump, or something unknown: errors, nothing changed.
expect_error 2 pb bump
expect_error 1 pb bump --model NOPE
expect_error 1 pb bump 00:21:f2:0a:0b:0c

# --floor N: every version becomes at least N + 1.
phone_before=$(render_version "$PHONE")
expect_bump "bump --floor 50000" yes yes --floor 50000
assert_gt "$(render_version "$PHONE")" 50000 "the IP542N's version is above the new floor"
assert_gt "$(render_version "$ATA")" 50000 "the G502N's version is above the new floor"
assert_gt 50000 "$phone_before" "the floor was above the old versions (or the test proves nothing)"
# Lowering it, even by one, is refused; the same floor again is harmless.
expect_error 1 pb bump --floor 49999
expect_error 1 pb bump --floor 10000
expect_error 2 pb bump --floor ''
expect_bump "bump --floor 50000 (again)" no no --floor 50000
# With a bump in the same call; if the bump fails, the floor stays.
expect_error 1 pb bump --floor 70000 --model NOPE
assert_gt 70000 "$(render_version "$PHONE")" "a failed bump --floor does not raise the floor"
expect_bump "bump --floor 70000 --model G502N" yes yes --floor 70000 --model G502N
assert_gt "$(render_version "$PHONE")" 70000 "the IP542N's version is above 70000"

# New devices start above the floor too.
ok pb device add 00:21:f2:0a:0b:0c --model IP542N
assert_gt "$(render_version 00:21:f2:0a:0b:0c)" 70000 "a new device's version is above the floor"
