#!/usr/bin/env bash
# End-to-end scenarios (issue 6): the real `provbox serve` on free 127.0.0.1
# ports and provbox-sim devices fetching from it, as the seed's section 4 does.
#   scenarios_test.sh PATH/TO/provbox PATH/TO/provbox-sim
# (a) HTTP fv$(MAU).conf  (b) [--key 123456]  (c) HTTPS with `provbox cert issue`,
# and a certificate for another MAC refused  (d) change management: param set,
# unchanged not re-applied, bump  (e) option 66 TFTP IP542N.conf, then the file's
# DBID_PRV_OPTION66_ENABLED=0 + DBID_PRV_PROFILE_RULE move the device to HTTPS.
set -euo pipefail
PROVBOX=$(realpath "${1:?usage: $0 PROVBOX PROVBOX_SIM}")
SIM=$(realpath "${2:?usage: $0 PROVBOX PROVBOX_SIM}")
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 1; }
done

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/provbox-sim.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TEST_DIR"
}
trap cleanup EXIT
cd "$TEST_DIR"
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL

fail() {
  echo "FAIL (line ${BASH_LINENO[0]}): $*" >&2
  echo "--- serve.log (tail)" >&2
  tail -20 serve.log >&2 || true
  exit 1
}
pb() { "$PROVBOX" --data-dir "$TEST_DIR/data" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# rep FILE EXPR: EXPR in Python over d (the first device) and t (totals).
rep() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
d, t = r["devices"][0], r["totals"]
v = eval(sys.argv[2])
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}
# expect FILE EXPR WANT WHAT
expect() {
  local got
  got=$(rep "$1" "$2") || fail "$4: cannot read $2 from $1"
  [[ $got == "$3" ]] || fail "$4: expected $2 == '$3', got '$got'" "$(cat "$1")"
}
# wait_until FILE CONDITION SECONDS WHAT: polls the report the simulator rewrites every second.
wait_until() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if [[ -s $1 ]] && [[ $(rep "$1" "$2" 2>/dev/null || echo false) == true ]]; then return 0; fi
    sleep 0.1
  done
  fail "$4: '$2' not true within $3 s; report: $(cat "$1" 2>/dev/null)"
}
version_of() { pb render "$1" --plain | sed -n 's/^DBID_DBASE_VERSION=//p'; }

PHONE=00:21:f2:01:1b:19  # IP542N, static ip 127.0.0.1, no key
ATA=00:21:f2:22:ae:f1    # G502N, key 123456

pb init --demo >/dev/null
HP=$(free_port)
HS=$(free_port)
TP=$(free_udp_port)
"$PROVBOX" --data-dir "$TEST_DIR/data" serve --http "127.0.0.1:$HP" --https "127.0.0.1:$HS" --tftp "127.0.0.1:$TP" --admin off \
  >serve.log 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$HP/" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$HP/" || fail "provbox serve did not answer on $HP"
HTTP_RULE="http://127.0.0.1:$HP/fv\$(MAU).conf"
HTTPS_RULE="https://127.0.0.1:$HS/fv\$(MAU).conf"

# ---- (a) HTTP, seed 4.1 -----------------------------------------------------
V=$(version_of $PHONE)
[[ -n $V ]] || fail "render gave no DBID_DBASE_VERSION"
"$SIM" --mac-base $PHONE --model IP542N --random-delay 0 --periodic 0 --error-retry 1 --duration 10 \
  --profile-rule "$HTTP_RULE" --report a.json
expect a.json 'd["applied_version"]' "$V" "(a) HTTP applies the demo IP542N's version"
expect a.json 'd["applies"]' 1 "(a) applied once"
expect a.json 'd["failures"]' 0 "(a) no failures"
expect a.json 'd["last_url"]' "http://127.0.0.1:$HP/fv0021F2011B19.conf" "(a) the device expanded \$(MAU)"
expect a.json 'd["params"]["DBID_SIP_ACCOUNT"]' 23103 "(a) the device's own parameters"
# A device the inventory does not know gets nothing and counts failures.
"$SIM" --mac-base 00:21:f2:99:99:01 --random-delay 0 --periodic 0 --error-retry 1 --duration 2.5 \
  --profile-rule "$HTTP_RULE" --report a2.json
expect a2.json 'd["applied_version"]' null "(a) an unknown device applies nothing"
expect a2.json 'd["failures"] >= 2 and d["retries"] >= 2' true "(a) an unknown device retries after the error delay"
echo "ok (a) HTTP"

# ---- (b) encrypted profile, seed 4.4 ------------------------------------------
VA=$(version_of $ATA)
"$SIM" --mac-base $ATA --model G502N --random-delay 0 --periodic 0 --error-retry 1 --duration 10 \
  --profile-rule "[--key 123456]$HTTP_RULE" --report b.json
expect b.json 'd["applied_version"]' "$VA" "(b) the G502N decrypts and applies"
expect b.json 'd["failures"]' 0 "(b) no failures"
"$SIM" --mac-base $ATA --model G502N --random-delay 0 --periodic 0 --error-retry 1 --duration 1.5 \
  --profile-rule "[--key 654321]$HTTP_RULE" --report b2.json
expect b2.json 'd["applied_version"]' null "(b) a wrong key applies nothing"
expect b2.json 'd["failures"] >= 1' true "(b) a wrong key is a failure"
"$SIM" --mac-base $ATA --model G502N --random-delay 0 --periodic 0 --error-retry 1 --duration 1.5 \
  --profile-rule "$HTTP_RULE" --report b3.json
