#!/usr/bin/env bash
# Params and variables at global < group < model < device: render shows the
# most specific; param/var list (and --json); a variable cannot be a built-in;
# DBID_DBASE_VERSION set as a param is ignored with a warning.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init
printf 'DBID_X=template\nDBID_U=$(SIP_USER)\nDBID_Z=last\n' >t.conf
ok pb model add M1 --pattern 'a$MA.cfg' --template t.conf
ok pb model add M2 --pattern 'b$MA.cfg' --template t.conf
D1=00:21:f2:00:00:d1  # M1, group g1
D2=00:21:f2:00:00:d2  # M1, no group
D3=00:21:f2:00:00:d3  # M2, group g1
ok pb device add "$D1" --model M1 --group g1
ok pb device add "$D2" --model M1
ok pb device add "$D3" --model M2 --group g1

# value MAC KEY: the value KEY has in MAC's rendered file ("<absent>" if none).
value() {
  local text
  text=$(pb render --plain "$1")
  if [[ $text =~ (^|$'\n')"$2"=([^$'\n']*) ]]; then echo "${BASH_REMATCH[2]}"; else echo "<absent>"; fi
}
# expect_x D1 D2 D3: DBID_X in the three files.
expect_x() {
  assert_eq "$1" "$(value "$D1" DBID_X)" "DBID_X for D1 (M1, group g1)"
  assert_eq "$2" "$(value "$D2" DBID_X)" "DBID_X for D2 (M1, no group)"
  assert_eq "$3" "$(value "$D3" DBID_X)" "DBID_X for D3 (M2, group g1)"
}
# The version of D1 must rise with every change that reaches it.
last_version=$(render_version "$D1")
expect_d1_version_rise() {
  local now
  now=$(render_version "$D1")
  assert_gt "$now" "$last_version" "D1's version rises after: $1"
  last_version=$now
}

expect_x template template template

ok pb param set DBID_X global
expect_d1_version_rise "param set global"
expect_x global global global
assert_eq DBID_X "$(pb render --plain "$D1" | sed -n 2p | cut -d= -f1)" "a param replaces the template's line in place"

ok pb param set DBID_X group --group g1
assert_contains "$OUT" "group g1" "param set tells the scope"
expect_d1_version_rise "param set group"
expect_x group global group

ok pb param set DBID_X model --model m1  # model names are case-insensitive
expect_d1_version_rise "param set model"
expect_x model model group

ok pb param set DBID_X device --device 0021.F200.00D1
expect_d1_version_rise "param set device"
expect_x device model group

ok pb param unset DBID_X --device "$D1"
expect_d1_version_rise "param unset device"
expect_x model model group
ok pb param unset DBID_X --model M1
expect_d1_version_rise "param unset model"
expect_x group global group
ok pb param set DBID_X device --device "$D1"
ok pb param unset DBID_X --group g1
expect_x device global global

# Keys the template lacks follow its lines, sorted across every scope.
ok pb param set DBID_NEW_B b
ok pb param set DBID_NEW_A a --device "$D1"
ok pb param set DBID_NEW_C c --group g1
ok pb render --plain "$D1"
assert_eq "DBID_DBASE_VERSION DBID_X DBID_U DBID_Z DBID_NEW_A DBID_NEW_B DBID_NEW_C" \
  "$(cut -d= -f1 "$TEST_DIR/out" | xargs)" "D1's keys: the version, the template's in order, then new ones sorted"
ok pb render --plain "$D2"
assert_eq "DBID_DBASE_VERSION DBID_X DBID_U DBID_Z DBID_NEW_B" "$(cut -d= -f1 "$TEST_DIR/out" | xargs)" \
  "D2 gets only the global new key"

# Multi-value params keep their tabs.
ok pb param set DBID_SIP_ENABLE "$(printf '1\t1\t0\t0')" --device "$D1"
assert_eq "$(printf '1\t1\t0\t0')" "$(value "$D1" DBID_SIP_ENABLE)" "tabs reach the file"
ok pb param list --device "$D1"
assert_contains "$OUT" '1\t1\t0\t0' "param list shows tabs as \\t"

