#!/usr/bin/env bash
# Installs every Debian package healthwire's build, tests and tools need.
# Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap            # Bazel 4.2.3, builds offline with third_party/ stand-ins
  build-essential
  protobuf-compiler libprotobuf-dev
  protobuf-compiler-grpc libgrpc++-dev
  librocksdb-dev rocksdb-tools
  libabsl-dev
  libgtest-dev libgmock-dev
  libssl-dev
  libboost-dev
  libsimdjson-dev            # the converter validates webhook bodies with simdjson
  libgoogle-perftools-dev    # tcmalloc, the server binaries' allocator
  libbenchmark-dev
  curl ca-certificates
  bsdextrautils linux-perf      # column + perf: tools/bench/run_all.sh and profiling
  clang-14 libclang-rt-14-dev  # libFuzzer + sanitizers: tools/fuzz/run_fuzzers.sh
  pkg-config                   # link flags for tools/fuzz/run_fuzzers.sh
  nats-server libnats-dev      # cluster mode: JetStream commit log (nats.c client)
  libcurl4-openssl-dev         # s3_payload fetches (HTTPS with certificate verification)
  libspdlog-dev                # timestamped, levelled logs (text or JSON)
  python3-grpcio python3-protobuf  # the Python consumer example and test
  wrk                          # light HTTP load generator for tools/bench
  nghttp2-client               # h2load: the GetLatest line's light HTTP/2 (gRPC) generator
  prometheus                   # promtool checks the /metrics exposition
  openssl                      # throwaway CAs and certificates in TLS tests
)

# The Node consumer example needs node + npm (@grpc/grpc-js comes from npm);
# machines that already carry a Node.js of their own keep it.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The Node consumer example's npm packages (@grpc/grpc-js, @grpc/proto-loader),
# exactly as pinned by its package-lock.json, into tools/examples/node/node_modules
# (//tests/tools:node_consumer_test runs it; Bazel tests do not reach the network).
# --ignore-scripts: none of them needs an install script.
node_dir="$(cd "$(dirname "$0")/examples/node" && pwd)"
if [ ! -d "$node_dir/node_modules/@grpc/grpc-js" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
else
  echo "setup: node packages present"
fi
