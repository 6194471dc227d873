#!/usr/bin/env bash
# CI step (.ci/run): builds this consumer workspace from the checkout it sits
# in, exactly as a team depending on healthwire would (`bazel build //...`
# here, its own Bazel output base), then runs its sleep_subscriber against
# the real healthwire server: the latest sleep, then the next one streamed.
#
# Not a Bazel test: it runs Bazel itself (a test inside `bazel test` cannot),
# and the consumer workspace is outside the main workspace's //... on
# purpose (.bazelignore).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/consumer_workspace.XXXXXX")"
server_pid=""; sub_pid=""
cleanup() { for p in $sub_pid $server_pid; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log "$work"/*.err "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done; exit 1; }

echo "consumer workspace: bazel build //... in $here"
(cd "$here" && bazel build //...) || fail "the consumer workspace does not build"
subscriber="$(cd "$here" && bazel info bazel-bin 2>/dev/null)/sleep_subscriber"
[ -x "$subscriber" ] || fail "no $subscriber"

(cd "$repo" && bazel build //server:healthwire //tools:hwctl) || fail "healthwire does not build"
bin="$(cd "$repo" && bazel info bazel-bin 2>/dev/null)"
healthwire="$bin/server/healthwire"; hwctl="$bin/tools/hwctl/hwctl"

cd "$work"
"$healthwire" --data_dir=data --http_port=0 --grpc_port=0 --ready_file=ready >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
[ -f ready ] || fail "healthwire did not become ready"
store="127.0.0.1:$(sed -n 's/^grpc_port=//p' ready)"
url="--url=http://127.0.0.1:$(sed -n 's/^http_port=//p' ready)/webhooks/terra"

"$hwctl" simulate --type sleep --count 1 --seed 1 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
"$subscriber" --store="$store" --user=hwctl-sim-user --max_updates=1 >sub.out 2>sub.err &
sub_pid=$!
for _ in $(seq 1 300); do grep -q "^latest rev 1 sleep key " sub.out 2>/dev/null && break; sleep 0.1; done
grep -q "^latest rev 1 sleep key " sub.out || fail "no latest line"
"$hwctl" simulate --type sleep --count 1 --seed 2 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
for _ in $(seq 1 300); do kill -0 $sub_pid 2>/dev/null || break; sleep 0.1; done
wait $sub_pid || fail "sleep_subscriber exited $?"
sub_pid=""
grep -Eq "^update rev 2 sleep key [^ ]+ start 20" sub.out || fail "no update line"
cat sub.out
kill -TERM "$server_pid"; wait "$server_pid" || fail "healthwire exited $? on SIGTERM"
server_pid=""
echo "consumer workspace: PASS"
