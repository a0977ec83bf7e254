#!/usr/bin/env bash
# Issue 12, findings 1 and 2: CLI commands (writes and reads) while devices
# fetch over keep-alive connections. The daemon used to die of SIGBUS after
# one to three commands: its change check opened and closed SQLite's -shm,
# which dropped the daemon's locks, and the CLI rebuilt the WAL-index under
# it. Afterwards: the daemon is alive, every answer was a 200, no device's
# DBID_DBASE_VERSION ever went down, and each change is in the very next
# answer after the command returns.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../http/lib.sh" "$@"

init_demo_and_start
PHONE_FILE=/fv0021F2011B19.conf
ATA_FILE=/fv0021F222AEF1.conf
# A fixed number of rounds rather than a time: a sanitizer build runs each
# CLI command several times slower. The watchers fetch until told to stop.
ROUNDS=12
WATCH_LIMIT_SECONDS=300
python3 "$HERE/keepalive_watch.py" "$HTTP_PORT" "$WATCH_LIMIT_SECONDS" "$TEST_DIR/watch.json" \
  "$PHONE_FILE" "$PHONE_FILE" "$ATA_FILE" &
WATCH_PID=$!
fetch "$HTTP$PHONE_FILE"  # the watchers have a moment to connect

commands=0
for ((i = 1; i <= ROUNDS; i++)); do
  ok pb param set DBID_NTP_SERVER "ntp$i.example"
  fetch "$HTTP$PHONE_FILE"
  assert_code 200 "the phone's file right after 'param set' number $i"
  [[ $BODY == *"DBID_NTP_SERVER=ntp$i.example"* ]] ||
    fail "the answer right after 'param set' number $i carries the change" "got: $(grep NTP <<<"$BODY")"
  ok pb status
  ok pb device list
  ok pb events
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died after $i rounds of CLI commands" "$(tail -5 "$SERVER_LOG")"
  commands=$((commands + 4))
done
kill -TERM "$WATCH_PID"

WATCH_STATUS=0
wait "$WATCH_PID" || WATCH_STATUS=$?
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died during the test" "$(tail -5 "$SERVER_LOG")"
report=$(cat "$TEST_DIR/watch.json")
[[ $WATCH_STATUS -eq 0 ]] || fail "keep-alive clients saw errors while the CLI ran" "$report"
responses=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["responses"])' "$TEST_DIR/watch.json")
((responses > 100)) || fail "the keep-alive clients were served throughout" "only $responses responses"
echo "ok: $commands CLI commands ($ROUNDS writes) during $responses keep-alive responses; versions never fell"
stop_server
[[ $SERVER_STATUS -eq 0 ]] || fail "the server stops cleanly" "exit $SERVER_STATUS"
