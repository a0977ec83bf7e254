#!/usr/bin/env bash
# The herd (issue 6): N simulated devices power on at once against one
# `provbox serve`, each waiting a random 0..D s (Resync Random Delay) before
# it fetches its own fv$(MAU).conf, as a building full of phones does after
# a power cut. Reports the time until every device has applied its file,
# failures and retries, the server's CPU time and peak memory, the peak
# request rate, and what the simulator itself used (it shares the machine).
#
#   herd_bench.sh PATH/TO/provbox PATH/TO/provbox-sim [RESULTS.md] [--quick]
#
# Per mode, from nothing:
#   1. a fresh data folder: `provbox init`, a model IP542N with the pattern
#      fv$(MAU).conf and a template (a file of about 1 KB), N devices imported from
#      one generated CSV (each its own serial, label and one of 10 groups with
#      a group variable), so every file is distinct and rendered on demand;
#   2. `provbox serve` on free 127.0.0.1 ports (HTTP and admin; TFTP in tftp
#      mode; HTTPS in https mode), default settings and logging;
#   3. provbox-sim --devices N --random-delay D --periodic 0 (a device stops
#      after its first success) --error-retry ERROR_RETRY, bounded by
#      --duration D + MARGIN_S; it exits when every device is done.
# Modes: http (Profile Rule http://127.0.0.1:P/fv$(MAU).conf), tftp
# (tftp://127.0.0.1:P/fv$(MAU).conf), https (mutual TLS: `provbox cert issue`
# per device is an RSA-2048 key, about 0.1 s each, so https runs HTTPS_N
# devices, not N).
#
# Measured: "all provisioned" is the last 200 the server recorded for a
# profile (its event log, `provbox --json events`) after the power-on, which
# is when the last device got its file; the simulator confirms every device
# applied it (its report's totals). Server CPU is utime + stime from
# /proc/PID/stat before the power-on and after the last device; peak memory
# is VmHWM from /proc/PID/status (the whole life of the process, start-up
# included); requests/s peak is the busiest second of the event log. The
# simulator's CPU and peak RSS come from wait4() on it.
#
# Environment: N (10000), D (40), MODES ("http tftp"; add https), HTTPS_N
# (500), ERROR_RETRY (10: Resync Error Retry Delay, s; the device default of
# 3600 would leave a failed device unprovisioned within the bound), MARGIN_S
# (120), SIM_REPORT (1: the simulator's --report JSON, rewritten every
# second; 0: no report, the totals from its last stderr line; the default
# is 1 when the simulator has --report-devices, else 0), SIM_ARGS
# (more provbox-sim flags, e.g. -v: every failure on its stderr, kept with
# KEEP=1 in the work folder). --quick is
# N=500 D=5. STRICT=1 exits 1 when the target (every device, zero failures,
# peak RSS under 100 MB) is missed; otherwise only a device left without its
# file fails the run.
# Only 127.0.0.1 is used; the server and the simulator are stopped by PID.
set -euo pipefail
shopt -s inherit_errexit

usage() { echo "usage: $0 PATH/TO/provbox PATH/TO/provbox-sim [RESULTS.md] [--quick]" >&2; exit 2; }
args=()
quick=0
for a in "$@"; do
  if [[ $a == --quick ]]; then quick=1; else args+=("$a"); fi
