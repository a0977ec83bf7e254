#!/usr/bin/env bash
# provbox firmware add|list|activate|rm through the real binary.
# usage: firmware_cli_test.sh PATH/TO/provbox
set -euo pipefail

provbox=${1:?usage: $0 PATH/TO/provbox}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/data/provbox.db
data=$work/data
pb() { "$provbox" --db "$db" --data-dir "$data" "$@"; }

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_status CODE COMMAND...: runs it, output to $work/out and $work/err.
expect_status() {
  local want=$1; shift
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  if [[ $got -ne $want ]]; then
    fail "'$*' exited $got, expected $want: $(cat "$work/err")"
  fi
}

pb init >/dev/null
pb model add G502N --pattern 'fv$(MAU).conf' >/dev/null

# A 5 MB image: its blob is named by, and hashes to, what sha256sum says.
head -c 5000000 /dev/urandom >"$work/G502_F107_S334.bin"
want=$(sha256sum "$work/G502_F107_S334.bin" | cut -d' ' -f1)
expect_status 0 pb firmware add "$work/G502_F107_S334.bin" --model G502N --version 1.0.7
printed=$(sed -n 's/^sha256: *//p' "$work/out")
[[ $printed == "$want" ]] || fail "printed sha256 '$printed', sha256sum says '$want'"
blob=$data/firmware/$want
[[ -f $blob ]] || fail "no blob at $blob"
stored=$(sha256sum "$blob" | cut -d' ' -f1)
[[ $stored == "$want" ]] || fail "blob hashes to $stored, not $want"
grep -q '^upgrade path: *firmware/G502N/1.0.7/G502_F107_S334.bin$' "$work/out" || fail "no upgrade path in: $(cat "$work/out")"
grep -q 'http://SERVER/firmware/G502N/1.0.7/G502_F107_S334.bin' "$work/out" || fail "no full rule in the output"
grep -q 'HTTPS' "$work/out" || fail "the output does not warn that devices do not upgrade over HTTPS"

# A duplicate (model, version) fails and changes nothing, not even a blob.
sqlite3 "$db" .dump >"$work/before.sql"
ls "$data/firmware" >"$work/blobs-before"
head -c 1000 /dev/urandom >"$work/other.bin"
expect_status 1 pb firmware add "$work/other.bin" --model G502N --version 1.0.7
sqlite3 "$db" .dump >"$work/after.sql"
cmp -s "$work/before.sql" "$work/after.sql" || fail "duplicate add changed the database"
ls "$data/firmware" >"$work/blobs-after"
cmp -s "$work/blobs-before" "$work/blobs-after" || fail "duplicate add left files: $(cat "$work/blobs-after")"

# Unknown model: exit 1. Missing file, a folder, bad names: usage errors, exit 2.
expect_status 1 pb firmware add "$work/other.bin" --model SPA112 --version 1.0
expect_status 2 pb firmware add "$work/missing.bin" --model G502N --version 1.0.8
expect_status 2 pb firmware add "$work" --model G502N --version 1.0.8
expect_status 2 pb firmware add "$work/other.bin" --model G502N --version ..
expect_status 2 pb firmware add "$work/other.bin" --model G502N --version 1.0.8 --name ../x.bin
expect_status 2 pb firmware add "$work/other.bin" --model G502N
cmp -s "$work/before.sql" <(sqlite3 "$db" .dump) || fail "refused adds changed the database"

# A second version, not activated; the same bytes again share one blob.
expect_status 0 pb firmware add "$work/G502_F107_S334.bin" --model G502N --version 1.0.8 \
  --name G502_F108.bin --no-activate
[[ $(ls "$data/firmware" | wc -l) -eq 1 ]] || fail "identical images stored twice"

# list --json is valid JSON with full hashes; the table shortens them.
expect_status 0 pb firmware list --json
python3 -m json.tool "$work/out" >/dev/null || fail "firmware list --json is not JSON: $(cat "$work/out")"
python3 - "$work/out" "$want" <<'PY' || fail "firmware list --json has the wrong content"
import json, sys
rows = json.load(open(sys.argv[1]))
want = sys.argv[2]
assert [(r["version"], r["current"]) for r in rows] == [("1.0.7", True), ("1.0.8", False)], rows
assert all(r["sha256"] == want and r["size"] == 5000000 for r in rows), rows
assert rows[1]["path"] == "firmware/G502N/1.0.8/G502_F108.bin", rows
PY
expect_status 0 pb firmware list --model G502N
grep -q "${want:0:12}" "$work/out" || fail "table lacks the short hash"
grep -q "$want" "$work/out" && fail "table shows the full hash"
expect_status 1 pb firmware list --model SPA112

# activate moves the current version; unknown versions fail.
expect_status 0 pb firmware activate G502N 1.0.8
[[ $(sqlite3 "$db" "SELECT firmware_version FROM models WHERE name = 'G502N'") == 1.0.8 ]] \
  || fail "activate did not set the model's firmware version"
expect_status 1 pb firmware activate G502N 9.9

# rm: current refused without --force; the blob stays while a row uses it.
expect_status 1 pb firmware rm G502N 1.0.8
expect_status 0 pb firmware rm G502N 1.0.7
[[ -f $blob ]] || fail "rm removed a blob still in use"
expect_status 0 pb firmware rm G502N 1.0.8 --force
[[ -e $blob ]] && fail "rm left an unused blob"
expect_status 1 pb firmware rm G502N 1.0.8

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "firmware CLI: all checks passed"
