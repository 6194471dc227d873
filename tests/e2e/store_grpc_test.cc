// End-to-end: the real healthwire binary on loopback, driven over gRPC.
// Events come from the real converter (signature-free ingest), so these tests
// cover convert -> Ingest RPC -> RocksDB -> GetLatest/ListRecords.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/convert/terra_converter.h"
#include "tests/util/deployment.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::TempDir;

constexpr char kBinary[] = "server/healthwire";

// A sleep webhook with one record of `user` (provider OURA).
std::string SleepBody(const std::string& user, const std::string& reference,
                      const std::string& summary_id, const std::string& start_time,
                      double sleep_score) {
  return SleepWebhookBuilder(user, summary_id)
      .ReferenceId(reference)
      .StartTime(start_time)
      .UploadType(2)
      .SleepScore(sleep_score)
      .Json();
}

class StoreGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  // (Re)starts healthwire on the same data folder.
  void StartServer() {
    deployment_.ForgetStore();
    absl::Status started = deployment_.Start();
    ASSERT_TRUE(started.ok()) << started;
    server_ = deployment_.store();
    stub_ = deployment_.stub();
  }

  v1::IngestResponse IngestBody(const std::string& body,
                                std::optional<int64_t> ordering_timestamp_ms = std::nullopt) {
    DeliveryContext context;
    context.received_at = absl::Now();
    context.ordering_timestamp_ms = ordering_timestamp_ms;
    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
    EXPECT_TRUE(converted.ok()) << converted.status();
    v1::IngestRequest request;
    for (v1::Event& event : converted->events) *request.add_events() = std::move(event);
    v1::IngestResponse response;
    grpc::ClientContext rpc;
    grpc::Status status = stub_->Ingest(&rpc, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status GetLatest(const v1::GetLatestRequest& request, v1::GetLatestResponse* response) {
    grpc::ClientContext rpc;
    return stub_->GetLatest(&rpc, request, response);
  }

  static v1::GetLatestRequest LatestSleepOf(const std::string& user) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(v1::EVENT_TYPE_SLEEP);
    return request;
  }

  Deployment deployment_{DeploymentMode::kEmbedded};
  const std::string& data_dir_ = deployment_.data_dir();
  ServerProcess* server_ = nullptr;  // the deployment's one process
  v1::EventStore::Stub* stub_ = nullptr;
};

TEST_F(StoreGrpcTest, IngestedSleepIsServedByGetLatestWithItsRevision) {
  v1::IngestResponse ingested = IngestBody(
      SleepBody("user-1", "ref-1", "sleep-a", "2026-07-01T23:10:00.000000+01:00", 81));
  ASSERT_EQ(ingested.results_size(), 1);
  EXPECT_EQ(ingested.results(0).outcome(), v1::IngestResult::OUTCOME_STORED);
  EXPECT_EQ(ingested.results(0).revision(), 1u);

  v1::GetLatestResponse latest;
  grpc::Status status = GetLatest(LatestSleepOf("user-1"), &latest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(latest.event().record_key(), "sleep-a");
  EXPECT_EQ(latest.event().revision(), 1u);
  EXPECT_EQ(latest.event().sleep().data_enrichment().sleep_score(), 81);
  EXPECT_EQ(latest.event().user().provider(), "OURA");
  EXPECT_EQ(latest.store_revision(), 1u);
  EXPECT_NE(latest.event().raw_json().find("\"summary_id\":\"sleep-a\""), std::string::npos);
}

TEST_F(StoreGrpcTest, GetLatestPicksTheGreatestStartTimeNotTheLastReceived) {
  IngestBody(SleepBody("user-1", "ref-1", "newer", "2026-07-03T23:00:00.000000+01:00", 70));
  IngestBody(SleepBody("user-1", "ref-1", "older", "2026-07-01T23:00:00.000000+01:00", 90));

  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatest(LatestSleepOf("user-1"), &latest).ok());
  EXPECT_EQ(latest.event().record_key(), "newer");
  EXPECT_EQ(latest.store_revision(), 2u);
}

