#!/usr/bin/env bash
# Records larger than gRPC's 4 MiB default through every client healthwire
# ships: a 40 MB activity is posted with `hwctl send` and read back with every
# hwctl subcommand and the example subscriber, all real binaries against the
# real server on loopback. Also: `list` pages within a small receive limit,
# and a `watch` or subscriber that meets a record over its limit says so and
# skips it or stops; neither retries it forever.
set -euo pipefail

healthwire="$PWD/server/healthwire"
hwctl="$PWD/tools/hwctl/hwctl"
subscriber="$PWD/tools/examples/stream_subscriber"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/large_record.XXXXXX")"
cd "$work"

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in server.log *.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 3000 "$f" >&2; }; done
  exit 1
}
check() { echo "ok: $*"; }

# The 40 MB body converts and commits in a few seconds; on a shared 2-core
# machine that can exceed the 5 s default deadline (a 503 Terra would retry),
# so the deadline is generous here: this test is about reading, not speed.
"$healthwire" --data_dir=data --http_port=0 --grpc_port=0 --ingest_deadline=120s \
  --ready_file=ready >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
[ -f ready ] || fail "healthwire did not become ready"
store="--store=127.0.0.1:$(sed -n 's/^grpc_port=//p' ready)"
url="--url=http://127.0.0.1:$(sed -n 's/^http_port=//p' ready)/webhooks/terra"
user=hwctl-sim-user

# --- one 40 MB activity, sent like Terra sends it --------------------------------
"$hwctl" simulate --type activity --samples 42000 --seed 7 --out big 2>simulate.err >/dev/null ||
  fail "simulate --out exited $?"
body=big/activity-001.json
size=$(stat -c %s "$body")
[ "$size" -ge 40000000 ] || fail "the simulated activity is $size bytes, not 40 MB"
"$hwctl" send "$body" "$url" --data-dir data --timeout 120s >send.out 2>send.err ||
  fail "send exited $?: $(cat send.out)"
grep -q '^HTTP 200' send.out || fail "send: $(head -c 300 send.out)"
revision=$(grep -o '"revision":[0-9]*' send.out | cut -d: -f2)
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"][0]["metadata"]["summary_id"])' "$body")
check "sent $size bytes: revision $revision, key $key"
"$hwctl" simulate --type sleep --count 2 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate sleep"

# --- latest: summary, --json, --raw ------------------------------------------------
"$hwctl" latest --user $user --type activity "$store" >latest.out 2>latest.err || fail "latest exited $?"
grep -q "$key" latest.out || fail "latest does not show $key"
"$hwctl" latest --user $user --type activity --json "$store" >latest.json 2>latest.err ||
  fail "latest --json exited $?"
"$hwctl" latest --user $user --type activity --raw "$store" >latest.raw 2>latest.err ||
  fail "latest --raw exited $?"
python3 - "$body" latest.raw latest.json "$revision" <<'PY' || fail "latest output differs from what was sent"
import json, sys
body, raw, typed, revision = sys.argv[1:]
sent = json.load(open(body))["data"][0]
got_raw = open(raw, "rb").read()
assert len(got_raw) >= 40_000_000, len(got_raw)
assert json.loads(got_raw) == sent, "raw JSON differs"
event = json.loads(open(typed).read())
assert event["revision"] == revision, (event["revision"], revision)
assert event["activity"]["metadata"]["summary_id"] == sent["metadata"]["summary_id"]
samples = event["activity"]["heart_rate_data"]["detailed"]["hr_samples"]
assert len(samples) == 42000, len(samples)
PY
check "latest, latest --json (42000 samples), latest --raw ($(stat -c %s latest.raw) bytes, same JSON as sent)"

# --- list ----------------------------------------------------------------------------
"$hwctl" list --user $user --type activity --json "$store" >list.json 2>list.err || fail "list exited $?"
[ "$(wc -l <list.json)" -eq 1 ] || fail "list --json printed $(wc -l <list.json) lines"
grep -q "$key" list.json || fail "list --json does not show $key"
"$hwctl" list --user $user --type activity "$store" >list.out 2>list.err || fail "list exited $?"
grep -q "$key" list.out || fail "list does not show $key"
check "list, list --json"

# --- watch: replay, --json, --max-messages --------------------------------------------
"$hwctl" watch --from-revision 1 --until-caught-up "$store" >watch.out 2>watch.err ||
  fail "watch --until-caught-up exited $?"
grep -q "^rev $revision  activity  user $user  key $key  date " watch.out || fail "watch: no line for $key"
[ "$(wc -l <watch.out)" -eq 3 ] || fail "watch printed $(wc -l <watch.out) updates, expected 3"
"$hwctl" watch --from-revision "$revision" --max-messages 1 --json --type activity "$store" \
  >watch.json 2>watch.err || fail "watch --json exited $?"
python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).read()); assert e["record_key"]==sys.argv[2]' \
  watch.json "$key" || fail "watch --json does not show $key"
