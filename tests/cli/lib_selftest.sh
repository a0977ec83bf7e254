#!/usr/bin/env bash
# The helpers in lib.sh can fail: each assertion, given a wrong value, exits 1
# (in a subshell here), and passes on a right one. Without this, a helper
# that never fails would make every CLI test pass.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

# must_fail CODE: CODE (a string run with eval in a subshell) exits non-zero.
must_fail() {
  if (eval "$1") >/dev/null 2>"$TEST_DIR/selftest.err"; then
    echo "FAIL lib_selftest: this should have failed: $1" >&2
    exit 1
  fi
  grep -q '^FAIL ' "$TEST_DIR/selftest.err" || {
    echo "FAIL lib_selftest: '$1' failed without a FAIL message: $(cat "$TEST_DIR/selftest.err")" >&2
    exit 1
  }
}
must_pass() {
  (eval "$1") >/dev/null 2>"$TEST_DIR/selftest.err" || {
    echo "FAIL lib_selftest: this should have passed: $1: $(cat "$TEST_DIR/selftest.err")" >&2
    exit 1
  }
}

must_pass 'assert_eq a a x'
must_fail 'assert_eq a b x'
must_fail 'assert_eq "a" "a " x'
must_fail "assert_eq \$'1\\t0' '1 0' x"
must_pass 'assert_ne a b x'
must_fail 'assert_ne a a x'
must_pass 'assert_contains abc b x'
must_fail 'assert_contains abc d x'
must_pass 'assert_not_contains abc d x'
must_fail 'assert_not_contains abc b x'
must_pass 'assert_match "^[0-9]+$" 123 x'
must_fail 'assert_match "^[0-9]+$" 12a x'
must_pass 'assert_gt 10 9 x'
must_fail 'assert_gt 9 9 x'
must_fail 'assert_gt 10001 "" x'
must_fail 'assert_gt abc 1 x'

printf 'a\n' >f1
printf 'a\n' >f2
printf 'a' >f3
must_pass 'assert_files_equal f1 f2 x'
must_fail 'assert_files_equal f1 f3 x'
must_pass 'assert_file_exists f1 x'
must_fail 'assert_file_exists nothing x'
must_pass 'assert_no_file nothing x'
must_fail 'assert_no_file f1 x'
assert_eq 0a "$(last_byte f1)" "last_byte of a newline"
assert_eq 61 "$(last_byte f3)" "last_byte of 'a'"

# ok and run.
must_pass 'ok true'
must_fail 'ok false'
run bash -c 'echo out; echo err >&2; exit 3'
assert_eq 3 "$STATUS" "run keeps the exit status"
assert_eq out "$OUT" "run keeps stdout"
assert_eq err "$ERR" "run keeps stderr"
must_fail 'run bash -c "exit 1"; assert_status 2 x'
must_fail 'run bash -c "echo x"; assert_stdout_empty x'
must_pass 'run bash -c "echo \"provbox: one\" >&2"; assert_stderr_one_line x'
must_fail 'run bash -c "printf \"provbox: no newline\" >&2"; assert_stderr_one_line x'
must_fail 'run bash -c "printf \"provbox: a\nprovbox: b\n\" >&2"; assert_stderr_one_line x'
must_fail 'run bash -c "echo just text >&2"; assert_stderr_one_line x'
must_fail 'run true; assert_stderr_one_line x'

# JSON.
echo '[{"a": 1}]' >good.json
echo '[{"a": 1},]' >bad.json
must_pass 'assert_json good.json "d[0][\"a\"] == 1"'
must_fail 'assert_json good.json "d[0][\"a\"] == 2"'
must_fail 'assert_json good.json "d[0][\"missing\"] == 1"'
must_fail 'assert_json bad.json "True"'

# The database snapshot sees every kind of change. Each case starts from a
# fresh database, so it fails for its own change alone.
S=$TEST_DIR/snap.db
fresh_snapshot() {
  rm -f "$S"
  sqlite3 "$S" 'CREATE TABLE t (x); INSERT INTO t VALUES (1);'
  db_snapshot snap "$S"
  must_pass 'assert_db_unchanged snap x "$S"'
}
for change in 'sqlite3 "$S" "UPDATE t SET x = 2"' 'sqlite3 "$S" "PRAGMA user_version = 7"' \
              'sqlite3 "$S" "CREATE TABLE u (y)"' 'rm "$S"'; do
  fresh_snapshot
  must_fail "$change; assert_db_unchanged snap x \"\$S\""
done
db_snapshot nothing "$TEST_DIR/no.db"
assert_no_file "$TEST_DIR/no.db" "a snapshot of a missing database does not create it"
must_pass 'assert_db_unchanged nothing x "$TEST_DIR/no.db"'
must_fail 'sqlite3 "$TEST_DIR/no.db" "CREATE TABLE t (x)"; assert_db_unchanged nothing x "$TEST_DIR/no.db"'
rm -f "$TEST_DIR/no.db"

# expect_error checks all four things (on $CHECK_DB when set).
fresh_snapshot
export CHECK_DB=$S
must_pass 'expect_error 1 bash -c "echo \"provbox: no\" >&2; exit 1"'
must_fail 'expect_error 2 bash -c "echo \"provbox: no\" >&2; exit 1"'
must_fail 'expect_error 1 bash -c "echo \"provbox: no\" >&2; exit 0"'
must_fail 'expect_error 1 bash -c "echo out; echo \"provbox: no\" >&2; exit 1"'
must_fail 'expect_error 1 bash -c "printf \"provbox: a\nprovbox: b\n\" >&2; exit 1"'
must_fail 'expect_error 1 bash -c "sqlite3 \"$S\" \"DELETE FROM t\"; echo \"provbox: no\" >&2; exit 1"'
unset CHECK_DB

# render_version and show_field read a real inventory.
ok pb init --demo
assert_match '^[0-9]+$' "$(render_version "$PHONE")" "render_version gives a number"
must_fail 'render_version 00:21:f2:0a:0b:0c'
assert_eq 127.0.0.1 "$(show_field "$PHONE" 'static ip')" "show_field reads a field with a space in its name"

# A failed assertion names the script line.
line=$LINENO; must_fail 'assert_eq a b "where"'
grep -q "^FAIL lib_selftest.sh:.*lib_selftest.sh:$line.*: where\$" "$TEST_DIR/selftest.err" ||
  fail "a failure names the test's file and line ($line)" "got: $(head -1 "$TEST_DIR/selftest.err")"