done
[[ ${#args[@]} -ge 2 && -x ${args[0]} && -x ${args[1]} ]] || usage
PROVBOX=$(cd "$(dirname "${args[0]}")" && pwd)/$(basename "${args[0]}")
SIM=$(cd "$(dirname "${args[1]}")" && pwd)/$(basename "${args[1]}")
RESULTS=${args[2]:-}
[[ -z $RESULTS || $RESULTS == /* ]] || RESULTS=$PWD/$RESULTS
if ((quick)); then N=${N:-500} D=${D:-5}; fi
N=${N:-10000}
D=${D:-40}
MODES=${MODES:-http tftp}
HTTPS_N=${HTTPS_N:-500}
ERROR_RETRY=${ERROR_RETRY:-10}
MARGIN_S=${MARGIN_S:-120}
# A simulator whose periodic report can leave out the per-device array
# (--report-devices) writes it cheaply; an older one rewrites every device
# every second, which stalls it at 10,000 devices (docs/benchmarks.md).
if grep -q -- --report-devices <<<"$("$SIM" --help 2>&1 || true)"; then SIM_REPORT=${SIM_REPORT:-1}; else SIM_REPORT=${SIM_REPORT:-0}; fi
STRICT=${STRICT:-0}
for v in N D HTTPS_N ERROR_RETRY MARGIN_S; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$0: $v must be a whole number (got '${!v}')" >&2; exit 2; }
done
((N >= 1 && N <= 100000)) || { echo "$0: N is 1..100000" >&2; exit 2; }
for mode in $MODES; do
  [[ $mode == http || $mode == tftp || $mode == https ]] || { echo "$0: MODES are http, tftp, https" >&2; exit 2; }
done
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool'" >&2; exit 2; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/provbox-herd.XXXXXX")
SERVER_PID=""
SIM_PID=""
cleanup() {
  local pid
  for pid in $SIM_PID $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
  for pid in $SIM_PID $SERVER_PID; do wait "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
cd "$DIR"
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL
log() { echo "herd: $*" >&2; }

free_ports() {  # free_ports N: N loopback ports free for TCP and UDP alike
  python3 - "$1" <<'EOF'
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); held.append(t)
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); held.append(u); ports.append(port)
    except OSError:
        pass
print("\n".join(map(str, ports)))
EOF
}

# CPU time a process has used so far, in clock ticks (utime + stime).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }  # status_kb PID VmHWM
TICK=$(getconf CLK_TCK)

# The simulator under a small parent that raises its open-files limit to the
# hard limit (a device in flight holds a socket; newer simulators raise it
# themselves, older ones did not) and reports its CPU time and peak RSS from
# wait4(). SIGTERM is passed on.
cat >run_measured.py <<'EOF'
import os, resource, signal, sys, time
out = sys.argv[1]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
# The power-on: this interpreter's start-up (up to a second on a busy
# machine) is not the devices' time.
now = time.time()
with open(out + ".start", "w") as f:
    f.write(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z\n")
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.2f} {ru.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
EOF

# A template of the size of a small real one (the seed's param.conf runs to
# hundreds of lines): a file of about 1 KB, two TFTP blocks, with per-device
# values from macros.
cat >herd.conf <<'EOF'
# provbox herd benchmark: IP542N
DBID_IPMODE=0
DBID_SIP_ENABLE=1	0	0	0
DBID_WEB_SIP_SERVER=$(SIP_SERVER)
DBID_WEB_SIP_SERVER_PORT=5060
DBID_SIP_PROXY=$(SIP_PROXY)
DBID_SIP_ACCOUNT=$(SN)
DBID_SIP_DISPLAY_NAME=Herd $(MAU)
DBID_SIP_AUTH_ID=$(MA)
DBID_SIP_PASSWORD=pw-$(MAU:4)
DBID_SIP_REG_EXPIRES=3600
DBID_SIP_LOCAL_PORT=5060	5062	5064	5066
DBID_RTP_PORT_MIN=10000
DBID_RTP_PORT_MAX=20000
DBID_CODEC_ORDER=PCMU,PCMA,G729,G722
DBID_DTMF_MODE=RFC2833
DBID_VAD_ENABLE=0
DBID_ECHO_CANCEL=1
DBID_JITTER_BUFFER=adaptive
DBID_NTP_SERVER=pool.ntp.org
DBID_TIME_ZONE=GMT+0
DBID_DST_ENABLE=0
DBID_WEB_LOGIN_USER=admin
DBID_WEB_PASSWORD=$(SIP_SERVER)-$(MAU:6)
DBID_TELNET_ENABLE=0
DBID_SYSLOG_SERVER=$(SIP_SERVER)
DBID_SYSLOG_LEVEL=4
DBID_LANGUAGE=en
DBID_RING_TONE=1
DBID_DIAL_PLAN=(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)
DBID_HOSTNAME=phone-$(MA)
DBID_PRV_OPTION66_ENABLED=0
DBID_PRV_RESYNC_PERIODIC=0
DBID_PRV_RESYNC_ERROR_RETRY_DELAY=3600
DBID_UPGRADE_ENABLE=0
EOF

MAC_BASE=00:21:f2:40:00:00
# N devices, one CSV: MACs MAC_BASE, +1, ... as provbox-sim numbers them.
write_csv() {  # write_csv N FILE
  python3 - "$1" "$2" "$MAC_BASE" <<'EOF'
import sys
n, path, base = int(sys.argv[1]), sys.argv[2], int(sys.argv[3].replace(":", ""), 16)
with open(path, "w") as f:
    f.write("mac,model,serial,label,group\n")
    for i in range(n):
        h = f"{base + i:012x}"
        mac = ":".join(h[j:j + 2] for j in range(0, 12, 2))
        f.write(f"{mac},IP542N,HERD{i:06d},Desk {i + 1},floor{i % 10}\n")
EOF
}

# One mode: prints one table row (and keeps the details in DETAILS).
ROWS=()
DETAILS=()
MISSED=0
run_mode() {  # run_mode MODE DEVICES
  local mode=$1 n=$2 work=$DIR/$1
  mkdir -p "$work"
  local data=$work/data
  pb() { "$PROVBOX" --data-dir "$data" "$@"; }
  pb init >/dev/null
  pb var set SIP_SERVER 192.0.2.10 >/dev/null
  local g
  for ((g = 0; g < 10; g++)); do pb var set SIP_PROXY "proxy$g.example.net" --group "floor$g" >/dev/null; done
  pb model add IP542N --config-file IP542N.conf --pattern 'fv$(MAU).conf' --template herd.conf >/dev/null
  write_csv "$n" "$work/devices.csv"
  local t0 t1
  t0=$(date +%s.%N)
  pb device import "$work/devices.csv" >/dev/null
  t1=$(date +%s.%N)
  local import_s
  import_s=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
  local file_bytes
  file_bytes=$(pb render "$MAC_BASE" --plain | wc -c)
  log "$mode: $n devices imported in $import_s s; a file is $file_bytes bytes"

  local sim_extra=()
  if [[ $mode == https ]]; then
    log "$mode: issuing $n device certificates (RSA-2048 each)"
    local i mac
    mkdir -p "$work/certs"
    t0=$(date +%s.%N)
    while read -r mac; do
      pb cert issue "$mac" --out "$work/certs/$(tr -d : <<<"$mac" | tr a-f A-F)-certs" >/dev/null
    done < <(tail -n +2 "$work/devices.csv" | cut -d, -f1)
    t1=$(date +%s.%N)
    log "$mode: certificates in $(python3 -c "print(f'{$t1 - $t0:.0f}')") s"
    sim_extra+=(--cert-dir "$work/certs")
  fi

  local ports http_port admin_port proto_port
  mapfile -t ports < <(free_ports 3)
  http_port=${ports[0]} admin_port=${ports[1]} proto_port=${ports[2]}
  local listeners=(--http "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" --tftp off --https off)
  local rule="http://127.0.0.1:$http_port/fv\$(MAU).conf"
  case $mode in
    tftp)
      listeners=(--http "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" --tftp "127.0.0.1:$proto_port" --https off)
      rule="tftp://127.0.0.1:$proto_port/fv\$(MAU).conf" ;;
    https)
      listeners=(--http "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" --tftp off --https "127.0.0.1:$proto_port")
      rule="https://127.0.0.1:$proto_port/fv\$(MAU).conf" ;;
  esac
  # Not through a function of its own: $! must be the server itself.
  "$PROVBOX" --data-dir "$data" serve "${listeners[@]}" --dhcp off >"$work/server.log" 2>&1 &
  SERVER_PID=$!
  local i up=0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || { log "provbox serve exited: $(tail -5 "$work/server.log")"; exit 1; }
    if [[ $(curl -s --max-time 1 "http://127.0.0.1:$admin_port/healthz" 2>/dev/null) == ok ]]; then up=1; break; fi
    sleep 0.1
  done
  ((up)) || { log "provbox serve did not answer /healthz within 15 s"; exit 1; }
  local server_fd_limit rss_start_kb
  server_fd_limit=$(awk '/^Max open files/ { print $4 }' "/proc/$SERVER_PID/limits")
  rss_start_kb=$(status_kb "$SERVER_PID" VmRSS)

  local load_before server_before start_iso sim_args report_args=()
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  [[ $SIM_REPORT == 1 ]] && report_args=(--report "$work/report.json")
  sim_args=(--devices "$n" --mac-base "$MAC_BASE" --model IP542N --option66 off --profile-rule "$rule"
    --random-delay "$D" --periodic 0 --error-retry "$ERROR_RETRY" --duration "$((D + MARGIN_S))"
    "${report_args[@]}" "${sim_extra[@]}")
  # shellcheck disable=SC2206  # SIM_ARGS is split on blanks on purpose
  [[ -n ${SIM_ARGS:-} ]] && sim_args+=($SIM_ARGS)
  server_before=$(cpu_ticks "$SERVER_PID")
  log "$mode: power on: $n devices, random delay $D s (bound $((D + MARGIN_S)) s)"
  python3 "$DIR/run_measured.py" "$work/sim.usage" "$SIM" "${sim_args[@]}" 2>"$work/sim.err" &
  SIM_PID=$!
  # Once a second, while the herd runs: the machine's load (the server's
  # peak memory is its VmHWM, read at the end).
  local load_peak=$load_before load
  while kill -0 "$SIM_PID" 2>/dev/null; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    load_peak=$(awk -v a="$load" -v b="$load_peak" 'BEGIN { print (a > b ? a : b) }')
    sleep 1
  done
  local sim_status=0
  wait "$SIM_PID" || sim_status=$?
  SIM_PID=""
  start_iso=$(cat "$work/sim.usage.start")
  local end_iso server_after hwm_kb rss_end_kb
  end_iso=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  server_after=$(cpu_ticks "$SERVER_PID")
  hwm_kb=$(status_kb "$SERVER_PID" VmHWM)
  rss_end_kb=$(status_kb "$SERVER_PID" VmRSS)
  curl -s --max-time 5 "http://127.0.0.1:$admin_port/metrics" >"$work/metrics.txt" || true
  # Datagrams the kernel dropped on the server's TFTP port because its
  # receive buffer was full (requests the server never saw).
  local udp_drops=-
  if [[ $mode == tftp ]]; then
    udp_drops=$(awk -v port="$(printf ':%04X' "$proto_port")" '$2 ~ port "$" { d += $NF } END { print d + 0 }' /proc/net/udp)
  fi
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  ((sim_status == 0)) || { log "provbox-sim exited with status $sim_status: $(tail -5 "$work/sim.err")"; exit 1; }
  pb --json events --limit 100000000 >"$work/events.json"

  # The figures, from the events, the simulator's totals and the samples.
  local row
  row=$(python3 - "$work" "$mode" "$n" "$D" "$start_iso" "$end_iso" "$((server_after - server_before))" "$TICK" \
    "$hwm_kb" "$rss_start_kb" "$rss_end_kb" "$load_before" "$load_peak" "$server_fd_limit" "$import_s" \
    "$file_bytes" "$SIM_REPORT" "$udp_drops" <<'EOF'
import collections, datetime, json, re, sys
(work, mode, n, d, start_iso, end_iso, server_ticks, tick, hwm_kb, rss_start_kb, rss_end_kb,
 load_before, load_peak, fd_limit, import_s, file_bytes, sim_report, udp_drops) = sys.argv[1:]
n, d, tick = int(n), int(d), int(tick)
def t(iso): return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
start, end = t(start_iso), t(end_iso)
events = [e for e in json.load(open(f"{work}/events.json")) if t(e["at"]) >= start]
# A line may stand for several requests answered the same in a row (a device
# retrying): "repeats" of them, the first at "at", the newest at "last_at".
times = lambda e: e.get("repeats", 1)
newest = lambda e: e.get("last_at", e["at"])
requests = sum(times(e) for e in events)
ok = [e for e in events if e["status"] == 200 and e.get("dbase_version") is not None]
bad = collections.Counter()
for e in events:
    if e["status"] != 200: bad[f'{e["status"]} {e["detail"]}'[:80]] += times(e)
served_macs = {e["mac"] for e in ok}
last = max((t(newest(e)) for e in ok), default=None)
first = min((t(e["at"]) for e in ok), default=None)
# The times between a line's first and newest request are not kept: its
# repeats count in the second of the newest.
per_second = collections.Counter()
for e in events:
    per_second[e["at"][:19]] += 1
    per_second[newest(e)[:19]] += times(e) - 1
peak_rate = max(per_second.values(), default=0)
sim_cpu, sim_rss_kb = open(f"{work}/sim.usage").read().split()
if sim_report == "1":
    report = json.load(open(f"{work}/report.json"))
    totals, devices = report["totals"], report.get("devices", [])
    errors = collections.Counter(re.sub(r"[0-9A-F]{12}", "MAU", dev["last_error"])[:100]
                                 for dev in devices if dev["last_error"])
    provisioned, failures, retries = totals["provisioned"], totals["failures"], totals["retries"]
    sim_last_apply = totals.get("last_apply_s")
else:
    m = re.search(r"(\d+)/(\d+) devices provisioned, (\d+) failures", open(f"{work}/sim.err").read())
    provisioned, failures = int(m.group(1)), int(m.group(3))
    retries, errors = failures, collections.Counter()  # each failure is followed by a retry
    sim_last_apply = None
server_cpu = int(server_ticks) / tick
all_at = (last - start).total_seconds() if last and provisioned == n else None
mb = lambda kb: int(kb) / 1024
met = provisioned == n and failures == 0 and mb(hwm_kb) < 100
row = (f"| {mode} | {n:,} | {d} | {f'{all_at:.1f}' if all_at is not None else f'**{provisioned:,} of {n:,}**'} "
       f"| {provisioned:,} | {failures} | {retries} | {server_cpu:.1f} ({server_cpu * 1e3 / max(requests, 1):.2f} ms/request) "
       f"| {mb(hwm_kb):.1f} ({mb(rss_start_kb):.1f} at start) | {peak_rate} | {float(sim_cpu):.1f} "
       f"| {mb(sim_rss_kb):.0f} | {load_before} / {load_peak} | {'yes' if met else '**no**'} |")
print(row)
detail = [f"- {mode}: {requests:,} requests recorded ({len(served_macs):,} devices served a file), "
          f"first file at {(first - start).total_seconds():.1f} s" if first else f"- {mode}: no file served",
          f"  a file is {file_bytes} bytes; import of {n:,} devices took {import_s} s; server open-files limit {fd_limit}; "
          f"server RSS at the end {mb(rss_end_kb):.1f} MB; the simulator ran for {(end - start).total_seconds():.1f} s"
          + (f" and saw its last device apply at {sim_last_apply:.1f} s" if sim_last_apply is not None else "")]
if udp_drops != "-": detail.append(f"  datagrams dropped by the kernel on the server's TFTP port (receive buffer full): {udp_drops}")
for what, count in bad.most_common(5): detail.append(f"  server answered {count} x {what}")
for what, count in errors.most_common(5): detail.append(f"  device error {count} x {what}")
for line in open(f"{work}/metrics.txt").read().splitlines():
    if re.match(r"provbox_(tftp_transfers_total|profile_renders_total|profile_cache_hits_total|http_connections_rejected_total)", line) \
       and not line.endswith(" 0"):
        detail.append(f"  {line}")
print("\n".join(detail))
print("MET" if met else "MISSED")
EOF
)
  ROWS+=("$(head -n 1 <<<"$row")")
  DETAILS+=("$(sed -n '2,$p' <<<"$row" | sed '$d')")
  [[ $(tail -n 1 <<<"$row") == MET ]] || MISSED=1
  log "$(head -n 1 <<<"$row")"
  sed -n '2,$p' <<<"$row" | sed '$d' >&2
  local provisioned_all
  provisioned_all=$(grep -o '^provbox-sim: [0-9]*/[0-9]*' "$work/sim.err" | tail -n 1 | awk -F'[ /]' '{ print ($2 == $3) }')
  [[ $provisioned_all == 1 ]] || NOT_PROVISIONED=1
}

NOT_PROVISIONED=0
report=()
out() { report+=("$*"); echo "$*"; }
log "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); modes: $MODES; N=$N D=$D"
for mode in $MODES; do
  n=$N
  [[ $mode == https ]] && ((HTTPS_N < N)) && n=$HTTPS_N
  run_mode "$mode" "$n"
done

out "## Herd results ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), loopback)"
out ""
out "provbox-sim --random-delay $D --periodic 0 --error-retry $ERROR_RETRY; target: every device provisioned,"
out "zero failures, server peak RSS under 100 MB."
out ""
out "| mode | devices | delay D (s) | all provisioned at (s after power-on) | provisioned | failures | retries | server CPU, s | server peak RSS, MB | peak requests/s | simulator CPU, s | simulator peak RSS, MB | load before / peak | all provisioned, 0 failures, < 100 MB |"
out "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
for r in "${ROWS[@]}"; do out "$r"; done
out ""
for d in "${DETAILS[@]}"; do out "$d"; done
if [[ -n $RESULTS ]]; then printf '%s\n' "${report[@]}" >"$RESULTS"; fi
((NOT_PROVISIONED == 0)) || { log "some devices never got their file"; exit 1; }
((STRICT == 0 || MISSED == 0)) || { log "the target was missed"; exit 1; }
exit 0
