#!/usr/bin/env bash
# DHCP benchmark: perfdhcp against provbox's DHCP server and against ISC Kea
# (kea-dhcp4, memfile, raw sockets) in one run. Each server has its own pair
# of network namespaces (provbox 10.78.0.0/16, Kea 10.79.0.0/16; all
# removed on exit) and both run throughout; the rates alternate between
# them (provbox, Kea, provbox, Kea...) so that load from elsewhere on the
# machine falls on both alike. Not part of ctest.
#
# usage: dhcp_bench.sh SERVER_COMMAND [PROVBOX]
#   SERVER_COMMAND: build-dir/tests/dhcp/dhcp_driver, or "serve" to run
#   `PROVBOX serve --dhcp ...` once it is wired.
# Environment: RATES (DORA/s asked of perfdhcp, default "1000 2000 3000 4000
# 5000 6000 8000 10000"), DURATION (seconds per rate, default 10), CLIENTS
# (simulated clients, default 50000), SERVERS (default "provbox kea"),
# DRIVER_ARGS (more dhcp_driver arguments, e.g. --commit-interval-us 2000).
#
# For each server and rate: perfdhcp -r RATE for DURATION seconds; the
# achieved rate ("Rate:"), the drop ratio of DISCOVER-OFFER and REQUEST-ACK
# (a drop is a reply not seen within 1 s), and the server's CPU time
# (utime+stime from /proc/PID/stat) divided by the ACKs received. The
# result is the highest achieved rate with both drop ratios under 2.5% (ISC's
# criterion). A server is not asked for more after two failed rates.
# provbox commits every lease with an fsync before its ACK leaves; Kea's
# memfile appends without fsync.
set -euo pipefail

SERVER=${1:?usage: $0 SERVER_COMMAND [PROVBOX]}
PROVBOX=${2:-}
RATES=${RATES:-"1000 2000 3000 4000 5000 6000 8000 10000"}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-50000}
SERVERS=${SERVERS:-"provbox kea"}
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
for tool in ip perfdhcp kea-dhcp4; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done

ID=$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/provbox-dhcp-bench.XXXXXX")
TICKS=$(getconf CLK_TCK)
declare -A PID NS_S NS_C IF_S IF_C NET

cleanup() {
  local name
  for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null && wait "${PID[$name]}" 2>/dev/null; done
  for name in "${!NS_S[@]}"; do
    ip netns del "${NS_S[$name]}" 2>/dev/null || true
    ip netns del "${NS_C[$name]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A server's pair of namespaces joined by veth: it is NET.0.1, perfdhcp NET.0.2.
link_up() {  # NAME OCTET
  local name=$1 net=10.$2 ns
  NS_S[$name]=pbx-bs$2-$ID NS_C[$name]=pbx-bc$2-$ID IF_S[$name]=pbs$2$ID IF_C[$name]=pbc$2$ID NET[$name]=$net
  ip netns add "${NS_S[$name]}"
  ip netns add "${NS_C[$name]}"
  ip link add "${IF_S[$name]}" netns "${NS_S[$name]}" type veth peer name "${IF_C[$name]}" netns "${NS_C[$name]}"
  ip -n "${NS_S[$name]}" addr add "$net.0.1/16" dev "${IF_S[$name]}"
  ip -n "${NS_C[$name]}" addr add "$net.0.2/16" dev "${IF_C[$name]}"
  for ns in "${NS_S[$name]}" "${NS_C[$name]}"; do ip -n "$ns" link set lo up; done
  ip -n "${NS_S[$name]}" link set "${IF_S[$name]}" up
  ip -n "${NS_C[$name]}" link set "${IF_C[$name]}" up
}

start() {  # NAME
  local name=$1 net=${NET[$1]}
  case $name in
    provbox)
      if [[ $SERVER == serve ]]; then
        ip netns exec "${NS_S[$name]}" "$PROVBOX" --db "$WORK/provbox.db" --data-dir "$WORK" serve \
          --dhcp "${IF_S[$name]}" --dhcp-range "$net.1.0-$net.250.255" >"$WORK/provbox.log" 2>&1 &
      else
        # shellcheck disable=SC2086  # DRIVER_ARGS is a list of words
        ip netns exec "${NS_S[$name]}" "$SERVER" --interface "${IF_S[$name]}" --range "$net.1.0-$net.250.255" \
          --db "$WORK/provbox.db" --boot-file default.conf ${DRIVER_ARGS:-} >"$WORK/provbox.log" 2>&1 &
      fi
      ;;
    kea)
      cat >"$WORK/kea.json" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["${IF_S[$name]}"], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": "$WORK/kea-leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "$net.0.0/16",
               "pools": [{"pool": "$net.1.0 - $net.250.255"}],
               "option-data": [{"name": "tftp-server-name", "data": "$net.0.1"},
                               {"name": "boot-file-name", "data": "default.conf"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "$WORK/kea.log"}], "severity": "WARN"}]
}}
EOF
      KEA_PIDFILE_DIR=$WORK KEA_LOCKFILE_DIR=$WORK ip netns exec "${NS_S[$name]}" kea-dhcp4 -c "$WORK/kea.json" \
        >"$WORK/kea.out" 2>&1 &
      ;;
    *) echo "unknown server $name (provbox or kea)" >&2; exit 1 ;;
  esac
  PID[$name]=$!
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/${PID[$1]}/stat"; }

