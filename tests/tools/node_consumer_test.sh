#!/usr/bin/env bash
# The Node.js consumer (tools/examples/node/subscriber.js, @grpc/grpc-js +
# @grpc/proto-loader loading the repository's protos) against the real
# server: it reads the latest sleep, then receives the next one from the
# stream.
#
# node_modules is not a Bazel input: tools/setup.sh installs it with `npm ci`
# from the committed package-lock.json into tools/examples/node/node_modules.
# Node resolves require() from the script's real path, so running the
# runfiles' subscriber.js (a symlink into the source tree) finds it there.
set -euo pipefail

root="$PWD"
healthwire="$root/server/healthwire"
hwctl="$root/tools/hwctl/hwctl"
subscriber="$root/tools/examples/node/subscriber.js"
proto_root="$root/proto"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/node_consumer.XXXXXX")"
server_pid=""; sub_pid=""
cleanup() { for p in $sub_pid $server_pid; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log "$work"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done; exit 1; }

command -v node >/dev/null || fail "node is not installed: run tools/setup.sh"
modules="$(dirname "$(readlink -f "$subscriber")")/node_modules"
[ -d "$modules/@grpc/grpc-js" ] && [ -d "$modules/@grpc/proto-loader" ] ||
  fail "no $modules/@grpc/{grpc-js,proto-loader}: run tools/setup.sh (npm ci in tools/examples/node)"

cd "$work"
"$healthwire" --data_dir=data --http_port=0 --grpc_port=0 --ready_file=ready >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
[ -f ready ] || fail "healthwire did not become ready"
store="127.0.0.1:$(sed -n 's/^grpc_port=//p' ready)"
url="--url=http://127.0.0.1:$(sed -n 's/^http_port=//p' ready)/webhooks/terra"

"$hwctl" simulate --type sleep --count 1 --seed 1 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
node "$subscriber" --store "$store" --user hwctl-sim-user --max-updates 1 \
  --proto-root "$proto_root" >sub.out 2>sub.err &
sub_pid=$!
for _ in $(seq 1 300); do grep -q "^latest rev 1 sleep key " sub.out 2>/dev/null && break; sleep 0.1; done
grep -q "^latest rev 1 sleep key " sub.out || fail "no latest line: $(cat sub.out)"
"$hwctl" simulate --type sleep --count 1 --seed 2 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
for _ in $(seq 1 300); do kill -0 $sub_pid 2>/dev/null || break; sleep 0.1; done
wait $sub_pid || fail "the subscriber exited $?"
sub_pid=""
grep -q "^update rev 2 sleep key " sub.out || fail "no update line: $(cat sub.out)"
# Each line's key is the simulated record's summary id, not an empty field
# (a wrong field name under keepCase would print "key  start ").
grep -Eq "^update rev 2 sleep key [^ ]+ start 20[0-9]{2}-" sub.out || fail "update line without key/start: $(cat sub.out)"
cat sub.out
echo PASS
