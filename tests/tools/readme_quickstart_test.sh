#!/usr/bin/env bash
# Runs README.md's quickstart exactly as written, so the README cannot rot;
# then its "Other languages" blocks (Python, Node) against the same server,
# and checks its "Depend on healthwire" WORKSPACE lines against the consumer
# workspace CI builds.
#
# The commands between <!-- quickstart:begin --> and <!-- quickstart:end -->
# are run in order from a fresh folder, with `bazel run //server:healthwire`
# and `bazel run //tools:hwctl --` replaced by the built binaries. Two things
# are added, never changed: ports are picked free (tests run in parallel), so
# hwctl is pointed at them with --store/--url; and the "other terminal"
# commands (the server, watch) run in the background.
#
# Then the curl commands of the "HTTP/JSON read API" section
# (<!-- readapi:begin --> ... <!-- readapi:end -->) run against the same
# server, which was started with that section's --read_api_port (on a free
# port, which replaces 8081 in the curl URLs); the streaming one is stopped
# after 3 s, as Ctrl-C would.
set -euo pipefail

readme="README.md"
root="$PWD"
healthwire="$PWD/server/healthwire"
hwctl="$PWD/tools/hwctl/hwctl"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/quickstart.XXXXXX")"
cd "$work"

fail() { echo "FAIL: $*" >&2; for f in server.log watch.out watch.err; do [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done; exit 1; }

mapfile -t commands < <(sed -n '/<!-- quickstart:begin -->/,/<!-- quickstart:end -->/p' "$OLDPWD/$readme" |
  grep -E '^bazel run //' || true)
[ "${#commands[@]}" -ge 5 ] || fail "found ${#commands[@]} quickstart commands in $readme"

mapfile -t readapi < <(sed -n '/<!-- readapi:begin -->/,/<!-- readapi:end -->/p' "$OLDPWD/$readme" |
  grep -E '^(bazel run|curl) ' || true)
[ "${readapi[0]:-}" = "bazel run //server:healthwire -- --read_api_port=8081" ] ||
  fail "the read API section does not start with the server command this test runs: ${readapi[0]:-none}"
[ "${#readapi[@]}" -ge 5 ] || fail "found ${#readapi[@]} read API commands in $readme"

server_pid=""; watch_pid=""
cleanup() { [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null; [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT

ran=0
for line in "${commands[@]}"; do
  case "$line" in
    "bazel run //server:healthwire"*)
      args="${line#bazel run //server:healthwire}"; args="${args# --}"
      # shellcheck disable=SC2086
      "$healthwire" $args --http_port=0 --grpc_port=0 --read_api_port=0 --ready_file="$work/ready" >server.log 2>&1 &
      server_pid=$!
      for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
      [ -f ready ] || fail "healthwire did not become ready"
      grpc_port=$(sed -n 's/^grpc_port=//p' ready); http_port=$(sed -n 's/^http_port=//p' ready)
      read_api_port=$(sed -n 's/^read_api_port=//p' ready)
      grep -q "healthwire ready:" server.log || fail "no ready line in the log"
      [ -f healthwire-data/webhook-signing-secret ] || fail "no generated secret in ./healthwire-data"
      ;;
    "bazel run //tools:hwctl -- watch"*)
      args="${line#bazel run //tools:hwctl -- }"
      # shellcheck disable=SC2086
      "$hwctl" $args --store="127.0.0.1:$grpc_port" >watch.out 2>watch.err &
      watch_pid=$!
      sleep 1
      ;;
    "bazel run //tools:hwctl -- "*)
      args="${line#bazel run //tools:hwctl -- }"
      sub="${args%% *}"
      extra=(--store="127.0.0.1:$grpc_port")
      case "$sub" in simulate|send) extra=(--url="http://127.0.0.1:$http_port/webhooks/terra") ;; esac
      echo "+ hwctl $args"
      # shellcheck disable=SC2086
      out=$("$hwctl" $args "${extra[@]}" 2>&1) || fail "'$line' exited $?: $out"
      [ -n "$out" ] || fail "'$line' printed nothing"
      echo "$out" | head -5 | cut -c1-160
      case "$sub" in
        latest) echo "$out" | grep -qi "sleep" || fail "latest does not show a sleep record" ;;
        list) echo "$out" | grep -q '"activity"' || fail "list --json shows no activity" ;;
        user) echo "$out" | grep -q "status:" || fail "user shows no status" ;;
      esac
      ;;
    *) fail "unknown quickstart command: $line" ;;
  esac
  ran=$((ran + 1))
done

# The watch terminal saw the simulated records as they arrived; Ctrl-C ends it
# cleanly and says where to resume.
[ -n "$watch_pid" ] || fail "the quickstart has no watch command"
for _ in $(seq 1 100); do [ "$(grep -c sleep watch.out || true)" -ge 3 ] && break; sleep 0.1; done
[ "$(grep -c sleep watch.out || true)" -ge 3 ] || fail "watch did not print the 3 sleep updates"
grep -q activity watch.out || fail "watch did not print the activity update"
kill -INT "$watch_pid"; wait "$watch_pid" || fail "watch exited non-zero after Ctrl-C"
watch_pid=""
grep -q "last revision" watch.err || fail "watch did not print the revision to resume from"

