// Wire bytes of responses that carry already-serialized protobuf messages.
//
// A stored record is a serialized v1::Event; a response holding it as a field
// is that field's tag and length followed by the stored bytes. Building it so
// (instead of decoding the record into a message and gRPC encoding it again)
// is what StreamUpdates' catch-up and GetLatest do. Stateless free functions,
// safe from any thread.
#ifndef HEALTHWIRE_SERVER_SERVICE_WIRE_BYTES_H_
#define HEALTHWIRE_SERVER_SERVICE_WIRE_BYTES_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstdint>
#include <string>

#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// A slice that owns `bytes` (moved in, not copied).
grpc::Slice OwnedSlice(std::string bytes);

// Appends a length-delimited field's tag and length (its bytes follow).
void AppendLengthDelimitedHeader(int field_number, size_t length, std::string* out);

// `out` = GetLatestResponse{event, store_revision, store_timeline} with
// `serialized_event` (a serialized v1::Event) moved in as the event: the same
// bytes GetLatestResponse::SerializeAsString gives for the parsed event.
void SerializedLatestResponse(std::string serialized_event, uint64_t store_revision,
                              const std::string& store_timeline, grpc::ByteBuffer* out);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_WIRE_BYTES_H_
