#!/usr/bin/env bash
# Which inventory: PROVBOX_DB selects it, --db overrides it, and with neither
# it is provbox-data/provbox.db under the working directory.
# shellcheck disable=SC2016  # single-quoted $(MACRO)s are meant literally
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

A=$TEST_DIR/a.db
B=$TEST_DIR/b.db

# PROVBOX_DB alone.
ok env PROVBOX_DB="$A" "$PROVBOX" init --demo
assert_file_exists "$A" "init creates the PROVBOX_DB inventory"
assert_no_file "$B" "init creates no other inventory"
assert_no_file provbox-data "init with PROVBOX_DB does not create the default inventory"
ok env PROVBOX_DB="$A" "$PROVBOX" --json device list
assert_json "$TEST_DIR/out" 'len(d) == 2'

# --db overrides PROVBOX_DB.
ok "$PROVBOX" --db "$B" init
db_snapshot a.before "$A"
ok env PROVBOX_DB="$A" "$PROVBOX" --db "$B" model add ONLY_B --pattern 'b$MA'
ok env PROVBOX_DB="$A" "$PROVBOX" --db "$B" --json model list
assert_json "$TEST_DIR/out" '[m["name"] for m in d] == ["ONLY_B"]'
ok env PROVBOX_DB="$A" "$PROVBOX" --db="$B" device list --json
assert_json "$TEST_DIR/out" 'd == []'
assert_db_unchanged a.before "commands with --db leave the PROVBOX_DB inventory alone" "$A"
ok env PROVBOX_DB="$B" "$PROVBOX" --db "$A" render "$PHONE"
assert_match '^DBID_DBASE_VERSION=' "$OUT" "--db picks the demo inventory over PROVBOX_DB"

# A PROVBOX_DB that does not exist is an error, not a new inventory; --db
# still overrides it.
CHECK_DB=$TEST_DIR/missing.db expect_error 1 env PROVBOX_DB="$TEST_DIR/missing.db" "$PROVBOX" device list
assert_contains "$ERR" "missing.db" "the message names the missing inventory"
assert_no_file "$TEST_DIR/missing.db" "a missing PROVBOX_DB inventory is not created"
ok env PROVBOX_DB="$TEST_DIR/missing.db" "$PROVBOX" --db "$A" device list
assert_no_file "$TEST_DIR/missing.db" "--db overrides a missing PROVBOX_DB"

# Neither: provbox-data/provbox.db in the working directory (an empty
# PROVBOX_DB counts as unset).
mkdir work && cd work
CHECK_DB=$TEST_DIR/work/provbox-data/provbox.db expect_error 1 "$PROVBOX" device list
assert_no_file provbox-data "no inventory is created by device list"
ok "$PROVBOX" init --demo
assert_file_exists provbox-data/provbox.db "init without --db or PROVBOX_DB creates provbox-data/provbox.db"
ok env PROVBOX_DB= "$PROVBOX" --json device list
assert_json "$TEST_DIR/out" 'len(d) == 2'
cd "$TEST_DIR"
assert_no_file provbox-data "the default inventory is relative to the working directory"