# The read API section's curl commands, as written (8081 -> the free port).
for line in "${readapi[@]:1}"; do
  cmd="${line//127.0.0.1:8081/127.0.0.1:$read_api_port}"
  echo "+ $line"
  case "$cmd" in
    "curl -sN "*)
      out=$(eval "timeout 3 $cmd" 2>&1) && fail "'$line' ended by itself: $out"
      echo "$out" | grep -q "^event: update" || fail "'$line' streamed no update: $out"
      echo "$out" | grep -q "^id: 1$" || fail "'$line' has no id: 1 event: $out"
      ;;
    "curl -s "*)
      out=$(eval "$cmd" 2>&1) || fail "'$line' exited $?: $out"
      echo "$out" | cut -c1-160
      case "$cmd" in
        */latest/sleep*) echo "$out" | grep -q '"type":"EVENT_TYPE_SLEEP"' || fail "no sleep record: $out" ;;
        */records/activity*) echo "$out" | grep -q '"type":"EVENT_TYPE_ACTIVITY"' || fail "no activity: $out" ;;
        *) echo "$out" | grep -q '"status":"STATUS_ACTIVE"' || fail "no active connection: $out" ;;
      esac
      ;;
    *) fail "unknown read API command: $line" ;;
  esac
  ran=$((ran + 1))
done

# --- "Other languages": the Python and Node blocks, as written ----------------------
# Run from a folder that has the repository's proto/ and tools/ (the runfiles)
# and against the quickstart's server, which holds hwctl-sim-user's sleep.
# Added, never changed: the test server's port for 127.0.0.1:50051 and
# `--max-updates 1` on the subscriber, which then exits after one update; one
# more simulated sleep is that update.
readme_block() {  # the shell lines between <!-- $1:begin --> and <!-- $1:end -->, continuations joined
  sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$root/$readme" | sed '/^```/d;/^<!--/d' |
    awk '{ if (sub(/\\$/, "")) { buf = buf $0; next } print buf $0; buf = "" }'
}
mkdir -p languages
ln -s "$root/proto" languages/proto
ln -s "$root/tools" languages/tools
sleep_seed=100
run_consumer_block() {  # $1: block name
  local name="$1" line subscriber_line="" ran_block=0
  mapfile -t block < <(readme_block "$name")
  [ "${#block[@]}" -ge 2 ] || fail "README has no $name block"
  for line in "${block[@]}"; do
    [ -n "$line" ] || continue
    case "$line" in
      *subscriber*--store\ 127.0.0.1:50051*) subscriber_line="$line" ;;
      "(cd tools/examples/node && npm ci"*)
        # node_modules is installed by tools/setup.sh (Bazel tests may not reach
        # the registry): the same command must be the one setup.sh runs.
        args="${line#(cd tools/examples/node && }"; args="${args%)}"
        grep -qF "$args" "$root/tools/setup.sh" || fail "tools/setup.sh does not run '$args'"
        [ -d "$(dirname "$(readlink -f "$root/tools/examples/node/subscriber.js")")/node_modules/@grpc/grpc-js" ] ||
          fail "no node_modules for the Node example: run tools/setup.sh"
        ;;
      *)
        echo "+ $line"
        (cd languages && bash -euo pipefail -c "$line") >"$name.setup.log" 2>&1 || fail "'$line' failed: $(cat "$name.setup.log")"
        ;;
    esac
    ran_block=$((ran_block + 1))
  done
  [ -n "$subscriber_line" ] || fail "the $name block runs no subscriber against 127.0.0.1:50051"
  local command="${subscriber_line/127.0.0.1:50051/127.0.0.1:$grpc_port} --max-updates 1"
  echo "+ $command"
  (cd languages && bash -c "$command") >"$name.out" 2>"$name.err" &
  local pid=$!
  for _ in $(seq 1 300); do grep -q "^latest rev [0-9]* sleep key " "$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "^latest rev [0-9]* sleep key " "$name.out" || { kill -9 $pid 2>/dev/null || true; fail "$name: no latest line: $(cat "$name.out" "$name.err")"; }
  sleep_seed=$((sleep_seed + 1))
  "$hwctl" simulate --type sleep --count 1 --seed "$sleep_seed" --url="http://127.0.0.1:$http_port/webhooks/terra" >/dev/null 2>&1 ||
    fail "simulate for the $name subscriber"
  for _ in $(seq 1 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  wait $pid || fail "$name subscriber exited $?: $(cat "$name.err")"
  grep -Eq "^update rev [0-9]+ sleep key [^ ]+ start 20" "$name.out" || fail "$name: no update line: $(cat "$name.out")"
  sed "s/^/  $name: /" "$name.out"
  ran=$((ran + ran_block))
}
run_consumer_block python
run_consumer_block node

# --- "Depend on healthwire": the WORKSPACE lines are the consumer workspace's --------
# (CI builds that workspace: tools/examples/consumer_workspace/test_against_server.sh)
readme_block depend | sed 's|"/path/to/healthwire"|"../../.."|' | sed '/^$/d' >depend.readme
grep -v '^#' "$root/tools/examples/consumer_workspace/WORKSPACE" | grep -v '^workspace(' | sed '/^$/d' >depend.workspace
[ -s depend.readme ] || fail "README has no depend block"
diff depend.readme depend.workspace >depend.diff || fail "README's WORKSPACE lines differ from tools/examples/consumer_workspace/WORKSPACE: $(cat depend.diff)"
ran=$((ran + $(wc -l <depend.readme)))

kill -TERM "$server_pid"; wait "$server_pid" || fail "healthwire exited non-zero on SIGTERM"
server_pid=""
echo "README: $ran commands and lines (quickstart, Python, Node, Depend on healthwire) ran or matched as written"
