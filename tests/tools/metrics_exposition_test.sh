#!/usr/bin/env bash
# Every /metrics page healthwire serves is valid Prometheus text exposition,
# as `promtool check metrics` (Debian's prometheus package, installed by
# tools/setup.sh) reads and lints it: the embedded binary's webhook port and
# read API port, and in split mode healthwire_store's --metrics_port and
# healthwire_gateway's webhook port. Each page is scraped after a signed
# webhook, an audited read and a refused request, so its labelled families
# have samples. All real binaries on loopback with free ports.
set -euo pipefail

root="$PWD"
healthwire="$root/server/healthwire"
store_bin="$root/server/healthwire_store"
gateway_bin="$root/server/healthwire_gateway"
hwctl="$root/tools/hwctl/hwctl"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/metrics_exposition.XXXXXX")"
cd "$work"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in *.log *.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done
  exit 1
}
command -v promtool >/dev/null || fail "promtool is missing: run tools/setup.sh (package prometheus)"
# Waits up to $2 tenths of a second for the shell condition $1.
wait_for() { for _ in $(seq 1 "$2"); do eval "$1" && return 0; sleep 0.1; done; eval "$1"; }
ready_value() { sed -n "s/^$2=//p" "$1"; }

# Scrapes http://127.0.0.1:$1/metrics into $2 and checks it with promtool;
# the page must also hold the family $3 (so an empty page cannot pass).
check_page() {
  curl -sS --max-time 10 "http://127.0.0.1:$1/metrics" >"$2" || fail "GET :$1/metrics failed"
  grep -q "^# TYPE $3 " "$2" || fail "$2 has no $3 family: $(head -c 500 "$2")"
  promtool check metrics <"$2" >"$2.promtool" 2>&1 ||
    fail "promtool rejects $2: $(cat "$2.promtool")"
  echo "ok: $2 ($(grep -c '^# TYPE ' "$2") families) passes promtool check metrics"
}

# A signed sleep, an audited read, and an unsigned webhook (a 401 sample).
traffic() {  # $1 http port, $2 grpc port, $3 data dir holding the secret
  "$hwctl" simulate --type sleep --count 1 --seed 1 --data-dir "$3" \
    --url="http://127.0.0.1:$1/webhooks/terra" >simulate.out 2>simulate.err || fail "simulate"
  "$hwctl" latest --store="127.0.0.1:$2" --user hwctl-sim-user --type sleep >get.out 2>get.err ||
    fail "hwctl latest"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' \
    "http://127.0.0.1:$1/webhooks/terra")" = 401 ] || fail "an unsigned webhook was not 401"
}

# --- embedded: the webhook port and the read API port -----------------------------
"$healthwire" --data_dir=embedded --http_port=0 --grpc_port=0 --read_api_port=0 \
  --audit_log=embedded-audit.jsonl --ready_file=embedded.ready >embedded.log 2>&1 &
pids+=($!)
wait_for '[ -f embedded.ready ]' 300 || fail "healthwire did not become ready"
traffic "$(ready_value embedded.ready http_port)" "$(ready_value embedded.ready grpc_port)" embedded
curl -s "http://127.0.0.1:$(ready_value embedded.ready read_api_port)/v1/users/hwctl-sim-user" >/dev/null
check_page "$(ready_value embedded.ready http_port)" embedded-webhook.metrics \
  healthwire_http_requests_total
check_page "$(ready_value embedded.ready read_api_port)" embedded-read-api.metrics \
  healthwire_read_api_requests_total

# --- split: healthwire_store's metrics port and healthwire_gateway -----------------
"$store_bin" --data_dir=store --grpc_port=0 --metrics_port=0 --audit_log=store-audit.jsonl \
  --ready_file=store.ready >store.log 2>&1 &
pids+=($!)
wait_for '[ -f store.ready ]' 300 || fail "healthwire_store did not become ready"
store_grpc="$(ready_value store.ready grpc_port)"
"$gateway_bin" --store="127.0.0.1:$store_grpc" --data_dir=gateway --http_port=0 \
  --ready_file=gateway.ready >gateway.log 2>&1 &
pids+=($!)
wait_for '[ -f gateway.ready ]' 300 || fail "healthwire_gateway did not become ready"
traffic "$(ready_value gateway.ready http_port)" "$store_grpc" gateway
check_page "$(ready_value store.ready metrics_port)" store.metrics healthwire_store_commits_total
check_page "$(ready_value gateway.ready http_port)" gateway.metrics healthwire_events_total

# promtool must be able to fail here: a counter without _total and a
# sample line without its family's TYPE are lint errors.
printf '# HELP broken A counter.\n# TYPE broken counter\nbroken 1\n' >broken.metrics
if promtool check metrics <broken.metrics >/dev/null 2>&1; then
  fail "promtool accepted a counter without _total: the check above proves nothing"
fi
echo "PASS"
