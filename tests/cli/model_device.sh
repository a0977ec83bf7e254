#!/usr/bin/env bash
# Model and device lifecycle: model add with --template and --pattern, device
# add with every field, every MAC spelling, device set (and "" clearing a
# field), list tables and --json, device rm.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init
assert_eq "" "$ERR" "init prints nothing on stderr"

# ---- models ----------------------------------------------------------------
printf '# a comment line\nDBID_IPMODE=0\nDBID_SIP_ENABLE=1\t0\nDBID_LABEL=$(PN)-$(SN)-$(IP)\n' >t1.conf
ok pb model add T1 --config-file T1.cfg --pattern 'cfg$(MAU).xml' --pattern 'dir/$MA.cfg' --template t1.conf
ok pb model add T2 --pattern 'two$MAC.conf'

ok pb --json model show T1
assert_json "$TEST_DIR/out" 'd["name"] == "T1"' 'd["config_file"] == "T1.cfg"' \
  'd["patterns"] == ["cfg$(MAU).xml", "dir/$MA.cfg"]' 'd["template"] == open("t1.conf").read()'
ok pb model show T1
assert_contains "$OUT" "T1.cfg" "model show tells the config file"
assert_contains "$OUT" 'cfg$(MAU).xml  dir/$MA.cfg' "model show lists the patterns in order"
assert_contains "$OUT" "$(printf '  DBID_SIP_ENABLE=1\t0')" "model show prints the template's lines"
assert_not_contains "$OUT" "a comment line" "model show drops template comments"
ok pb --json model show T2
assert_json "$TEST_DIR/out" 'd["config_file"] == "T2.conf"' 'd["template"] == ""'

# Aligned tables: every cell starts at its header's column.
# check_table FILE 'HEADER1|HEADER2|...' 'ROW1 cell|cell|...' ...: the rows,
# in order, each cell at its header's offset.
check_table() {
  python3 - "$@" <<'PY' || fail "table layout" "$(cat "$1")"
import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "the table ends with a newline"
lines = lines[:-1]
headers = sys.argv[2].split("|")
offsets = [lines[0].index(h) for h in headers]
assert offsets == sorted(offsets) and offsets[0] == 0, f"header {lines[0]!r}"
want = [row.split("|") for row in sys.argv[3:]]
assert len(lines) == 1 + len(want), f"expected {len(want)} rows, got {len(lines) - 1}"
for line, cells in zip(lines[1:], want):
    for i, cell in enumerate(cells):
        end = offsets[i + 1] if i + 1 < len(offsets) else len(line)
        got = line[offsets[i]:end]
        assert got.rstrip() == cell, f"column {headers[i]!r}: expected {cell!r}, got {got!r} in {line!r}"
        if line[end:].strip():
            assert got.endswith("  "), f"at least two spaces after {cell!r} in {line!r}"
    assert line == line.rstrip(), f"no trailing spaces in {line!r}"
PY
}

ok pb model list
check_table "$TEST_DIR/out" 'MODEL|CONFIG FILE|PATTERNS|DEVICES|TEMPLATE LINES' \
  'T1|T1.cfg|cfg$(MAU).xml dir/$MA.cfg|0|3' 'T2|T2.conf|two$MAC.conf|0|0'
ok pb model list --json
assert_json "$TEST_DIR/out" '[m["name"] for m in d] == ["T1", "T2"]' \
  'd[0]["patterns"] == ["cfg$(MAU).xml", "dir/$MA.cfg"]' 'd[1]["config_file"] == "T2.conf"'

# ---- a device with every field ---------------------------------------------
MAC=00:21:f2:01:1b:19
ok pb device add 00:21:F2:01:1B:19 --model T1 --serial SN-1 --hw HW1 --sw SW1 --ip 10.0.0.5 --key k3y \
  --label 'front desk, left' --group sales
assert_contains "$OUT" "$MAC" "device add names the device in its normalized form"

