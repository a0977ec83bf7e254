#!/usr/bin/env bash
# Bad input: a wrong argument exits 2, a failed operation exits 1; either way
# exactly one line on stderr, nothing on stdout, and the database unchanged
# (`sqlite3 .dump` and `PRAGMA user_version` identical before and after).
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
NEW=00:21:f2:0a:0b:0c  # not in the inventory

# ---- 2: a wrong argument ----------------------------------------------------
# Bad MACs, wherever a MAC is taken.
for mac in zz 00:21:f2:01:1b 00:21:f2:01:1b:19:00 00:21:f2:01:1b:1g 00:21-f2:01:1b:19 0021f2011b1 \
           0021.f2011b19 00::21:f2:01:1b:19 "" 00:00:00:00:00:00 01:00:5e:00:00:01 ff:ff:ff:ff:ff:ff; do
  expect_error 2 pb device add "$mac" --model IP542N
  assert_contains "$ERR" "MAC address" "device add '$mac': the message is about the MAC"
done
expect_error 2 pb device show 00:21:f2:01:1b
expect_error 2 pb device set 00:21:f2:01:1b --label x
expect_error 2 pb device rm not-a-mac
expect_error 2 pb render 0021f2011b1x
expect_error 2 pb bump 00:21:f2:01:1b
expect_error 2 pb param set DBID_X 1 --device 00:21:f2:01:1b

# Unknown options, before and after the command.
expect_error 2 pb device list --bogus
assert_contains "$ERR" "--bogus" "the message names the unknown option"
expect_error 2 pb device add "$NEW" --model IP542N --colour red
expect_error 2 pb render "$PHONE" --plain=yes
expect_error 2 "$PROVBOX" --db "$DB" --bogus device list
expect_error 2 pb frobnicate
expect_error 2 pb device frobnicate

# Missing required options and arguments.
expect_error 2 pb device add "$NEW"
assert_contains "$ERR" "--model" "the message names the missing option"
expect_error 2 pb device add --model IP542N
expect_error 2 pb device add "$NEW" --model
expect_error 2 pb device set "$PHONE"
expect_error 2 pb device show
expect_error 2 pb param set DBID_X
expect_error 2 pb var set ONLY_NAME
expect_error 2 pb model add
expect_error 2 pb render
expect_error 2 pb encrypt 123456 only-src
expect_error 2 pb device show "$PHONE" "$ATA"
expect_error 2 "$PROVBOX" --db
# No command at all prints the usage (many lines) on stderr; still exit 2.
db_snapshot before-usage.txt
run "$PROVBOX" --db "$DB"
assert_status 2 "no command"
assert_stdout_empty "no command"
assert_contains "$ERR" "usage: provbox" "no command prints the usage on stderr"
assert_db_unchanged before-usage.txt "no command"

# Bad --ip.
for ip in 1.2.3 256.1.1.1 1.2.3.4.5 10.0.0.x ::1 " 10.0.0.1"; do
  expect_error 2 pb device add "$NEW" --model IP542N --ip "$ip"
done
expect_error 2 pb device set "$PHONE" --ip 10.0.0.256
expect_error 2 pb render "$PHONE" --ip 999.1.1.1

# Bad key: spaces, brackets (they would break the Profile Rule's [--key K]).
for key in "a b" "a]b" "[a" " "; do
  expect_error 2 pb device add "$NEW" --model IP542N --key "$key"
  assert_contains "$ERR" "key" "device add --key '$key': the message is about the key"
done
expect_error 2 pb device set "$ATA" --key "12 34"

# Bad group names.
for group in "a b" "a/b" "a,b" "x;y"; do
  expect_error 2 pb device add "$NEW" --model IP542N --group "$group"
  assert_contains "$ERR" "group" "device add --group '$group': the message is about the group"
done
expect_error 2 pb device set "$PHONE" --group "bad group"
expect_error 2 pb bump --group "bad group"
# TODO(cli.cpp): `param set K V --group "bad group"` exits 1 (the store's
# "invalid group name"), not 2; scope_argument does not check the name.

# Invalid patterns and model names.
for pattern in foo.conf '/abs$MA.conf' '$MA$MAU.conf' '$(MA:2).conf' '$(SN)$MA.conf' '../$MA' 'a//$MA' \
               'a$$MA' 'x?$MA' ''; do
  expect_error 2 pb model add NEWM --pattern "$pattern"
  assert_contains "$ERR" "pattern" "model add --pattern '$pattern': the message is about the pattern"
done
expect_error 2 pb model set IP542N --pattern 'no-mac.conf'
expect_error 2 pb model add "bad name" --pattern 'x$MA'
expect_error 2 pb model add NEWM --config-file a/b.conf

