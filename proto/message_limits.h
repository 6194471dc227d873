// The size limit of healthwire's gRPC messages, for the server and every
// client.
//
// Records can be tens of MB (a day of samples), and a webhook body up to
// --max_body_mb (default 64 MiB) reaches the store whole through Ingest. The
// EventStore service sends and accepts messages up to kMaxGrpcMessageBytes;
// a client that sets its receive limit to the same value (gRPC's default is
// 4 MiB) can take anything the server can send:
//
//   grpc::ChannelArguments args;
//   args.SetMaxReceiveMessageSize(healthwire::kMaxGrpcMessageBytes);
//
// A header of constants only, so any target can depend on it.
#ifndef HEALTHWIRE_PROTO_MESSAGE_LIMITS_H_
#define HEALTHWIRE_PROTO_MESSAGE_LIMITS_H_

namespace healthwire {

// The largest message the EventStore service sends or receives, in bytes.
inline constexpr int kMaxGrpcMessageBytes = 256 << 20;

}  // namespace healthwire

#endif  // HEALTHWIRE_PROTO_MESSAGE_LIMITS_H_
