#!/usr/bin/env bash
# Issue 12: the soak test. One provbox server under about a minute of every
# kind of load at once, with the operator's moves and a crash in the middle:
#
#   - devices: keep-alive HTTP (2-3 connections per device file, plain and
#     encrypted, one for a 256 KB firmware image), HTTPS with client
#     certificates and TLS session resumption, TFTP (a client of our own,
#     device files and the image, and tftp-hpa), all driven by soak.py; DHCP
#     (busybox udhcpc and ISC dhclient, each in a namespace of its own with
#     its device's MAC; leases of 60 s renewed every 10 to 30 s);
#   - operators: `param set` in three loops (two devices and the global
#     scope), noting each value acknowledged by exit 0; `status`, `device
#     list`, `events`, `lease list`, `param list` and `cert list` in two loops;
#   - at 13% of the run a SIGHUP reload of a changed configuration file
#     (log.format text -> json); at 27% `cert revoke` of one device's
#     certificate while its keep-alive connections are open; at 43% a
#     `kill -9` of the server and a restart with the same arguments.
#
# Asserts:
#   - the server never ends on its own (only our kill -9 ends it; SIGTERM at
#     the end gives exit 0);
#   - no 5xx, nor any status but 200 (and 403 for the revoked certificate),
#     no TFTP ERROR, and no connection error outside the kill-and-restart
#     window, on any transport (soak.py);
#   - each device file's DBID_DBASE_VERSION (body, or X-Dbase-Version when
#     encrypted) never below one already served, on any connection or
#     transport, across the restart; the image always whole (soak.py);
#   - the reload applied: "configuration reloaded" is logged in JSON;
#   - after `cert revoke`, the revoked certificate's open connections get 403
#     or their end, its new connections and resumed sessions never a 200;
#   - every CLI command exits 0; every param value acknowledged before the
#     kill is there after the restart (or a later one), and at the end each
#     key holds its last acknowledged value (`param list` and `render`);
#   - every DHCP lease acknowledged before the kill is in `lease list` after
#     the restart and the same client renews the same address; no client
#     ever changes address, sees a NAK or loses its lease; from its leased
#     address each client gets exactly its own file (`render MAC --ip A`)
#     when it asks for its model's Config File Name over HTTP and TFTP;
#   - the server's RSS (VmRSS, every 0.5 s) stays below RSS_LIMIT_MB and the
#     database (provbox.db + -wal, by stat only) below DB_LIMIT_MB.
# The last line is a summary with the counts.
#
# The server runs in a network namespace (pbsk-s-PID) on a bridge with
# 10.79.0.1/16; the HTTP/HTTPS/TFTP clients in pbsk-c-PID (10.79.0.2-4, one
# address per transport, each below the server's 64 connections per address),
# each DHCP client in pbsk-dN-PID. Every process started here is stopped by
# its PID, and the namespaces and the temporary folder are removed on exit
# (SOAK_KEEP=1 keeps the folder).
#
# usage: soak_test.sh PATH/TO/provbox   (SOAK_SECONDS=N: the load's length, default 60)
# Needs root, ip and ss (iproute2), busybox, dhclient, tftp (tftp-hpa), curl
# and python3; exits 77 (ctest: skipped) without them.
set -euo pipefail
shopt -s inherit_errexit

if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "usage: $0 PATH/TO/provbox (got '${1:-}')" >&2
  exit 1
fi
PROVBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOAD_SECONDS=${SOAK_SECONDS:-60}
RSS_LIMIT_MB=150   # measured: about 16 MB
DB_LIMIT_MB=64     # measured: about 4 MB

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (network namespaces, DHCP)"; exit 77; fi
for tool in ip ss busybox dhclient tftp curl python3 stat sha256sum; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
# An AddressSanitizer build (.ci/run's build-asan) holds freed memory in
# quarantine, and shadow memory besides: its RSS says little about ours.
if grep -aqm1 __asan_init "$PROVBOX"; then RSS_LIMIT_MB=1024; fi
# The interpreter itself, not a wrapper that looks it up on each start
# (pyenv's shim takes a second or more on a busy machine).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

ID=$$
S=pbsk-s-$ID                 # the server's namespace
C=pbsk-c-$ID                 # HTTP, HTTPS and TFTP clients
BR=pbsk${ID}b                # the server's bridge (interface names: 15 characters at most)
SERVER_IP=10.79.0.1
HTTP_SOURCE=10.79.0.2 HTTPS_SOURCE=10.79.0.3 TFTP_SOURCE=10.79.0.4
HTTP_PORT=8080 HTTPS_PORT=8443 TFTP_PORT=6969 ADMIN_PORT=9090
RANGE=10.79.1.10-10.79.1.250
WORK=  # made once the EXIT trap is set
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL

