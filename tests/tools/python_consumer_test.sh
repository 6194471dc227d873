#!/usr/bin/env bash
# The Python consumer (tools/examples/python/subscriber.py) against the real
# server: its modules generated from the repository's protos with Debian's
# protoc + grpc_python_plugin, exactly as the script's header says; it reads
# the latest sleep, then receives the next one from the stream.
set -euo pipefail

root="$PWD"
healthwire="$root/server/healthwire"
hwctl="$root/tools/hwctl/hwctl"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/python_consumer.XXXXXX")"
server_pid=""; sub_pid=""
cleanup() { for p in $sub_pid $server_pid; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log "$work"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -c 2000 "$f" >&2; }; done; exit 1; }

mkdir -p "$work/gen"
protoc -Iproto --python_out="$work/gen" --grpc_python_out="$work/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  proto/healthwire/v1/healthwire.proto proto/healthwire/terra/terra.proto || fail "protoc exited $?"
# The generated modules are named after the proto package.
[ -f "$work/gen/healthwire/v1/healthwire_pb2.py" ] && [ -f "$work/gen/healthwire/v1/healthwire_pb2_grpc.py" ] &&
  [ -f "$work/gen/healthwire/terra/terra_pb2.py" ] || fail "no healthwire/v1/healthwire_pb2{,_grpc}.py, healthwire/terra/terra_pb2.py in gen/"
cd "$work"
"$healthwire" --data_dir=data --http_port=0 --grpc_port=0 --ready_file=ready >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -f ready ] && break; sleep 0.1; done
[ -f ready ] || fail "healthwire did not become ready"
store="127.0.0.1:$(sed -n 's/^grpc_port=//p' ready)"
url="--url=http://127.0.0.1:$(sed -n 's/^http_port=//p' ready)/webhooks/terra"

"$hwctl" simulate --type sleep --count 1 --seed 1 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
PYTHONPATH="$work/gen" /usr/bin/python3 "$root/tools/examples/python/subscriber.py" \
  --store "$store" --user hwctl-sim-user --max-updates 1 >sub.out 2>sub.err &
sub_pid=$!
for _ in $(seq 1 200); do grep -q "^latest rev 1 sleep key " sub.out 2>/dev/null && break; sleep 0.1; done
grep -q "^latest rev 1 sleep key " sub.out || fail "no latest line: $(cat sub.out)"
"$hwctl" simulate --type sleep --count 1 --seed 2 "$url" --data-dir data >/dev/null 2>&1 || fail "simulate"
for _ in $(seq 1 300); do kill -0 $sub_pid 2>/dev/null || break; sleep 0.1; done
wait $sub_pid || fail "the subscriber exited $?"
sub_pid=""
grep -q "^update rev 2 sleep key " sub.out || fail "no update line: $(cat sub.out)"
cat sub.out
echo PASS
