#!/usr/bin/env bash
# The DHCP server against real clients, in two network namespaces of its own
# joined by a veth pair (10.77.0.0/16; the server is 10.77.0.1). Shows:
#   - busybox udhcpc gets a lease with option 66 (this server) and 67 (the
#     device's model's Config File Name, from the inventory);
#   - ISC dhclient gets one with 66 and 67 (another device, another model);
#   - `provbox lease list` shows both; the lease survives a server restart
#     (the same client gets the same address back); `lease release` works;
#   - a relayed DISCOVER (giaddr set, option 82) is answered to the relay
#     on port 67 with option 82 echoed;
#   - perfdhcp with 10,000 simulated clients sees no duplicate address;
#   - with --known-only an unknown MAC gets nothing, a known one a lease.
#
# usage: netns_test.sh SERVER_COMMAND PROVBOX
#   SERVER_COMMAND: the dhcp_driver binary, or "serve" to run
#   `PROVBOX serve --dhcp IF --dhcp-range ...` once the lead has wired it.
# Needs root, ip (iproute2), busybox, dhclient (isc-dhcp-client), perfdhcp
# (kea-admin) and python3; exits 77 (ctest: skipped) without them.
set -euo pipefail

SERVER=${1:?usage: $0 SERVER_COMMAND PROVBOX}
PROVBOX=${2:?usage: $0 SERVER_COMMAND PROVBOX}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
for tool in ip busybox dhclient perfdhcp python3 ss; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done

ID=$$
S=pbx-s-$ID          # server namespace
C=pbx-c-$ID          # client namespace
VS=pbs$ID            # veth ends (interface names stop at 15 characters)
VC=pbc$ID
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provbox-dhcp.XXXXXX")
DB=$WORK/provbox.db
SERVER_PID=
DHCLIENT_PID=
KNOWN_MAC=00:21:f2:01:1b:19
OTHER_MAC=02:77:00:00:00:02
RANGE=10.77.1.0-10.77.63.255

cleanup() {
  local rc=$?
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n $DHCLIENT_PID ]] && kill "$DHCLIENT_PID" 2>/dev/null
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  if [[ $rc -ne 0 && -f $WORK/server.log ]]; then echo "--- server log"; tail -30 "$WORK/server.log"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

ip netns add "$S"
ip netns add "$C"
ip link add "$VS" netns "$S" type veth peer name "$VC" netns "$C"
ip -n "$S" addr add 10.77.0.1/16 dev "$VS"
ip -n "$S" link set lo up
ip -n "$S" link set "$VS" up
ip -n "$C" link set lo up
ip -n "$C" link set "$VC" up

set_client_mac() {
  ip -n "$C" link set "$VC" down
  ip -n "$C" link set "$VC" address "$1"
  ip -n "$C" link set "$VC" up
}

start_server() {
  if [[ $SERVER == serve ]]; then
    local known=()
    [[ ${1:-} == --known-only ]] && known=(--dhcp-known-only)
    ip netns exec "$S" "$PROVBOX" --db "$DB" --data-dir "$WORK" serve --dhcp "$VS" --dhcp-range "$RANGE" --http off --https off --tftp off --admin off \
      "${known[@]}" >"$WORK/server.log" 2>&1 &
  else
    ip netns exec "$S" "$SERVER" --interface "$VS" --range "$RANGE" --db "$DB" --boot-file default.conf \
      --stats-file "$WORK/stats" --verbose "$@" >"$WORK/server.log" 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 100); do
    ip netns exec "$S" ss -ulnH 'sport = :67' | grep -q . && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server did not start: $(cat "$WORK/server.log")"
    sleep 0.1
  done
  fail "the server is not listening on port 67"
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}

stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/stats" 2>/dev/null || echo 0; }