# A template with a syntax error names FILE:LINE.
printf 'DBID_A=1\n# fine\nDBID_B has no equals sign\nDBID_C=3\n' >missing-equals.conf
expect_error 2 pb model add NEWM --pattern 'x$MA' --template missing-equals.conf
assert_contains "$ERR" "missing-equals.conf:3:" "the message names the template's file and line"
printf 'DBID_A=1\nDBID_B=2\n\nDBID_A=3\n' >duplicate-key.conf
expect_error 2 pb model set IP542N --template duplicate-key.conf
assert_contains "$ERR" "duplicate-key.conf:4:" "a duplicate key is named by its line"
printf 'DBID_A=1\nBAD KEY=2\n' >bad-key.conf
expect_error 2 pb model add NEWM --template bad-key.conf
assert_contains "$ERR" "bad-key.conf:2:" "an invalid key is named by its line"
# A missing file: 2 today, though context.hpp calls an unreadable file a
# failed operation (1); see import_export.sh.
run pb model add NEWM --template no-such-file.conf
[[ $STATUS == 1 || $STATUS == 2 ]] || fail "model add with a missing template exits 1 or 2" "got exit $STATUS"
expect_error "$STATUS" pb model add NEWM --template no-such-file.conf

# Bad names and values for params and variables.
expect_error 2 pb var set MAU 1
expect_error 2 pb var set "SIP USER" 1
expect_error 2 pb param set "BAD KEY" 1
expect_error 2 pb param set DBID_X "$(printf 'two\nlines')"
expect_error 2 pb param set DBID_X 1 --model IP542N --group office
expect_error 2 pb bump --floor abc
expect_error 2 pb bump --floor -5
expect_error 2 pb bump

# ---- 1: a failed operation --------------------------------------------------
# Unknown MAC.
expect_error 1 pb device show "$NEW"
assert_contains "$ERR" "$NEW" "the message names the unknown device"
expect_error 1 pb device set 0021.f20a.0b0c --label x
expect_error 1 pb device rm "$NEW"
expect_error 1 pb render "$NEW"
expect_error 1 pb bump "$PHONE" "$NEW"
expect_error 1 pb param set DBID_X 1 --device "$NEW"
expect_error 1 pb var set SIP_USER 1 --device "$NEW"
expect_error 1 pb param list --device "$NEW"

# Duplicate device, in another spelling.
expect_error 1 pb device add 0021.F201.1B19 --model G502N
assert_contains "$ERR" "already exists" "the message says the device exists"

# Unknown model.
expect_error 1 pb device add "$NEW" --model NOPE
assert_contains "$ERR" "NOPE" "the message names the unknown model"
expect_error 1 pb device set "$PHONE" --model NOPE
expect_error 1 pb model show NOPE
expect_error 1 pb model set NOPE --config-file x.conf
expect_error 1 pb model rm NOPE
expect_error 1 pb param set DBID_X 1 --model NOPE
expect_error 1 pb bump --model NOPE
expect_error 1 pb bump --floor 20000 --model NOPE  # the floor is not raised either

# A duplicate model (names are case-insensitive).
expect_error 1 pb model add IP542N
expect_error 1 pb model add ip542n --pattern 'x$MA'

# model rm while devices use it.
expect_error 1 pb model rm IP542N
assert_contains "$ERR" "device" "the message says devices use the model"

# Unsetting what is not set, at the scope named.
expect_error 1 pb param unset DBID_NOT_SET
expect_error 1 pb param unset DBID_SUBNET_MASK --group office  # set globally, not for the group
expect_error 1 pb var unset SIP_USER                           # set per device, not globally
expect_error 1 pb var unset SIP_SERVER --device "$PHONE"

# Lowering the version floor.
expect_error 1 pb bump --floor 5

# A missing database is not created by anything but init.
CHECK_DB=$TEST_DIR/missing.db
for command in "device list" "model add M1 --pattern x\$MA" "device add $NEW --model IP542N" "render $PHONE"; do
  # shellcheck disable=SC2086
  expect_error 1 "$PROVBOX" --db "$CHECK_DB" $command
  assert_contains "$ERR" "init" "the message says how to create the inventory"
  assert_no_file "$CHECK_DB" "'$command' does not create the database"
done
unset CHECK_DB

# After all that, the demo still renders as before any of it.
ok pb device list --json
assert_json "$TEST_DIR/out" '[x["mac"] for x in d] == ["00:21:f2:01:1b:19", "00:21:f2:22:ae:f1"]'
