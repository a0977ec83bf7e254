#!/usr/bin/env bash
# Issue 12 against the real binary: `provbox serve --tftp` on 127.0.0.1 under
# a bounded flood of read requests that never acknowledge anything, sent by
# python3 from 250 loopback addresses (127.1.0.0/24), the way a flood with
# forged source addresses arrives.
#
#   tftp_flood_test.sh PATH/TO/provbox
#
#  1. RRQs for a served image at 470 a second (the rate of the issue), at
#     most 10,000 (21 s); once 600 are out (more than tftp.max_transfers, 512)
#     tftp-hpa fetches IP542N.conf 100 times, ten at a time, and the flood
#     stops when they are done. Every fetch must get the file (before the
#     fix most got "server busy").
#  2. Amplification: 50 RRQs to a quiet server, never answered; what each
#     draws at its address is counted (datagrams and bytes, after every
#     transfer has ended): at most 2 datagrams, 2 x 516 bytes (it was 6 DATA
#     and an ERROR, 89 times the request).
#  3. 100 RRQs from one address: at most tftp.max_transfers_per_address (64)
#     get a transfer, the rest ERROR 0 "server busy".
# Then /metrics must count the evictions and the per-address refusals.
#
# Bounded: at most 10,150 requests in all, every client under `timeout`, the server
# stopped by its PID. Failures are collected and reported together, so one
# run against an old binary shows every figure; the exit status is 1 if any
# check failed. Needs tftp (tftp-hpa), curl, python3, timeout.
set -euo pipefail
shopt -s inherit_errexit

if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "usage: $0 PATH/TO/provbox (got '${1:-}')" >&2
  exit 1
fi
PROVBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in tftp curl python3 timeout cmp; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool' (apt-get install tftp-hpa curl python3)" >&2; exit 1; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/provbox-tftp-flood.XXXXXX")
SERVER_PID=
FLOOD_PID=
cleanup() {
  for pid in $FLOOD_PID $SERVER_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR"
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL

PHONE=00:21:f2:01:1b:19  # the demo IP542N, static address 127.0.0.1
FAILED=0
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL ${BASH_SOURCE[0]##*/}:${BASH_LINENO[0]}: $1" >&2
  shift
  local line
  for line in "$@"; do echo "  $line" >&2; done
}
pass() { echo "ok - $1"; }

pb() { "$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" "$@"; }

# ---- the inventory and the server -------------------------------------------

pb init --demo >/dev/null
head -c 100000 /dev/urandom >image.bin
pb firmware add image.bin --model IP542N --version 1.0 --name IP542N-1.0.bin >/dev/null
IMAGE_PATH=firmware/IP542N/1.0/IP542N-1.0.bin
pb render "$PHONE" >expected.conf

free_port() {
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$1"
}
PORT=$(free_port udp)
ADMIN=$(free_port tcp)

# Defaults for everything TFTP: max_transfers 512, timeout 1 s, max_retries 5.
"$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" serve --http off --https off \
  --admin "127.0.0.1:$ADMIN" --tftp "127.0.0.1:$PORT" >server.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "provbox serve exited at start" >&2; cat server.log >&2; exit 1; }
  if timeout 2 curl -s -o ready.conf "tftp://127.0.0.1:$PORT/IP542N.conf" 2>/dev/null; then break; fi
  sleep 0.1
done
cmp -s expected.conf ready.conf || { echo "the server does not serve IP542N.conf" >&2; exit 1; }

