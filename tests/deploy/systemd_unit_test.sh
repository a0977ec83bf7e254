#!/usr/bin/env bash
# The shipped unit passes systemd-analyze verify (with ExecStart pointing at
# the binary under test, since /usr/bin/provbox is not installed here), and
# the shipped configuration passes provbox config check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
sed "s|/usr/bin/provbox|$PROVBOX|g" "$SOURCE_DIR/deploy/provbox.service" > provbox.service
out=$(systemd-analyze verify ./provbox.service 2>&1) || fail "systemd-analyze verify: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify had complaints: $out"
grep -q '^Type=notify' provbox.service || fail "the unit must be Type=notify"

out=$("$PROVBOX" config check "$SOURCE_DIR/deploy/provbox.yaml")
assert_contains "$out" ": ok" "the shipped configuration is valid"