// GetLatest forwards the stored record's bytes (a raw method); ListRecords
// decodes it into a message. Both must be the same record, with raw_json and
// without it.
TEST_F(StoreGrpcTest, GetLatestAnswersTheSameRecordListRecordsDecodesWithAndWithoutRawJson) {
  IngestBody(SleepBody("user-1", "ref-1", "older", "2026-07-01T23:00:00.000000+01:00", 90));
  IngestBody(SleepBody("user-1", "ref-1", "newer", "2026-07-03T23:00:00.000000+01:00", 70));

  for (const bool omit_raw_json : {false, true}) {
    SCOPED_TRACE(omit_raw_json ? "omit_raw_json" : "with raw_json");
    v1::GetLatestRequest request = LatestSleepOf("user-1");
    request.set_omit_raw_json(omit_raw_json);
    v1::GetLatestResponse latest;
    grpc::Status status = GetLatest(request, &latest);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::ListRecordsRequest list_request;
    list_request.mutable_subject()->set_user_id("user-1");
    list_request.set_type(v1::EVENT_TYPE_SLEEP);
    list_request.set_page_size(1);
    list_request.set_omit_raw_json(omit_raw_json);
    v1::ListRecordsResponse listed;
    grpc::ClientContext rpc;
    status = stub_->ListRecords(&rpc, list_request, &listed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(listed.events_size(), 1);

    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(latest.event(),
                                                                   listed.events(0)))
        << "GetLatest: " << latest.event().ShortDebugString()
        << "\nListRecords: " << listed.events(0).ShortDebugString();
    EXPECT_EQ(latest.event().record_key(), "newer");
    EXPECT_EQ(latest.event().raw_json().empty(), omit_raw_json);
    EXPECT_EQ(latest.store_revision(), 2u);
    EXPECT_EQ(latest.store_revision(), listed.store_revision());
    EXPECT_FALSE(latest.store_timeline().empty());
    EXPECT_EQ(latest.store_timeline(), listed.store_timeline());
  }
}

TEST_F(StoreGrpcTest, GetLatestByReferenceIdFindsTheRecord) {
  IngestBody(SleepBody("user-1", "person-7", "s1", "2026-07-01T23:00:00.000000+01:00", 60));

  v1::GetLatestRequest request;
  request.mutable_subject()->set_reference_id("person-7");
  request.set_type(v1::EVENT_TYPE_SLEEP);
  v1::GetLatestResponse latest;
  grpc::Status status = GetLatest(request, &latest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(latest.event().record_key(), "s1");
}

TEST_F(StoreGrpcTest, ListRecordsPagesNewestFirst) {
  for (int day = 1; day <= 5; ++day) {
    IngestBody(SleepBody("user-1", "ref-1", absl::StrCat("s", day),
                         absl::StrFormat("2026-07-%02dT23:00:00.000000+01:00", day), day));
  }
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    v1::ListRecordsRequest request;
    request.mutable_subject()->set_user_id("user-1");
    request.set_type(v1::EVENT_TYPE_SLEEP);
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListRecordsResponse response;
    grpc::ClientContext rpc;
    grpc::Status status = stub_->ListRecords(&rpc, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::Event& event : response.events()) keys.push_back(event.record_key());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(keys, (std::vector<std::string>{"s5", "s4", "s3", "s2", "s1"}));
  EXPECT_EQ(pages, 3);
}

TEST_F(StoreGrpcTest, GetLatestWithoutSubjectIsInvalidArgumentNamingTheField) {
  v1::GetLatestRequest request;
  request.set_type(v1::EVENT_TYPE_SLEEP);
  v1::GetLatestResponse latest;
  grpc::Status status = GetLatest(request, &latest);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("subject"), std::string::npos) << status.error_message();
}

TEST_F(StoreGrpcTest, GetLatestWithoutTypeIsInvalidArgumentNamingTheField) {
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id("user-1");
  v1::GetLatestResponse latest;
  grpc::Status status = GetLatest(request, &latest);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("type"), std::string::npos) << status.error_message();
}

TEST_F(StoreGrpcTest, GetLatestForAnUnknownUserIsNotFoundSayingWhatWasLookedFor) {
  v1::GetLatestResponse latest;
  grpc::Status status = GetLatest(LatestSleepOf("nobody"), &latest);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("nobody"), std::string::npos) << status.error_message();
}