octet=78
for name in $SERVERS; do
  link_up "$name" "$octet"
  octet=$((octet + 1))
  start "$name"
done
sleep 2
for name in $SERVERS; do
  kill -0 "${PID[$name]}" 2>/dev/null || { echo "$name did not start:" >&2; cat "$WORK/$name"* >&2; exit 1; }
done

printf '%-8s %8s %10s %10s %10s %8s %12s\n' server asked achieved "drop D-O" "drop R-A" ACKs "CPU us/DORA"
declare -A BEST BEST_CPU FAILURES
for name in $SERVERS; do BEST[$name]=0; BEST_CPU[$name]=-; FAILURES[$name]=0; done
for rate in $RATES; do
  for name in $SERVERS; do
    [[ ${FAILURES[$name]} -ge 2 ]] && continue
    before=$(cpu_ticks "$name")
    set +e
    ip netns exec "${NS_C[$name]}" perfdhcp -4 -r "$rate" -R "$CLIENTS" -p "$DURATION" -l "${IF_C[$name]}" \
      >"$WORK/perf.out" 2>&1
    set -e
    after=$(cpu_ticks "$name")
    achieved=$(awk '/^Rate:/ { print $2; exit }' "$WORK/perf.out")
    mapfile -t drops < <(awk '/^drops ratio:/ { print $3 }' "$WORK/perf.out")
    acks=$(awk '/Statistics for: REQUEST-ACK/ { s = 1 } s && /^received packets:/ { print $3; exit }' "$WORK/perf.out")
    cpu_us=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="${acks:-0}" \
      'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
    printf '%-8s %8s %10s %10s %10s %8s %12s\n' "$name" "$rate" "${achieved:-?}" "${drops[0]:-?}%" \
      "${drops[1]:-?}%" "${acks:-0}" "$cpu_us"
    if awk -v a="${drops[0]:-100}" -v b="${drops[1]:-100}" 'BEGIN { exit !(a < 2.5 && b < 2.5) }'; then
      FAILURES[$name]=0
      if awk -v a="$achieved" -v b="${BEST[$name]}" 'BEGIN { exit !(a > b) }'; then
        BEST[$name]=$achieved
        BEST_CPU[$name]=$cpu_us
      fi
    else
      FAILURES[$name]=$((FAILURES[$name] + 1))
    fi
  done
done
echo
for name in $SERVERS; do
  echo "$name: highest DORA rate with drops < 2.5%: ${BEST[$name]}/s, server CPU ${BEST_CPU[$name]} us per DORA there"
done
