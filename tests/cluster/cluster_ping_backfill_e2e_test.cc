// Issue 13 in cluster mode, from the binaries (3 nats-servers, two
// healthwire_store replicas, one healthwire_gateway): what a replica does
// with s3_payload pings and backfills.
//
// Ping mode is fetched in embedded and split mode only. In cluster mode every
// replica stores the ping and records the same PENDING fetch (a deterministic
// part of applying the log), and no replica fetches: the ping is never lost
// (it is on every replica, listed by ListS3Fetches) and its body is never
// fetched or stored twice. Backfills are tracked by every replica alike.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_deployment.h"
#include "tests/util/https_test_server.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::LargeRequestWebhookJson;
using ::healthwire::simulator::S3PayloadWebhookJson;
using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::ClusterDeployment;
using ::healthwire::testing::HttpResponse;
using ::healthwire::testing::HttpsTestServer;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::JsonInteger;
using ::healthwire::testing::PollUntil;
using ::healthwire::testing::RpcContext;

constexpr char kUser[] = "user-cluster-backfill";

std::vector<v1::S3Fetch> Fetches(ClusterDeployment& cluster, int replica) {
  v1::ListS3FetchesRequest request;
  v1::ListS3FetchesResponse response;
  const grpc::Status status =
      cluster.stub(replica)->ListS3Fetches(RpcContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.fetches().begin(), response.fetches().end()};
}

v1::Backfill Backfill(ClusterDeployment& cluster, int replica, const std::string& reference) {
  v1::GetBackfillRequest request;
  request.set_reference(reference);
  v1::GetBackfillResponse response;
  const grpc::Status status =
      cluster.stub(replica)->GetBackfill(RpcContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.backfill();
}

class ClusterPingBackfillE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpsTestServer>> server = HttpsTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    s3_ = *std::move(server);
    // The replicas are told to trust and allow the local S3 stand-in, so
    // that the only reason for them not to fetch is cluster mode.
    const absl::Status started = cluster_.Start(
        /*replicas=*/2, /*gateways=*/1, {},
        {"--s3_fetch_allowed_hosts=127.0.0.1:*", absl::StrCat("--s3_fetch_ca_file=", s3_->ca_file()),
         "--s3_fetch_poll_interval=50ms"});
    ASSERT_TRUE(started.ok()) << started << "\n" << cluster_.Logs();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", cluster_.Logs().c_str());
  }

  // Posts `body` signed through the gateway; its log sequence.
  uint64_t Post(const std::string& body, testing::HttpHeaders headers) {
    HttpTestClient client = cluster_.GatewayClient(0);
    const HttpResponse response = client.PostSigned(body, std::move(headers));
    EXPECT_EQ(response.status, 200) << response;
    return static_cast<uint64_t>(JsonInteger(response.body, "log_sequence"));
  }

  std::unique_ptr<HttpsTestServer> s3_;
  ClusterDeployment cluster_;
};

TEST_F(ClusterPingBackfillE2eTest, PingIsOnEveryReplicaOncePendingAndNoReplicaFetchesIt) {
  s3_->SetReplies("/body", {{200, SleepWebhookBuilder(kUser, "sleep-in-s3").Json()}});
  const std::string url = s3_->Url("/body") + "?X-Amz-Signature=abc";
  Post(S3PayloadWebhookJson(url, 300), {{"X-Terra-Trace-Id", "cluster-ping-1"}});
  // Terra re-delivers the same ping: still one ping, one fetch.
  const uint64_t last = Post(S3PayloadWebhookJson(url, 300), {{"X-Terra-Trace-Id", "cluster-ping-1"}});
  ASSERT_TRUE(cluster_.WaitForSameDigest(last)) << cluster_.Logs();

  std::vector<v1::S3Fetch> seen[2];
  for (int i = 0; i < 2; ++i) {
    seen[i] = Fetches(cluster_, i);
    ASSERT_EQ(seen[i].size(), 1u) << "replica " << i;
    EXPECT_EQ(seen[i][0].state(), v1::S3Fetch::STATE_PENDING) << "replica " << i;
    EXPECT_EQ(seen[i][0].url(), s3_->Url("/body")) << "the pre-signed query is not shown";
  }
  EXPECT_EQ(seen[0][0].ping_revision(), seen[1][0].ping_revision());
  // Long enough for a fetcher polling every 50 ms to have tried many times.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(s3_->RequestCount("/body"), 0) << "a replica fetched the body";
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(testing::FindStored(cluster_.stub(i), kUser, v1::EVENT_TYPE_SLEEP, "sleep-in-s3")
                     .has_value());
    EXPECT_EQ(Fetches(cluster_, i).at(0).state(), v1::S3Fetch::STATE_PENDING);
  }
  EXPECT_TRUE(absl::StrContains(cluster_.Logs(), "no replica fetches them")) << "the warning";
}

TEST_F(ClusterPingBackfillE2eTest, EveryReplicaTracksTheBackfillAlikeAndTheLogTakesARedeliveryOnce) {
  const std::string reference = "cluster-backfill-ref";
  Post(LargeRequestWebhookJson("large_request_sending", kUser, reference, 2),
       {{"X-Terra-Trace-Id", "sending"}});
  auto chunk = [&](int n) {
    return Post(SleepWebhookBuilder(kUser, absl::StrCat("cluster-sleep-", n))
                    .StartTime(absl::StrCat("2026-06-1", n, "T23:00:00.000000+01:00"))
                    .Json(),
                {{"terra-reference", reference},
                 {"X-Terra-Trace-Id", absl::StrCat("trace-", reference, ":chunk:", n)}});
  };
  const uint64_t first_delivery = chunk(2);
  // Terra re-delivers chunk 2 with the same trace id: the commit log's
  // duplicate window (Nats-Msg-Id) answers with the first delivery's
  // sequence, so no replica sees it twice. (A re-delivery after the window
  // reaches the store and is counted in redelivered_payloads:
  // tests/fetch/backfill_test.cc.)
  EXPECT_EQ(chunk(2), first_delivery);
  const uint64_t last = chunk(1);
  EXPECT_GT(last, first_delivery);
  ASSERT_TRUE(cluster_.WaitForSameDigest(last)) << cluster_.Logs();
  const v1::Backfill a = Backfill(cluster_, 0, reference);
  const v1::Backfill b = Backfill(cluster_, 1, reference);
  EXPECT_EQ(a.state(), v1::Backfill::STATE_COMPLETE) << a.DebugString();
  EXPECT_EQ(a.received_payloads(), 2);
  EXPECT_EQ(a.expected_payloads(), 2);
  EXPECT_EQ(a.redelivered_payloads(), 0);
  EXPECT_EQ(a.user_id(), kUser);
  ASSERT_EQ(a.chunks_size(), 2);
  EXPECT_EQ(a.chunks(0), 1u);
  EXPECT_EQ(a.chunks(1), 2u);
  EXPECT_GT(a.complete_revision(), 0u);
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString()) << b.DebugString();
}

}  // namespace
}  // namespace healthwire