TEST_F(StoreGrpcTest, IngestOfAnEventWithoutUserIsRefusedAndStoresNothing) {
  v1::IngestRequest request;
  v1::Event* good = request.add_events();
  good->set_type(v1::EVENT_TYPE_SLEEP);
  good->set_record_key("k1");
  good->mutable_user()->set_user_id("user-1");
  good->set_raw_json("{}");
  v1::Event* bad = request.add_events();
  bad->set_type(v1::EVENT_TYPE_SLEEP);
  bad->set_record_key("k2");
  bad->set_raw_json("{}");
  v1::IngestResponse response;
  grpc::ClientContext rpc;
  grpc::Status status = stub_->Ingest(&rpc, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("user_id"), std::string::npos) << status.error_message();

  v1::GetLatestResponse latest;
  EXPECT_EQ(GetLatest(LatestSleepOf("user-1"), &latest).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(StoreGrpcTest, IdenticalReDeliveryCreatesNoNewRevision) {
  const std::string body =
      SleepBody("user-1", "ref-1", "s1", "2026-07-01T23:00:00.000000+01:00", 60);
  IngestBody(body);
  v1::IngestResponse again = IngestBody(body);
  ASSERT_EQ(again.results_size(), 1);
  EXPECT_EQ(again.results(0).outcome(), v1::IngestResult::OUTCOME_IDENTICAL);
  EXPECT_EQ(again.results(0).revision(), 1u);
  EXPECT_EQ(again.store_revision(), 1u);
}

TEST_F(StoreGrpcTest, StaleDeliveryDoesNotReplaceNewerData) {
  IngestBody(SleepBody("user-1", "ref-1", "s1", "2026-07-01T23:00:00.000000+01:00", 80), 2000);
  v1::IngestResponse stale =
      IngestBody(SleepBody("user-1", "ref-1", "s1", "2026-07-01T23:00:00.000000+01:00", 10), 1000);
  ASSERT_EQ(stale.results_size(), 1);
  EXPECT_EQ(stale.results(0).outcome(), v1::IngestResult::OUTCOME_STALE);

  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatest(LatestSleepOf("user-1"), &latest).ok());
  EXPECT_EQ(latest.event().sleep().data_enrichment().sleep_score(), 80);
}

TEST_F(StoreGrpcTest, GetUserServesTheConnectionStatusOfAUser) {
  IngestBody(R"({"type":"deauth","status":"success","message":"User has deauthenticated",)"
             R"("user":{"user_id":"user-9","provider":"OURA","reference_id":"person-9"}})");
  v1::GetUserRequest request;
  request.mutable_subject()->set_reference_id("person-9");
  v1::GetUserResponse response;
  grpc::ClientContext rpc;
  grpc::Status status = stub_->GetUser(&rpc, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.connections_size(), 1);
  EXPECT_EQ(response.connections(0).user_id(), "user-9");
  EXPECT_EQ(response.connections(0).status(), v1::Connection::STATUS_DEAUTHORIZED);
}

// grpc.health.v1.Health/Check for `service`, as grpc_health_probe and
// Kubernetes' gRPC probe send it. A generic call with the two messages
// written by hand (no health proto is compiled here): HealthCheckRequest is
// field 1, a string; HealthCheckResponse is field 1, an enum (1 = SERVING).
// Returns the call's status; *serving_status the enum value (-1 when absent).
grpc::Status CheckHealth(const std::string& target, const std::string& service,
                         int* serving_status) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');
    request_bytes.push_back(static_cast<char>(service.size()));  // names < 128 bytes
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  *serving_status = -1;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (bytes.size() == 2 && bytes[0] == '\x08') *serving_status = bytes[1];
  return status;
}

TEST_F(StoreGrpcTest, HealthServiceAnswersServingForTheEventStoreServiceByName) {
  int serving_status = -1;
  grpc::Status status =
      CheckHealth(server_->grpc_target(), "healthwire.v1.EventStore", &serving_status);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(serving_status, 1) << "1 = SERVING";
  status = CheckHealth(server_->grpc_target(), "", &serving_status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(serving_status, 1) << "the whole server";
  // A name the server does not serve stays NOT_FOUND (the health protocol's
  // answer), so the named status above is not a catch-all.
  status = CheckHealth(server_->grpc_target(), "healthwire.v1.NoSuchService", &serving_status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
}

TEST_F(StoreGrpcTest, SigtermStopsTheServerCleanlyWithExitCodeZero) {
  absl::StatusOr<int> exit_code = server_->Stop(SIGTERM);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << server_->Stderr();
}

TEST_F(StoreGrpcTest, DataSurvivesARestartAndRevisionsContinue) {
  IngestBody(SleepBody("user-1", "ref-1", "s1", "2026-07-01T23:00:00.000000+01:00", 60));
  ASSERT_TRUE(server_->Stop(SIGTERM).ok());
  StartServer();

  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatest(LatestSleepOf("user-1"), &latest).ok());
  EXPECT_EQ(latest.event().record_key(), "s1");
  v1::IngestResponse next =
      IngestBody(SleepBody("user-1", "ref-1", "s2", "2026-07-02T23:00:00.000000+01:00", 61));
  EXPECT_EQ(next.results(0).revision(), 2u);
}

TEST_F(StoreGrpcTest, AcknowledgedDataSurvivesKill9) {
  IngestBody(SleepBody("user-1", "ref-1", "s1", "2026-07-01T23:00:00.000000+01:00", 60));
  ASSERT_TRUE(server_->Stop(SIGKILL).ok());
  StartServer();

  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatest(LatestSleepOf("user-1"), &latest).ok());
  EXPECT_EQ(latest.event().record_key(), "s1");
}

TEST_F(StoreGrpcTest, SecondServerOnTheSameDataFolderExitsWithAClearError) {
  auto second = ServerProcess::Start(
      kBinary, {"--data_dir=" + data_dir_, "--grpc_port=0", "--http_port=0"});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find(data_dir_), std::string::npos)
      << second.status();
}

TEST_F(StoreGrpcTest, PortAlreadyInUseExitsWithAClearError) {
  const TempDir other("other");
  auto second = ServerProcess::Start(
      kBinary, {"--data_dir=" + other.path(), absl::StrCat("--grpc_port=", server_->grpc_port()),
                "--http_port=0"});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("cannot listen"), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace healthwire
