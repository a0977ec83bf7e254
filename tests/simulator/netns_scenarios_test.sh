#!/usr/bin/env bash
# End-to-end scenarios of issue 6 that need DHCP, in two network namespaces
# of the test's own joined by a veth pair (10.78.0.0/16; the server is
# 10.78.0.1 with `provbox serve --dhcp`, TFTP on port 69 and HTTP on 8080).
# provbox-sim devices in the other namespace get their address by DHCP
# (--dhcp, --dhcp-own-address: each device's leased address is added to the
# interface and its TFTP/HTTP leave from it, so the server knows it by its lease).
#   1. seed 4.3: DHCP option 66 + TFTP IP542N.conf -> each device applies its
#      OWN parameters (`provbox param set ... --device MAC`)
#   4. firmware added with `provbox firmware add`; Upgrade Rule over HTTP
#      (--upgrade-rule) and over TFTP (DBID_PRV_UPGRADE_RULE from the device's
#      file, no server in the rule: the option 66 server); the device reports
#      the image's SHA-256 (= sha256sum) and its new software version; a
#      missing image fails, is retried after the Upgrade Error Retry Delay, and
#      once `firmware add` has put it there the next retry upgrades.
#
#   netns_scenarios_test.sh PATH/TO/provbox PATH/TO/provbox-sim
# Needs root, ip (iproute2), python3, ss; exits 77 (ctest: skipped) without them.
set -euo pipefail
PROVBOX=$(realpath "${1:?usage: $0 PROVBOX PROVBOX_SIM}")
SIM=$(realpath "${2:?usage: $0 PROVBOX PROVBOX_SIM}")

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
for tool in ip python3 ss sha256sum; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
if ! ip netns list >/dev/null 2>&1; then echo "SKIP: ip netns is not available"; exit 77; fi

ID=$$
S=pbx-sims-$ID   # server namespace
C=pbx-simc-$ID   # devices' namespace
VS=pss$ID        # veth ends (interface names stop at 15 characters)
VC=psc$ID
SERVER_ADDR=10.78.0.1
RANGE=10.78.1.10-10.78.1.250
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provbox-simns.XXXXXX")
SERVER_PID=
SIM_PID=

cleanup() {
  local rc=$?
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  if [[ $rc -ne 0 && -f $WORK/serve.log ]]; then echo "--- serve.log (tail)"; tail -30 "$WORK/serve.log"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$WORK"

fail() { echo "FAIL (line ${BASH_LINENO[0]}): $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
pb() { "$PROVBOX" --data-dir "$WORK/data" "$@"; }

# rep FILE EXPR: EXPR in Python over r (the report), t (totals) and dev(MAC).
rep() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
def dev(mac): return next(d for d in r["devices"] if d["mac"] == mac)
v = eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}
expect() {  # expect FILE EXPR WANT WHAT
  local got
  got=$(rep "$1" "$2") || fail "$4: cannot read $2 from $1: $(cat "$1")"
  [[ $got == "$3" ]] || fail "$4: expected $2 == '$3', got '$got'; report: $(cat "$1")"
}
# wait_until FILE EXPR SECONDS WHAT: polls the report the simulator rewrites every second.
wait_until() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if [[ -s $1 ]] && [[ $(rep "$1" "$2" 2>/dev/null || echo false) == true ]]; then return 0; fi
    sleep 0.1
  done
  fail "$4: '$2' not true within $3 s; report: $(cat "$1" 2>/dev/null)"
}
version_of() { pb render "$1" --plain | sed -n 's/^DBID_DBASE_VERSION=//p'; }

# run_sim REPORT ARGS...: the devices in their namespace, in the foreground
# (bounded by --duration; it exits sooner when every device is done).
run_sim() {
  local report=$1
  shift
  ip netns exec "$C" "$SIM" --dhcp "$VC" --dhcp-own-address --model IP542N --random-delay 0 \
    --error-retry 1 --report "$report" "$@" 2>"$report.log" &
  SIM_PID=$!
  wait "$SIM_PID" || fail "provbox-sim exited with $?: $(cat "$report.log")"
  SIM_PID=
}

ip netns add "$S"
ip netns add "$C"
ip link add "$VS" netns "$S" type veth peer name "$VC" netns "$C"
ip -n "$S" addr add "$SERVER_ADDR/16" dev "$VS"
ip -n "$S" link set lo up
ip -n "$S" link set "$VS" up
ip -n "$C" link set lo up
ip -n "$C" link set "$VC" up