cat >"$WORK/udhcpc.sh" <<EOF
#!/bin/sh
env | sort >"$WORK/udhcpc.\$1.tmp" && mv "$WORK/udhcpc.\$1.tmp" "$WORK/udhcpc.\$1"
EOF
cat >"$WORK/dhclient.sh" <<EOF
#!/bin/sh
env | sort >"$WORK/dhclient.\$reason.tmp" && mv "$WORK/dhclient.\$reason.tmp" "$WORK/dhclient.\$reason"
EOF
chmod +x "$WORK/udhcpc.sh" "$WORK/dhclient.sh"

# udhcpc: one try of three DISCOVERs a second apart; the script writes the
# lease's variables (ip, tftp, bootfile) to $WORK/udhcpc.bound.
udhcpc_lease() {
  rm -f "$WORK/udhcpc.bound"
  ip netns exec "$C" timeout 20 busybox udhcpc -i "$VC" -n -q -f -t 3 -T 1 -s "$WORK/udhcpc.sh" \
    -O tftp -O bootfile >"$WORK/udhcpc.log" 2>&1
}
lease_var() { sed -n "s/^$2=//p" "$WORK/$1"; }

step "inventory: $KNOWN_MAC an IP542N (Config File Name IP542N.conf), $OTHER_MAC a G502N"
"$PROVBOX" --db "$DB" init >/dev/null
"$PROVBOX" --db "$DB" model add IP542N --config-file IP542N.conf >/dev/null
"$PROVBOX" --db "$DB" model add G502N --config-file G502N.conf >/dev/null
"$PROVBOX" --db "$DB" device add "$KNOWN_MAC" --model IP542N >/dev/null
"$PROVBOX" --db "$DB" device add "$OTHER_MAC" --model G502N >/dev/null

start_server

step "busybox udhcpc gets a lease with options 66 and 67"
set_client_mac "$KNOWN_MAC"
udhcpc_lease || fail "udhcpc got no lease: $(cat "$WORK/udhcpc.log")"
FIRST_IP=$(lease_var udhcpc.bound ip)
[[ $FIRST_IP == 10.77.* ]] || fail "udhcpc ip '$FIRST_IP'"
[[ $(lease_var udhcpc.bound tftp) == 10.77.0.1 ]] || fail "udhcpc option 66 '$(lease_var udhcpc.bound tftp)'"
[[ $(lease_var udhcpc.bound bootfile) == IP542N.conf ]] || fail "udhcpc option 67 '$(lease_var udhcpc.bound bootfile)'"
pass "udhcpc: $FIRST_IP, tftp 10.77.0.1, bootfile IP542N.conf"

step "ISC dhclient gets a lease with options 66 and 67"
set_client_mac "$OTHER_MAC"
# In the foreground (-d) and in the background here, so its PID is ours to
# stop once the script has seen the lease.
ip netns exec "$C" timeout 60 dhclient -d -1 -v -sf "$WORK/dhclient.sh" -lf "$WORK/dhclient.leases" \
  -pf "$WORK/dhclient.pid" "$VC" >"$WORK/dhclient.log" 2>&1 &
DHCLIENT_PID=$!
for _ in $(seq 300); do
  [[ -f $WORK/dhclient.BOUND ]] && break
  kill -0 "$DHCLIENT_PID" 2>/dev/null || break
  sleep 0.1
done
kill "$DHCLIENT_PID" 2>/dev/null || true
wait "$DHCLIENT_PID" 2>/dev/null || true
DHCLIENT_PID=
[[ -f $WORK/dhclient.BOUND ]] || fail "dhclient did not bind: $(cat "$WORK/dhclient.log")"
DHCLIENT_IP=$(lease_var dhclient.BOUND new_ip_address)
[[ $DHCLIENT_IP == 10.77.* && $DHCLIENT_IP != "$FIRST_IP" ]] || fail "dhclient ip '$DHCLIENT_IP'"
[[ $(lease_var dhclient.BOUND new_tftp_server_name) == 10.77.0.1 ]] || fail "dhclient option 66"
[[ $(lease_var dhclient.BOUND new_bootfile_name) == G502N.conf ]] || fail "dhclient option 67"
pass "dhclient: $DHCLIENT_IP, tftp 10.77.0.1, bootfile G502N.conf"

