# Shared by the deploy tests: a temp folder removed on exit, free ports,
# waiting for a server, and assertions that say what they expected.
PROVBOX=${1:?usage: TEST.sh PROVBOX_BINARY SOURCE_DIR}
SOURCE_DIR=${2:?usage: TEST.sh PROVBOX_BINARY SOURCE_DIR}
TEST_DIR=$(mktemp -d /tmp/provbox-deploy.XXXXXX)
chmod 755 "$TEST_DIR"
CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" || true; done
  rm -rf "$TEST_DIR"
}
trap cleanup EXIT
cd "$TEST_DIR"

fail() { echo "FAIL: $*" >&2; exit 1; }
assert_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: expected to find '$2' in: $(printf '%s' "$1" | tail -c 600)"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for URL: up to 10 s for an answer.
wait_for() {
  local i
  for i in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  fail "nothing answered at $1"
}

# wait_for_log FILE TEXT: up to 5 s.
wait_for_log() {
  local i
  for i in $(seq 1 50); do grep -qF -- "$2" "$1" && return 0; sleep 0.1; done
  fail "log $1 never said '$2': $(tail -5 "$1")"
}
