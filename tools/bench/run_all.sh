#!/usr/bin/env bash
# healthwire benchmark suite: run by hand (not a test), prints ONE table.
#
#   flock /work/coord/bench.lock tools/bench/run_all.sh   # full suite (~8 minutes)
#   DURATION=10 tools/bench/run_all.sh                     # shorter ingest runs
#
# Builds with -c opt, measures RocksDB's own synced-write rate with db_bench
# (the ceiling for the ingest lines, same machine, same run), starts
# //server:healthwire on a fresh temp data folder (port 0 + --ready_file),
# runs every benchmark against it over loopback, and prints
#   line | figure | ceiling | ratio | target | met? | generator CPU | load | detail
# The generators are light and report their own CPU (utime+stime over the
# measured run, % of one core), since they share the machine with the server:
# - ingest lines: wrk (one thread, 64 connections) sends requests that
#   presign_webhooks wrote and signed before the run (all distinct, more than
#   the run can send; a run that runs out says EXHAUSTED), via wrk_presigned.lua;
# - GetLatest: h2load (C, nghttp2; one connection, 32 calls in flight) sending
#   the gRPC-framed request getlatest_frame wrote and checked;
# - the streaming gRPC lines: grpc_load;
# - the 10 MB line: webhook_load with its bodies built and signed beforehand.
# "load" is the 1-minute load average when the line finished.
# Everything is bounded in time; all servers started here are stopped on exit.
# Raw outputs are kept in $WORK (printed at the end); request files are deleted.
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION="${DURATION:-30}"          # seconds per 1.1 KB ingest benchmark
ACTIVITY_DURATION="${ACTIVITY_DURATION:-15}"  # seconds for the 20 KB line (its requests fill GBs)
DB_BENCH_SECONDS="${DB_BENCH_SECONDS:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
SLEEP_BYTES="${SLEEP_BYTES:-1100}"
ACTIVITY_BYTES="${ACTIVITY_BYTES:-20480}"
BIG_BYTES=$((10 * 1024 * 1024))

command -v db_bench >/dev/null || { echo "db_bench missing: apt-get install rocksdb-tools (tools/setup.sh)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk (tools/setup.sh)" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client (tools/setup.sh)" >&2; exit 1; }
CLK_TCK="$(getconf CLK_TCK)"
LUA="$PWD/tools/bench/wrk_presigned.lua"

echo "== building (-c opt)" >&2
bazel build -c opt //server:healthwire //tools/bench:webhook_load //tools/bench:grpc_load \
  //tools/bench:presign_webhooks //tools/bench:getlatest_frame >&2
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/healthwire-bench.XXXXXX)"
SECRET="bench-secret-$$-$RANDOM"
PIDS=()

