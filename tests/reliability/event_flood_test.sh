#!/usr/bin/env bash
# Issue 12, finding 3: one client must not fill the disk through events or
# the log. Pipelined requests for invented MACs (each one unknown) used to
# give every MAC rows of its own and every request a log line: 574,287
# requests in 30 s grew the database from 8 to 101 MB and the log to 109 MB.
# Now an address gets a few rows a minute (the rest are counted on a summary
# row) and a few lines a minute; a known device's flood is one row and a few
# lines. Bounded: 40,000 requests or 20 s each.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../http/lib.sh" "$@"
FLOOD=$HERE/pipelined_flood.py

init_demo_and_start
event_rows() { sqlite3 "$DB" 'SELECT count(*) FROM events'; }
log_lines() { wc -l <"$SERVER_LOG"; }
db_bytes() { cat "$DB" "$DB-wal" 2>/dev/null | wc -c; }

rows_before=$(event_rows)
lines_before=$(log_lines)
bytes_before=$(db_bytes)
result=$(python3 "$FLOOD" "$HTTP_PORT" 40000 20 4 '/fv{mac}.conf')
echo "unknown MACs: $result"
answered=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["answered"])' "$result")
((answered >= 10000)) || fail "the flood was answered" "$result"
sleep 0.5  # the last batch of events is written a few ms after its requests
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server survived the flood"
rows=$(($(event_rows) - rows_before))
lines=$(($(log_lines) - lines_before))
growth=$(($(db_bytes) - bytes_before))
echo "  $answered requests: +$rows event rows, +$lines log lines, database +$growth bytes"
((rows <= 20)) || fail "requests for unknown devices from one address cost a few rows" "got $rows rows for $answered requests"
((lines <= 100)) || fail "and a few log lines" "got $lines lines for $answered requests"
((growth < 2000000)) || fail "and the database barely grows" "grew by $growth bytes"
[[ $(metric provbox_device_events_folded_total) -ge $((answered - 20)) ]] ||
  fail "the rest are counted for the summary row" "folded: $(metric provbox_device_events_folded_total)"

# A known device in a fetch loop: one row counting repeats, a few lines.
rows_before=$(event_rows)
lines_before=$(log_lines)
result=$(python3 "$FLOOD" "$HTTP_PORT" 40000 20 2 '/fv0021F2011B19.conf')
answered=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["answered"])' "$result")
sleep 0.5
rows=$(($(event_rows) - rows_before))
lines=$(($(log_lines) - lines_before))
echo "known device: $answered requests: +$rows event rows, +$lines log lines"
((rows <= 2)) || fail "a known device's repeated requests are one row" "got $rows"
((lines <= 100)) || fail "and a few log lines" "got $lines lines for $answered requests"
[[ $(metric provbox_access_lines_held_back_total) -gt 0 ]] || fail "held-back lines are counted"

# Every answer to the device was still the right one.
fetch "$HTTP/fv0021F2011B19.conf"
assert_code 200 "the phone after the floods"
stop_server
[[ $SERVER_STATUS -eq 0 ]] || fail "the server stops cleanly" "exit $SERVER_STATUS"
