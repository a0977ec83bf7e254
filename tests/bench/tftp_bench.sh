#!/usr/bin/env bash
# TFTP side by side: provbox, tftpd-hpa and atftpd in one run on 127.0.0.1,
# serving the same files to the same clients.
#
#   tftp_bench.sh PATH/TO/provbox PATH/TO/tftp_load [RESULTS.md]
#
#   1. 32 MiB in lockstep (no windowsize) at blksize 512, 1468, 8192, 65464,
#      fetched by tftp_load (tests/bench/tftp_load.cpp).
#   2. 32 MiB by the atftp client at those block sizes times windowsize 1, 4,
#      16, 64 (tftpd-hpa does not speak windowsize; it answers in lockstep).
#   3. 100 concurrent 4 KiB downloads, 2,000 in all, by tftp_load: one
#      process, one thread, epoll, a socket per transfer.
# Each measurement runs REPEAT times (servers interleaved, so a busy moment
# hits all three alike) and the median is reported. A run that does not finish
# within STALL_S seconds is reported as a stall and not repeated.
#
# Environment: REPEAT (default 3), STALL_S (default 20), NICE (a niceness
# for servers and clients alike, e.g. -10 on a machine busy with other work;
# unset: inherited), PIN (same: servers and clients all on CPU 0; split:
# servers on CPU 0, clients on CPU 1; unset: where the scheduler puts them.
# A lockstep round trip is two wake-ups, and waking a task on another core
# costs far more than switching on the same one, so the scheduler's choice
# moves lockstep figures by up to ten times; pinning makes runs comparable),
# IN_TFTPD (path of
# tftpd-hpa's in.tftpd), ATFTPD (path of atftpd; if unset and not installed,
# `apt-get download atftpd` unpacks it into ~/.cache/provbox-bench, since it
# conflicts with the tftpd-hpa package). Needs atftp, python3, timeout.
# Only 127.0.0.1 is used; every server is stopped by its PID on exit.
set -euo pipefail
shopt -s inherit_errexit

if [[ $# -lt 2 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: $0 PATH/TO/provbox PATH/TO/tftp_load [RESULTS.md]" >&2
  exit 2
fi
PROVBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
LOAD=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
RESULTS=${3:-}
REPEAT=${REPEAT:-3}
STALL_S=${STALL_S:-20}
for tool in atftp python3 timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool'" >&2; exit 2; }
done

IN_TFTPD=${IN_TFTPD:-$(command -v in.tftpd || echo /usr/sbin/in.tftpd)}
[[ -x $IN_TFTPD ]] || { echo "$0: needs tftpd-hpa's in.tftpd (apt-get install tftpd-hpa)" >&2; exit 2; }
find_atftpd() {
  if [[ -n ${ATFTPD:-} ]]; then echo "$ATFTPD"; return; fi
  if command -v atftpd >/dev/null; then command -v atftpd; return; fi
  [[ -x /usr/sbin/atftpd ]] && { echo /usr/sbin/atftpd; return; }
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/provbox-bench
  if [[ ! -x $cache/atftpd/usr/sbin/atftpd ]]; then
    mkdir -p "$cache"
    (cd "$cache" && apt-get download atftpd >/dev/null 2>&1 && dpkg -x atftpd_*.deb atftpd) ||
      { echo "$0: cannot get atftpd (set ATFTPD=PATH)" >&2; exit 2; }
  fi
  echo "$cache/atftpd/usr/sbin/atftpd"
}
ATFTPD=$(find_atftpd)
# Servers and clients run at the same niceness, so none gains on the others.
RUN=()
[[ -n ${NICE:-} ]] && RUN=(nice -n "$NICE")
SERVER_RUN=("${RUN[@]}")
CLIENT_RUN=("${RUN[@]}")
case ${PIN:-} in
  same) SERVER_RUN+=(taskset -c 0); CLIENT_RUN+=(taskset -c 0) ;;
  split) SERVER_RUN+=(taskset -c 0); CLIENT_RUN+=(taskset -c 1) ;;
  "") ;;
  *) echo "$0: PIN is same or split" >&2; exit 2 ;;
esac

