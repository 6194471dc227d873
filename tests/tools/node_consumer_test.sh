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
source tests/tools/consumer_test_lib.sh
consumer_test_init node_consumer
subscriber="$root/tools/examples/node/subscriber.js"

command -v node >/dev/null || fail "node is not installed: run tools/setup.sh"
modules="$(dirname "$(readlink -f "$subscriber")")/node_modules"
[ -d "$modules/@grpc/grpc-js" ] && [ -d "$modules/@grpc/proto-loader" ] ||
  fail "no $modules/@grpc/{grpc-js,proto-loader}: run tools/setup.sh (npm ci in tools/examples/node)"

consumer_test_run node "$subscriber" --proto-root "$root/proto"
# Each line's key is the simulated record's summary id, not an empty field
# (a wrong field name under keepCase would print "key  start ").
grep -Eq "^update rev 2 sleep key [^ ]+ start 20[0-9]{2}-" sub.out || fail "update line without key/start: $(cat sub.out)"
cat sub.out
echo PASS
