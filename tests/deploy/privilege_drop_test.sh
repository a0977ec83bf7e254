#!/usr/bin/env bash
# Started as root outside systemd, provbox binds the privileged ports (80,
# 69) and then runs as an unprivileged user. Runs in a throwaway network
# namespace of its own, so the real ports 80 and 69 stay untouched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
command -v ip >/dev/null || { echo "iproute2 not installed"; exit 77; }
ns=pbx-priv-$$
ip netns add "$ns"
CLEANUP+=("ip netns pids $ns | xargs -r kill; ip netns del $ns")
ip netns exec "$ns" ip link set lo up

"$PROVBOX" --data-dir data init --demo >/dev/null
ip netns exec "$ns" env -u INVOCATION_ID "$PROVBOX" --data-dir data serve --user nobody \
  --http 127.0.0.1:80 --tftp 127.0.0.1:69 --https off --admin off > serve.log 2>&1 &
for _ in $(seq 1 100); do
  ip netns exec "$ns" curl -s -o /dev/null http://127.0.0.1:80/ && break
  sleep 0.1
done
pid=$(ip netns pids "$ns" | head -1)
[[ -n $pid ]] || fail "the server is not running: $(cat serve.log)"
assert_contains "$(cat serve.log)" "dropped root privileges: running as nobody" "the server says it dropped root"
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
assert_eq "65534 65534 65534 65534" "$uids" "real, effective, saved and filesystem uid are nobody's"

body=$(ip netns exec "$ns" curl -s http://127.0.0.1:80/fv0021F2011B19.conf)
assert_contains "$body" "DBID_DBASE_VERSION=" "it serves on port 80 after dropping root"
tftp_body=$(ip netns exec "$ns" curl -s tftp://127.0.0.1:69/IP542N.conf)
assert_eq "$body" "$tftp_body" "and on port 69 (TFTP)"
# Writes still work as nobody: the request was recorded in the inventory.
assert_contains "$("$PROVBOX" --data-dir data events)" "fv0021F2011B19.conf" "the unprivileged server writes its events"
assert_eq "nobody" "$(stat -c %U data/provbox.db)" "the data folder was handed to the user"
