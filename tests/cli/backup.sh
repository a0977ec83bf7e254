#!/usr/bin/env bash
# backup and restore: a copy taken while another process keeps writing is a
# whole, consistent inventory; a restore brings back the same inventory and
# never lets a device's version go backwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

inventory_dump() {  # DB: the inventory's own tables, sorted
  for t in models model_patterns devices params variables; do
    sqlite3 "$1" "SELECT * FROM $t ORDER BY 1, 2, 3"
  done
}

ok pb init --demo
# A writer in another process: 150 param changes, bounded.
(for i in $(seq 1 150); do "$PROVBOX" --db "$DB" param set "DBID_LOAD_$((i % 7))" "$i" >/dev/null; done) &
writer=$!
for n in 1 2 3; do
  ok pb backup "$TEST_DIR/under-load-$n.db"
  assert_eq "ok" "$(sqlite3 "$TEST_DIR/under-load-$n.db" 'PRAGMA integrity_check')" "backup $n taken under load is intact"
  assert_eq "2" "$(sqlite3 "$TEST_DIR/under-load-$n.db" 'SELECT count(*) FROM devices')" "backup $n has the devices"
done
wait "$writer"

expect_error 1 pb backup "$TEST_DIR/under-load-1.db"   # exists: not replaced without --force
ok pb backup "$TEST_DIR/final.db"
before=$(inventory_dump "$DB")
version_before=$(render_version 00:21:f2:01:1b:19)

# Change things, then restore: the inventory is as it was, versions rise.
ok pb device rm 00:21:f2:22:ae:f1
ok pb param set DBID_AFTER_BACKUP 1
ok pb restore "$TEST_DIR/final.db"
assert_eq "$before" "$(inventory_dump "$DB")" "restore brings back the identical inventory"
assert_gt "$(render_version 00:21:f2:01:1b:19)" "$version_before" "versions after a restore beat every version served"

# Into a fresh inventory too.
fresh=$TEST_DIR/fresh.db
ok "$PROVBOX" --db "$fresh" restore "$TEST_DIR/final.db"
assert_eq "$before" "$(inventory_dump "$fresh")" "restore into a new file gives the same inventory"

# A file that is not an inventory changes nothing.
printf 'not a database' > "$TEST_DIR/junk.db"
expect_error 1 pb restore "$TEST_DIR/junk.db"
expect_error 1 pb restore "$TEST_DIR/missing.db"
