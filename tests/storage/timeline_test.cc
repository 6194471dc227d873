// The store timeline: new at creation, kept across reopens, new when a
// checkpoint is first opened; returned by every read. Over gRPC (the real
// binary): every stream announces it, and a resume that names another
// timeline is FAILED_PRECONDITION saying how to re-sync.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "storage/event_store.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

v1::Event Sleep(const std::string& summary_id) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_record_key(summary_id);
  event.mutable_user()->set_user_id("u1");
  event.set_raw_json(absl::StrCat("{\"summary_id\":\"", summary_id, "\"}"));
  return event;
}

std::unique_ptr<EventStore> OpenAt(const std::string& path) {
  EventStore::Options options;
  options.path = path;
  options.block_cache_bytes = 8 << 20;
  absl::StatusOr<std::unique_ptr<EventStore>> opened = EventStore::Open(options);
  EXPECT_TRUE(opened.ok()) << opened.status();
  return opened.ok() ? *std::move(opened) : nullptr;
}

std::string FreshPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/timeline_", name);
  std::filesystem::remove_all(path);
  std::filesystem::remove_all(path + ".checkpoints");
  return path;
}

TEST(TimelineTest, ANewStoreStartsATimelineThatReopeningKeepsAndReadsReturn) {
  const std::string path = FreshPath("new");
  std::string timeline;
  {
    auto store = OpenAt(path);
    ASSERT_NE(store, nullptr);
    timeline = store->TimelineId();
    EXPECT_THAT(timeline, MatchesRegex("[0-9a-f]{32}"));
    ASSERT_TRUE(store->Ingest({Sleep("s1")}).ok());
    LatestQuery latest;
    latest.subject = StoreSubject::UserId("u1");
    latest.type = v1::EVENT_TYPE_SLEEP;
    EXPECT_EQ(store->GetLatest(latest)->store_timeline, timeline);
    ListQuery list;
    list.subject = latest.subject;
    list.type = latest.type;
    EXPECT_EQ(store->ListRecords(list)->store_timeline, timeline);
    EXPECT_EQ(store->GetUser(StoreSubject::UserId("u1"))->store_timeline, timeline);
  }
  auto reopened = OpenAt(path);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->TimelineId(), timeline);
  EXPECT_NE(OpenAt(FreshPath("other"))->TimelineId(), timeline);
}

TEST(TimelineTest, AStoreOpenedFromACheckpointStartsANewTimelineOnce) {
  const std::string path = FreshPath("checkpointed");
  std::string original, checkpoint_path;
  {
    auto store = OpenAt(path);
    ASSERT_NE(store, nullptr);
    original = store->TimelineId();
    ASSERT_TRUE(store->Ingest({Sleep("s1")}).ok());
    absl::StatusOr<CheckpointResult> made = store->CreateCheckpoint("c1");
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ(made->store_timeline, original);
    checkpoint_path = made->path;
  }
  std::string restored_timeline;
  {
    auto restored = OpenAt(checkpoint_path);
    ASSERT_NE(restored, nullptr);
    restored_timeline = restored->TimelineId();
    EXPECT_NE(restored_timeline, original);
    EXPECT_EQ(restored->CurrentRevision(), 1u);
  }
  // Only the first open of the checkpoint starts one.
  EXPECT_EQ(OpenAt(checkpoint_path)->TimelineId(), restored_timeline);
  EXPECT_EQ(OpenAt(path)->TimelineId(), original);
}

TEST(TimelineGrpcTest, StreamsAnnounceTheTimelineAndRefuseAResumeFromAnother) {
  testing::TempDir data_dir("timeline-data");  // outlives the server below
  auto server = testing::ServerProcess::Start(
      "server/healthwire",
      {"--data_dir=" + data_dir.path(), "--grpc_port=0", "--http_port=0"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::EventStore::NewStub(
      grpc::CreateChannel((*server)->grpc_target(), grpc::InsecureChannelCredentials()));

  v1::GetUserRequest get_user;
  get_user.mutable_subject()->set_user_id("nobody");
  v1::ListRecordsRequest list;
  list.mutable_subject()->set_user_id("nobody");
  list.set_type(v1::EVENT_TYPE_SLEEP);
  v1::ListRecordsResponse listed;
  {
    grpc::ClientContext rpc;
    ASSERT_TRUE(stub->ListRecords(&rpc, list, &listed).ok());
  }
  EXPECT_THAT(listed.store_timeline(), MatchesRegex("[0-9a-f]{32}"));

  {
    // The stream's initial metadata names the same timeline.
    grpc::ClientContext rpc;
    rpc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    request.set_store_timeline(listed.store_timeline());
    request.set_progress_interval_ms(50);
    auto reader = stub->StreamUpdates(&rpc, request);
    v1::StreamUpdatesResponse response;
    ASSERT_TRUE(reader->Read(&response));  // a progress message
    const auto& metadata = rpc.GetServerInitialMetadata();
    auto it = metadata.find("healthwire-store-timeline");
    ASSERT_NE(it, metadata.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), listed.store_timeline());
    rpc.TryCancel();
  }
  {
    grpc::ClientContext rpc;
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    request.set_store_timeline("0123456789abcdef0123456789abcdef");
    auto reader = stub->StreamUpdates(&rpc, request);
    v1::StreamUpdatesResponse response;
    EXPECT_FALSE(reader->Read(&response));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr(listed.store_timeline()));
    EXPECT_THAT(status.error_message(), HasSubstr("re-sync with GetLatest/ListRecords"));
  }
}

}  // namespace
}  // namespace healthwire
