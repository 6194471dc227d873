// The wire bytes GetLatest and StreamUpdates' catch-up build around a stored
// record must be exactly what protobuf writes for the decoded messages.
#include "server/service/wire_bytes.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {
namespace {

std::string BytesOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

v1::Event SleepEvent(size_t raw_json_bytes) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_revision(77);
  event.set_record_key("sleep-a");
  event.mutable_user()->set_user_id("user-1");
  event.mutable_sleep()->mutable_metadata()->set_start_time("2026-07-01T23:10:00Z");
  event.set_raw_json(std::string(raw_json_bytes, 'x'));
  return event;
}

TEST(WireBytesTest, SerializedLatestResponseIsWhatProtobufWritesForTheDecodedRecord) {
  struct Case {
    size_t raw_json_bytes;
    uint64_t store_revision;
    std::string store_timeline;
  };
  // Lengths of one and of several varint bytes; proto3 defaults left out.
  for (const Case& c : {Case{10, 77, "timeline-1"}, Case{300000, uint64_t{1} << 40, "t"},
                        Case{0, 0, ""}, Case{5, 1, ""}, Case{5, 0, "only-timeline"}}) {
    SCOPED_TRACE(testing::Message() << c.raw_json_bytes << " " << c.store_revision << " "
                                    << c.store_timeline);
    const v1::Event event = SleepEvent(c.raw_json_bytes);
    v1::GetLatestResponse typed;
    *typed.mutable_event() = event;
    typed.set_store_revision(c.store_revision);
    typed.set_store_timeline(c.store_timeline);

    grpc::ByteBuffer raw;
    SerializedLatestResponse(event.SerializeAsString(), c.store_revision, c.store_timeline,
                             &raw);
    EXPECT_EQ(BytesOf(raw), typed.SerializeAsString());
  }
}

TEST(WireBytesTest, LengthDelimitedHeaderThenTheBytesParseAsThatField) {
  const v1::Event event = SleepEvent(200);
  std::string bytes;
  AppendLengthDelimitedHeader(v1::StreamUpdatesResponse::kUpdateFieldNumber,
                              event.ByteSizeLong(), &bytes);
  bytes += event.SerializeAsString();
  v1::StreamUpdatesResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.update().SerializeAsString(), event.SerializeAsString());
}

TEST(WireBytesTest, OwnedSliceHoldsTheMovedBytes) {
  std::string bytes(100000, 'y');
  const char* data = bytes.data();
  const grpc::Slice slice = OwnedSlice(std::move(bytes));
  EXPECT_EQ(slice.size(), 100000u);
  EXPECT_EQ(reinterpret_cast<const char*>(slice.begin()), data);  // moved, not copied
}

}  // namespace
}  // namespace healthwire
