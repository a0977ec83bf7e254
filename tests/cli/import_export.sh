#!/usr/bin/env bash
# `device import FILE.csv`: all rows or none, errors named FILE:LINE; `device
# export` re-imported into a fresh inventory exports the same.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo

# ---- a good file: quoted fields with commas and quotes, CRLF line ends -------
printf '%s\r\n' \
  'mac,model,serial,hw,sw,ip,key,label,group,enabled' \
  '00-21-F2-AA-00-01,IP542N,S1,h1,s1,10.1.1.1,,"Smith, John",sales,1' \
  '0021f2aa0002,G502N,S2,,,,secret2,"desk 2, ""east"" wing",sales,yes' \
  '"0021.f2aa.0003","IP542N","S3","","","","","plain",,0' >good.csv
ok pb device import good.csv
assert_contains "$OUT" "3 device(s) imported" "import tells how many devices it imported"
ok pb device list --json
assert_json "$TEST_DIR/out" 'len(d) == 5' \
  '[x["mac"] for x in d if x["mac"].startswith("00:21:f2:aa")] == ["00:21:f2:aa:00:01", "00:21:f2:aa:00:02", "00:21:f2:aa:00:03"]'
ok pb device show 00:21:f2:aa:00:01 --json
assert_json "$TEST_DIR/out" 'd["model"] == "IP542N"' 'd["serial"] == "S1"' 'd["hw"] == "h1"' 'd["sw"] == "s1"' \
  'd["ip"] == "10.1.1.1"' 'd["key"] == ""' 'd["label"] == "Smith, John"' 'd["group"] == "sales"' 'd["enabled"] is True'
ok pb device show 00:21:f2:aa:00:02 --json
assert_json "$TEST_DIR/out" 'd["model"] == "G502N"' 'd["key"] == "secret2"' 'd["label"] == "desk 2, \"east\" wing"' \
  'd["enabled"] is True' 'not any("\r" in str(v) for v in d.values())'
ok pb device show 00:21:f2:aa:00:03 --json
assert_json "$TEST_DIR/out" 'd["serial"] == "S3"' 'd["label"] == "plain"' 'd["group"] == ""' 'd["enabled"] is False'

# Columns in any order, only mac and model required; LF line ends, blank lines.
printf 'label, model ,mac\n\n"two, words",G502N,00:21:f2:aa:00:04\nx,IP542N,00:21:f2:aa:00:05\n\n' >reordered.csv
ok pb device import reordered.csv
assert_contains "$OUT" "2 device(s) imported" "import of reordered columns"
ok pb device show 00:21:f2:aa:00:04 --json
assert_json "$TEST_DIR/out" 'd["model"] == "G502N"' 'd["label"] == "two, words"'

# A spreadsheet's "CSV UTF-8" starts with a byte order mark.
printf '\xef\xbb\xbfmac,model\r\n00:21:f2:aa:00:06,IP542N\r\n' >bom.csv
ok pb device import bom.csv
assert_contains "$OUT" "1 device(s) imported" "import of a file with a UTF-8 byte order mark"

# ---- bad files: a bad row in the middle, nothing imported --------------------
# bad_file NAME LINE ROW: a CRLF file whose line LINE is ROW, good rows around it.
bad_file() {
  local name=$1 line=$2 row=$3 n
  {
    printf 'mac,model,label\r\n'
    for ((n = 2; n <= 5; n++)); do
      if ((n == line)); then printf '%s\r\n' "$row"; else printf '00:21:f2:bb:00:%02d,IP542N,row %d\r\n' "$n" "$n"; fi
    done
  } >"$name"
}
# expect_bad_import NAME LINE: exit 1, one line naming NAME:LINE, dump unchanged.
expect_bad_import() {
  expect_error 1 pb device import "$1"
  assert_contains "$ERR" "$1:$2:" "the message names the file and line"
}

