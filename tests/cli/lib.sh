# Shared helpers for the CLI tests, which run the real provbox binary.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
#
# $1 is the provbox binary (ctest passes $<TARGET_FILE:provbox>). Each script
# gets a fresh temporary folder, $TEST_DIR, as its working directory; it is
# removed on exit. Every assert_* prints what was expected and what was got,
# with the script's line, and exits 1.
# shellcheck disable=SC2034  # the variables here are for the scripts that source this file
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too

if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "usage: $0 PATH/TO/provbox (got '${1:-}')" >&2
  exit 1
fi
PROVBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

for tool in sqlite3 openssl python3 cmp od; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool' (deploy/install-deps.sh installs it)" >&2; exit 1; }
done

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/provbox-cli.XXXXXX")
trap 'rm -rf "$TEST_DIR"' EXIT
cd "$TEST_DIR"
# Nothing from the caller's environment may pick another inventory.
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL
DB=$TEST_DIR/inventory.db

# The demo inventory's devices.
PHONE=00:21:f2:01:1b:19  # IP542N, no key
ATA=00:21:f2:22:ae:f1    # G502N, key 123456, group office

# ---- running provbox ------------------------------------------------------

# provbox on this script's inventory.
pb() { "$PROVBOX" --db "$DB" "$@"; }

# run CMD...: runs CMD without stopping the script; sets STATUS, and OUT and
# ERR to its standard output and error (also kept in $TEST_DIR/out, .../err,
# byte for byte).
run() {
  STATUS=0
  "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || STATUS=$?
  # NUL bytes (encrypted output) are dropped here; the files keep them.
  OUT=$(tr -d '\0' <"$TEST_DIR/out")
  ERR=$(tr -d '\0' <"$TEST_DIR/err")
}

# ok CMD...: runs CMD, which must succeed; its output is in OUT/ERR.
ok() {
  run "$@"
  [[ $STATUS -eq 0 ]] || fail "expected success (exit 0) from: $*" "got exit $STATUS, stderr: $ERR"
}

# ---- assertions -----------------------------------------------------------

# The test lines that led here, innermost first: "bump.sh:22 (from bump.sh:35)".
_where() {
  local i where=""
  for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
    [[ ${BASH_SOURCE[i]} != "${BASH_SOURCE[0]}" && ${BASH_LINENO[i - 1]} -gt 0 ]] || continue
    local here
    here="$(basename "${BASH_SOURCE[i]}"):${BASH_LINENO[i - 1]}"
    if [[ -z $where ]]; then where=$here; else where+=" (from $here)"; fi
  done
  echo "${where:-?}"
}

# fail WHAT [DETAIL...]. A suite that sources this file may define
# _on_fail to add what helps read the failure (the server's log, say).
fail() {
  local where
  where=$(_where)
  {
    echo "FAIL $where: $1"
    shift
    local line
    for line in "$@"; do echo "  $line"; done
  } >&2
  if declare -F _on_fail >/dev/null; then _on_fail; fi
  exit 1
}

# Shows a value with its invisible characters (tabs, CR, a missing final newline).
_show() { printf '%s' "$1" | head -c 300 | od -An -c; }

assert_eq() {  # EXPECTED ACTUAL WHAT
  [[ $1 == "$2" ]] || fail "$3" "expected: '$1'" "got:      '$2'" "expected bytes:$(_show "$1")" "got bytes:     $(_show "$2")"
}

assert_ne() {  # UNEXPECTED ACTUAL WHAT
  [[ $1 != "$2" ]] || fail "$3" "expected anything but: '$1'" "got: '$2'"
}

assert_contains() {  # HAYSTACK NEEDLE WHAT  (fixed strings)
  [[ $1 == *"$2"* ]] || fail "$3" "expected to contain: '$2'" "got: '$1'"
}

assert_not_contains() {  # HAYSTACK NEEDLE WHAT
  [[ $1 != *"$2"* ]] || fail "$3" "expected not to contain: '$2'" "got: '$1'"
}

assert_match() {  # ERE ACTUAL WHAT
  [[ $2 =~ $1 ]] || fail "$3" "expected to match: /$1/" "got: '$2'"
}

assert_gt() {  # A B WHAT: integers, A > B
  [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]] || fail "$3" "expected two numbers" "got: '$1' and '$2'"
  (($1 > $2)) || fail "$3" "expected $1 > $2"
}