step "provbox lease list shows both, on disk"
"$PROVBOX" --db "$DB" lease list --json >"$WORK/leases.json"
grep -q "\"address\":\"$FIRST_IP\",\"mac\":\"$KNOWN_MAC\",\"state\":\"bound\"" "$WORK/leases.json" ||
  fail "lease list: $(cat "$WORK/leases.json")"
grep -q "\"address\":\"$DHCLIENT_IP\",\"mac\":\"$OTHER_MAC\"" "$WORK/leases.json" ||
  fail "lease list: $(cat "$WORK/leases.json")"
pass "lease list"

step "a restart keeps the lease: the same client gets the same address"
stop_server
start_server
set_client_mac "$KNOWN_MAC"
udhcpc_lease || fail "udhcpc after restart: $(cat "$WORK/udhcpc.log")"
[[ $(lease_var udhcpc.bound ip) == "$FIRST_IP" ]] || fail "after restart got $(lease_var udhcpc.bound ip), not $FIRST_IP"
pass "after restart: $FIRST_IP again"

step "lease release from the CLI"
"$PROVBOX" --db "$DB" lease release "$DHCLIENT_IP" >/dev/null
"$PROVBOX" --db "$DB" lease list --all --json | grep -q "\"address\":\"$DHCLIENT_IP\",\"mac\":\"$OTHER_MAC\",\"state\":\"released\"" ||
  fail "released lease not listed as released"
pass "released $DHCLIENT_IP"

step "a relayed DISCOVER is answered to the relay (giaddr:67), option 82 echoed"
ip -n "$C" addr add 10.77.0.2/16 dev "$VC"
RELAY_OUT=$(ip netns exec "$C" timeout 10 python3 "$HERE/relay_client.py" 10.77.0.2 10.77.0.1 02:55:00:00:00:01) ||
  fail "relay: $RELAY_OUT"
[[ $RELAY_OUT == "offer 10.77."*" giaddr=10.77.0.2 agent-info=echoed from=10.77.0.1:67 "* ]] || fail "relay: $RELAY_OUT"
pass "relay: $RELAY_OUT"

step "perfdhcp: 10,000 simulated clients, no duplicate address"
set +e
ip netns exec "$C" timeout 120 perfdhcp -4 -r 1000 -R 10000 -n 10000 -p 30 -l "$VC" >"$WORK/perfdhcp.out" 2>&1
set -e
NON_UNIQUE=$(grep -c '^non unique addresses: 0$' "$WORK/perfdhcp.out" || true)
[[ $NON_UNIQUE -eq 2 ]] || fail "perfdhcp: $(cat "$WORK/perfdhcp.out")"
ACKS=$(awk '/Statistics for: REQUEST-ACK/ { s = 1 } s && /^received packets:/ { print $3; exit }' "$WORK/perfdhcp.out")
[[ ${ACKS:-0} -ge 9000 ]] || fail "perfdhcp: only ${ACKS:-0} ACKs: $(cat "$WORK/perfdhcp.out")"
pass "perfdhcp: non unique addresses: 0 (DISCOVER-OFFER and REQUEST-ACK), $ACKS ACKs; $(grep '^Rate:' "$WORK/perfdhcp.out")"
ip -n "$C" addr flush dev "$VC"

step "known-only: an unknown MAC gets nothing, a known one a lease"
stop_server
start_server --known-only
set_client_mac 02:77:00:00:00:99
if udhcpc_lease; then fail "an unknown MAC got $(lease_var udhcpc.bound ip) in known-only mode"; fi
set_client_mac "$KNOWN_MAC"
udhcpc_lease || fail "a known MAC got no lease in known-only mode: $(cat "$WORK/udhcpc.log")"
stop_server
if [[ $SERVER != serve ]]; then
  [[ $(stat_of unknown_clients) -ge 3 ]] || fail "unknown_clients $(stat_of unknown_clients)"
  [[ $(stat_of malformed) -eq 0 ]] || fail "malformed $(stat_of malformed)"
fi
pass "known-only"
echo "all DHCP namespace checks passed"