cleanup() {
  rm -f "$WORK"/*.req
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# start_server NAME -> sets SERVER_PID HTTP_PORT GRPC_PORT
start_server() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  "$BIN/server/healthwire" --data_dir="$dir/data" --grpc_port=0 --http_port=0 \
    --signing_secret="$SECRET" --ready_file="$dir/ready" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 600); do
    if grep -q '^data_dir=' "$dir/ready" 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.05
  done
  HTTP_PORT="$(sed -n 's/^http_port=//p' "$dir/ready")"
  GRPC_PORT="$(sed -n 's/^grpc_port=//p' "$dir/ready")"
  [ -n "$HTTP_PORT" ] && [ -n "$GRPC_PORT" ] || { echo "server not ready" >&2; exit 1; }
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# result FILE KEY -> value from the RESULT line
result() { sed -n 's/^RESULT //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -1; }

db_bench_rate() {  # value_size out -> "ops_per_s mb_per_s"
  local dir="$WORK/db_bench_$1"
  timeout $((DB_BENCH_SECONDS + 120)) db_bench --benchmarks=fillrandom --sync=1 \
    --threads="$CONNECTIONS" --value_size="$1" --num=1000000 --duration="$DB_BENCH_SECONDS" \
    --db="$dir" >"$2" 2>&1
  rm -rf "$dir"
  awk '$1=="fillrandom" {print $5, $(NF-1)}' "$2"
}

echo "== db_bench ceilings ($CONNECTIONS threads, sync=1, ${DB_BENCH_SECONDS}s each)" >&2
read -r CEIL_SLEEP CEIL_SLEEP_MB < <(db_bench_rate "$SLEEP_BYTES" "$WORK/db_bench_sleep.txt")
read -r CEIL_ACT CEIL_ACT_MB < <(db_bench_rate "$ACTIVITY_BYTES" "$WORK/db_bench_activity.txt")
echo "   ${SLEEP_BYTES} B: $CEIL_SLEEP ops/s; ${ACTIVITY_BYTES} B: $CEIL_ACT ops/s" >&2

start_server main
echo "== healthwire pid $SERVER_PID http $HTTP_PORT grpc $GRPC_PORT" >&2

LOADAVG=()  # "name=1-minute load average" when each line finished
run() {  # name, command...
  local name="$1"; shift
  echo "== $name" >&2
  "$@" >"$WORK/$name.txt" 2>"$WORK/$name.err" || echo "   ($name exited $?; see $WORK/$name.err)" >&2
  grep -v '^RESULT' "$WORK/$name.txt" >&2 || true
  LOADAVG+=("$name=$(cut -d' ' -f1 /proc/loadavg)")
}

# presign NAME KIND BYTES COUNT -> $WORK/NAME.req (and its avg body in $WORK/NAME.presign)
presign() {
  echo "== presigning $4 $2 requests of ${3} B for $1" >&2
  "$BIN/tools/bench/presign_webhooks" --secret="$SECRET" --kind="$2" --body_bytes="$3" \
    --count="$4" --tag="$1-$$" --out="$WORK/$1.req" >"$WORK/$1.presign"
}
# wrk_ingest NAME SECONDS: sends $WORK/NAME.req with wrk, then deletes it.
wrk_ingest() {
  local avg
  avg="$(result "$WORK/$1.presign" avg_body)"
  timeout $(($2 + 120)) wrk -t1 -c"$CONNECTIONS" -d"${2}s" --timeout 30s -s "$LUA" \
    "http://127.0.0.1:$HTTP_PORT" -- "$WORK/$1.req" "$1" "$avg" "$CLK_TCK"
  rm -f "$WORK/$1.req"
}
# h2load_getlatest SECONDS: GetLatest for bench-user-0's sleep, one HTTP/2
# connection, 32 calls in flight, sent by h2load (C, nghttp2) with the framed
# request getlatest_frame wrote (after one checked call through gRPC C++).
# h2load cannot read grpc-status (a trailer): every OK answer has exactly the
# checked answer's bytes and a non-OK one has no DATA, so all_ok=1 only if
# h2load's DATA bytes == succeeded x that size. p50/p99 from h2load's
# per-request log; generator CPU = h2load's utime+stime (bash `times`).
# With a second argument RPS, h2load offers that many calls per second
# (--rps; still at most 32 in flight) instead of as many as it can: the
# target's own statement (>= 25,000/s with p99 < 2 ms and a generator under
# 25% of a core) measured at that rate, without the queueing of a saturated
# closed loop.
h2load_getlatest() {
  local frame="$WORK/getlatest.frame" log="$WORK/getlatest.h2log" out="$WORK/getlatest.h2load"
  local pace=()
  [ -n "${2:-}" ] && pace=(--rps="$2")
  "$BIN/tools/bench/getlatest_frame" --grpc_port="$GRPC_PORT" --user=bench-user-0 \
    --out="$frame" >"$WORK/getlatest.frame.txt" || return 1
  local want
  want="$(result "$WORK/getlatest.frame.txt" response_frame_bytes)"
  local cpu
  rm -f "$log"  # h2load appends to its log
  cpu="$( (timeout $(($1 + 60)) h2load -c1 -m32 "${pace[@]}" -D "$1" -d "$frame" --log-file="$log" \
            -H 'content-type: application/grpc' -H 'te: trailers' \
            "http://127.0.0.1:$GRPC_PORT/healthwire.v1.EventStore/GetLatest" >"$out"; times) |
          tail -1 | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')"
  cat "$out"
  local succeeded data rps
  succeeded="$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")"
  data="$(sed -n 's/^traffic: .* (\([0-9]*\)) data$/\1/p' "$out")"
  rps="$(awk -v n="$succeeded" -v d="$1" 'BEGIN { printf "%.1f", n / d }')"
  local all_ok=0
  [ -n "$succeeded" ] && [ "$succeeded" -gt 0 ] && [ "$data" = "$((succeeded * want))" ] && all_ok=1
  sort -n -k3,3 "$log" | awk -v rps="$rps" -v cpu="$cpu" -v d="$1" -v ok="$all_ok" \
      -v n="$succeeded" -v fails="$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' "$out")" '
    { a[NR] = $3 / 1000 }
    END { printf "RESULT label=getlatest req_per_s=%s succeeded=%s failed=%s all_ok=%s " \
                 "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f gen_cpu_pct=%.1f\n", rps, n, fails, ok,
                 a[int(NR * 0.5) + 1], a[int(NR * 0.9) + 1], a[int(NR * 0.99) + 1], a[NR], cpu / d * 100 }'
  rm -f "$log"
}

# More requests than the run can send: 1.25x the db_bench ceiling's rate.
count_for() { awk -v r="$1" -v f="$2" -v d="$3" 'BEGIN { printf "%d", r * f * (d + 2) + 10000 }'; }

presign sleep_ingest sleep "$SLEEP_BYTES" "$(count_for "$CEIL_SLEEP" 1.25 "$DURATION")"
run sleep_ingest wrk_ingest sleep_ingest "$DURATION"

# The same ingest while 100 subscribers stream every update (raw JSON).
presign ingest_with_subs sleep "$SLEEP_BYTES" "$(count_for "$CEIL_SLEEP" 1.25 "$DURATION")"
"$BIN/tools/bench/grpc_load" --mode=subscribe --grpc_port="$GRPC_PORT" --http_port="$HTTP_PORT" \
  --secret="$SECRET" --subscribers=100 --duration="$((DURATION + 3))s" \
  >"$WORK/subscribe.txt" 2>"$WORK/subscribe.err" &
SUB_PID=$!
PIDS+=("$SUB_PID")
for _ in $(seq 1 600); do
  grep -q '^ATTACHED' "$WORK/subscribe.txt" 2>/dev/null && break
  kill -0 "$SUB_PID" 2>/dev/null || break
  sleep 0.1
done
run ingest_with_subs wrk_ingest ingest_with_subs "$DURATION"
wait "$SUB_PID" || echo "   (subscribers exited $?; see $WORK/subscribe.err)" >&2
grep -v '^RESULT' "$WORK/subscribe.txt" >&2 || true

run replay timeout 200 "$BIN/tools/bench/grpc_load" --mode=replay --grpc_port="$GRPC_PORT" \
  --duration=180s --max_events=3000000
run getlatest h2load_getlatest 15
run getlatest_paced h2load_getlatest 15 25000

presign activity_ingest activity "$ACTIVITY_BYTES" "$(count_for "$CEIL_ACT" 0.8 "$ACTIVITY_DURATION")"
run activity_ingest wrk_ingest activity_ingest "$ACTIVITY_DURATION"
run big_webhook timeout 300 "$BIN/tools/bench/webhook_load" --port="$HTTP_PORT" \
  --secret="$SECRET" --kind=activity --body_bytes="$BIG_BYTES" --connections=1 \
  --max_requests=5 --duration=240s --label=big
run sublatency timeout 120 "$BIN/tools/bench/grpc_load" --mode=sublatency --grpc_port="$GRPC_PORT" \
  --http_port="$HTTP_PORT" --secret="$SECRET" --subscribers=100 --rate=1000 --duration=10s \
  --post_connections=48
stop_server

# Memory on a fresh server, so earlier phases (block cache, memtables) do not count.
start_server memory
run memory timeout 420 "$BIN/tools/bench/grpc_load" --mode=memory --grpc_port="$GRPC_PORT" \
  --http_port="$HTTP_PORT" --secret="$SECRET" --subscribers=1000 --stalled=10 --events=10000 \
  --post_connections=16 --server_pid="$SERVER_PID"
stop_server

R="$WORK"
lat() { printf 'p50/p90/p99/max %s/%s/%s/%s ms' "$(result "$1" p50_ms)" "$(result "$1" p90_ms)" \
          "$(result "$1" p99_ms)" "$(result "$1" max_ms)"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && a + 0 >= b + 0) ? "yes" : "NO" }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && a + 0 < b + 0) ? "yes" : "NO" }'; }
both() { [ "$1" = yes ] && [ "$2" = yes ] && echo yes || echo NO; }

gen() { local v; v="$(result "$1" gen_cpu_pct)"; [ -n "$v" ] && echo "${v}% of a core" || echo "n/a"; }
load() { local e; for e in "${LOADAVG[@]}"; do [ "${e%%=*}" = "$1" ] && echo "${e#*=}"; done; }
exhausted() { [ "$(result "$1" exhausted)" = 1 ] && echo " EXHAUSTED (figure invalid: more requests needed)" || true; }

S_RPS="$(result "$R/sleep_ingest.txt" req_per_s)"
W_RPS="$(result "$R/ingest_with_subs.txt" req_per_s)"
A_RPS="$(result "$R/activity_ingest.txt" req_per_s)"
A_MB="$(result "$R/activity_ingest.txt" mb_per_s)"
B_P50="$(result "$R/big_webhook.txt" p50_ms)"
G_RPS="$(result "$R/getlatest.txt" req_per_s)"
G_P99="$(result "$R/getlatest.txt" p99_ms)"
G_CPU="$(result "$R/getlatest.txt" gen_cpu_pct)"
GP_RPS="$(result "$R/getlatest_paced.txt" req_per_s)"
GP_P99="$(result "$R/getlatest_paced.txt" p99_ms)"
GP_CPU="$(result "$R/getlatest_paced.txt" gen_cpu_pct)"
L_P99="$(result "$R/sublatency.txt" p99_ms)"
P_EPS="$(result "$R/replay.txt" events_per_s)"
M_PEAK="$(result "$R/memory.txt" peak_mb)"
S_RATIO="$(ratio "$S_RPS" "$CEIL_SLEEP")"
A_RATIO="$(ratio "$A_RPS" "$CEIL_ACT")"
W_RATIO="$(ratio "$W_RPS" "$S_RPS")"
SUB_CPU="$(result "$R/subscribe.txt" gen_cpu_pct)"
ingest_detail() {
  echo "$(lat "$1"); $(result "$1" mb_per_s) MB/s; non2xx=$(result "$1" non2xx) errors=$(result "$1" errors)$(exhausted "$1")"
}

{
  echo "healthwire benchmarks $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): nproc=$(nproc)," \
       "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
       "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "line|figure|ceiling|ratio|target|met?|generator CPU|load|detail"
  echo "durable ingest, ${SLEEP_BYTES} B sleep, ${CONNECTIONS} conns, ${DURATION}s|${S_RPS} req/s|${CEIL_SLEEP} ops/s (db_bench sync=1, ${CONNECTIONS} thr, ${SLEEP_BYTES} B)|${S_RATIO}|>= 0.80|$(ge "$S_RATIO" 0.80)|wrk $(gen "$R/sleep_ingest.txt")|$(load sleep_ingest)|$(ingest_detail "$R/sleep_ingest.txt")"
  echo "durable ingest, ${ACTIVITY_BYTES} B activity+samples, ${CONNECTIONS} conns, ${ACTIVITY_DURATION}s|${A_RPS} events/s, ${A_MB} MB/s|${CEIL_ACT} ops/s, ${CEIL_ACT_MB} MB/s (db_bench ${ACTIVITY_BYTES} B)|${A_RATIO}|>= 0.50|$(ge "$A_RATIO" 0.50)|wrk $(gen "$R/activity_ingest.txt")|$(load activity_ingest)|$(ingest_detail "$R/activity_ingest.txt")"
  echo "ingest while 100 subscribers stream (${SLEEP_BYTES} B, ${CONNECTIONS} conns, ${DURATION}s)|${W_RPS} req/s|${S_RPS} req/s (ingest alone, same run)|${W_RATIO}|>= 0.70|$(ge "$W_RATIO" 0.70)|wrk $(gen "$R/ingest_with_subs.txt"), subscribers ${SUB_CPU:-n/a}% of a core|$(load ingest_with_subs)|$(ingest_detail "$R/ingest_with_subs.txt"); subscribers received $(result "$R/subscribe.txt" updates_per_s) updates/s in all, fewest $(result "$R/subscribe.txt" min_received), ended early $(result "$R/subscribe.txt" ended)"
  echo "one 10 MB activity webhook (2xx time, median of 5)|${B_P50} ms|300 ms|$(ratio "$B_P50" 300)|< 300 ms|$(lt "$B_P50" 300)|webhook_load $(gen "$R/big_webhook.txt")|$(load big_webhook)|$(lat "$R/big_webhook.txt")"
  echo "GetLatest, 32 calls in flight, 15s|${G_RPS} req/s, p99 ${G_P99} ms|25000 req/s, p99 2 ms, generator < 25%|$(ratio "$G_RPS" 25000)|>= 25000/s, p99 < 2 ms, gen < 25%|$(both "$(both "$(ge "$G_RPS" 25000)" "$(lt "$G_P99" 2)")" "$(both "$(lt "$G_CPU" 25)" "$([ "$(result "$R/getlatest.txt" all_ok)" = 1 ] && echo yes || echo NO)")")|h2load $(gen "$R/getlatest.txt")|$(load getlatest)|$(lat "$R/getlatest.txt"); h2load succeeded=$(result "$R/getlatest.txt" succeeded) failed=$(result "$R/getlatest.txt" failed), every answer OK (DATA bytes = succeeded x checked answer)=$(result "$R/getlatest.txt" all_ok)"
  echo "GetLatest, 25000/s offered (h2load --rps), 15s|${GP_RPS} req/s, p99 ${GP_P99} ms|25000 req/s, p99 2 ms, generator < 25%|$(ratio "$GP_RPS" 25000)|>= 25000/s, p99 < 2 ms, gen < 25%|$(both "$(both "$(ge "$GP_RPS" 25000)" "$(lt "$GP_P99" 2)")" "$(both "$(lt "$GP_CPU" 25)" "$([ "$(result "$R/getlatest_paced.txt" all_ok)" = 1 ] && echo yes || echo NO)")")|h2load $(gen "$R/getlatest_paced.txt")|$(load getlatest_paced)|$(lat "$R/getlatest_paced.txt"); h2load succeeded=$(result "$R/getlatest_paced.txt" succeeded) failed=$(result "$R/getlatest_paced.txt" failed), every answer OK=$(result "$R/getlatest_paced.txt" all_ok)"
  echo "webhook 2xx -> subscriber, 100 subs, 1000 ev/s|p99 ${L_P99} ms|5 ms|$(ratio "$L_P99" 5)|p99 < 5 ms|$(lt "$L_P99" 5)|grpc_load (100 subscribers + posters) $(gen "$R/sublatency.txt")|$(load sublatency)|$(lat "$R/sublatency.txt"); send->recv p50/p99/max $(result "$R/sublatency.txt" send_p50_ms)/$(result "$R/sublatency.txt" send_p99_ms)/$(result "$R/sublatency.txt" send_max_ms) ms; achieved $(result "$R/sublatency.txt" rate)/s; missing=$(result "$R/sublatency.txt" missing)"
  echo "replay from revision 1, ${SLEEP_BYTES} B events|${P_EPS} events/s|150000 events/s|$(ratio "$P_EPS" 150000)|>= 150000/s|$(ge "$P_EPS" 150000)|grpc_load $(gen "$R/replay.txt")|$(load replay)|$(result "$R/replay.txt" events) events, $(result "$R/replay.txt" mb_per_s) MB/s raw_json, dense=$(result "$R/replay.txt" dense)"
  echo "memory, 1000 subs (10 stalled), 10000 events|peak RSS ${M_PEAK} MB|300 MB|$(ratio "$M_PEAK" 300)|< 300 MB|$(lt "$M_PEAK" 300)|grpc_load $(gen "$R/memory.txt")|$(load memory)|fresh server: before $(result "$R/memory.txt" before_mb) MB, subs attached $(result "$R/memory.txt" attached_mb) MB, after delivery $(result "$R/memory.txt" after_mb) MB, VmHWM $(result "$R/memory.txt" hwm_mb) MB"
} >"$WORK/table.txt"

echo
head -1 "$WORK/table.txt"
tail -n +2 "$WORK/table.txt" | column -t -s '|' -o ' | '
echo
echo "raw outputs: $WORK"