assert_file_exists() { [[ -e $1 ]] || fail "$2" "expected file $1 to exist"; }
assert_no_file() { [[ ! -e $1 ]] || fail "$2" "expected no file $1" "found: $(ls -l "$1")"; }

assert_files_equal() {  # EXPECTED_FILE ACTUAL_FILE WHAT  (byte for byte)
  cmp -s "$1" "$2" || fail "$3" "files differ: expected $1, got $2" "$(cmp "$1" "$2" 2>&1 | head -1)" \
    "$(diff <(od -An -c "$1") <(od -An -c "$2") | head -20)"
}

assert_status() {  # EXPECTED WHAT: the last run's exit status
  [[ $STATUS -eq $1 ]] || fail "$2" "expected exit $1" "got exit $STATUS" "stdout: $OUT" "stderr: $ERR"
}

assert_stdout_empty() {
  [[ ! -s $TEST_DIR/out ]] || fail "$1: expected nothing on stdout" "got: $(_show "$OUT")"
}

# Exactly one non-empty line, newline-terminated, in provbox's "provbox: ..." form.
assert_stderr_one_line() {
  local lines
  lines=$(wc -l <"$TEST_DIR/err")
  [[ $lines -eq 1 && -z $(tail -c1 "$TEST_DIR/err") && $ERR == "provbox: "?* ]] ||
    fail "$1: expected exactly one 'provbox: ...' line on stderr" "got $lines line(s): $(_show "$ERR")"
}

# ---- JSON -----------------------------------------------------------------

# assert_json FILE EXPR...: FILE is valid JSON (python3 -m json.tool) and each
# Python expression over d (the parsed document) is true.
assert_json() {
  local file=$1 expr
  shift
  python3 -m json.tool "$file" >/dev/null 2>"$TEST_DIR/json.err" ||
    fail "not valid JSON: $file" "$(cat "$TEST_DIR/json.err")" "got: $(head -c 500 "$file")"
  for expr in "$@"; do
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$file" "$expr" 2>"$TEST_DIR/json.err" ||
      fail "JSON check failed: $expr" "$(cat "$TEST_DIR/json.err")" "document: $(head -c 1500 "$file")"
  done
}

# ---- the database ---------------------------------------------------------

# db_snapshot FILE [DB]: the schema version and a full dump, or a marker when
# there is no database (sqlite3 would create one).
db_snapshot() {
  local db=${2:-$DB}
  if [[ -e $db ]]; then
    { echo "user_version=$(sqlite3 "$db" 'PRAGMA user_version')"; sqlite3 "$db" .dump; } >"$1"
  else
    echo "(no database at $db)" >"$1"
  fi
}

assert_db_unchanged() {  # SNAPSHOT WHAT [DB]
  local now=$TEST_DIR/snapshot.now
  db_snapshot "$now" "${3:-$DB}"
  cmp -s "$1" "$now" || fail "$2: the database changed" "$(diff "$1" "$now" | head -20)"
}

# expect_error STATUS CMD...: CMD exits with exactly STATUS, prints nothing on
# stdout and one line on stderr (left in ERR for further checks), and leaves
# $DB (or $CHECK_DB when set) exactly as it was.
expect_error() {
  local status=$1
  shift
  local db=${CHECK_DB:-$DB} before=$TEST_DIR/snapshot.before
  db_snapshot "$before" "$db"
  run "$@"
  local what="'${*#"$PROVBOX"}'"
  assert_status "$status" "$what"
  assert_stdout_empty "$what"
  assert_stderr_one_line "$what"
  assert_db_unchanged "$before" "$what" "$db"
}

# ---- profiles -------------------------------------------------------------

# The DBID_DBASE_VERSION that render gives MAC (its first line).
render_version() {
  local text first
  text=$(pb render --plain "$1")
  first=${text%%$'\n'*}
  [[ $first =~ ^DBID_DBASE_VERSION=([0-9]+)$ ]] || fail "render $1: first line is not DBID_DBASE_VERSION=N" "got: '$first'"
  echo "${BASH_REMATCH[1]}"
}

# A field of `device show` ("serial", "static ip", ...), as printed.
show_field() {  # MAC FIELD
  pb device show "$1" | sed -n "s/^$2:[[:space:]]*//p"
}

# Last byte of a file as a two-digit hex number ("0a" for a newline).
last_byte() { tail -c1 "$1" | od -An -tx1 | tr -d ' \n'; }
