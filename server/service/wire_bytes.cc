#include "server/service/wire_bytes.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <utility>

namespace healthwire {
namespace {

using ::google::protobuf::internal::WireFormatLite;
using ::google::protobuf::io::CodedOutputStream;

void AppendVarint(uint64_t value, std::string* out) {
  uint8_t bytes[10];  // a varint64 is at most 10 bytes
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(value, bytes);
  out->append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(end - bytes));
}

}  // namespace

grpc::Slice OwnedSlice(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  return grpc::Slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
}

void AppendLengthDelimitedHeader(int field_number, size_t length, std::string* out) {
  AppendVarint(WireFormatLite::MakeTag(field_number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
               out);
  AppendVarint(length, out);
}

void SerializedLatestResponse(std::string serialized_event, uint64_t store_revision,
                              const std::string& store_timeline, grpc::ByteBuffer* out) {
  // Fields in number order and proto3 defaults left out, as protobuf writes them.
  std::string header;
  AppendLengthDelimitedHeader(v1::GetLatestResponse::kEventFieldNumber, serialized_event.size(),
                              &header);
  std::string tail;
  if (store_revision != 0) {
    AppendVarint(WireFormatLite::MakeTag(v1::GetLatestResponse::kStoreRevisionFieldNumber,
                                         WireFormatLite::WIRETYPE_VARINT),
                 &tail);
    AppendVarint(store_revision, &tail);
  }
  if (!store_timeline.empty()) {
    AppendLengthDelimitedHeader(v1::GetLatestResponse::kStoreTimelineFieldNumber,
                                store_timeline.size(), &tail);
    tail.append(store_timeline);
  }
  grpc::Slice slices[3] = {grpc::Slice(header), OwnedSlice(std::move(serialized_event)),
                           grpc::Slice(tail)};
  grpc::ByteBuffer buffer(slices, tail.empty() ? 2 : 3);
  out->Swap(&buffer);
}

}  // namespace healthwire
