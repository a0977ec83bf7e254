#!/usr/bin/env bash
# Installs what provbox needs to build and test on Debian 12 (idempotent:
# does nothing when everything is there). Uses sudo when not run as root.
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libssl-dev libsqlite3-dev libyaml-cpp-dev libspdlog-dev
  # tests: unit tests, fuzzing, and the real clients the suite drives
  libgtest-dev libgmock-dev clang-14 libclang-rt-14-dev
  openssl sqlite3 curl python3 ca-certificates
  tftp-hpa atftp iproute2
  busybox isc-dhcp-client kea-admin kea-dhcp4-server
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