ok pb device show "$MAC"
cp "$TEST_DIR/out" show.txt
for spelling in 00:21:F2:01:1B:19 00-21-f2-01-1b-19 0021f2011b19 0021.f201.1b19 0021F2011B19 00-21-F2-01-1B-19; do
  ok pb device show "$spelling"
  assert_files_equal show.txt "$TEST_DIR/out" "device show $spelling is the same device"
done
assert_eq "$MAC" "$(show_field "$MAC" mac)" "show: mac"
assert_eq T1 "$(show_field "$MAC" model)" "show: model"
assert_eq SN-1 "$(show_field "$MAC" serial)" "show: serial"
assert_eq HW1 "$(show_field "$MAC" hardware)" "show: hardware"
assert_eq SW1 "$(show_field "$MAC" software)" "show: software"
assert_eq 'front desk, left' "$(show_field "$MAC" label)" "show: label"
assert_eq sales "$(show_field "$MAC" group)" "show: group"
assert_eq 10.0.0.5 "$(show_field "$MAC" 'static ip')" "show: static ip"
assert_match '^yes' "$(show_field "$MAC" encrypted)" "show: encrypted"
assert_eq yes "$(show_field "$MAC" enabled)" "show: enabled"
assert_eq T1.cfg "$(show_field "$MAC" 'option 66 file')" "show: the model's config file"
assert_eq '[--key k3y]http://127.0.0.1:8080/cfg$(MAU).xml' "$(show_field "$MAC" 'profile rule')" \
  "show: the profile rule has the key and the first pattern"
assert_eq "$(render_version "$MAC")" "$(show_field "$MAC" 'dbase version')" "show: the version render uses"

ok pb device show 0021.f201.1b19 --json
assert_json "$TEST_DIR/out" 'd["mac"] == "00:21:f2:01:1b:19"' 'd["model"] == "T1"' 'd["serial"] == "SN-1"' \
  'd["hw"] == "HW1"' 'd["sw"] == "SW1"' 'd["ip"] == "10.0.0.5"' 'd["key"] == "k3y"' \
  'd["label"] == "front desk, left"' 'd["group"] == "sales"' 'd["enabled"] is True' \
  'd["config_file"] == "T1.cfg"' 'isinstance(d["dbase_version"], int) and d["dbase_version"] > 10000' \
  'd["profile_rule"] == "[--key k3y]http://127.0.0.1:8080/cfg$(MAU).xml"'

# The device's fields reach its file: PN, SN and IP are built-in macros.
ok pb render --plain 0021f2011b19
grep -qxF DBID_LABEL=T1-SN-1-10.0.0.5 "$TEST_DIR/out" || fail "PN, SN and IP expand in the file" "got: $OUT"
ok pb render "$MAC"
assert_eq Salted__ "$(head -c8 "$TEST_DIR/out")" "a device with a key gets an encrypted file"

# A second device with only the required fields.
MAC2=00:21:f2:aa:bb:0c
ok pb device add 0021.F2AA.BB0C --model T2
ok pb device show "$MAC2" --json
assert_json "$TEST_DIR/out" 'd["model"] == "T2"' \
  'all(d[k] == "" for k in ("serial", "hw", "sw", "ip", "key", "label", "group"))' 'd["enabled"] is True' \
  'd["profile_rule"] == "http://127.0.0.1:8080/two$MAC.conf"'
assert_eq - "$(show_field "$MAC2" serial)" "show: an empty field is '-'"

ok pb device list
check_table "$TEST_DIR/out" 'MAC|MODEL|GROUP|IP|ENCRYPTED|ENABLED|VERSION|LABEL' \
  "$MAC|T1|sales|10.0.0.5|yes|yes|$(render_version "$MAC")|front desk, left" \
  "$MAC2|T2|-|-|no|yes|$(render_version "$MAC2")|"
