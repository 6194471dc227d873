#!/usr/bin/env bash
# Starts healthwire's cluster mode on this machine, on loopback, for trying
# it: 3 nats-servers (one JetStream stream, R3), 2 store replicas and 2
# gateways, and prints where each listens. Ctrl-C stops everything.
#
#   bazel build -c opt //server:healthwire_store //server:healthwire_gateway
#   tools/cluster/run_local_cluster.sh [folder]     # default ./healthwire-cluster
#
# The nats-servers use the ports of tools/cluster/loopback-n*.conf (clients
# 4222-4224, routes 6222-6224, monitoring 8222-8224); the store replicas and
# gateways pick free ports. Data and logs stay in the folder: run it again
# to restart on the same data.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="$(mkdir -p "${1:-healthwire-cluster}" && cd "${1:-healthwire-cluster}" && pwd)"
bin="${HEALTHWIRE_BIN:-$repo/bazel-bin/server}"
nats_server="${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
log_urls="nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"

for b in "$bin/healthwire_store" "$bin/healthwire_gateway" "$nats_server"; do
  [[ -x "$b" ]] || { echo "missing $b (bazel build //server:healthwire_store //server:healthwire_gateway; apt-get install nats-server)" >&2; exit 1; }
done

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for_file() {  # file, what
  for _ in $(seq 1 300); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "$2 did not start; see its log" >&2; exit 1
}
ready_value() { sed -n "s/^$2=//p" "$1"; }

for i in 1 2 3; do
  mkdir -p "$dir/nats/n$i"
  sed "s#store_dir: .*#store_dir: \"$dir/nats/n$i\"#" "$here/loopback-n$i.conf" > "$dir/n$i.conf"
  "$nats_server" -c "$dir/n$i.conf" >"$dir/n$i.log" 2>&1 &
  pids+=($!)
done
for port in 4222 4223 4224; do
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

for i in 1 2; do
  rm -f "$dir/store-$i.ready"
  "$bin/healthwire_store" --log="$log_urls" --data_dir="$dir/store-$i" --grpc_port=0 --metrics_port=0 \
    --ready_file="$dir/store-$i.ready" >"$dir/store-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do wait_for_file "$dir/store-$i.ready" "store replica $i"; done

# Both gateways verify Terra's signature with the same secret.
secret_file="${SIGNING_SECRET_FILE:-$dir/signing-secret}"
[[ -s "$secret_file" ]] || (umask 077 && openssl rand -hex 32 > "$secret_file")
for i in 1 2; do
  rm -f "$dir/gateway-$i.ready"
  "$bin/healthwire_gateway" --log="$log_urls" --data_dir="$dir/gateway-$i" --http_port=0 \
    --signing_secret_file="$secret_file" \
    --ready_file="$dir/gateway-$i.ready" >"$dir/gateway-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do wait_for_file "$dir/gateway-$i.ready" "gateway $i"; done

echo "healthwire cluster in $dir"
for i in 1 2 3; do
  echo "  nats-server n$i   nats://127.0.0.1:$((4221 + i))   monitoring http://127.0.0.1:$((8221 + i))/jsz   log $dir/n$i.log"
done
for i in 1 2; do
  echo "  store replica $i  grpc 127.0.0.1:$(ready_value "$dir/store-$i.ready" grpc_port)   metrics http://127.0.0.1:$(ready_value "$dir/store-$i.ready" metrics_port)/metrics   data $dir/store-$i   log $dir/store-$i.log"
done
for i in 1 2; do
  echo "  gateway $i        http://127.0.0.1:$(ready_value "$dir/gateway-$i.ready" http_port)/webhooks/terra   log $dir/gateway-$i.log"
done
echo "  signing secret   $secret_file"
echo "Ctrl-C stops all of them."
wait
