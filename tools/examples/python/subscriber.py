#!/usr/bin/python3
"""A healthwire subscriber in Python: the pattern of stream_subscriber.cc.

Reads a person's latest record of one type (GetLatest), then streams every
later change (StreamUpdates from store_revision + 1), printing one line each.

Generate the modules first, with Debian's protoc and grpc_python_plugin
(python3-grpc-tools' own protoc 3.5.1 rejects proto3 `optional`), from the
protos' import root proto/:

  mkdir -p gen
  protoc -Iproto --python_out=gen --grpc_python_out=gen \
      --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
      proto/healthwire/v1/healthwire.proto proto/healthwire/terra/terra.proto
  PYTHONPATH=gen /usr/bin/python3 tools/examples/python/subscriber.py --user ID

The modules are `healthwire.v1.healthwire_pb2` and
`healthwire.v1.healthwire_pb2_grpc`, named after the proto package.
"""
import argparse
import sys

import grpc

from healthwire.v1 import healthwire_pb2
from healthwire.v1 import healthwire_pb2_grpc

# The largest message healthwire sends (proto/message_limits.h): records can
# be tens of MB, gRPC's default receive limit is 4 MiB.
MAX_MESSAGE_BYTES = 256 << 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="127.0.0.1:50051")
    parser.add_argument("--user", required=True)
    parser.add_argument("--type", default="sleep")
    parser.add_argument("--max-updates", type=int, default=0, help="exit after N updates")
    args = parser.parse_args()
    event_type = healthwire_pb2.EventType.Value("EVENT_TYPE_" + args.type.upper())

    channel = grpc.insecure_channel(
        args.store, options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)])
    stub = healthwire_pb2_grpc.EventStoreStub(channel)
    subject = healthwire_pb2.Subject(user_id=args.user)
    try:
        latest = stub.GetLatest(
            healthwire_pb2.GetLatestRequest(subject=subject, type=event_type, omit_raw_json=True),
            timeout=10)
        event = latest.event
        print(f"latest rev {event.revision} {args.type} key {event.record_key} "
              f"start {event.start_time}", flush=True)
        revision = latest.store_revision
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            print(f"GetLatest: {error.details()}", file=sys.stderr)
            return 1
        listed = stub.ListRecords(
            healthwire_pb2.ListRecordsRequest(subject=subject, type=event_type, page_size=1),
            timeout=10)
        print(f"no record yet (store revision {listed.store_revision})", flush=True)
        revision = listed.store_revision

    request = healthwire_pb2.StreamUpdatesRequest(
        user_ids=[args.user], types=[event_type], start_revision=revision + 1,
        progress_interval_ms=1000)
    updates = 0
    for response in stub.StreamUpdates(request):
        if response.WhichOneof("kind") != "update":
            continue
        event = response.update
        print(f"update rev {event.revision} {args.type} key {event.record_key} "
              f"start {event.start_time}", flush=True)
        updates += 1
        if args.max_updates and updates >= args.max_updates:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
