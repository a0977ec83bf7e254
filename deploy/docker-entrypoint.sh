#!/bin/sh
# Container entrypoint. `serve` (the default) makes sure the inventory exists
# and starts the server with the image's configuration; anything else is a
# provbox command (`docker run IMAGE device list`) or, when it is not one, a
# program to run.
#   PROVBOX_CONFIG  configuration file (default /etc/provbox/provbox.yaml)
#   PROVBOX_DEMO=1  add the demo inventory on first start
#   PROVBOX_BIN     the binary (default provbox from PATH; tests set it)
set -eu
bin=${PROVBOX_BIN:-provbox}
config=${PROVBOX_CONFIG:-/etc/provbox/provbox.yaml}

if [ "${1:-serve}" = "serve" ]; then
  [ $# -gt 0 ] && shift
  if [ "${PROVBOX_DEMO:-0}" = "1" ]; then
    "$bin" init --demo
  else
    "$bin" init
  fi
  exec "$bin" serve --config "$config" "$@"
fi

if "$bin" help 2>/dev/null | grep -q "^  $1\b"; then
  exec "$bin" "$@"
fi
exec "$@"
