#!/usr/bin/env bash
# The real provbox binary serving TFTP on 127.0.0.1, fetched from with the
# clients devices and operators use: tftp-hpa's `tftp`, atftp (with
# windowsize) and curl (with --tftp-blksize), plus a few raw datagrams from
# python3 where a client would hide what is on the wire.
#
#   tftp_clients_test.sh PATH/TO/provbox
#
# Needs tftp (tftp-hpa), atftp, curl, python3, sha256sum, cmp, timeout.
# Every client runs under `timeout`, so a stalled transfer fails the test
# instead of hanging it; the server is stopped by its PID on exit.
set -euo pipefail
shopt -s inherit_errexit

if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "usage: $0 PATH/TO/provbox (got '${1:-}')" >&2
  exit 1
fi
PROVBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in tftp atftp curl python3 sha256sum cmp timeout; do
  command -v "$tool" >/dev/null || { echo "$0: needs '$tool' (apt-get install tftp-hpa atftp curl python3)" >&2; exit 1; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/provbox-tftp.XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR"
unset PROVBOX_DB PROVBOX_DATA_DIR PROVBOX_PUBLIC_URL

PHONE=00:21:f2:01:1b:19  # the demo IP542N, static address 127.0.0.1
CHECKS=0

fail() {
  echo "FAIL ${BASH_SOURCE[0]##*/}:${BASH_LINENO[0]}: $1" >&2
  shift
  local line
  for line in "$@"; do echo "  $line" >&2; done
  if [[ -f server.log ]]; then
    echo "  --- last server log lines ---" >&2
    tail -n 15 server.log | sed 's/^/  /' >&2
  fi
  exit 1
}
pass() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $1"; }

pb() { "$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" "$@"; }

same_file() {  # same_file EXPECTED GOT WHAT
  [[ -f $2 ]] || fail "$3: no output file"
  cmp -s "$1" "$2" || fail "$3: content differs" "expected $(wc -c <"$1") bytes, got $(wc -c <"$2")"
}
same_sha() {  # same_sha GOT WHAT
  [[ -f $1 ]] || fail "$2: no output file"
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ $got == "$IMAGE_SHA" ]] || fail "$2: SHA-256 $got, expected $IMAGE_SHA" "size $(wc -c <"$1")"
}

# ---- the inventory and the server -------------------------------------------

pb init --demo >/dev/null
# 40 MB: 78,125 blocks of 512, so block numbers roll over past 65535.
python3 -c '
import random, sys
random.seed(4)
sys.stdout.buffer.write(random.randbytes(40_000_000))' >image.bin
IMAGE_SHA=$(sha256sum image.bin | cut -d' ' -f1)
pb firmware add image.bin --model IP542N --version 1.0 --name IP542N-1.0.bin >/dev/null
IMAGE_PATH=firmware/IP542N/1.0/IP542N-1.0.bin
# After the firmware: every inventory change moves DBID_DBASE_VERSION.
pb render "$PHONE" >expected.conf