# flood.py: RRQs from sockets that never answer, each from a port of its own
# (and `per_address` sockets per address), kept open so what the server sends
# them can be counted once it is done.
#   flood.py PORT NAME COUNT RATE FIRST_ADDRESS PER_ADDRESS PROGRESS WAIT [STOP]
# sends COUNT requests, or fewer if the file STOP appears first; PROGRESS
# holds the number sent, and "over" once sending has ended.
# Prints: requests, request bytes, datagrams, bytes, most datagrams to one
# request, DATA datagrams, ERROR datagrams, requests that got DATA.
cat >flood.py <<'PY'
import ipaddress, os, socket, sys, time
port, name, count, rate = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
first, per_address, progress, wait = ipaddress.IPv4Address(sys.argv[5]), int(sys.argv[6]), sys.argv[7], float(sys.argv[8])
stop = sys.argv[9] if len(sys.argv) > 9 else None
rrq = b"\0\1" + name.encode() + b"\0octet\0"
sockets = []
start = time.monotonic()
for i in range(count):
    if stop and i % 50 == 0 and os.path.exists(stop):
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((str(first + i // per_address), 0))
    s.setblocking(False)
    s.sendto(rrq, ("127.0.0.1", port))
    sockets.append(s)
    if (i + 1) % 50 == 0 or i + 1 == count:
        with open(progress, "w") as f:
            f.write(str(i + 1))
    # Paced to `rate` a second, in bursts of a few.
    ahead = (i + 1) / rate - (time.monotonic() - start)
    if ahead > 0.01:
        time.sleep(ahead)
with open(progress, "w") as f:
    f.write("over")
# Every transfer the server started ends within its retry budget (6 s at
# the defaults, before the fix); what is queued then is all it sent.
time.sleep(wait)
datagrams = total = most = data = errors = answered = 0
for s in sockets:
    mine = 0
    got_data = False
    while True:
        try:
            d = s.recv(65536)
        except BlockingIOError:
            break
        mine += 1
        total += len(d)
        if d[:2] == b"\0\3":
            data += 1
            got_data = True
        elif d[:2] == b"\0\5":
            errors += 1
    datagrams += mine
    most = max(most, mine)
    answered += got_data
print(len(sockets), len(sockets) * len(rrq), datagrams, total, most, data, errors, answered)
PY

metric() {  # metric OUTCOME -> provbox_tftp_transfers_total{outcome=OUTCOME}, or "none"
  timeout 10 curl -s "http://127.0.0.1:$ADMIN/metrics" |
    awk -v want="provbox_tftp_transfers_total{outcome=\"$1\"}" '$1 == want { print $2; found = 1 } END { if (!found) print "none" }'
}

# ---- 1. legitimate fetches during a flood ---------------------------------------

timeout 90 python3 flood.py "$PORT" "$IMAGE_PATH" 10000 470 127.1.0.1 8 progress 8 stop >flood.out &
FLOOD_PID=$!
flood_sent() { local n; n=$(cat progress 2>/dev/null || echo 0); [[ $n == over ]] && n=99999; echo "${n:-0}"; }
for _ in $(seq 1 300); do
  [[ $(flood_sent) -ge 600 ]] && break
  sleep 0.05
done
[[ $(flood_sent) -ge 600 ]] || fail "the flood did not get going"

# One fetch by tftp-hpa: prints ok (and whether the flood was still being
# sent when it ended), busy, or other and what the client said.
fetch_one() {
  local out
  out=$(timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get IP542N.conf "legit-$1.conf" 2>&1 || true)
  if [[ -f legit-$1.conf ]] && cmp -s expected.conf "legit-$1.conf"; then
    if [[ $(cat progress) == over ]]; then echo "ok after"; else echo "ok during"; fi
  elif [[ $out == *"server busy"* ]]; then
    echo busy
  else
    echo "other $out" | tr '\n' ' '
    echo
  fi
}
export -f fetch_one
export PORT
seq 1 100 | xargs -P 10 -I{} bash -c 'fetch_one {}' >legit.out
touch stop
sent_during=$(cat progress)
[[ $sent_during == over ]] && sent_during="all"

wait "$FLOOD_PID" || fail "the flood script failed"
FLOOD_PID=
ok=$(grep -c '^ok' legit.out || true)
ok_during=$(grep -c '^ok during$' legit.out || true)
busy=$(grep -c '^busy$' legit.out || true)
other=$(grep -c '^other' legit.out || true)
grep '^other' legit.out | head -3 >&2 || true
read -r f_count f_bytes f_datagrams f_total f_most f_data f_errors f_answered <flood.out
echo "# flood: $f_count RRQs at 470/s ($sent_during sent by the end of the fetches), $f_datagrams datagrams back" \
     "($f_data DATA, $f_errors ERROR), $f_total bytes: $(python3 -c "print(round($f_total / $f_bytes, 1))")x the requests"
echo "# legitimate fetches during the flood: $ok of 100 got the file ($ok_during while it was being sent)," \
     "$busy 'server busy', $other otherwise"
if [[ $ok -eq 100 ]]; then
  pass "100 tftp-hpa fetches of IP542N.conf during a flood of $f_count unanswered RRQs all get the file"
else
  fail "legitimate fetches failed during the flood" "$ok of 100 got the file, $busy got 'server busy', $other failed otherwise"
fi

# ---- 2. amplification -------------------------------------------------------------

# After the flood: its transfers have ended (flood.py waited 8 s), so these
# 50 run on a quiet server and none is evicted.
timeout 60 python3 flood.py "$PORT" "$IMAGE_PATH" 50 1000 127.2.0.1 1 progress 8 >amplification.out ||
  fail "the amplification probe failed"
read -r a_count a_bytes a_datagrams a_total a_most a_data a_errors a_answered <amplification.out
per_rrq=$(python3 -c "print(round($a_datagrams / $a_count, 2))")
ratio=$(python3 -c "print(round($a_total / $a_bytes, 1))")
echo "# amplification: $a_count unanswered RRQs of $((a_bytes / a_count)) bytes drew $a_datagrams datagrams" \
     "($a_data DATA, $a_errors ERROR), $per_rrq per RRQ, at most $a_most to one; $a_total bytes = ${ratio}x"
if [[ $a_answered -eq $a_count && $a_most -le 2 && $a_total -le $((a_count * 2 * 516)) && $a_errors -eq 0 ]]; then
  pass "an unanswered RRQ draws at most 2 datagrams (2 x 516 bytes) and no ERROR: ${ratio}x"
else
  fail "an unanswered RRQ drew too much" "at most $a_most datagrams to one RRQ, $a_errors ERRORs, ${ratio}x (bound: 2, 0, $((2 * 516)) bytes)"
fi

# ---- 3. the per-address limit ------------------------------------------------------

timeout 60 python3 flood.py "$PORT" "$IMAGE_PATH" 100 1000 127.3.0.1 100 progress 3 >one_address.out ||
  fail "the per-address probe failed"
read -r p_count p_bytes p_datagrams p_total p_most p_data p_errors p_answered <one_address.out
echo "# one address, 100 RRQs: $p_answered got DATA, $p_errors got an ERROR"
if [[ $p_answered -le 64 && $((p_answered + p_errors)) -ge 100 ]]; then
  pass "100 RRQs from one address: $p_answered transfers (limit 64), the rest 'server busy'"
else
  fail "the per-address limit did not hold" "$p_answered of 100 RRQs from one address got a transfer (limit 64)"
fi

# ---- the server's own account ------------------------------------------------------

evicted=$(metric evicted)
address_busy=$(metric address_busy)
echo "# metrics: evicted $evicted, address_busy $address_busy"
if [[ $evicted != none && $evicted -gt 0 && $address_busy != none && $address_busy -gt 0 ]]; then
  pass "/metrics counts evictions ($evicted) and per-address refusals ($address_busy)"
else
  fail "/metrics does not count evictions and per-address refusals" "evicted=$evicted address_busy=$address_busy"
fi

kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "provbox serve exited with status $? after SIGTERM"
SERVER_PID=
if [[ $FAILED -gt 0 ]]; then
  echo "$FAILED checks failed" >&2
  exit 1
fi
echo "all checks passed"
