#!/usr/bin/env bash
# hwctl as an operator uses it, real binaries on loopback: status, export and
# replay into a second server (same records, byte for byte), a watch that
# survives a store restart on its own, --max-messages, --version on every
# binary, and the usage lines for what hwctl refuses.
set -euo pipefail

healthwire="$PWD/server/healthwire"
hwctl="$PWD/tools/hwctl/hwctl"
subscriber="$PWD/tools/examples/stream_subscriber"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/hwctl_ops.XXXXXX")"
cd "$work"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in *.log *.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done
  exit 1
}
check() { echo "ok: $*"; }

# start NAME [flags]: a server with data folder NAME, ports in NAME.grpc/NAME.http.
start() {
  local name="$1"; shift
  rm -f "$name.ready"
  "$healthwire" --data_dir="$name" --ready_file="$name.ready" "$@" >>"$name.log" 2>&1 &
  pids+=($!); echo $! >"$name.pid"
  for _ in $(seq 1 300); do [ -f "$name.ready" ] && break; sleep 0.1; done
  [ -f "$name.ready" ] || fail "$name did not become ready"
  sed -n 's/^grpc_port=//p' "$name.ready" >"$name.grpc"
  sed -n 's/^http_port=//p' "$name.ready" >"$name.http"
}
store() { echo "--store=127.0.0.1:$(cat "$1.grpc")"; }
url() { echo "--url=http://127.0.0.1:$(cat "$1.http")/webhooks/terra"; }

# --- --version on every binary -------------------------------------------------
for binary in "$healthwire" "$hwctl" "$subscriber"; do
  out=$("$binary" --version) || fail "$binary --version exited $?"
  echo "$out" | grep -Eq '^[a-z_]+ [0-9]+\.[0-9]+\.[0-9]+$' || fail "$binary --version: $out"
done
check "--version: $("$hwctl" --version)"

# --- what hwctl refuses, with one usage line ----------------------------------------
rc=0; "$hwctl" watch --from-revision 0 --store=127.0.0.1:1 2>refuse.err || rc=$?
[ "$rc" -eq 2 ] && grep -q "at least 1" refuse.err || fail "--from-revision 0: exit $rc, $(cat refuse.err)"
"$hwctl" watch --help | grep -A1 -- '--from-revision$' | grep -q 'default' &&
  fail "watch --help shows a default for --from-revision"
rc=0; "$hwctl" simulate --type hormone --out x 2>refuse.err || rc=$?
[ "$rc" -eq 2 ] || fail "simulate --type hormone exited $rc"
"$hwctl" simulate --help | grep -qi hormone && fail "simulate --help lists hormone, which it refuses"
check "refused: --from-revision 0, simulate --type hormone (and neither is offered by --help)"

# --- status --------------------------------------------------------------------------
start a --grpc_port=0 --http_port=0
"$hwctl" simulate --type sleep --count 3 "$(url a)" --data-dir a >/dev/null 2>&1 || fail "simulate sleep"
"$hwctl" simulate --type activity --count 2 --samples 50 "$(url a)" --data-dir a >/dev/null 2>&1 ||
  fail "simulate activity"
"$hwctl" simulate --type auth --reference person-1 "$(url a)" --data-dir a >/dev/null 2>&1 || fail "simulate auth"
"$hwctl" status "$(store a)" "$(url a)" --data-dir a >status.out 2>status.err || fail "status exited $?"
cat status.out
grep -q "^revision: *6$" status.out || fail "status: revision"
grep -q "^oldest retained: *1$" status.out || fail "status: oldest retained"
grep -q "^subscribers: *0$" status.out || fail "status: subscribers"
grep -Eq "^data size: *[0-9.]+ (KiB|MiB)" status.out || fail "status: data size"
grep -q "^hwctl version: *[0-9]" status.out || fail "status: version"
release="$("$hwctl" --version | cut -d' ' -f2)"
grep -q "^server version: *$release$" status.out || fail "status: server version is not $release"
"$hwctl" status "$(store a)" "$(url a)" --data-dir a --json >status.json || fail "status --json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["revision"]==6 and s["oldest_retained_revision"]==1 and s["server_version"]==sys.argv[2], s' status.json "$release" ||
  fail "status --json: $(cat status.json)"
check "status: revision 6, oldest retained 1, subscribers 0, data size, server version $release, --json"

