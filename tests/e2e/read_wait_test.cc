// Reads that wait for "at least this revision / log sequence" and GetStatus,
// against the real embedded binary (cluster replicas: tests/cluster).
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/deployment.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::RpcContext;

constexpr char kSecret[] = "read-wait-secret";

class ReadWaitTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags) {
    flags.push_back(absl::StrCat("--signing_secret=", kSecret));
    absl::Status started = deployment_.Start(flags);
    ASSERT_TRUE(started.ok()) << started;
  }
  // Posts one sleep of `user`; its store revision.
  int64_t PostSleep(const std::string& user, const std::string& summary_id) {
    testing::HttpTestClient::Options options;
    options.signing_secret = kSecret;
    testing::HttpTestClient client = deployment_.Client(options);
    testing::HttpResponse response =
        client.PostSigned(simulator::SleepWebhookBuilder(user, summary_id).Json());
    EXPECT_EQ(response.status, 200) << response;
    return testing::JsonInteger(response.body, "revision");
  }
  grpc::Status GetLatestAtLeast(const std::string& user, uint64_t min_revision,
                                uint64_t min_log_sequence, v1::GetLatestResponse* response) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(v1::EVENT_TYPE_SLEEP);
    request.set_min_revision(min_revision);
    request.set_min_log_sequence(min_log_sequence);
    auto context = RpcContext();
    return deployment_.stub()->GetLatest(context.get(), request, response);
  }

  Deployment deployment_{DeploymentMode::kEmbedded};
};

TEST_F(ReadWaitTest, ReadWaitsForARevisionThatIsCommittedWhileItWaits) {
  ASSERT_NO_FATAL_FAILURE(Start({"--read_wait_max=20s"}));
  const int64_t first = PostSleep("waiter", "night-1");
  ASSERT_GT(first, 0);
  v1::GetLatestResponse response;
  // Already there: answered at once.
  ASSERT_TRUE(GetLatestAtLeast("waiter", first, 0, &response).ok());
  // Not there yet: the read waits, and answers with the new record once the
  // next webhook is committed.
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(500));
    PostSleep("waiter", "night-2");
  });
  const absl::Time asked = absl::Now();
  grpc::Status status = GetLatestAtLeast("waiter", first + 1, 0, &response);
  const absl::Duration waited = absl::Now() - asked;
  later.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(response.store_revision(), static_cast<uint64_t>(first + 1));
  EXPECT_GE(waited, absl::Milliseconds(400)) << "it answered before the revision existed";
}

TEST_F(ReadWaitTest, RevisionNotReachedInTimeIsUnavailableSayingHowFar) {
  ASSERT_NO_FATAL_FAILURE(Start({"--read_wait_max=300ms"}));
  const int64_t revision = PostSleep("behind", "night-1");
  v1::GetLatestResponse response;
  grpc::Status status = GetLatestAtLeast("behind", revision + 50, 0, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(status.error_message(),
                                absl::StrCat("at revision ", revision, " of the wanted ",
                                             revision + 50)))
      << status.error_message();
}

TEST_F(ReadWaitTest, LogSequenceOnAStoreThatIsNotAReplicaIsFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  PostSleep("u", "night-1");
  v1::GetLatestResponse response;
  grpc::Status status = GetLatestAtLeast("u", 0, 1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not a replica")) << status.error_message();
}

TEST_F(ReadWaitTest, WaitingReadsBeyondTheLimitAreRefusedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start({"--read_wait_max=3s", "--read_wait_max_waiting=1"}));
  const int64_t revision = PostSleep("many", "night-1");
  grpc::Status first_status;
  std::thread first([&] {
    v1::GetLatestResponse response;
    first_status = GetLatestAtLeast("many", revision + 100, 0, &response);
  });
  // Until the first one is parked.
  ASSERT_TRUE(testing::PollUntil([&] {
    testing::HttpTestClient client = deployment_.Client();
    return testing::MetricValue(client.Get("/metrics").body, "healthwire_read_waits") == 1;
  }));
  v1::GetLatestResponse response;
  const absl::Time asked = absl::Now();
  grpc::Status second = GetLatestAtLeast("many", revision + 100, 0, &response);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << second.error_message();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(2)) << "refused at once, not after a wait";
  first.join();
  EXPECT_EQ(first_status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ReadWaitTest, GetStatusReportsTheStoreRoleRevisionAndTimeline) {
  ASSERT_NO_FATAL_FAILURE(Start({}));
  const int64_t revision = PostSleep("status", "night-1");
  v1::GetStatusResponse status;
  auto context = RpcContext();
  ASSERT_TRUE(deployment_.stub()->GetStatus(context.get(), {}, &status).ok());
  EXPECT_EQ(status.role(), v1::GetStatusResponse::ROLE_STORE);
  EXPECT_EQ(status.store_revision(), static_cast<uint64_t>(revision));
  EXPECT_EQ(status.store_timeline().size(), 32u);
  EXPECT_EQ(status.oldest_retained_revision(), 1u);
  EXPECT_TRUE(status.health_problem().empty()) << status.health_problem();
  EXPECT_TRUE(absl::StartsWith(status.version(), "healthwire ")) << status.version();
  EXPECT_FALSE(status.has_replica());
}

}  // namespace
}  // namespace healthwire