ok pb device list --json
assert_json "$TEST_DIR/out" '[x["mac"] for x in d] == ["00:21:f2:01:1b:19", "00:21:f2:aa:bb:0c"]' \
  'd[0]["label"] == "front desk, left" and d[0]["key"] == "k3y" and d[0]["group"] == "sales"' \
  'd[1]["model"] == "T2" and d[1]["ip"] == ""' 'all(isinstance(x["dbase_version"], int) for x in d)'
ok pb device list --model T2 --json
assert_json "$TEST_DIR/out" '[x["mac"] for x in d] == ["00:21:f2:aa:bb:0c"]'
ok pb device list --group sales --json
assert_json "$TEST_DIR/out" '[x["mac"] for x in d] == ["00:21:f2:01:1b:19"]'
ok pb model list --json
assert_json "$TEST_DIR/out" '[m["name"] for m in d] == ["T1", "T2"]'
ok pb model list
check_table "$TEST_DIR/out" 'MODEL|CONFIG FILE|PATTERNS|DEVICES|TEMPLATE LINES' \
  'T1|T1.cfg|cfg$(MAU).xml dir/$MA.cfg|1|3' 'T2|T2.conf|two$MAC.conf|1|0'

# ---- device set ----------------------------------------------------------------
before=$(render_version "$MAC")
ok pb device set 00-21-f2-01-1b-19 --label 'new label' --sw SW2 --ip ""
ok pb device show "$MAC" --json
assert_json "$TEST_DIR/out" 'd["label"] == "new label"' 'd["sw"] == "SW2"' 'd["ip"] == ""' \
  'd["serial"] == "SN-1" and d["hw"] == "HW1" and d["key"] == "k3y" and d["group"] == "sales"'
assert_eq - "$(show_field "$MAC" 'static ip')" "device set --ip \"\" clears the static IP"
assert_gt "$(render_version "$MAC")" "$before" "device set raises the device's version"

ok pb device set "$MAC" --key "" --group ""
assert_match '^no' "$(show_field "$MAC" encrypted)" "device set --key \"\" removes the key"
assert_eq - "$(show_field "$MAC" group)" "device set --group \"\" clears the group"
assert_eq 'http://127.0.0.1:8080/cfg$(MAU).xml' "$(show_field "$MAC" 'profile rule')" "no [--key] without a key"
ok pb render "$MAC"
assert_match '^DBID_DBASE_VERSION=' "$(head -n1 "$TEST_DIR/out")" "a device without a key gets a plain file"

ok pb device set "$MAC" --disable
assert_eq no "$(show_field "$MAC" enabled)" "device set --disable"
ok pb device set "$MAC" --enable
assert_eq yes "$(show_field "$MAC" enabled)" "device set --enable"

ok pb device set "$MAC" --model T2 --serial SN-2 --hw HW2
ok pb device show "$MAC" --json
assert_json "$TEST_DIR/out" 'd["model"] == "T2"' 'd["serial"] == "SN-2"' 'd["hw"] == "HW2"' \
  'd["config_file"] == "T2.conf"' 'd["label"] == "new label"'

# ---- device rm and model rm -------------------------------------------------------
ok pb device rm 0021.f201.1b19
assert_contains "$OUT" "$MAC" "device rm names the device"
expect_error 1 pb device show "$MAC"
ok pb device list --json
assert_json "$TEST_DIR/out" '[x["mac"] for x in d] == ["00:21:f2:aa:bb:0c"]'
ok pb model rm T1
ok pb model list --json
assert_json "$TEST_DIR/out" '[m["name"] for m in d] == ["T2"]'
ok pb device rm "$MAC2"
ok pb device list --json
assert_json "$TEST_DIR/out" 'd == []'
ok pb device list
assert_eq "MAC  MODEL  GROUP  IP  ENCRYPTED  ENABLED  VERSION  LABEL" "$OUT" "an empty device list is its header"
