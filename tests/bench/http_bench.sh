#!/usr/bin/env bash
# provbox against nginx on this machine, in one run (not part of ctest):
#   (a) rendered-config requests per second: wrk -t2 -c64 against provbox's
#       /fv0021F2011B19.conf, and against nginx (1 and 2 workers) serving
#       the same bytes as a static file;
#   (b) full mutual-TLS handshakes per second: two `openssl s_time -new`
#       in parallel with a device certificate, against provbox and against
#       nginx with ssl_verify_client on, the provbox CA, the same server
#       certificate and key: once with no session cache or tickets (nginx
#       then sends no TLS 1.3 ticket), once with nginx's defaults (tickets
#       on, like provbox, which keeps resumption on).
#
#   tests/bench/http_bench.sh build/provbox [--quick]
#
# Needs wrk, nginx, openssl, curl, python3 (apt-get install -y nginx wrk).
# nginx is started in the foreground from a temporary config and stopped by
# its PID; nothing is installed or left running. Everything listens on
# 127.0.0.1, and the load generators share the machine's cores with the
# servers, so compare the figures of one run (the ratios), not across
# machines. Environment: WRK_SECONDS (10), S_TIME_SECONDS (8), ROUNDS (1),
# PROVBOX_VARIANTS ("default quiet": quiet is --log-level warn, no access
# log lines), NGINX_WORKERS ("1 2"; "" measures provbox alone),
# NGINX_TICKETS ("off on": the TLS server's session tickets).
set -euo pipefail
quick=0
[[ ${2:-} == --quick ]] && quick=1
source "$(dirname "${BASH_SOURCE[0]}")/../http/lib.sh" "$1"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool (apt-get install -y nginx wrk)" >&2; exit 1; }
done
WRK_SECONDS=${WRK_SECONDS:-10}
S_TIME_SECONDS=${S_TIME_SECONDS:-8}
ROUNDS=${ROUNDS:-1}
PROVBOX_VARIANTS=${PROVBOX_VARIANTS:-default quiet}
NGINX_WORKERS=${NGINX_WORKERS-1 2}
NGINX_TICKETS=${NGINX_TICKETS:-off on}
if ((quick)); then WRK_SECONDS=3 S_TIME_SECONDS=3; fi
FILE=/fv0021F2011B19.conf

# nginx's workers run as nobody and must read the files; the keys stay
# readable by root only (the master loads them).
chmod 755 "$TEST_DIR"
ok pb init --demo
issue_cert "$PHONE" "$TEST_DIR/phone"
CERT=$TEST_DIR/phone/sslclientcert.pem KEY=$TEST_DIR/phone/sslclientkey.pem CA=$DATA/ca/ca.pem
mkdir -p "$TEST_DIR/www" "$TEST_DIR/nginx"
chmod 755 "$TEST_DIR/www"
pb render "$PHONE" --output "$TEST_DIR/www${FILE}" >/dev/null
chmod 644 "$TEST_DIR/www${FILE}"

# ---- running the peers --------------------------------------------------------

NGINX_PID=""
start_nginx() {  # WORKERS TICKETS(off|on)
  mapfile -t ports < <(free_ports 2)
  # off: no session cache and no tickets, so no TLS 1.3 ticket is sent
  # either; on: nginx's defaults (ssl_session_cache none, tickets on).
  local sessions="ssl_session_cache off; ssl_session_tickets off;"
  [[ $2 == on ]] && sessions="ssl_session_tickets on;"
  NGINX_HTTP=${ports[0]} NGINX_HTTPS=${ports[1]}
  local dir=$TEST_DIR/nginx
  cat >"$dir/nginx.conf" <<EOF
worker_processes $1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  default_type text/plain;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_HTTP;
    root $TEST_DIR/www;
  }
  server {
    listen 127.0.0.1:$NGINX_HTTPS ssl;
    root $TEST_DIR/www;
    ssl_certificate $DATA/tls/server.pem;
    ssl_certificate_key $DATA/tls/server.key;
    ssl_client_certificate $CA;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_protocols TLSv1.2 TLSv1.3;
    $sessions
  }
}
EOF
  : >"$dir/access.log"
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout" 2>&1 &
  NGINX_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_HTTP$FILE") == 200 ]] && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx did not start" "$(cat "$dir/error.log" "$dir/stdout")"
    sleep 0.1
  done
  fail "nginx did not answer within 10 s"
}
stop_nginx() {
  kill -QUIT "$NGINX_PID"  # graceful; the workers go with the master
  wait "$NGINX_PID" || true
  NGINX_PID=""
}