expect b3.json 'd["applied_version"]' null "(b) without --key the encrypted file is not applied"
echo "ok (b) encrypted"

# ---- (c) HTTPS with client certificates, seed 4.2 -------------------------------
pb cert issue $PHONE --out certs/0021F2011B19-certs >/dev/null
for f in cacert.pem sslclientcert.pem sslclientkey.pem; do
  [[ -s certs/0021F2011B19-certs/$f ]] || fail "(c) cert issue did not write $f"
done
"$SIM" --mac-base $PHONE --random-delay 0 --periodic 0 --error-retry 1 --duration 10 \
  --profile-rule "$HTTPS_RULE" --cert-dir certs --report c.json
expect c.json 'd["applied_version"]' "$V" "(c) HTTPS with the device's certificate applies"
expect c.json 'd["last_scheme"]' https "(c) fetched over https"
expect c.json 'd["failures"]' 0 "(c) no failures"
# The G502N holding the IP542N's certificate asks for its own file: refused.
"$SIM" --mac-base $ATA --model G502N --random-delay 0 --periodic 0 --error-retry 1 --duration 2.5 \
  --profile-rule "[--key 123456]$HTTPS_RULE" --cert-dir certs --cert-mac $PHONE --report c2.json
expect c2.json 'd["applied_version"]' null "(c) a certificate for another MAC gets nothing"
expect c2.json '"HTTP 403" in d["last_error"]' true "(c) refused with 403"
# No bundle at all: no fetch succeeds.
"$SIM" --mac-base $ATA --model G502N --random-delay 0 --periodic 0 --error-retry 1 --duration 1.5 \
  --profile-rule "[--key 123456]$HTTPS_RULE" --cert-dir nowhere --report c3.json
expect c3.json 'd["applied_version"]' null "(c) no certificate, no file"
echo "ok (c) HTTPS"

# ---- (d) change management --------------------------------------------------------
"$SIM" --mac-base $PHONE --random-delay 0 --periodic 1 --error-retry 1 --duration 60 \
  --profile-rule "$HTTP_RULE" --report d.json &
SIM_D=$!
PIDS+=($SIM_D)
wait_until d.json 'd["applies"] == 1' 10 "(d) first apply"
expect d.json 'd["applied_version"]' "$V" "(d) first version"
pb param set DBID_SIP_DIS_NAME changed_by_test --device $PHONE >/dev/null
V2=$(version_of $PHONE)
[[ $V2 != "$V" ]] || fail "(d) param set did not change DBID_DBASE_VERSION ($V)"
wait_until d.json "d[\"applied_version\"] == \"$V2\"" 10 "(d) the periodic resync applies the change"
expect d.json 'd["applies"]' 2 "(d) applied exactly once more"
expect d.json 'd["params"]["DBID_SIP_DIS_NAME"]' changed_by_test "(d) the new value is on the device"
F=$(rep d.json 'd["fetches"]')
wait_until d.json "d[\"fetches\"] >= $F + 2" 10 "(d) periodic resyncs go on"
expect d.json 'd["applies"]' 2 "(d) an unchanged inventory is not re-applied"
expect d.json 'd["unchanged"] >= 2' true "(d) resyncs saw the same version"
pb bump $PHONE >/dev/null
V3=$(version_of $PHONE)
[[ $V3 != "$V2" ]] || fail "(d) bump did not change DBID_DBASE_VERSION ($V2)"
wait_until d.json "d[\"applied_version\"] == \"$V3\"" 10 "(d) bump forces a re-apply"
expect d.json 'd["applies"]' 3 "(d) the bump is applied once"
kill $SIM_D
wait $SIM_D || true
echo "ok (d) change management"

# ---- (e) option 66 + TFTP, then the file moves the device to HTTPS --------------------
pb param set DBID_PRV_PROFILE_RULE "$HTTPS_RULE" --device $PHONE >/dev/null
pb render $PHONE --plain | grep -q '^DBID_PRV_OPTION66_ENABLED=0$' ||
  fail "(e) the demo IP542N file should turn option 66 off"
pb render $PHONE --plain | grep -q '^DBID_PRV_PROFILE_RULE=' || fail "(e) no DBID_PRV_PROFILE_RULE in the file"
V4=$(version_of $PHONE)
"$SIM" --mac-base $PHONE --model IP542N --random-delay 0 --periodic 1 --error-retry 1 --duration 60 \
  --option66-server "127.0.0.1:$TP" --config-file IP542N.conf --cert-dir certs --report e.json &
SIM_E=$!
PIDS+=($SIM_E)
wait_until e.json 'd.get("fetches_by_scheme", {}).get("https", 0) >= 2' 15 "(e) later resyncs over https"
expect e.json 'd["fetches_by_scheme"]["tftp"]' 1 "(e) exactly one TFTP fetch (the first)"
expect e.json 'd["fetches_by_scheme"].get("http", 0)' 0 "(e) no plain HTTP"
expect e.json 'd["option66"]' false "(e) the file turned option 66 off"
expect e.json 'd["applied_version"]' "$V4" "(e) the TFTP file was applied"
expect e.json 'd["applies"]' 1 "(e) the same version over HTTPS is not re-applied"
expect e.json 'd["failures"]' 0 "(e) no failures"
expect e.json 'd["last_url"]' "https://127.0.0.1:$HS/fv0021F2011B19.conf" "(e) the new Profile Rule, expanded"
kill $SIM_E
wait $SIM_E || true
echo "ok (e) option 66 -> HTTPS"
echo "all scenarios passed"
