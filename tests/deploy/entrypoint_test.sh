#!/usr/bin/env bash
# The container's entrypoint, run directly (no Docker engine here): `serve`
# creates the inventory and serves with the configuration; other words are
# provbox commands or programs; SIGTERM ends it with status 0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

http=$(free_port)
cat > provbox.yaml <<YAML
listen:
  http: 127.0.0.1:$http
  https: "off"
  tftp: "off"
  admin: "off"
YAML
export PROVBOX_BIN=$PROVBOX PROVBOX_DATA_DIR=$TEST_DIR/data PROVBOX_CONFIG=$TEST_DIR/provbox.yaml PROVBOX_DEMO=1
entry=$SOURCE_DIR/deploy/docker-entrypoint.sh

"$entry" > serve.log 2>&1 &
pid=$!
CLEANUP+=("kill $pid 2>/dev/null")
wait_for "http://127.0.0.1:$http/"
body=$(curl -s "http://127.0.0.1:$http/fv0021F2011B19.conf")
assert_eq "$("$PROVBOX" render 00:21:f2:01:1b:19)" "$body" "the container serves the demo device's file"

out=$("$entry" device list)
assert_contains "$out" "00:21:f2:01:1b:19" "a provbox command runs against the container's inventory"
out=$("$entry" echo plain-program)
assert_eq "plain-program" "$out" "any other command runs as a program"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
assert_eq 0 "$status" "SIGTERM stops the server cleanly"
assert_contains "$(cat serve.log)" "stopped" "the server said it stopped"