# Counts what the servers answered, so a run full of errors is not reported
# as a rate.
nginx_non_200() { awk '$9 != 200' "$TEST_DIR/nginx/access.log" | wc -l; }
provbox_non_200() {  # TRANSPORT
  curl -s "$ADMIN/metrics" | awk -v t="$1" '$1 ~ "^provbox_requests_total\\{transport=\"" t "\"" && $1 !~ "status=\"200\"" { n += $2 } END { print n + 0 }'
}

# ---- the load -------------------------------------------------------------------

# CPU time (user + system, in clock ticks) the server has used so far:
# provbox, or nginx's master and workers.
server_cpu_ticks() {
  local pids pid total=0
  if [[ -n $NGINX_PID ]]; then
    mapfile -t pids < <(echo "$NGINX_PID"; pgrep -P "$NGINX_PID")
  else
    pids=("$SERVER_PID")
  fi
  for pid in "${pids[@]}"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
# µs of server CPU per operation: cpu_per_op TICKS_BEFORE TICKS_AFTER OPERATIONS
cpu_per_op() {
  python3 -c "print(round(($2 - $1) * 1e6 / $(getconf CLK_TCK) / max($3, 1)))"
}

# wrk_run URL: wrk -t2 -c64; RATE is requests/s, CPU_US the server's CPU
# time per request (less disturbed by other load on the machine than the
# rate), WRK_LINE the detail.
wrk_run() {
  local out p99 errors total before after
  before=$(server_cpu_ticks)
  out=$(wrk -t2 -c64 -d"${WRK_SECONDS}s" --latency "$1")
  after=$(server_cpu_ticks)
  RATE=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  [[ -n $RATE ]] || fail "wrk printed no rate" "$out"
  total=$(awk '/requests in/ { print $1 }' <<<"$out")
  CPU_US=$(cpu_per_op "$before" "$after" "$total")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr -s ' ' | paste -sd';')
  WRK_LINE="$RATE req/s, p99 $p99, server CPU $CPU_US us/request${errors:+, $errors}"
}

# s_time_run PORT: two s_time clients in parallel, each a new session per
# connection with one GET of the profile. HS_RATE is full mutual-TLS
# handshakes per second (wall clock, both together), CPU_US the server's CPU
# time per handshake.
s_time_run() {
  local port=$1 i before after
  before=$(server_cpu_ticks)
  local clients=()
  for i in 1 2; do
    openssl s_time -connect "127.0.0.1:$port" -new -cert "$CERT" -key "$KEY" -CAfile "$CA" -www "$FILE" \
      -time "$S_TIME_SECONDS" >"$TEST_DIR/s_time.$i" 2>&1 &
    clients+=($!)
  done
  wait "${clients[@]}" || true  # s_time's exit status says nothing useful; its totals are checked below
  after=$(server_cpu_ticks)
  local rate=0 total=0 n secs
  for i in 1 2; do
    # "1234 connections in 9 real seconds, 527 bytes read per connection"
    read -r n secs < <(awk '/connections in [0-9]+ real seconds/ { print $1, $4 }' "$TEST_DIR/s_time.$i")
    [[ -n ${n:-} ]] || fail "s_time printed no totals" "$(tail -n 5 "$TEST_DIR/s_time.$i")"
    rate=$(python3 -c "print($rate + $n / $secs)")
    total=$((total + n))
  done
  HS_RATE=$(printf '%.0f' "$rate")
  CPU_US=$(cpu_per_op "$before" "$after" "$total")
}

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# ---- one round ---------------------------------------------------------------------

declare -A rps hps rcpu hcpu
results=$TEST_DIR/results
: >"$results"
note() { echo "$*" | tee -a "$results" >&2; }

note "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(uname -sr)"
note "provbox $("$PROVBOX" --version 2>/dev/null || git -C "$HTTP_TESTS_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nginx -v 2>&1 | cut -d: -f2 | tr -d ' '), $(openssl version | cut -d' ' -f1-2), wrk $(wrk --version 2>&1 | awk 'NR==1 { print $2 }')"
note "file: $FILE, $(stat -c %s "$TEST_DIR/www${FILE}") bytes; wrk ${WRK_SECONDS}s, s_time ${S_TIME_SECONDS}s x 2"