# A free UDP port: bound and released by the kernel's choice. Should another
# process take it in between, the server fails to start and says so.
PORT=$(python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# Started directly, not through pb(), so $! is provbox itself and the trap
# stops the server rather than a subshell.
"$PROVBOX" --db "$DIR/inventory.db" --data-dir "$DIR/data" serve --http off --https off --admin off \
  --tftp "127.0.0.1:$PORT" >server.log 2>&1 &
SERVER_PID=$!

# Ready when it answers; at most 10 s.
for _ in $(seq 1 100); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "provbox serve exited at start"
  if timeout 2 curl -s -o ready.conf "tftp://127.0.0.1:$PORT/IP542N.conf" 2>/dev/null; then break; fi
  sleep 0.1
done
same_file expected.conf ready.conf "first fetch"

alive() { kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died" "$@"; }

# A raw client for what the others hide: the bytes netascii puts on the wire,
# requests from another source address, and answers to bad requests.
# raw.py get NAME MODE SOURCE OUT -> "ok" or "error CODE MESSAGE"
cat >raw.py <<'PY'
import socket, struct, sys
def get(name, mode, source, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.sendto(b"\0\1" + name.encode() + b"\0" + mode.encode() + b"\0", ("127.0.0.1", int(sys.argv[1])))
    body, expected = b"", 1
    while True:
        d, peer = s.recvfrom(65536)
        op, num = struct.unpack("!HH", d[:4])
        if op == 5:
            return "error %d %s" % (num, d[4:].split(b"\0")[0].decode())
        if op == 3 and num == expected & 0xFFFF:
            body += d[4:]
            s.sendto(struct.pack("!HH", 4, num), peer)
            expected += 1
            if len(d) - 4 < 512:
                open(out, "wb").write(body)
                return "ok"
def send(hexbytes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1)
    s.sendto(bytes.fromhex(hexbytes), ("127.0.0.1", int(sys.argv[1])))
    try:
        d, _ = s.recvfrom(65536)
        op, num = struct.unpack("!HH", d[:4])
        return "reply %d %d" % (op, num)
    except socket.timeout:
        return "no reply"
if sys.argv[2] == "get":
    print(get(*sys.argv[3:7]))
else:
    print(send(sys.argv[3]))
PY
raw() { timeout 20 python3 raw.py "$PORT" "$@"; }

# ---- configuration files ------------------------------------------------------

rm -f hpa.conf
timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get IP542N.conf hpa.conf
same_file expected.conf hpa.conf "tftp-hpa, IP542N.conf for the device at 127.0.0.1"
pass "tftp-hpa fetches IP542N.conf: the body equals provbox render"

timeout 30 curl -sS --tftp-blksize 1468 -o curl.conf "tftp://127.0.0.1:$PORT/fv0021F2011B19.conf"
same_file expected.conf curl.conf "curl, fv0021F2011B19.conf"
pass "curl fetches fv0021F2011B19.conf by pattern: the body equals provbox render"

timeout 30 atftp -g -r IP542N.conf -l atftp.conf --option "windowsize 4" 127.0.0.1 "$PORT" >/dev/null 2>&1 ||
  fail "atftp, IP542N.conf"
same_file expected.conf atftp.conf "atftp, IP542N.conf"
pass "atftp (windowsize 4) fetches IP542N.conf"

# netascii: on the wire every LF is CR LF; the client turns it back.
[[ $(raw get IP542N.conf netascii 127.0.0.1 wire.txt) == ok ]] || fail "raw netascii fetch"
python3 -c '
import sys
plain, wire = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert b"\n" in plain and b"\r" not in plain, "the demo file should be plain LF text"
assert wire == plain.replace(b"\n", b"\r\n"), "netascii is not LF -> CR LF"' expected.conf wire.txt ||
  fail "netascii on the wire"
timeout 30 tftp -m ascii 127.0.0.1 "$PORT" -c get IP542N.conf ascii.conf
same_file expected.conf ascii.conf "tftp-hpa -m ascii"
pass "netascii: CR LF on the wire, and tftp-hpa -m ascii gets the file back as it was"

# ---- firmware: 40 MB at four block sizes ----------------------------------------

rm -f fw512.bin
timeout 120 tftp -m binary 127.0.0.1 "$PORT" -c get IP542N-1.0.bin fw512.bin
same_sha fw512.bin "tftp-hpa, 40 MB at blksize 512 (bare name, block rollover)"
pass "40 MB at blksize 512 by bare name (tftp-hpa; 78,125 blocks roll over): SHA-256 matches"

timeout 120 curl -sS --tftp-blksize 1468 -o fw1468.bin "tftp://127.0.0.1:$PORT/$IMAGE_PATH"
same_sha fw1468.bin "curl, blksize 1468"
pass "40 MB at blksize 1468 by path (curl): SHA-256 matches"

timeout 120 atftp -g -r "$IMAGE_PATH" -l fw8192.bin --option "blksize 8192" --option "windowsize 16" \
  127.0.0.1 "$PORT" >/dev/null 2>&1 || fail "atftp, blksize 8192 windowsize 16"
same_sha fw8192.bin "atftp, blksize 8192, windowsize 16"
pass "40 MB at blksize 8192, windowsize 16 (atftp): SHA-256 matches"

timeout 120 curl -sS --tftp-blksize 65464 -o fw65464.bin "tftp://127.0.0.1:$PORT/$IMAGE_PATH"
same_sha fw65464.bin "curl, blksize 65464"
timeout 120 atftp -g -r "$IMAGE_PATH" -l fw65464w.bin --option "blksize 65464" --option "windowsize 64" \
  127.0.0.1 "$PORT" >/dev/null 2>&1 || fail "atftp, blksize 65464 windowsize 64"
same_sha fw65464w.bin "atftp, blksize 65464, windowsize 64"
pass "40 MB at blksize 65464 (curl; atftp with windowsize 64): SHA-256 matches"

# ---- refusals; the server keeps serving -------------------------------------------

# tftp-hpa prints the server's ERROR; its exit status is not reliable across
# versions, so the message is what is checked.
hpa_error() {  # hpa_error COMMAND NAME -> the client's output
  timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c "$1" "$2" "${3:-out.tmp}" 2>&1 || true
}

echo "not a config" >upload.conf
before=$(find data -type f | sort | xargs sha256sum)
out=$(hpa_error put upload.conf IP542N.conf)
[[ $out == *"Error code 2"* ]] || fail "a write request must get ERROR 2" "tftp said: $out"
after=$(find data -type f | sort | xargs sha256sum)
[[ $before == "$after" ]] || fail "a write request changed the data folder"
timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get IP542N.conf again.conf
same_file expected.conf again.conf "IP542N.conf after a write request"
pass "a write request gets ERROR 2 and writes nothing"

for name in ../etc/passwd firmware/../../etc/passwd 'a\b.conf'; do
  out=$(hpa_error get "$name")
  [[ $out == *"Error code 2"* ]] || fail "$name must get ERROR 2" "tftp said: $out"
done
out=$(hpa_error get /etc/passwd)
# A leading '/' is the root of what provbox serves (SPA-style devices ask for
# /name); an absolute name it does not serve is an access violation: ERROR 2.
[[ $out == *"Error code 2"* ]] || fail "/etc/passwd must get ERROR 2" "tftp said: $out"
[[ ! -s out.tmp ]] || ! grep -q root: out.tmp || fail "/etc/passwd was served"
timeout 30 atftp -g -r ../etc/passwd -l trav.tmp 127.0.0.1 "$PORT" >atftp.out 2>&1 &&
  fail "atftp ../etc/passwd succeeded"
grep -q "error" atftp.out || fail "atftp ../etc/passwd: no error reported" "$(cat atftp.out)"
pass "traversal (../etc/passwd, firmware/../../etc/passwd, a\\b.conf, /etc/passwd) gets ERROR 2"

out=$(hpa_error get no-such-file.cfg)
[[ $out == *"Error code 1"* ]] || fail "an unknown file must get ERROR 1" "tftp said: $out"
# The ATA has no address on record, so its model's file asked from 127.0.0.1
# names no device; and no device lives at 127.0.0.2.
out=$(hpa_error get G502N.conf)
[[ $out == *"Error code 1"* ]] || fail "G502N.conf from 127.0.0.1 must get ERROR 1" "tftp said: $out"
reply=$(raw get IP542N.conf octet 127.0.0.2 other.conf)
[[ $reply == "error 1 "* ]] || fail "IP542N.conf from 127.0.0.2 must get ERROR 1" "got: $reply"
pass "an unknown file and an unknown device get ERROR 1"

# Garbage: an unknown opcode and a stray ACK get no answer; a request that
# does not decode gets ERROR 4. Then the server still serves.
[[ $(raw send deadbeef00) == "no reply" ]] || fail "an unknown opcode was answered"
[[ $(raw send 00040007) == "no reply" ]] || fail "a stray ACK was answered"
[[ $(raw send 0001616263) == "reply 5 4" ]] || fail "a request without terminators must get ERROR 4"
printf '\xff\xfe\x00\x01garbage' >/dev/udp/127.0.0.1/"$PORT"
head -c 2000 /dev/urandom >/dev/udp/127.0.0.1/"$PORT"
alive "after garbage"
timeout 30 curl -sS -o after.conf "tftp://127.0.0.1:$PORT/IP542N.conf"
same_file expected.conf after.conf "IP542N.conf after garbage"
pass "garbage datagrams are dropped or refused and the server keeps serving"

# ---- the record of it all ------------------------------------------------------------

grep -q "tftp 127.0.0.1 $PHONE /IP542N.conf 200" server.log ||
  fail "no access log line for the phone's IP542N.conf"
grep -q "/$IMAGE_PATH 200 40000000B" server.log || fail "no access log line for the 40 MB image"
grep -q "/IP542N.conf 405 0B" server.log || fail "no access log line for the write request"
pass "transfers and refusals are in the access log"

kill -TERM "$SERVER_PID"
for _ in $(seq 1 100); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$SERVER_PID" 2>/dev/null && fail "provbox serve did not stop within 10 s of SIGTERM"
wait "$SERVER_PID" || fail "provbox serve exited with status $? after SIGTERM"
SERVER_PID=
pass "SIGTERM stops the server"
echo "all $CHECKS checks passed"