# ---- the inventory: three IP542N, each with a parameter of its own --------------
M1=00:21:f2:aa:00:01
M2=00:21:f2:aa:00:02
M3=00:21:f2:aa:00:03
pb init >/dev/null
pb model add IP542N --config-file IP542N.conf >/dev/null
for m in $M1 $M2 $M3; do
  pb device add $m --model IP542N --sw v3.3.8 >/dev/null
  pb param set DBID_SIP_DIS_NAME "user-${m: -2}" --device $m >/dev/null
done
pb param set DBID_SIP_ACCOUNT 1002 --device $M2 >/dev/null

ip netns exec "$S" "$PROVBOX" --data-dir "$WORK/data" serve --dhcp "$VS" --dhcp-range "$RANGE" \
  --tftp "$SERVER_ADDR:69" --http "$SERVER_ADDR:8080" --https off --admin off >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  if ip netns exec "$S" ss -ulnH 'sport = :67' | grep -q . && ip netns exec "$S" ss -tlnH 'sport = :8080' | grep -q .; then
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "provbox serve did not start: $(cat "$WORK/serve.log")"
  sleep 0.1
done
ip netns exec "$S" ss -ulnH 'sport = :67' | grep -q . || fail "provbox serve is not listening on port 67"

# ---- scenario 1: DHCP option 66 + TFTP IP542N.conf, each device its own parameters ----
echo "== 1. DHCP option 66 + TFTP IP542N.conf (seed 4.3)"
run_sim s1.json --devices 3 --mac-base $M1 --periodic 0 --duration 40
expect s1.json 't["dhcp_acquired"]' 3 "(1) every device got a lease"
expect s1.json 't["provisioned"]' 3 "(1) every device applied its file"
expect s1.json 't["failures"]' 0 "(1) no failures"
declare -A ADDR
for m in $M1 $M2 $M3; do
  expect s1.json "dev('$m')['dhcp_option66']" "$SERVER_ADDR" "(1) $m read option 66"
  expect s1.json "dev('$m')['dhcp_option67']" IP542N.conf "(1) $m read option 67"
  expect s1.json "dev('$m')['last_url']" "tftp://$SERVER_ADDR/IP542N.conf" "(1) $m fetched its Config File Name by TFTP from the option 66 server"
  expect s1.json "dev('$m')['fetches_by_scheme']" '{"tftp": 1}' "(1) $m: one TFTP fetch"
  expect s1.json "dev('$m')['applied_version']" "$(version_of $m)" "(1) $m applied its own file's version"
  expect s1.json "dev('$m')['params']['DBID_SIP_DIS_NAME']" "user-${m: -2}" "(1) $m has its own parameter"
  ADDR[$m]=$(rep s1.json "dev('$m')['dhcp_address']")
  [[ ${ADDR[$m]} == 10.78.1.* ]] || fail "(1) $m leased '${ADDR[$m]}'"
done
expect s1.json "dev('$M2')['params'].get('DBID_SIP_ACCOUNT')" 1002 "(1) the parameter set for $M2 only"
expect s1.json "dev('$M1')['params'].get('DBID_SIP_ACCOUNT')" null "(1) ... is not on $M1"
[[ $(printf '%s\n' "${ADDR[@]}" | sort -u | wc -l) -eq 3 ]] || fail "(1) addresses not distinct: ${ADDR[*]}"
pb lease list --json | grep -q "\"address\":\"${ADDR[$M1]}\",\"mac\":\"$M1\"" || fail "(1) lease list: $(pb lease list --json)"
ip -n "$C" -4 addr show dev "$VC" | grep -q "${ADDR[$M1]}" &&
  fail "(1) the simulator left ${ADDR[$M1]} on $VC"
pass "1: 3 devices leased ${ADDR[*]}, option 66 $SERVER_ADDR, each applied its own IP542N.conf over TFTP"