# Work in memory when possible: 32 MiB outputs on disk would time the disk.
BASE=/dev/shm
[[ -d $BASE && -w $BASE ]] || BASE=${TMPDIR:-/tmp}
DIR=$(mktemp -d "$BASE/provbox-tftp-bench.XXXXXX")
chmod 755 "$DIR"  # the peers drop to nobody and must read their root
PIDS=()
CGROUP=
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $CGROUP ]]; then rmdir "$CGROUP"/* "$CGROUP" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR"
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL

log() { echo "$*" >&2; }

# ---- the files, served alike by all three --------------------------------------

BIG=firmware/IP542N/bench32/image32.bin
SMALL=firmware/IP542N/bench4k/image4k.bin
BIG_SIZE=33554432
SMALL_SIZE=4096
python3 -c '
import random, sys
random.seed(32)
open("image32.bin", "wb").write(random.randbytes(33554432))
open("image4k.bin", "wb").write(random.randbytes(4096))'
pb() { "$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" "$@"; }
pb init --demo >/dev/null
pb firmware add image32.bin --model IP542N --version bench32 --no-activate >/dev/null
pb firmware add image4k.bin --model IP542N --version bench4k --no-activate >/dev/null
mkdir -p root/firmware/IP542N/bench32 root/firmware/IP542N/bench4k out
cp image32.bin "root/$BIG"
cp image4k.bin "root/$SMALL"
chmod -R a+rX root

free_port() {
  python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---- the servers ---------------------------------------------------------------------

# Server CPU time, when the cgroup v1 cpuacct controller is writable: each
# server (with the children and threads it makes later) in a group of its
# own. Throughput on a shared machine also measures how much CPU each server
# gets; CPU time per transfer measures what it needs.
SERVERS=(provbox tftpd-hpa atftpd)
if [[ -d /sys/fs/cgroup/cpuacct && -w /sys/fs/cgroup/cpuacct ]]; then
  CGROUP=/sys/fs/cgroup/cpuacct/provbox-tftp-bench.$$
  mkdir "$CGROUP" 2>/dev/null && for server in "${SERVERS[@]}"; do mkdir "$CGROUP/$server"; done || CGROUP=
fi
in_cgroup() {  # in_cgroup SERVER PID
  [[ -z $CGROUP ]] || echo "$2" >"$CGROUP/$1/cgroup.procs" || true
}
cpu_ns() {  # cpu_ns SERVER -> nanoseconds used so far, or 0
  if [[ -n $CGROUP ]]; then cat "$CGROUP/$1/cpuacct.usage"; else echo 0; fi
}

declare -A PORT
PORT[provbox]=$(free_port)
"${SERVER_RUN[@]}" "$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" serve --http off --https off \
  --admin off --tftp "127.0.0.1:${PORT[provbox]}" >provbox.log 2>&1 &
PIDS+=($!)
in_cgroup provbox $!

PORT[tftpd-hpa]=$(free_port)
user=nobody
[[ $(id -u) -eq 0 ]] || user=$(id -un)
"${SERVER_RUN[@]}" "$IN_TFTPD" -L -a "127.0.0.1:${PORT[tftpd-hpa]}" -s -u "$user" -B 65464 "$DIR/root" >tftpd-hpa.log 2>&1 &
PIDS+=($!)
in_cgroup tftpd-hpa $!

PORT[atftpd]=$(free_port)
atftpd_user=()
[[ $(id -u) -eq 0 ]] && atftpd_user=(--user nobody --group nogroup)
"${SERVER_RUN[@]}" "$ATFTPD" --daemon --no-fork --port "${PORT[atftpd]}" --bind-address 127.0.0.1 --maxthread 200 \
  --logfile /dev/null "${atftpd_user[@]}" "$DIR/root" >atftpd.log 2>&1 &
PIDS+=($!)
in_cgroup atftpd $!

for server in "${SERVERS[@]}"; do
  ready=0
  for _ in $(seq 1 50); do
    if "$LOAD" --port "${PORT[$server]}" --file "$SMALL" --expect-size "$SMALL_SIZE" --timeout-ms 100 \
      --retries 2 --deadline-s 2 >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 0.1
  done
  ((ready)) || { log "$server did not start: $(tail -5 "$server.log")"; exit 1; }
done
log "servers up: provbox :${PORT[provbox]}, tftpd-hpa :${PORT[tftpd-hpa]}, atftpd :${PORT[atftpd]}"

# ---- measuring ------------------------------------------------------------------------

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }  # field NAME < "key=value ..." line

# One lockstep or concurrent run with tftp_load; prints the value of `what`
# (mb_per_s or req_per_s), or "stall".
load_run() {  # load_run SERVER WHAT ARGS...
  local server=$1 what=$2 line
  shift 2
  if line=$("${CLIENT_RUN[@]}" "$LOAD" --port "${PORT[$server]}" --deadline-s "$STALL_S" "$@" 2>/dev/null); then
    echo " $line" | field "$what"
  else
    echo stall
  fi
}

# One atftp download of the 32 MiB image; prints MB/s or "stall".
atftp_run() {  # atftp_run SERVER BLKSIZE WINDOWSIZE
  local server=$1 blksize=$2 window=$3 start end
  local options=(--option "blksize $blksize")
  ((window > 1)) && options+=(--option "windowsize $window")
  rm -f out/atftp.bin
  start=$(date +%s.%N)
  if "${CLIENT_RUN[@]}" timeout "$STALL_S" atftp -g -r "$BIG" -l out/atftp.bin "${options[@]}" 127.0.0.1 "${PORT[$server]}" \
    >/dev/null 2>&1 && [[ $(stat -c %s out/atftp.bin 2>/dev/null) == "$BIG_SIZE" ]]; then
    end=$(date +%s.%N)
    python3 -c "print(f'{$BIG_SIZE / ($end - $start) / 1e6:.2f}')"
  else
    echo stall
  fi
}

# Runs "$@ SERVER" REPEAT times per server, interleaved; sets VALUE[server] to
# the median and BEST[server] to the best run, or both to "stall" if any run
# stalled (a stalled server is not retried). Noise from other work only ever
# slows a run down, so the best shows what the code can do and the median
# what a run typically got.
# CPU[server] is the server's CPU time per completed run, in microseconds.
declare -A VALUE BEST CPU
measure() {
  local server rep v before
  declare -A samples=() used=() runs=()
  for server in "${SERVERS[@]}"; do
    samples[$server]=""; VALUE[$server]=""; BEST[$server]=""; used[$server]=0; runs[$server]=0
  done
  for ((rep = 0; rep < REPEAT; rep++)); do
    for server in "${SERVERS[@]}"; do
      [[ ${VALUE[$server]} == stall ]] && continue
      before=$(cpu_ns "$server")
      v=$("$@" "$server")
      if [[ $v == stall ]]; then VALUE[$server]=stall; continue; fi
      used[$server]=$((used[$server] + $(cpu_ns "$server") - before))
      runs[$server]=$((runs[$server] + 1))
      samples[$server]+="$v"$'\n'
    done
  done
  for server in "${SERVERS[@]}"; do
    CPU[$server]=-
    [[ -n $CGROUP && ${runs[$server]} -gt 0 ]] && CPU[$server]=$((used[$server] / runs[$server] / 1000))
  done
  for server in "${SERVERS[@]}"; do
    if [[ ${VALUE[$server]} == stall ]]; then BEST[$server]=stall; continue; fi
    VALUE[$server]=$(printf '%s' "${samples[$server]}" | median)
    BEST[$server]=$(printf '%s' "${samples[$server]}" | sort -g | tail -n 1)
  done
}

ratio() {  # ratio A B -> A/B with 2 decimals, or a word when one stalled
  if [[ $1 == stall ]]; then echo "provbox stalls"
  elif [[ $2 == stall ]]; then echo "peer stalls"
  else python3 -c "print(f'{$1 / $2:.2f}')"; fi
}

cell() {  # cell SERVER -> "median (best)"
  if [[ ${VALUE[$1]} == stall ]]; then echo "**stall**"; else echo "${VALUE[$1]} (${BEST[$1]})"; fi
}

row() {  # row LABEL... : the three servers' cells, then the ratios of the medians (and of the bests)
  local p=${VALUE[provbox]} h=${VALUE[tftpd-hpa]} a=${VALUE[atftpd]}
  local bp=${BEST[provbox]} bh=${BEST[tftpd-hpa]} ba=${BEST[atftpd]}
  local rh ra
  rh=$(ratio "$p" "$h")
  ra=$(ratio "$p" "$a")
  [[ $rh == *stall* ]] || rh="$rh ($(ratio "$bp" "$bh"))"
  [[ $ra == *stall* ]] || ra="$ra ($(ratio "$bp" "$ba"))"
  echo "| $* | $(cell provbox) | $(cell tftpd-hpa) | $(cell atftpd) | $rh | $ra |"
}

lockstep_case() { load_run "$2" mb_per_s --file "$BIG" --blksize "$1" --expect-size "$BIG_SIZE"; }
atftp_case() { atftp_run "$3" "$1" "$2"; }
concurrent_case() {
  load_run "$1" req_per_s --file "$SMALL" --expect-size "$SMALL_SIZE" --concurrency 100 --requests 2000 \
    --timeout-ms 1000
}

report=()
out() { report+=("$*"); echo "$*"; }
# Server CPU per run for the last measurement, in ms (or in us per request).
cpu_row() {  # cpu_row LABEL DIVISOR UNIT
  local server cells=()
  for server in "${SERVERS[@]}"; do
    if [[ ${CPU[$server]} == - ]]; then cells+=("-")
    else cells+=("$(python3 -c "print(f'{${CPU[$server]} / $2:.1f}')")"); fi
  done
  CPU_ROWS+=("| $1 | ${cells[0]} | ${cells[1]} | ${cells[2]} |")
}
cpu_table() {  # cpu_table TITLE: prints and clears CPU_ROWS
  [[ -n $CGROUP ]] || { CPU_ROWS=(); return; }
  out ""
  out "$1"
  out ""
  out "| | provbox | tftpd-hpa | atftpd |"
  out "|---|---:|---:|---:|"
  local r
  for r in "${CPU_ROWS[@]}"; do out "$r"; done
  CPU_ROWS=()
}
CPU_ROWS=()

out "## Results ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), median of $REPEAT, loopback)"
out ""
out "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)."
[[ -n ${NICE:-} ]] && out "Servers and clients ran at niceness $NICE."
case ${PIN:-} in
  same) out "Servers and clients pinned to CPU 0 (every wake-up a switch on one core)." ;;
  split) out "Servers pinned to CPU 0, clients to CPU 1 (every wake-up crosses cores)." ;;
  *) out "Not pinned: the scheduler placed servers and clients." ;;
esac
out "Each cell: median (best) of the runs; ratios: of the medians (of the bests)."
out ""
out "### 32 MiB in lockstep (tftp_load, no windowsize), MB/s"
out ""
out "| blksize | provbox | tftpd-hpa | atftpd | provbox / tftpd-hpa | provbox / atftpd |"
out "|---:|---:|---:|---:|---:|---:|"
for blksize in 512 1468 8192 65464; do
  measure lockstep_case "$blksize"
  out "$(row "$blksize")"
  cpu_row "blksize $blksize" 1000
done
cpu_table "Server CPU time per 32 MiB download in lockstep, ms (all threads and child processes):"

out ""
out "### 32 MiB by the atftp client, MB/s (tftpd-hpa ignores windowsize and answers in lockstep)"
out ""
out "| blksize | windowsize | provbox | tftpd-hpa | atftpd | provbox / tftpd-hpa | provbox / atftpd |"
out "|---:|---:|---:|---:|---:|---:|---:|"
for blksize in 512 1468 8192 65464; do
  for window in 1 4 16 64; do
    measure atftp_case "$blksize" "$window"
    out "$(row "$blksize" "|" "$window")"
    [[ $window == 1 || $window == 16 ]] && cpu_row "blksize $blksize, windowsize $window" 1000
  done
done
cpu_table "Server CPU time per 32 MiB download by atftp, ms (- where the server stalled):"

out ""
out "### 100 concurrent 4 KiB downloads (2,000 in all, tftp_load), requests/s"
out ""
out "| | provbox | tftpd-hpa | atftpd | provbox / tftpd-hpa | provbox / atftpd |"
out "|---|---:|---:|---:|---:|---:|"
measure concurrent_case
out "$(row "4 KiB x 100")"
cpu_row "per request, us" 2000 
cpu_table "Server CPU time per 4 KiB request, microseconds:"

if [[ -n $RESULTS ]]; then printf '%s\n' "${report[@]}" >"$RESULTS"; fi