check "watch --until-caught-up, watch --json --max-messages 1"

# --- export and replay -------------------------------------------------------------------
"$hwctl" export records --user $user --type activity "$store" >export.ndjson 2>export.err ||
  fail "export records exited $?"
"$hwctl" export changes --from-revision "$revision" --type activity "$store" >changes.ndjson 2>export.err ||
  fail "export changes exited $?"
python3 - "$body" export.ndjson changes.ndjson <<'PY' || fail "export lines do not hold the record as sent"
import json, sys
sent = json.load(open(sys.argv[1]))["data"][0]
for path in sys.argv[2:]:
    lines = open(path).read().splitlines()
    assert len(lines) == 1, (path, len(lines))
    assert json.loads(lines[0])["raw"] == sent, path
PY
"$hwctl" replay export.ndjson "$url" --data-dir data --timeout 120s >replay.out 2>replay.err ||
  fail "replay exited $?: $(cat replay.out)"
grep -q "1 x HTTP 200" replay.out || fail "replay: $(cat replay.out)"
check "export records, export changes (the 40 MB record as sent), replay (HTTP 200)"

# --- user, backup ------------------------------------------------------------------------
"$hwctl" user $user "$store" >user.out 2>user.err || fail "user exited $?"
grep -q "status:" user.out || fail "user shows no status"
"$hwctl" backup --name with-large "$store" >backup.out 2>backup.err || fail "backup exited $?"
grep -q "with-large" backup.out || fail "backup: $(cat backup.out)"
check "user, backup"

# --- the example subscriber --------------------------------------------------------------
"$subscriber" --user=$user --type=activity "$store" >sub.out 2>sub.err &
sub_pid=$!
for _ in $(seq 1 300); do grep -q "^latest rev $revision " sub.out 2>/dev/null && break; sleep 0.1; done
grep -q "^latest rev $revision  EVENT_TYPE_ACTIVITY  key $key" sub.out || fail "subscriber: $(cat sub.out)"
kill -INT $sub_pid
wait $sub_pid || fail "subscriber exited $? after Ctrl-C"
check "stream_subscriber reads the 40 MB activity as its current state"

# --- over a receive limit: say so, page smaller, skip or stop; never loop -------------
# list pages within a 4 MiB limit: 30 activities of 2,000 samples (the issue's
# case, ~1 MB each typed) come back in pages that fit, every one of them.
"$hwctl" simulate --type activity --user many --count 30 --batch 10 --samples 2000 "$url" \
  --data-dir data >/dev/null 2>simulate.err || fail "simulate 30 activities"
"$hwctl" list --user many --type activity --limit 30 --max-receive-mb 4 "$store" >small.out 2>small.err ||
  fail "list within 4 MiB exited $?"
[ "$(wc -l <small.out)" -eq 30 ] || fail "list within 4 MiB printed $(wc -l <small.out) of 30 records"
check "list --limit 30 within a 4 MiB receive limit: 30 records"
# One record over the limit is an error naming the limit.
rc=0; "$hwctl" list --user $user --type activity --max-receive-mb 1 "$store" >/dev/null 2>over.err || rc=$?
[ "$rc" -eq 1 ] || fail "list of a record over the limit exited $rc"
grep -q "larger than the receive limit" over.err || fail "list over the limit: $(cat over.err)"
# watch names the revision it cannot take, skips it, goes on.
timeout 60 "$hwctl" watch --from-revision 1 --until-caught-up --max-receive-mb 1 "$store" \
  >skip.out 2>skip.err || fail "watch over the limit exited $?"
grep -q "revision $revision is larger than the receive limit (1 MiB)" skip.err || fail "watch did not name revision $revision"
grep -q "^rev $revision " skip.out && fail "watch printed the record it said it skipped"
grep -q "^rev $((revision + 1)) " skip.out || fail "watch did not go on after the skipped revision"
check "watch over the limit: revision $revision named and skipped, the next ones shown"
# The subscriber stops with exit 1 instead of retrying (timeout would give 124).
rc=0; timeout 60 "$subscriber" --user=$user --type=activity --max_receive_mb=1 "$store" >/dev/null 2>sub_over.err || rc=$?
[ "$rc" -eq 1 ] || fail "subscriber over the limit exited $rc (124: it kept retrying)"
grep -q "larger than the receive limit" sub_over.err || fail "subscriber over the limit: $(cat sub_over.err)"
rc=0; timeout 60 "$subscriber" --user=$user --type=activity --from_revision=1 --max_receive_mb=1 "$store" \
  >/dev/null 2>sub_over.err || rc=$?
[ "$rc" -eq 1 ] || fail "streaming subscriber over the limit exited $rc (124: it kept retrying)"
check "stream_subscriber over its limit stops with exit 1"

kill -TERM "$server_pid"; wait "$server_pid" || fail "healthwire exited non-zero on SIGTERM"
server_pid=""
echo "PASS"