bad_file bad-mac.csv 3 '00:21:f2:bb:00:zz,IP542N,bad mac'
expect_bad_import bad-mac.csv 3
bad_file multicast.csv 4 '01:21:f2:bb:00:04,IP542N,multicast'
expect_bad_import multicast.csv 4
bad_file unknown-model.csv 3 '00:21:f2:bb:00:03,NOPE,unknown model'
expect_bad_import unknown-model.csv 3
assert_contains "$ERR" "NOPE" "the message names the unknown model"
bad_file duplicate-in-file.csv 4 '00-21-f2-bb-00-02,G502N,same MAC as line 2'
expect_bad_import duplicate-in-file.csv 4
bad_file duplicate-existing.csv 3 "0021.f201.1b19,IP542N,the demo phone"
expect_bad_import duplicate-existing.csv 3
bad_file too-few.csv 3 '00:21:f2:bb:00:03,IP542N'
expect_bad_import too-few.csv 3
bad_file too-many.csv 4 '00:21:f2:bb:00:04,IP542N,x,y'
expect_bad_import too-many.csv 4
bad_file bad-quote.csv 3 '00:21:f2:bb:00:03,IP542N,"unterminated'
expect_bad_import bad-quote.csv 3
printf 'mac,model,colour\r\n00:21:f2:bb:00:02,IP542N,red\r\n' >unknown-column.csv
expect_bad_import unknown-column.csv 1
assert_contains "$ERR" "colour" "the message names the unknown column"
printf 'mac,model,label,label\n00:21:f2:bb:00:02,IP542N,a,b\n' >repeated-column.csv
expect_bad_import repeated-column.csv 1
assert_contains "$ERR" "label" "the message names the repeated column"
printf 'mac,label\n00:21:f2:bb:00:02,x\n' >no-model-column.csv
expect_bad_import no-model-column.csv 1
printf 'mac,model,ip\n00:21:f2:bb:00:02,IP542N,10.0.0.2\n00:21:f2:bb:00:03,IP542N,10.0.0.300\n' >bad-ip.csv
expect_bad_import bad-ip.csv 3
printf 'mac,model,key\n00:21:f2:bb:00:02,IP542N,ok\n00:21:f2:bb:00:03,IP542N,has space\n' >bad-key.csv
expect_bad_import bad-key.csv 3
printf 'mac,model,group\n00:21:f2:bb:00:02,IP542N,g\n00:21:f2:bb:00:03,IP542N,a/b\n' >bad-group.csv
expect_bad_import bad-group.csv 3
printf 'mac,model,enabled\n00:21:f2:bb:00:02,IP542N,1\n00:21:f2:bb:00:03,IP542N,maybe\n' >bad-enabled.csv
expect_bad_import bad-enabled.csv 3
# A blank line is skipped but counted: the next rows keep their real line numbers.
printf 'mac,model,label\n"00:21:f2:bb:00:02",IP542N,"x"\n\n00:21:f2:bb:00:03,NOPE,y\n' >blank-line.csv
expect_bad_import blank-line.csv 4
# A missing file exits 2 today (cli.cpp's read_file_argument throws a
# usage_error) while context.hpp counts an unreadable file as a failed
# operation (1); until that is settled, accept either, and check the rest.
run pb device import no-such-file.csv
[[ $STATUS == 1 || $STATUS == 2 ]] || fail "device import of a missing file exits 1 or 2" "got exit $STATUS"
expect_error "$STATUS" pb device import no-such-file.csv
assert_contains "$ERR" "no-such-file.csv" "the message names the missing file"
: >empty.csv
expect_error 1 pb device import empty.csv
expect_error 2 pb device import
expect_error 2 pb device import good.csv reordered.csv

# ---- export, and re-import into a fresh inventory ------------------------------
ok pb device export
cp "$TEST_DIR/out" export1.csv
assert_eq 'mac,model,serial,hw,sw,ip,key,label,group,enabled' "$(head -n1 export1.csv)" "the export's header"
assert_eq 9 "$(wc -l <export1.csv)" "the export has a header and one line per device"
grep -qxF '00:21:f2:aa:00:02,G502N,S2,,,,secret2,"desk 2, ""east"" wing",sales,1' export1.csv ||
  fail "the export quotes fields with commas and doubles quotes" "got: $(cat export1.csv)"
grep -qxF '00:21:f2:aa:00:03,IP542N,S3,,,,,plain,,0' export1.csv ||
  fail "the export writes a disabled device as 0" "got: $(cat export1.csv)"
ok pb device export --group sales
assert_eq 3 "$(wc -l <"$TEST_DIR/out")" "device export --group sales: a header and two devices"

DB=$TEST_DIR/fresh.db
ok pb init
ok pb model add IP542N --pattern 'fv$(MAU).conf'
ok pb model add G502N --pattern 'fv$(MAU).conf'
ok pb device import export1.csv
assert_contains "$OUT" "8 device(s) imported" "the export imports whole"
ok pb device export
assert_files_equal export1.csv "$TEST_DIR/out" "export, import, export gives the same file"
