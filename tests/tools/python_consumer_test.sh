#!/usr/bin/env bash
# The Python consumer (tools/examples/python/subscriber.py) against the real
# server: its modules generated from the repository's protos with Debian's
# protoc + grpc_python_plugin, exactly as the script's header says; it reads
# the latest sleep, then receives the next one from the stream.
set -euo pipefail
source tests/tools/consumer_test_lib.sh
consumer_test_init python_consumer

mkdir -p "$work/gen"
protoc -Iproto --python_out="$work/gen" --grpc_python_out="$work/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  proto/healthwire/v1/healthwire.proto proto/healthwire/terra/terra.proto || fail "protoc exited $?"
# The generated modules are named after the proto package.
[ -f "$work/gen/healthwire/v1/healthwire_pb2.py" ] && [ -f "$work/gen/healthwire/v1/healthwire_pb2_grpc.py" ] &&
  [ -f "$work/gen/healthwire/terra/terra_pb2.py" ] || fail "no healthwire/v1/healthwire_pb2{,_grpc}.py, healthwire/terra/terra_pb2.py in gen/"

consumer_test_run env PYTHONPATH="$work/gen" /usr/bin/python3 "$root/tools/examples/python/subscriber.py"
cat sub.out
echo PASS
