#!/usr/bin/env bash
# Shared by the language consumer tests (python_consumer_test.sh,
# node_consumer_test.sh): start the real embedded server on free ports, post
# one simulated sleep, start the consumer, check it prints the latest record,
# post a second sleep, check the consumer receives it from the stream and exits.
#
# Usage (from a test script running in its runfiles root, after `source`):
#   consumer_test_init <name>          # sets $work, fail(), cleanup trap
#   ... the caller's own prerequisite checks, using fail ...
#   consumer_test_run <consumer command and arguments>
#       the command gets --store HOST:PORT --user hwctl-sim-user --max-updates 1
#       appended, must print "latest rev 1 sleep key ..." and then
#       "update rev 2 sleep key ..." lines, and exit 0.
# After consumer_test_run, $work/sub.out holds the consumer's output.

root="$PWD"
healthwire="$root/server/healthwire"
hwctl="$root/tools/hwctl/hwctl"
server_pid=""; sub_pid=""

consumer_test_init() {
  work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/$1.XXXXXX")"
  trap 'for p in $sub_pid $server_pid; do kill -9 "$p" 2>/dev/null || true; done' EXIT
}

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log "$work"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done
  exit 1
}

# Waits up to $2 tenths of a second for the shell condition $1.
wait_for() { for _ in $(seq 1 "$2"); do eval "$1" && return 0; sleep 0.1; done; eval "$1"; }

consumer_test_run() {
  cd "$work"
  "$healthwire" --data_dir=data --http_port=0 --grpc_port=0 --ready_file=ready >server.log 2>&1 &
  server_pid=$!
  wait_for '[ -f ready ]' 300 || fail "healthwire did not become ready"
  local store="127.0.0.1:$(sed -n 's/^grpc_port=//p' ready)"
  local url="--url=http://127.0.0.1:$(sed -n 's/^http_port=//p' ready)/webhooks/terra"

  "$hwctl" simulate --type sleep --count 1 --seed 1 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
  "$@" --store "$store" --user hwctl-sim-user --max-updates 1 >sub.out 2>sub.err &
  sub_pid=$!
  wait_for 'grep -q "^latest rev 1 sleep key " sub.out 2>/dev/null' 300 ||
    fail "no latest line: $(cat sub.out)"
  "$hwctl" simulate --type sleep --count 1 --seed 2 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
  wait_for '! kill -0 $sub_pid 2>/dev/null' 300 || true
  wait $sub_pid || fail "the subscriber exited $?"
  sub_pid=""
  grep -q "^update rev 2 sleep key " sub.out || fail "no update line: $(cat sub.out)"
}