# ---- scenario 4: firmware by Upgrade Rule -------------------------------------------
echo "== 4. firmware by Upgrade Rule over HTTP and over TFTP"
head -c 300000 /dev/urandom >IP542N_107.bin
SHA=$(sha256sum IP542N_107.bin | cut -d' ' -f1)
pb firmware add IP542N_107.bin --model IP542N --version 1.0.7 >/dev/null
FW_PATH=firmware/IP542N/1.0.7/IP542N_107.bin
curl_ok=$(ip netns exec "$S" python3 -c "
import urllib.request, hashlib
print(hashlib.sha256(urllib.request.urlopen('http://$SERVER_ADDR:8080/$FW_PATH').read()).hexdigest())")
[[ $curl_ok == "$SHA" ]] || fail "(4) the server serves a different image at /$FW_PATH"

# HTTP, the rule on the device (--upgrade-rule); Resync After Upgrade on.
run_sim s4h.json --mac-base $M1 --periodic 0 --duration 30 \
  --upgrade-rule "http://$SERVER_ADDR:8080/$FW_PATH" --upgrade-expect-sha256 "$SHA"
expect s4h.json "dev('$M1')['upgrades']" 1 "(4 http) one upgrade"
expect s4h.json "dev('$M1')['upgrade_failures']" 0 "(4 http) no upgrade failure"
expect s4h.json "dev('$M1')['firmware_sha256']" "$SHA" "(4 http) the image's SHA-256"
expect s4h.json "dev('$M1')['firmware_size']" 300000 "(4 http) the image's size"
expect s4h.json "dev('$M1')['sw']" 1.0.7 "(4 http) the new software version"
expect s4h.json "dev('$M1')['resyncs']" 2 "(4 http) Resync After Upgrade: one more resync"
pass "4 http: sha256 $SHA, software 1.0.7"

# TFTP, the rule from the device's own file (DBID_PRV_UPGRADE_RULE), with no
# server in it: the option 66 server.
pb param set DBID_PRV_UPGRADE_RULE "/$FW_PATH" --device $M2 >/dev/null
run_sim s4t.json --mac-base $M2 --periodic 0 --duration 30 --resync-after-upgrade off
expect s4t.json "dev('$M2')['upgrade_rule']" "/$FW_PATH" "(4 tftp) the rule came with the file"
expect s4t.json "dev('$M2')['upgrade_url']" "/$FW_PATH" "(4 tftp) the rule as expanded"
expect s4t.json "dev('$M2')['upgrades']" 1 "(4 tftp) one upgrade"
expect s4t.json "dev('$M2')['firmware_sha256']" "$SHA" "(4 tftp) the image's SHA-256"
expect s4t.json "dev('$M2')['sw']" 1.0.7 "(4 tftp) the new software version"
expect s4t.json "dev('$M2')['resyncs']" 1 "(4 tftp) Resync After Upgrade off: no extra resync"
pass "4 tftp: sha256 $SHA, software 1.0.7"

# A missing image: failures, retried every Upgrade Error Retry Delay (2 s, not
# sooner); once the image is added, the next retry upgrades.
ip netns exec "$C" "$SIM" --dhcp "$VC" --dhcp-own-address --model IP542N --random-delay 0 \
  --error-retry 1 --mac-base $M3 --periodic 0 --duration 40 --upgrade-error-retry 2 \
  --upgrade-rule "http://$SERVER_ADDR:8080/firmware/IP542N/1.0.8/IP542N_108.bin" \
  --report s4m.json 2>s4m.json.log &
SIM_PID=$!
wait_until s4m.json "dev('$M3')['upgrade_failures'] >= 2" 20 "(4 missing) two failed attempts"
expect s4m.json "dev('$M3')['upgrades']" 0 "(4 missing) no upgrade"
expect s4m.json "dev('$M3')['sw']" v3.3.8 "(4 missing) the software version is unchanged"
expect s4m.json "'HTTP 404' in dev('$M3')['upgrade_error']" true "(4 missing) the error says 404"
expect s4m.json "dev('$M3')['applied_version'] is not None" true "(4 missing) provisioning still works"
head -c 100000 /dev/urandom >IP542N_108.bin
SHA2=$(sha256sum IP542N_108.bin | cut -d' ' -f1)
pb firmware add IP542N_108.bin --model IP542N --version 1.0.8 --no-activate >/dev/null
wait_until s4m.json "dev('$M3')['upgrades'] == 1" 10 "(4 missing) the retry after the image was added upgrades"
wait "$SIM_PID" || fail "provbox-sim exited with $?: $(cat s4m.json.log)"
SIM_PID=
expect s4m.json "dev('$M3')['firmware_sha256']" "$SHA2" "(4 missing) then the new image's SHA-256"
expect s4m.json "dev('$M3')['sw']" 1.0.8 "(4 missing) then software 1.0.8"
FAILED=$(rep s4m.json "dev('$M3')['upgrade_failures']")
SPACING=$(rep s4m.json "round((dev('$M3')['last_upgrade_attempt_s'] - dev('$M3')['first_upgrade_attempt_s']) / (dev('$M3')['upgrade_attempts'] - 1), 2)")
python3 -c "import sys; sys.exit(0 if 1.95 <= $SPACING <= 4 else 1)" ||
  fail "(4 missing) attempts $SPACING s apart, not the 2 s Upgrade Error Retry Delay"
pass "4 missing image: $FAILED failed attempts $SPACING s apart (delay 2 s), then upgraded to 1.0.8"
echo "all namespace scenarios passed"