# ---- variables ------------------------------------------------------------
assert_eq '$(SIP_USER)' "$(value "$D1" DBID_U)" "an unknown macro stays as written"
ok pb var set SIP_USER global
expect_d1_version_rise "var set global"
assert_eq global "$(value "$D1" DBID_U)" "var at global"
ok pb var set SIP_USER group --group g1
ok pb var set SIP_USER model --model M2
ok pb var set SIP_USER device --device "$D1"
assert_eq device "$(value "$D1" DBID_U)" "var at device wins"
assert_eq global "$(value "$D2" DBID_U)" "D2 has only the global var"
assert_eq model "$(value "$D3" DBID_U)" "var at model wins over group"
ok pb var unset SIP_USER --device "$D1"
expect_d1_version_rise "var unset device"
assert_eq group "$(value "$D1" DBID_U)" "var at group once the device's is gone"
# A variable's value may hold macros of its own: they are not expanded again.
ok pb var set SIP_USER 'u$(MA)' --device "$D2"
assert_eq 'u$(MA)' "$(value "$D2" DBID_U)" "no recursive expansion"
ok pb param set DBID_MAC '$(MAU)-$(SIP_USER)' --device "$D2"
assert_eq '0021F20000D2-u$(MA)' "$(value "$D2" DBID_MAC)" "a param mixes built-ins and variables"

# A variable cannot take a built-in's name.
for name in MAU MA MAC PN SN IP SWVER HWVER; do
  expect_error 2 pb var set "$name" x --device "$D1"
  assert_contains "$ERR" "$name" "var set $name: the message names it"
done

# ---- param list / var list --json ---------------------------------------------
ok pb param list --json
assert_json "$TEST_DIR/out" \
  'all(set(x) == {"scope", "target", "name", "value"} for x in d)' \
  '[x["scope"] for x in d] == sorted([x["scope"] for x in d], key=["global", "group", "model", "device"].index)' \
  '{"scope": "global", "target": "", "name": "DBID_NEW_B", "value": "b"} in d' \
  '{"scope": "group", "target": "g1", "name": "DBID_NEW_C", "value": "c"} in d' \
  '{"scope": "device", "target": "00:21:f2:00:00:d1", "name": "DBID_SIP_ENABLE", "value": "1\t1\t0\t0"} in d' \
  'not any(x["scope"] == "model" for x in d)'
ok pb param list --device 0021f20000d1 --json
assert_json "$TEST_DIR/out" 'sorted(x["name"] for x in d) == ["DBID_NEW_A", "DBID_SIP_ENABLE", "DBID_X"]' \
  'all(x["scope"] == "device" and x["target"] == "00:21:f2:00:00:d1" for x in d)'
ok pb param list --model M1 --json
assert_json "$TEST_DIR/out" 'd == []'
ok pb var list --json
assert_json "$TEST_DIR/out" \
  'sorted((x["scope"], x["target"], x["value"]) for x in d if x["name"] == "SIP_USER") == [("device", "00:21:f2:00:00:d2", "u$(MA)"), ("global", "", "global"), ("group", "g1", "group"), ("model", "M2", "model")]'
ok pb var list --group g1
assert_contains "$OUT" "SIP_USER" "var list --group prints the table"

# ---- DBID_DBASE_VERSION belongs to provbox -------------------------------------------
ok pb param set DBID_DBASE_VERSION 5
assert_eq 1 "$(wc -l <"$TEST_DIR/err")" "param set DBID_DBASE_VERSION: one warning line"
assert_match 'warning.*DBID_DBASE_VERSION' "$ERR" "param set DBID_DBASE_VERSION warns"
ok pb param set DBID_DBASE_VERSION 7 --device "$D2"
ok pb render --plain "$D2"
assert_contains "$ERR" "warning" "render warns that the param is ignored"
cp "$TEST_DIR/out" d2.conf
assert_eq 1 "$(grep -c '^DBID_DBASE_VERSION=' d2.conf)" "one DBID_DBASE_VERSION line"
assert_eq "DBID_DBASE_VERSION=$(show_field "$D2" 'dbase version')" "$(head -n1 d2.conf)" \
  "the first line is the computed version"
assert_gt "$(head -n1 d2.conf | cut -d= -f2)" 10000 "the computed version is above the floor"

# A template that sets it is overridden too.
printf 'DBID_A=1\nDBID_DBASE_VERSION=3\nDBID_B=2\n' >t-version.conf
ok pb model set M2 --template t-version.conf
ok pb render --plain "$D3"
assert_contains "$ERR" "template" "render warns about the template's DBID_DBASE_VERSION"
assert_eq "DBID_DBASE_VERSION DBID_A DBID_B DBID_NEW_B DBID_NEW_C DBID_X" "$(cut -d= -f1 "$TEST_DIR/out" | xargs)" \
  "the template's DBID_DBASE_VERSION line is dropped"
assert_eq "DBID_DBASE_VERSION=$(show_field "$D3" 'dbase version')" "$(head -n1 "$TEST_DIR/out")" \
  "the template's value is not used"
