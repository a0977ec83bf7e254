#!/usr/bin/env bash
# SIGHUP: a valid configuration is swapped in without dropping a transfer in
# flight; a broken one is reported and the running one stays.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

http=$(free_port)
write_config() {  # FORMAT [EXTRA LINE]
  printf 'listen:\n  http: 127.0.0.1:%s\n  https: "off"\n  tftp: "off"\n  admin: "off"\nlog:\n  format: %s\n%s\n' \
    "$http" "$1" "${2:-}" > provbox.yaml
}
"$PROVBOX" --data-dir data init --demo >/dev/null
head -c 8000000 /dev/urandom > image.bin
"$PROVBOX" --data-dir data firmware add image.bin --model IP542N --version 1.0 >/dev/null
write_config text
"$PROVBOX" --data-dir data serve --config provbox.yaml > serve.log 2>&1 &
pid=$!
CLEANUP+=("kill $pid 2>/dev/null")
wait_for "http://127.0.0.1:$http/"

# A slow download in flight across the reloads.
curl -s --limit-rate 2M -o got.bin "http://127.0.0.1:$http/firmware/IP542N/1.0/image.bin" &
download=$!
sleep 0.5

write_config json
kill -HUP "$pid"
wait_for_log serve.log "configuration reloaded"
curl -s -o /dev/null "http://127.0.0.1:$http/fv0021F2011B19.conf"
wait_for_log serve.log '"path":"/fv0021F2011B19.conf"'

write_config json "bogus_key: 1"
kill -HUP "$pid"
wait_for_log serve.log "reload refused"
assert_contains "$(cat serve.log)" "provbox.yaml:8: unknown key 'bogus_key'" "the refusal names the file and line"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/fv0021F2011B19.conf")
assert_eq 200 "$code" "the server keeps serving on the running configuration"
kill -0 "$pid" || fail "the server died on a broken configuration"

wait "$download" || fail "the download in flight failed across the reloads"
assert_eq "$(sha256sum < image.bin)" "$(sha256sum < got.bin)" "the download in flight arrived whole"