for ((round = 1; round <= ROUNDS; round++)); do
  for variant in $PROVBOX_VARIANTS; do
    case $variant in
      default) start_server ;;
      quiet) start_server --log-level warn ;;
      *) fail "unknown PROVBOX_VARIANTS entry: $variant" ;;
    esac
    [[ $(curl -s "$HTTP$FILE" | cmp - "$TEST_DIR/www${FILE}" && echo same) == same ]] ||
      fail "provbox serves other bytes than the static file"
    wrk_run "$HTTP$FILE"
    note "round $round provbox ($variant) http: $WRK_LINE"
    rps[provbox-$variant]+="$RATE "
    rcpu[provbox-$variant]+="$CPU_US "
    s_time_run "$HTTPS_PORT"
    note "round $round provbox ($variant) mTLS: $HS_RATE handshakes/s, server CPU $CPU_US us/handshake"
    hps[provbox-$variant]+="$HS_RATE "
    hcpu[provbox-$variant]+="$CPU_US "
    bad_http=$(provbox_non_200 http) bad_https=$(provbox_non_200 https)
    [[ $bad_http == 0 && $bad_https == 0 ]] ||
      fail "provbox answered non-200s during the benchmark" "http: $bad_http, https: $bad_https"
    stop_server
  done

  for workers in $NGINX_WORKERS; do
    for tickets in $NGINX_TICKETS; do
      start_nginx "$workers" "$tickets"
      key=nginx-$workers
      [[ $tickets == on ]] && key=nginx-$workers-tickets
      # The plain HTTP figure does not depend on TLS settings: measured once.
      if [[ $tickets == "$(awk '{ print $1 }' <<<"$NGINX_TICKETS")" ]]; then
        wrk_run "http://127.0.0.1:$NGINX_HTTP$FILE"
        note "round $round nginx ($workers worker(s)) http: $WRK_LINE"
        rps[nginx-$workers]+="$RATE "
        rcpu[nginx-$workers]+="$CPU_US "
      fi
      s_time_run "$NGINX_HTTPS"
      note "round $round nginx ($workers worker(s), tickets $tickets) mTLS: $HS_RATE handshakes/s, server CPU $CPU_US us/handshake"
      hps[$key]+="$HS_RATE "
      hcpu[$key]+="$CPU_US "
      [[ $(nginx_non_200) == 0 ]] || fail "nginx answered non-200s during the benchmark" \
        "$(awk '$9 != 200' "$TEST_DIR/nginx/access.log" | head -3)"
      stop_nginx
    done
  done
done

# The median of each set of rounds, and the ratios.
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "| server | requests/s (wrk -t2 -c64) | server CPU per request | mTLS handshakes/s (2 x s_time -new) | server CPU per handshake |"
echo "|---|---|---|---|---|"
m() { [[ -n ${1// /} ]] && median <<<"$1" || echo "-"; }
us() { [[ -n ${1// /} ]] && echo "$(median <<<"$1") us" || echo "-"; }
for key in $(printf '%s\n' "${!rps[@]}" "${!hps[@]}" | sort -u); do
  echo "| $key | $(m "${rps[$key]:-}") | $(us "${rcpu[$key]:-}") | $(m "${hps[$key]:-}") | $(us "${hcpu[$key]:-}") |"
done
echo
base=provbox-$(awk '{ print $1 }' <<<"$PROVBOX_VARIANTS")
for workers in $NGINX_WORKERS; do
  echo "provbox ($base) / nginx ($workers worker(s)): requests/s $(ratio "$(m "${rps[$base]}")" "$(m "${rps[nginx-$workers]}")"); CPU per request $(ratio "$(m "${rcpu[$base]}")" "$(m "${rcpu[nginx-$workers]}")")"
  for tickets in $NGINX_TICKETS; do
    key=nginx-$workers
    [[ $tickets == on ]] && key=nginx-$workers-tickets
    echo "  mTLS against nginx tickets $tickets: handshakes/s $(ratio "$(m "${hps[$base]}")" "$(m "${hps[$key]}")"), CPU per handshake $(ratio "$(m "${hcpu[$base]}")" "$(m "${hcpu[$key]}")")"
  done
done
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (anything above ~2 means other work shared the cores)"