# The devices. The demo's two, three added for the HTTP/HTTPS/TFTP clients
# and four for the DHCP clients.
PHONE=00:21:f2:01:1b:19      # demo IP542N, plain; HTTPS (kept)
ATA=00:21:f2:22:ae:f1        # demo G502N, encrypted (key 123456)
REVOKED=00:21:f2:5a:00:01    # IP542N; HTTPS, its certificate revoked mid-way
GATEWAY=00:21:f2:5a:00:02    # G502N, plain; HTTPS (kept)
KEYED=00:21:f2:5a:00:03      # IP542N, encrypted
DHCP_MACS=(00:21:f2:5c:00:01 00:21:f2:5c:00:02 00:21:f2:5c:00:03 00:21:f2:5c:00:04)
DHCP_MODELS=(IP542N G502N IP542N G502N)
DHCP_KINDS=(udhcpc udhcpc dhclient dhclient)
file_of() { local m=${1//:/}; echo "fv${m^^}.conf"; }  # the model's pattern fv$(MAU).conf

# Server log lines that say nothing when a test fails: access lines (text and
# JSON) and the handshakes of the revoked certificate refused.
ROUTINE_LINES=' info (http|https|tftp) |"transport":|failed \(revoked\)'
SERVER_PID=
DRIVER_PID=
SAMPLER_PID=
CLI_PIDS=()
DHCP_PIDS=()
NAMESPACES=()

# ---- cleanup and failure ---------------------------------------------------

cleanup() {
  local rc=$? pid ns
  set +e
  [[ -n $WORK ]] && touch "$PHASE/stop_cli" "$PHASE/stop_sampler"
  for pid in $DRIVER_PID $SAMPLER_PID "${CLI_PIDS[@]}" "${DHCP_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  if [[ -n $SERVER_PID ]]; then kill -KILL "$SERVER_PID" 2>/dev/null; fi
  for pid in $SERVER_PID $DRIVER_PID $SAMPLER_PID "${CLI_PIDS[@]}" "${DHCP_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [[ -n $WORK ]] || return 0
  if [[ $rc -ne 0 && -s $WORK/driver.err ]]; then
    echo "---- soak.py's standard error ----" >&2
    tail -n 20 "$WORK/driver.err" >&2
  fi
  if [[ $rc -ne 0 && -f $SERVER_LOG ]]; then
    echo "---- last lines of the server log (access lines and refused handshakes left out) ----" >&2
    grep -v -E "$ROUTINE_LINES" "$SERVER_LOG" | tail -n 30 >&2
  fi
  if [[ ${SOAK_KEEP:-} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provbox-soak.XXXXXX")
DATA=$WORK/data
CONF=$WORK/provbox.yaml
SERVER_LOG=$WORK/server.log
PHASE=$WORK/phase
mkdir -p "$PHASE" "$WORK/cli" "$WORK/dhcp" "$WORK/certs"

fail() {
  {
    echo "FAIL soak_test.sh:${BASH_LINENO[0]}: $1"
    shift
    local line
    for line in "$@"; do echo "  $line"; done
  } >&2
  exit 1
}
step() { echo "== $(date +%T) $*"; }

# phase NAME: tells soak.py (a file in $PHASE holding the time).
phase() { echo "$EPOCHREALTIME" >"$PHASE/$1.tmp" && mv "$PHASE/$1.tmp" "$PHASE/$1"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
pb() { "$PROVBOX" --data-dir "$DATA" "$@"; }

# ---- the server ------------------------------------------------------------

SERVE_ARGS=(--data-dir "$DATA" serve --config "$CONF" --dhcp "$BR" --dhcp-range "$RANGE"
  --http "$SERVER_IP:$HTTP_PORT" --https "$SERVER_IP:$HTTPS_PORT" --tftp "$SERVER_IP:$TFTP_PORT"
  --admin "$SERVER_IP:$ADMIN_PORT")

write_config() {  # LOG_FORMAT
  cat >"$CONF.tmp" <<EOF
tls:
  server_addresses: [$SERVER_IP]
http:
  idle_timeout: 30
log:
  format: $1
  level: info
dhcp:
  lease_time: 60
  renewal_time: 10
EOF
  mv "$CONF.tmp" "$CONF"
}

healthy() { [[ $(ip netns exec "$S" curl -s --max-time 1 "http://$SERVER_IP:$ADMIN_PORT/healthz" 2>/dev/null) == ok ]]; }

# The server must be running: it never stops on its own.
server_alive() {
  kill -0 "$SERVER_PID" 2>/dev/null && return 0
  local status=0 how
  { wait "$SERVER_PID"; } 2>/dev/null || status=$?
  how="exit status $status"
  ((status > 128)) && how="killed by SIG$(kill -l $((status - 128)))"
  fail "the server (PID $SERVER_PID) ended on its own, $how${1:+, $1}" \
    "CLI commands by then: $(cat "$WORK"/cli/*.acked "$WORK"/cli/*.done 2>/dev/null | wc -l)"
}

start_server() {
  ip netns exec "$S" "$PROVBOX" "${SERVE_ARGS[@]}" >>"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$WORK/server.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    server_alive "while starting"
    healthy && return 0
    sleep 0.1
  done
  fail "provbox serve did not answer /healthz within 30 s"
}

# poll SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or
# SECONDS passed (1); the server must stay up meanwhile.
poll() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  while (($(now_ms) < deadline)); do
    "$@" && return 0
    server_alive
    sleep 0.1
  done
  return 1
}

# wait_until MS: the run's schedule (ms since the clients were ready);
# checks the server and the driver meanwhile.
wait_until() {
  while (($(now_ms) < T0 + $1)); do
    server_alive
    kill -0 "$DRIVER_PID" 2>/dev/null || fail "soak.py ended early" "$(cat "$WORK/driver.err" 2>/dev/null)"
    sleep 0.1
  done
}

# ---- the network -----------------------------------------------------------

step "namespaces: $S (bridge $BR, $SERVER_IP/16), $C and ${#DHCP_MACS[@]} DHCP clients"
ip netns add "$S" || { echo "SKIP: cannot create network namespaces"; exit 77; }
NAMESPACES+=("$S")
ip -n "$S" link set lo up
ip -n "$S" link add "$BR" type bridge || { echo "SKIP: cannot create a bridge"; exit 77; }
ip -n "$S" addr add "$SERVER_IP/16" dev "$BR"
ip -n "$S" link set "$BR" up

# attach NAMESPACE IFACE [MAC]: a veth pair from NAMESPACE to the bridge.
attach() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip link add "$2" netns "$1" type veth peer name "${2}s" netns "$S"
  ip -n "$S" link set "${2}s" master "$BR"
  ip -n "$S" link set "${2}s" up
  ip -n "$1" link set lo up
  [[ -z ${3:-} ]] || ip -n "$1" link set "$2" address "$3"
  ip -n "$1" link set "$2" up
}
attach "$C" "pbsk${ID}c"
for address in $HTTP_SOURCE $HTTPS_SOURCE $TFTP_SOURCE; do
  ip -n "$C" addr add "$address/16" dev "pbsk${ID}c"
done
for i in "${!DHCP_MACS[@]}"; do
  attach "pbsk-d$((i + 1))-$ID" "pbsk${ID}d$((i + 1))" "${DHCP_MACS[i]}"
done

# ---- the inventory ---------------------------------------------------------

step "inventory: the demo, 3 devices for HTTP/HTTPS/TFTP, ${#DHCP_MACS[@]} for DHCP; a firmware image; certificates"
pb init --demo >/dev/null
pb device add "$REVOKED" --model IP542N --label "soak: revoked mid-way" >/dev/null
pb device add "$GATEWAY" --model G502N --label "soak: plain G502N" >/dev/null
pb device add "$KEYED" --model IP542N --key soak3key --label "soak: encrypted" >/dev/null
for i in "${!DHCP_MACS[@]}"; do
  pb device add "${DHCP_MACS[i]}" --model "${DHCP_MODELS[i]}" --label "soak: DHCP ${DHCP_KINDS[i]}" >/dev/null
done
for mac in "$PHONE" "$ATA" "$REVOKED" "$GATEWAY" "$KEYED"; do
  pb param set SOAK_DEVICE "$mac" --device "$mac" >/dev/null
done
# A firmware image (256 KB: many TFTP blocks), fetched whole and checked.
head -c 262144 /dev/urandom >"$WORK/fw.bin"
pb firmware add "$WORK/fw.bin" --model IP542N --version 1.0 >/dev/null
IMAGE=firmware/IP542N/1.0/fw.bin
IMAGE_SHA256=$(sha256sum <"$WORK/fw.bin" | cut -d' ' -f1)
issue() {  # MAC NAME: a client certificate into $WORK/certs/NAME; its serial in SERIAL
  local out
  out=$(pb cert issue "$1" --out "$WORK/certs/$2")
  [[ $out =~ serial\ ([0-9A-F]+) ]] || fail "cert issue $1 prints a serial" "got: $out"
  SERIAL=${BASH_REMATCH[1]}
}
issue "$PHONE" phone
issue "$GATEWAY" gateway
issue "$REVOKED" revoked
REVOKED_SERIAL=$SERIAL

step "server: provbox serve in $S (HTTP $HTTP_PORT, HTTPS $HTTPS_PORT, TFTP $TFTP_PORT, admin $ADMIN_PORT, DHCP on $BR)"
write_config text
start_server

# ---- background: RSS and database size -----------------------------------

# Every 0.5 s: the server's VmRSS, the database's size (stat of provbox.db
# and -wal: SQLite's files are the server's to open), and the most HTTP and
# HTTPS connections one client address holds (ss), kept below the server's
# per-address limit (64) so that the limit never refuses these clients.
sampler() {
  local pid rss max_rss=0 size max_db=0 samples=0 f conns max_conns=0
  while [[ ! -e $PHASE/stop_sampler ]]; do
    conns=$(ip netns exec "$S" ss -Htn state established "( sport = :$HTTP_PORT or sport = :$HTTPS_PORT )" 2>/dev/null |
      awk '{ split($4, peer, ":"); n[peer[1]]++ } END { m = 0; for (a in n) if (n[a] > m) m = n[a]; print m }' || true)
    ((${conns:-0} > max_conns)) && max_conns=$conns
    pid=$(<"$WORK/server.pid")
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    size=0
    for f in "$DATA/provbox.db" "$DATA/provbox.db-wal"; do
      size=$((size + $(stat -c %s "$f" 2>/dev/null || echo 0)))  # -wal comes and goes
    done
    ((${rss:-0} > max_rss)) && max_rss=$rss
    ((size > max_db)) && max_db=$size
    samples=$((samples + 1))
    echo "$max_rss $max_db $samples $max_conns" >"$WORK/samples.tmp" && mv "$WORK/samples.tmp" "$WORK/samples"
    sleep 0.5
  done
}
sampler &
SAMPLER_PID=$!

# ---- DHCP clients ----------------------------------------------------------

# Each client's script logs one line per event to dhcp/IFACE.log:
# "EPOCH EVENT ADDRESS OPTION66 OPTION67", and configures the address (a
# renewal is sent from it).
cat >"$WORK/udhcpc.sh" <<EOF
#!/bin/sh
echo "\$(date +%s.%N) \$1 \${ip:--} \${tftp:--} \${bootfile:--}" >>"$WORK/dhcp/\$interface.log"
case \$1 in
  bound|renew) ip addr replace "\$ip/\$mask" dev "\$interface" ;;
  deconfig) ip addr flush dev "\$interface" ;;
esac
exit 0
EOF
cat >"$WORK/dhclient.sh" <<EOF
#!/bin/sh
echo "\$(date +%s.%N) \$reason \${new_ip_address:--} \${new_tftp_server_name:--} \${new_bootfile_name:--}" >>"$WORK/dhcp/\$interface.log"
case \$reason in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "\$new_ip_address/16" dev "\$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip addr flush dev "\$interface" ;;
esac
exit 0
EOF
# Retries a second or two apart (the defaults wait up to minutes).
cat >"$WORK/dhclient.conf" <<EOF
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, dhcp-lease-time, dhcp-renewal-time, tftp-server-name, bootfile-name;
EOF
chmod +x "$WORK/udhcpc.sh" "$WORK/dhclient.sh"
# Debian's AppArmor profile for /usr/sbin/dhclient (sbin.dhclient, enforced
# where AppArmor is on) lets it run only the system's dhclient-script and
# write only its own lease files; a copy elsewhere is not confined by it.
cp "$(command -v dhclient)" "$WORK/dhclient"

step "DHCP: ${#DHCP_MACS[@]} clients (${DHCP_KINDS[*]}) get their leases"
for i in "${!DHCP_MACS[@]}"; do
  ns=pbsk-d$((i + 1))-$ID iface=pbsk${ID}d$((i + 1))
  if [[ ${DHCP_KINDS[i]} == udhcpc ]]; then
    ip netns exec "$ns" busybox udhcpc -i "$iface" -f -t 5 -T 1 -A 1 -O tftp -O bootfile \
      -s "$WORK/udhcpc.sh" >"$WORK/dhcp/$iface.out" 2>&1 &
  else
    ip netns exec "$ns" "$WORK/dhclient" -d -v -cf "$WORK/dhclient.conf" -sf "$WORK/dhclient.sh" \
      -lf "$WORK/dhcp/$iface.leases" -pf "$WORK/dhcp/$iface.pid" "$iface" >"$WORK/dhcp/$iface.out" 2>&1 &
  fi
  DHCP_PIDS+=($!)
done

# dhcp_events IFACE [FROM_BYTE]: the lease events (bound, renewed) in its
# log: "EVENT ADDRESS OPTION66 OPTION67" a line.
dhcp_events() {
  tail -c +$((${2:-0} + 1)) "$WORK/dhcp/$1.log" 2>/dev/null |
    awk '$2 ~ /^(bound|renew|BOUND|RENEW|REBIND|REBOOT)$/ { print $2, $3, $4, $5 }'
}
all_bound() {
  local i
  for i in "${!DHCP_MACS[@]}"; do
    [[ -n $(dhcp_events "pbsk${ID}d$((i + 1))") ]] || return 1
  done
}
poll 30 all_bound || fail "not every DHCP client got a lease within 30 s" \
  "$(for f in "$WORK"/dhcp/*.out; do echo "$f: $(tail -n 3 "$f" | tr '\n' '|')"; done)"

# ---- devices: soak.py ------------------------------------------------------

step "devices: HTTP, HTTPS (with resumption) and TFTP clients for $LOAD_SECONDS s"
ip netns exec "$C" "$PYTHON" "$HERE/soak.py" --server "$SERVER_IP" \
  --http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" --tftp-port "$TFTP_PORT" \
  --http-source "$HTTP_SOURCE" --https-source "$HTTPS_SOURCE" --tftp-source "$TFTP_SOURCE" \
  --seconds "$LOAD_SECONDS" --phase-dir "$PHASE" --report "$WORK/driver.json" \
  --http "/$(file_of "$PHONE"):3" --http "/$(file_of "$ATA"):3" --http "/$(file_of "$REVOKED"):2" \
  --http "/$(file_of "$GATEWAY"):3" --http "/$(file_of "$KEYED"):2" --http "/$IMAGE:1" \
  --tftp "$(file_of "$PHONE")" --tftp "$(file_of "$GATEWAY")" --tftp "$(file_of "$ATA")" \
  --tftp "$(file_of "$REVOKED")" --tftp "$IMAGE" --tftp-hpa "$(file_of "$GATEWAY")" \
  --image "$IMAGE:$IMAGE_SHA256" \
  --https "phone:$WORK/certs/phone:/$(file_of "$PHONE")" \
  --https "gateway:$WORK/certs/gateway:/$(file_of "$GATEWAY")" \
  --https "revoked:$WORK/certs/revoked:/$(file_of "$REVOKED")" --revoked revoked \
  >"$WORK/driver.out" 2>"$WORK/driver.err" &
DRIVER_PID=$!
driver_ready() {
  kill -0 "$DRIVER_PID" 2>/dev/null || fail "soak.py ended before its clients were ready" "$(cat "$WORK/driver.err")"
  [[ -e $PHASE/ready ]]
}
poll 30 driver_ready || fail "soak.py's clients did not all get a first 200 within 30 s"
T0=$(now_ms)

# ---- operators: the CLI ----------------------------------------------------

# cli_writer N [--device MAC]: sets SOAK_WN_K0..2 in turn to wN-SEQ until
# told to stop; each value acknowledged (exit 0) goes to cli/wN.acked as
# "KEY VALUE MS" (MS: how long the command took); cli/times gets
# "MS HH:MM:SS COMMAND".
cli_writer() {
  local n=$1 seq=0 key status start ms
  shift
  while [[ ! -e $PHASE/stop_cli ]]; do
    seq=$((seq + 1))
    key=SOAK_W${n}_K$((seq % 3))
    status=0
    start=${EPOCHREALTIME/./}
    "$PROVBOX" --data-dir "$DATA" param set "$key" "w$n-$seq" "$@" >/dev/null 2>>"$WORK/cli/w$n.err" || status=$?
    ms=$(((${EPOCHREALTIME/./} - start) / 1000))
    if ((status == 0)); then
      echo "$key w$n-$seq $ms" >>"$WORK/cli/w$n.acked"
      echo "$ms $(date +%T) param set $key w$n-$seq $*" >>"$WORK/cli/times"
    else
      echo "param set $key w$n-$seq $*: exit $status after $ms ms" >>"$WORK/cli/failed"
    fi
  done
}
# cli_reader N: the read commands in turn until told to stop; each one that
# exits 0 goes to cli/rN.done and cli/times.
cli_reader() {
  local n=$1 status command start ms
  local commands=("status" "device list" "events --limit 20" "lease list" "param list" "cert list")
  while [[ ! -e $PHASE/stop_cli ]]; do
    for command in "${commands[@]}"; do
      status=0
      start=${EPOCHREALTIME/./}
      # shellcheck disable=SC2086  # the command's words
      "$PROVBOX" --data-dir "$DATA" $command >/dev/null 2>>"$WORK/cli/r$n.err" || status=$?
      ms=$(((${EPOCHREALTIME/./} - start) / 1000))
      if ((status == 0)); then
        echo "$command" >>"$WORK/cli/r$n.done"
        echo "$ms $(date +%T) $command" >>"$WORK/cli/times"
      else
        echo "$command: exit $status after $ms ms" >>"$WORK/cli/failed"
      fi
    done
  done
}
step "operators: 3 'param set' loops (device $PHONE, device $GATEWAY, global) and 2 loops of read commands"
cli_writer 1 --device "$PHONE" &
CLI_PIDS+=($!)
cli_writer 2 --device "$GATEWAY" &
CLI_PIDS+=($!)
cli_writer 3 &
CLI_PIDS+=($!)
cli_reader 1 &
CLI_PIDS+=($!)
cli_reader 2 &
CLI_PIDS+=($!)

# The schedule, in ms after T0 (scaled to the load's length).
RELOAD_AT=$((LOAD_SECONDS * 130))
REVOKE_AT=$((LOAD_SECONDS * 270))
KILL_AT=$((LOAD_SECONDS * 430))
CLI_STOP_AT=$((LOAD_SECONDS * 900))

# ---- SIGHUP ----------------------------------------------------------------

wait_until "$RELOAD_AT"
step "SIGHUP: log.format text -> json"
reloads_before=$(grep -c "configuration reloaded" "$SERVER_LOG" || true)
log_offset=$(stat -c %s "$SERVER_LOG")
write_config json
kill -HUP "$SERVER_PID"
reloaded() { (($(grep -c "configuration reloaded" "$SERVER_LOG" || true) > reloads_before)); }
poll 10 reloaded || fail "no 'configuration reloaded' in the log within 10 s of SIGHUP" "$(tail -c +$((log_offset + 1)) "$SERVER_LOG" | grep -v -E "$ROUTINE_LINES" | tail -n 5)"
grep -q "reload refused" "$SERVER_LOG" && fail "the reload was refused" "$(grep "reload refused" "$SERVER_LOG")"
# Access lines are limited per device and minute, so the proof that the new
# value applies is the reload's own line: in JSON.
grep -q '^{.*"msg":"configuration reloaded"' "$SERVER_LOG" ||
  fail "the reload did not apply log.format json: its line is not JSON" "$(grep "configuration reloaded" "$SERVER_LOG")"

# ---- revocation ------------------------------------------------------------

wait_until "$REVOKE_AT"
step "cert revoke $REVOKED_SERIAL ($REVOKED) while its keep-alive connections are open"
[[ -e $PHASE/holder_open ]] || fail "the revoked certificate's keep-alive connection is not open"
pb cert revoke "$REVOKED_SERIAL" >/dev/null || fail "cert revoke $REVOKED_SERIAL failed"
phase revoked

# ---- kill -9 and restart ---------------------------------------------------

wait_until "$KILL_AT"
step "kill -9 of the server (PID $SERVER_PID) and a restart with the same arguments"
# What was acknowledged before the kill: the logs' lengths now.
declare -A BEFORE_KILL
for f in "$WORK"/cli/w*.acked "$WORK"/dhcp/*.log; do BEFORE_KILL[$f]=$(stat -c %s "$f"); done
server_alive "before the kill -9"
phase killing
kill -KILL "$SERVER_PID"
status=0
{ wait "$SERVER_PID"; } 2>/dev/null || status=$?  # without bash's "Killed" line
[[ $status -eq 137 ]] || fail "the server did not end by our SIGKILL (status $status)"
killed_at=$(now_ms)
start_server
restart_ms=$(($(now_ms) - killed_at))
phase up
step "restarted in $restart_ms ms; checking params and leases acknowledged before the kill"

# Every acknowledged param value from before the kill is there, or a later one.
pb --json param list >"$WORK/params.after_restart.json"
check_params() {  # JSON_FILE MODE(at_least|exactly) ACKED_FILE:BYTES...
  "$PYTHON" - "$@" <<'EOF'
import json, sys
params, mode, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
now = {(p["scope"], p.get("target", ""), p["name"]): p["value"] for p in json.load(open(params))}
values = {}
for spec in logs:
    path, size = spec.rsplit(":", 1)
    with open(path, "rb") as f:
        text = f.read(int(size)).decode()
    for line in text.splitlines():
        key, value = line.split(" ")[:2]
        values[key] = value
wrong = []
for key, acked in sorted(values.items()):
    got = [v for (scope, target, name), v in now.items() if name == key]
    seq = lambda v: int(v.rsplit("-", 1)[1])
    if not got:
        wrong.append(f"{key}: missing, {acked} was acknowledged")
    elif mode == "exactly" and got[0] != acked:
        wrong.append(f"{key}: {got[0]}, the last value acknowledged was {acked}")
    elif mode == "at_least" and seq(got[0]) < seq(acked):
        wrong.append(f"{key}: {got[0]}, older than {acked} acknowledged before the kill")
print("\n".join(wrong) if wrong else f"{len(values)} keys")
sys.exit(1 if wrong else 0)
EOF
}
specs=()
for f in "$WORK"/cli/w*.acked; do specs+=("$f:${BEFORE_KILL[$f]}"); done
result=$(check_params "$WORK/params.after_restart.json" at_least "${specs[@]}") ||
  fail "after the restart, params acknowledged before the kill -9 are lost" "$result"
acked_before_kill=0
for f in "$WORK"/cli/w*.acked; do acked_before_kill=$((acked_before_kill + $(head -c "${BEFORE_KILL[$f]}" "$f" | wc -l))); done

# Every lease acknowledged before the kill is in `lease list`, bound.
pb --json lease list >"$WORK/leases.after_restart.json"
declare -A LEASED
for i in "${!DHCP_MACS[@]}"; do
  iface=pbsk${ID}d$((i + 1)) mac=${DHCP_MACS[i]}
  before=$(head -c "${BEFORE_KILL[$WORK/dhcp/$iface.log]}" "$WORK/dhcp/$iface.log" |
    awk '$2 ~ /^(bound|renew|BOUND|RENEW|REBIND|REBOOT)$/ { print $3 }' | sort -u)
  [[ -n $before ]] || fail "${DHCP_KINDS[i]} $mac had no lease before the kill"
  [[ $before != *$'\n'* ]] || fail "${DHCP_KINDS[i]} $mac changed address before the kill" "$before"
  LEASED[$mac]=$before
  grep -q "\"address\":\"$before\",\"mac\":\"$mac\",\"state\":\"bound\"" "$WORK/leases.after_restart.json" ||
    fail "after the restart, the lease of $before to $mac (acknowledged before the kill) is not in 'lease list'" \
      "$(cat "$WORK/leases.after_restart.json")"
done

# The same clients renew the same addresses: udhcpc at once (SIGUSR1),
# dhclient at its next T1 (10 s).
step "DHCP: every client renews its address after the restart"
for i in "${!DHCP_MACS[@]}"; do
  [[ ${DHCP_KINDS[i]} == udhcpc ]] && kill -USR1 "${DHCP_PIDS[i]}"
done
renewed_after_restart() {
  local i iface
  for i in "${!DHCP_MACS[@]}"; do
    iface=pbsk${ID}d$((i + 1))
    [[ -n $(dhcp_events "$iface" "${BEFORE_KILL[$WORK/dhcp/$iface.log]}") ]] || return 1
  done
}
poll 30 renewed_after_restart || fail "not every DHCP client renewed within 30 s of the restart" \
  "$(for f in "$WORK"/dhcp/*.log; do echo "$f: $(tail -n 3 "$f" | tr '\n' '|')"; done)"
for i in "${!DHCP_MACS[@]}"; do
  iface=pbsk${ID}d$((i + 1)) mac=${DHCP_MACS[i]}
  got=$(dhcp_events "$iface" "${BEFORE_KILL[$WORK/dhcp/$iface.log]}" | head -n1 | cut -d' ' -f2)
  [[ $got == "${LEASED[$mac]}" ]] || fail "${DHCP_KINDS[i]} $mac renewed to $got after the restart, not ${LEASED[$mac]}"
done

# ---- the end ---------------------------------------------------------------

wait_until "$CLI_STOP_AT"
step "stopping the CLI loops; waiting for soak.py"
touch "$PHASE/stop_cli"
for pid in "${CLI_PIDS[@]}"; do wait "$pid" || true; done
CLI_PIDS=()
driver_status=0
wait "$DRIVER_PID" || driver_status=$?
DRIVER_PID=
server_alive "during the load"

# A leased address is how the server knows who asks for the model's Config
# File Name: from each DHCP client's namespace (its leased address), HTTP and
# tftp-hpa get exactly what `render MAC --ip ADDRESS` gives (the CLI loops
# have stopped, so versions hold still).
step "DHCP clients fetch their model's Config File Name from their leased addresses"
for i in "${!DHCP_MACS[@]}"; do
  ns=pbsk-d$((i + 1))-$ID mac=${DHCP_MACS[i]} name=${DHCP_MODELS[i]}.conf
  kill -0 "${DHCP_PIDS[i]}" 2>/dev/null || fail "${DHCP_KINDS[i]} $mac ended during the run" "$(tail -n 5 "$WORK/dhcp/pbsk${ID}d$((i + 1)).out")"
  pb render "$mac" --ip "${LEASED[$mac]}" --output "$WORK/expected.$i"
  code=$(ip netns exec "$ns" curl -s --max-time 10 -o "$WORK/got.http.$i" -w '%{http_code}' "http://$SERVER_IP:$HTTP_PORT/$name") || true
  [[ $code == 200 ]] || fail "$mac asking for $name over HTTP from ${LEASED[$mac]}: HTTP $code"
  cmp -s "$WORK/expected.$i" "$WORK/got.http.$i" || fail "$mac asking for $name over HTTP from ${LEASED[$mac]} did not get its own file" \
    "$(diff "$WORK/expected.$i" "$WORK/got.http.$i" | head -n 6)"
  ip netns exec "$ns" timeout 20 tftp -m binary "$SERVER_IP" "$TFTP_PORT" -c get "$name" "$WORK/got.tftp.$i" >/dev/null 2>&1 || true
  cmp -s "$WORK/expected.$i" "$WORK/got.tftp.$i" || fail "$mac asking for $name over TFTP (tftp-hpa) from ${LEASED[$mac]} did not get its own file" \
    "$(diff "$WORK/expected.$i" "$WORK/got.tftp.$i" 2>&1 | head -n 6)"
done
for pid in "${DHCP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
DHCP_PIDS=()
touch "$PHASE/stop_sampler"
wait "$SAMPLER_PID" || true
SAMPLER_PID=

step "checks"
[[ -s $WORK/driver.json ]] || fail "soak.py wrote no report (exit $driver_status)" "$(tail -n 20 "$WORK/driver.err")"
report() { "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/driver.json" "$1"; }
if ((driver_status != 0)); then
  fail "the device clients saw failures (soak.py exit $driver_status)" \
    "$(report '"\n  ".join(d["checks_failed"] + d["failures"][:25])')" \
    "$(report '"failures in all: %d; answers: %s" % (d["failure_count"], d["statuses"])')"
fi

[[ ! -s $WORK/cli/failed ]] || fail "CLI commands failed" "$(head -n 10 "$WORK/cli/failed")" \
  "$(cat "$WORK"/cli/*.err | head -n 10)"

# At the end, each key holds its last acknowledged value: param list and render.
pb --json param list >"$WORK/params.end.json"
specs=()
for f in "$WORK"/cli/w*.acked; do specs+=("$f:$(stat -c %s "$f")"); done
result=$(check_params "$WORK/params.end.json" exactly "${specs[@]}") ||
  fail "at the end, params do not hold their last acknowledged values" "$result"
rendered=$(pb render --plain "$PHONE")
for key in SOAK_W1_K0 SOAK_W1_K1 SOAK_W1_K2 SOAK_W3_K0 SOAK_W3_K1 SOAK_W3_K2; do
  for f in "$WORK"/cli/w1.acked "$WORK"/cli/w3.acked; do
    last=$(awk -v k="$key" '$1 == k { v = $2 } END { print v }' "$f")
    [[ -z $last ]] || grep -qx "$key=$last" <<<"$rendered" ||
      fail "render $PHONE: $key is not its last acknowledged value $last" "$(grep "^$key=" <<<"$rendered")"
  done
done

# Leases at the end: every client still holds its one address.
pb --json lease list >"$WORK/leases.end.json"
renewals=0
for i in "${!DHCP_MACS[@]}"; do
  iface=pbsk${ID}d$((i + 1)) mac=${DHCP_MACS[i]}
  addresses=$(dhcp_events "$iface" | cut -d' ' -f2 | sort -u)
  [[ $addresses == "${LEASED[$mac]}" ]] || fail "${DHCP_KINDS[i]} $mac had other addresses than ${LEASED[$mac]}" "$addresses"
  grep -q "\"address\":\"${LEASED[$mac]}\",\"mac\":\"$mac\",\"state\":\"bound\"" "$WORK/leases.end.json" ||
    fail "at the end, the lease of ${LEASED[$mac]} to $mac is not in 'lease list'" "$(cat "$WORK/leases.end.json")"
  options=$(dhcp_events "$iface" | head -n1 | cut -d' ' -f3-)
  [[ $options == "$SERVER_IP ${DHCP_MODELS[i]}.conf" ]] ||
    fail "${DHCP_KINDS[i]} $mac: options 66 and 67 are '$options', not '$SERVER_IP ${DHCP_MODELS[i]}.conf'"
  bad=$(awk '$2 ~ /^(nak|leasefail|EXPIRE|FAIL|RELEASE|NAK)$/' "$WORK/dhcp/$iface.log")
  [[ -z $bad ]] || fail "${DHCP_KINDS[i]} $mac lost its lease or was refused" "$bad"
  renewals=$((renewals + $(dhcp_events "$iface" | wc -l) - 1))
done

read -r max_rss_kb max_db_bytes samples max_conns <"$WORK/samples"
((max_conns < 64)) || fail "the clients held $max_conns connections from one address (the test means to stay below 64)"
((max_rss_kb < RSS_LIMIT_MB * 1024)) || fail "the server's RSS reached $((max_rss_kb / 1024)) MB (bound: $RSS_LIMIT_MB MB)"
((max_db_bytes < DB_LIMIT_MB * 1024 * 1024)) ||
  fail "the database (provbox.db + -wal) reached $((max_db_bytes / 1024 / 1024)) MB (bound: $DB_LIMIT_MB MB)"

server_alive "at the end"
step "SIGTERM: the server stops cleanly"
kill -TERM "$SERVER_PID"
for ((i = 0; i < 200; i++)); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "the server still runs 20 s after SIGTERM"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[[ $status -eq 0 ]] || fail "after SIGTERM the server exited with status $status"

writes=$(cat "$WORK"/cli/w*.acked | wc -l)
slowest=$(sort -n "$WORK/cli/times" | tail -n 1)
median=$(sort -n "$WORK/cli/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
reads=$(cat "$WORK"/cli/r*.done | wc -l)
summary=$(report '"%d HTTP, %d HTTPS (%d TLS resumptions of %d tried, %d after the restart), %d TFTP and %d tftp-hpa answers (the image whole %d times over HTTP, %d over TFTP), none 5xx; %d connection errors, all in the kill -9 window; versions checked %d times, %d files, none ever fell; the revoked certificate: open connection %s, %d new connections and %d resumptions refused" % (d["responses"].get("http", 0), d["responses"].get("https", 0), d["resumption"]["reused"], d["resumption"]["attempts"], d["resumption"]["reused_after_restart"], d["responses"].get("tftp", 0), d["responses"].get("tftp-hpa", 0), d["images"].get("http", 0), d["images"].get("tftp", 0), sum(d["gap_errors"].values()), d["versions_checked"], len(d["versions"]), "/".join(d["revocation"]["open_refusals"]), d["revocation"]["new_refused"], d["revocation"]["resume_refused"])')
echo "ok: soak of $LOAD_SECONDS s: $summary; $writes CLI writes ($acked_before_kill acknowledged before the kill -9, none lost) and $reads CLI reads, all exit 0 (median ${median} ms, slowest ${slowest%% *} ms: at ${slowest#* }); ${#DHCP_MACS[@]} DHCP leases kept across the restart with $renewals renewals; SIGHUP reload applied; restart took $restart_ms ms; max RSS $((max_rss_kb / 1024)) MB (bound $RSS_LIMIT_MB MB), max database $((max_db_bytes / 1024 / 1024)) MB (bound $DB_LIMIT_MB MB) over $samples samples; at most $max_conns HTTP/HTTPS connections from one address; SIGTERM exit 0."
