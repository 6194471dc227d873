#!/usr/bin/env bash
# healthwire benchmark suite: run by hand (not a test), prints ONE table.
#
#   tools/bench/run_all.sh                 # full suite (~6 minutes)
#   DURATION=10 tools/bench/run_all.sh     # shorter ingest runs
#
# Builds with -c opt, measures RocksDB's own synced-write rate with db_bench
# (the ceiling for the ingest lines, same machine, same run), starts
# //server:healthwire on a fresh temp data folder (port 0 + --ready_file),
# runs every benchmark against it over loopback, and prints
#   line | figure | ceiling | ratio | target | met? | detail
# Everything is bounded in time; all servers started here are stopped on exit.
# Raw outputs are kept in $WORK (printed at the end).
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION="${DURATION:-30}"          # seconds per ingest benchmark
DB_BENCH_SECONDS="${DB_BENCH_SECONDS:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
SLEEP_BYTES="${SLEEP_BYTES:-1100}"
ACTIVITY_BYTES="${ACTIVITY_BYTES:-20480}"
BIG_BYTES=$((10 * 1024 * 1024))

command -v db_bench >/dev/null || { echo "db_bench missing: apt-get install rocksdb-tools (tools/setup.sh)" >&2; exit 1; }

echo "== building (-c opt)" >&2
bazel build -c opt //server:healthwire //tools/bench:webhook_load //tools/bench:grpc_load >&2
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
WORK="$(mktemp -d /tmp/healthwire-bench.XXXXXX)"
SECRET="bench-secret-$$-$RANDOM"
PIDS=()

cleanup() {
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

run() {  # name, command...
  local name="$1"; shift
  echo "== $name" >&2
  "$@" >"$WORK/$name.txt" 2>"$WORK/$name.err" || echo "   ($name exited $?; see $WORK/$name.err)" >&2
  grep -v '^RESULT' "$WORK/$name.txt" >&2 || true
}

run sleep_ingest timeout $((DURATION + 120)) "$BIN/tools/bench/webhook_load" --port="$HTTP_PORT" \
  --secret="$SECRET" --kind=sleep --body_bytes="$SLEEP_BYTES" --connections="$CONNECTIONS" \
  --duration="${DURATION}s" --label=sleep
run replay timeout 200 "$BIN/tools/bench/grpc_load" --mode=replay --grpc_port="$GRPC_PORT" \
  --duration=180s --max_events=3000000
run getlatest timeout 120 "$BIN/tools/bench/grpc_load" --mode=getlatest --grpc_port="$GRPC_PORT" \
  --callers=32 --duration=15s
run activity_ingest timeout $((DURATION + 120)) "$BIN/tools/bench/webhook_load" --port="$HTTP_PORT" \
  --secret="$SECRET" --kind=activity --body_bytes="$ACTIVITY_BYTES" --connections="$CONNECTIONS" \
  --duration="${DURATION}s" --label=activity
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

S_RPS="$(result "$R/sleep_ingest.txt" req_per_s)"
A_RPS="$(result "$R/activity_ingest.txt" req_per_s)"
A_MB="$(result "$R/activity_ingest.txt" mb_per_s)"
B_P50="$(result "$R/big_webhook.txt" p50_ms)"
G_RPS="$(result "$R/getlatest.txt" req_per_s)"
G_P99="$(result "$R/getlatest.txt" p99_ms)"
L_P99="$(result "$R/sublatency.txt" p99_ms)"
P_EPS="$(result "$R/replay.txt" events_per_s)"
M_PEAK="$(result "$R/memory.txt" peak_mb)"
S_RATIO="$(ratio "$S_RPS" "$CEIL_SLEEP")"

{
  echo "healthwire benchmarks $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): nproc=$(nproc)," \
       "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
       "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "line|figure|ceiling|ratio|target|met?|detail"
  echo "durable ingest, ${SLEEP_BYTES} B sleep, ${CONNECTIONS} conns, ${DURATION}s|${S_RPS} req/s|${CEIL_SLEEP} ops/s (db_bench sync=1, ${CONNECTIONS} thr, ${SLEEP_BYTES} B)|${S_RATIO}|>= 0.80|$(ge "$S_RATIO" 0.80)|$(lat "$R/sleep_ingest.txt"); $(result "$R/sleep_ingest.txt" mb_per_s) MB/s; non2xx=$(result "$R/sleep_ingest.txt" non2xx)"
  echo "durable ingest, ${ACTIVITY_BYTES} B activity+samples, ${CONNECTIONS} conns|${A_RPS} events/s, ${A_MB} MB/s|${CEIL_ACT} ops/s, ${CEIL_ACT_MB} MB/s (db_bench ${ACTIVITY_BYTES} B)|$(ratio "$A_RPS" "$CEIL_ACT")|report|-|$(lat "$R/activity_ingest.txt")"
  echo "one 10 MB activity webhook (2xx time, median of 5)|${B_P50} ms|500 ms|$(ratio "$B_P50" 500)|< 500 ms|$(lt "$B_P50" 500)|$(lat "$R/big_webhook.txt")"
  echo "GetLatest, 32 callers, 15s|${G_RPS} req/s, p99 ${G_P99} ms|20000 req/s, p99 2 ms|$(ratio "$G_RPS" 20000)|>= 20000/s and p99 < 2 ms|$(both "$(ge "$G_RPS" 20000)" "$(lt "$G_P99" 2)")|$(lat "$R/getlatest.txt")"
  echo "webhook 2xx -> subscriber, 100 subs, 1000 ev/s|p99 ${L_P99} ms|5 ms|$(ratio "$L_P99" 5)|p99 < 5 ms|$(lt "$L_P99" 5)|$(lat "$R/sublatency.txt"); send->recv p50/p99/max $(result "$R/sublatency.txt" send_p50_ms)/$(result "$R/sublatency.txt" send_p99_ms)/$(result "$R/sublatency.txt" send_max_ms) ms; achieved $(result "$R/sublatency.txt" rate)/s; missing=$(result "$R/sublatency.txt" missing)"
  echo "replay from revision 1, ${SLEEP_BYTES} B events|${P_EPS} events/s|100000 events/s|$(ratio "$P_EPS" 100000)|>= 100000/s|$(ge "$P_EPS" 100000)|$(result "$R/replay.txt" events) events, $(result "$R/replay.txt" mb_per_s) MB/s raw_json, dense=$(result "$R/replay.txt" dense)"
  echo "memory, 1000 subs (10 stalled), 10000 events|peak RSS ${M_PEAK} MB|300 MB|$(ratio "$M_PEAK" 300)|< 300 MB|$(lt "$M_PEAK" 300)|fresh server: before $(result "$R/memory.txt" before_mb) MB, subs attached $(result "$R/memory.txt" attached_mb) MB, after delivery $(result "$R/memory.txt" after_mb) MB, VmHWM $(result "$R/memory.txt" hwm_mb) MB"
} >"$WORK/table.txt"

echo
head -1 "$WORK/table.txt"
tail -n +2 "$WORK/table.txt" | column -t -s '|' -o ' | '
echo
echo "raw outputs: $WORK"