# --- export and replay into a second server ----------------------------------------------
"$hwctl" export changes "$(store a)" --output changes.ndjson 2>export.err || fail "export changes exited $?"
[ "$(wc -l <changes.ndjson)" -eq 6 ] || fail "export changes wrote $(wc -l <changes.ndjson) lines"
"$hwctl" export records --user hwctl-sim-user --type sleep "$(store a)" >sleep.ndjson 2>export.err ||
  fail "export records exited $?"
[ "$(wc -l <sleep.ndjson)" -eq 3 ] || fail "export records wrote $(wc -l <sleep.ndjson) lines"
python3 - changes.ndjson <<'PY' || fail "export lines are not event JSON plus the raw record"
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    assert isinstance(event["raw"], dict) and "raw_json" not in event, event.keys()
    assert int(event["revision"]) > 0 and event["record_key"]
PY
start b --grpc_port=0 --http_port=0
"$hwctl" replay changes.ndjson "$(url b)" --data-dir b >replay.out 2>replay.err || fail "replay exited $?: $(cat replay.out)"
grep -q "replayed 6 record(s) .*: 6 x HTTP 200" replay.out || fail "replay: $(cat replay.out)"
for type in sleep activity; do
  "$hwctl" latest --user hwctl-sim-user --type $type --raw "$(store a)" >a.$type || fail "latest a $type"
  "$hwctl" latest --user hwctl-sim-user --type $type --raw "$(store b)" >b.$type || fail "latest b $type"
  cmp -s a.$type b.$type || fail "the replayed $type differs from the original"
done
"$hwctl" user --reference person-1 "$(store b)" | grep -q "status: *active" || fail "replayed auth: no active connection"
"$hwctl" export records --user hwctl-sim-user --type sleep "$(store b)" >sleep_b.ndjson 2>/dev/null
python3 - sleep.ndjson sleep_b.ndjson <<'PY' || fail "exports of the original and the replayed store differ"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [(e["record_key"], e["raw"]) for e in a] == [(e["record_key"], e["raw"]) for e in b]
PY
# Replaying again changes nothing: identical records are answered 200, not stored twice.
"$hwctl" replay changes.ndjson "$(url b)" --data-dir b >/dev/null 2>&1 || fail "second replay"
"$hwctl" status "$(store b)" "$(url b)" | grep -q "^revision: *6$" || fail "a second replay created revisions"
check "export changes/records -> replay into a second server: same records, byte for byte; replay is idempotent"

# --- watch: --max-messages, and resuming on its own after a store restart ----------------
"$hwctl" watch --from-revision 1 --max-messages 2 "$(store a)" >max.out 2>max.err || fail "watch --max-messages exited $?"
[ "$(wc -l <max.out)" -eq 2 ] || fail "watch --max-messages 2 printed $(wc -l <max.out) lines"
grep -q "resume with --from-revision 3" max.err || fail "watch --max-messages: $(cat max.err)"
check "watch --max-messages 2"

"$hwctl" watch "$(store a)" >live.out 2>live.err &
watch_pid=$!; pids+=($watch_pid)
for _ in $(seq 1 100); do grep -q watching live.err 2>/dev/null && break; sleep 0.1; done
grep -q watching live.err || fail "watch did not go live"
grpc_a=$(cat a.grpc); http_a=$(cat a.http)
kill -TERM "$(cat a.pid)"; wait "$(cat a.pid)" 2>/dev/null || true
for _ in $(seq 1 100); do grep -q "lost the store" live.err && break; sleep 0.1; done
grep -q "lost the store" live.err || fail "watch did not notice the store going away"
start a --grpc_port="$grpc_a" --http_port="$http_a"
"$hwctl" simulate --type sleep --count 1 --seed 99 --user after-restart "$(url a)" --data-dir a >/dev/null 2>&1 ||
  fail "simulate after restart"
for _ in $(seq 1 200); do grep -q "user after-restart" live.out && break; sleep 0.1; done
grep -q "^rev 7  sleep  user after-restart " live.out || fail "watch did not resume after the restart: $(cat live.out)"
[ "$(grep -c '^rev 7 ' live.out)" -eq 1 ] || fail "watch showed revision 7 more than once"
grep -q "reconnected" live.err || fail "watch did not say it reconnected"
kill -INT $watch_pid; wait $watch_pid || fail "watch exited $? after Ctrl-C"
grep -q "last revision: 7 (resume with --from-revision 8)" live.err || fail "watch resume line: $(tail -2 live.err)"
check "watch resumed on its own after a store restart (rev 7 shown once, resume line 8)"
echo PASS
