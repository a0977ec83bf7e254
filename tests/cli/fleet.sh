#!/usr/bin/env bash
# status and events tell, per device, what the running server answered.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

ok pb init --demo
run pb status
assert_status 0 "status runs"
assert_contains "$OUT" "never seen" "before any request every device is never seen"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PROVBOX" --db "$DB" serve --http "127.0.0.1:$port" --https off --admin off --tftp off >"$TEST_DIR/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/x" && break; sleep 0.1; done

curl -s -o /dev/null "http://127.0.0.1:$port/fv0021F2011B19.conf"
curl -s -o /dev/null "http://127.0.0.1:$port/fv0021F222AEF1.conf" -A "Flyingvoice FIP13G V0.6.24 00:21:F2:01:1B:19"

pb status --json >"$TEST_DIR/status.json"
assert_json "$TEST_DIR/status.json" 'len(d) == 2' \
  '[x["state"] for x in d if x["mac"] == "00:21:f2:01:1b:19"] == ["in sync"]' \
  '[x["state"] for x in d if x["mac"] == "00:21:f2:22:ae:f1"] == ["never seen"]' \
  '"403" in [x["last_error"] for x in d if x["mac"] == "00:21:f2:22:ae:f1"][0]' 

ok pb param set DBID_NEW 1 --device 00:21:f2:01:1b:19
run pb status --state pending
assert_contains "$OUT" "00:21:f2:01:1b:19" "a change makes the phone pending"
assert_not_contains "$OUT" "00:21:f2:22:ae:f1" "the filter keeps only pending devices"
expect_error 2 pb status --state bogus

pb events 00:21:f2:01:1b:19 --json >"$TEST_DIR/events.json"
assert_json "$TEST_DIR/events.json" 'len(d) == 1 and d[0]["status"] == 200 and d[0]["transport"] == "http"' 
run pb events
assert_contains "$OUT" "fv0021F222AEF1.conf" "the overall timeline has the refusal"
expect_error 2 pb events --limit 0

# Repeated requests: the phone fetches its (now newer) file three times in a
# row. That is one line counting three, the newest time last; the first
# request at the old version stays a line of its own.
size=$(curl -s "http://127.0.0.1:$port/fv0021F2011B19.conf" | wc -c)
curl -s -o /dev/null "http://127.0.0.1:$port/fv0021F2011B19.conf"
curl -s -o /dev/null "http://127.0.0.1:$port/fv0021F2011B19.conf"
# The server writes its events within a few milliseconds of the answer.
for _ in $(seq 1 50); do
  pb events 00:21:f2:01:1b:19 --json >"$TEST_DIR/events.json"
  python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))[-1].get("repeats") == 3 else 1)' \
    "$TEST_DIR/events.json" && break
  sleep 0.1
done
assert_json "$TEST_DIR/events.json" 'len(d) == 2' \
  '"repeats" not in d[0] and "last_at" not in d[0]' \
  'd[1]["repeats"] == 3 and d[1]["last_at"] > d[1]["at"]' \
  "d[1][\"bytes\"] == 3 * $size" \
  'd[1]["dbase_version"] > d[0]["dbase_version"]'
last_at=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[1]["last_at"])' "$TEST_DIR/events.json")
first_at=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[1]["at"])' "$TEST_DIR/events.json")

ok pb events 00:21:f2:01:1b:19
assert_contains "$OUT" "REPEATED" "the table has a repeats column"
assert_contains "$OUT" "x3 until $last_at" "the repeated line says how many and until when"
ok pb device show 00:21:f2:01:1b:19
assert_contains "$OUT" "last fetch:     $last_at  http fv0021F2011B19.conf" "the last fetch is the newest of the repeats"
assert_contains "$OUT" "x3 since $first_at" "and says since when"
assert_contains "$OUT" "  200  x3 until $last_at" "the recent request line counts the repeats"
pb device show 00:21:f2:01:1b:19 --json >"$TEST_DIR/show.json"
assert_json "$TEST_DIR/show.json" \
  "d[\"last_fetch\"][\"at\"] == \"$last_at\" and d[\"last_fetch\"][\"first_at\"] == \"$first_at\"" \
  'd["last_fetch"]["repeats"] == 3' 'd["state"] == "in sync"'
pb status --json >"$TEST_DIR/status.json"
assert_json "$TEST_DIR/status.json" \
  "[x[\"last_seen\"] for x in d if x[\"mac\"] == \"00:21:f2:01:1b:19\"] == [\"$last_at\"]"
