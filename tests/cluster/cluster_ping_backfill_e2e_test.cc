// Issue 13 in cluster mode, from the binaries (3 nats-servers, two
// healthwire_store replicas, one healthwire_gateway, a local HTTPS server
// standing in for S3): what replicas do with s3_payload pings and backfills.
//
// Every replica stores the ping and records the same PENDING fetch. Both
// replicas fetch (--s3_fetch is on by default) and publish the outcome to the
// log with one Nats-Msg-Id per ping; every replica records it when it
// applies it, so both end with the same fetch state, the same records under
// the same revisions and the same digest. A second outcome of a resolved
// ping is skipped by every replica alike; a replica catching up from empty
// learns outcomes from the log instead of fetching again. Backfills are
// tracked by every replica alike.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/convert/terra_converter.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/delivery_id.h"
#include "storage/commit_log/log_publisher.h"
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

// The fetch of the only ping on replica `replica` once it is no longer
// PENDING (the last one seen when the deadline comes first).
v1::S3Fetch ResolvedFetch(ClusterDeployment& cluster, int replica) {
  v1::S3Fetch seen;
  PollUntil(
      [&] {
        std::vector<v1::S3Fetch> fetches = Fetches(cluster, replica);
        if (fetches.size() != 1) return false;
        seen = fetches[0];
        return seen.state() != v1::S3Fetch::STATE_PENDING;
      },
      absl::Seconds(30));
  return seen;
}

int64_t ReplicaMetric(ClusterDeployment& cluster, int replica, const std::string& series) {
  HttpTestClient client(cluster.metrics_port(replica));
  return testing::MetricValue(client.Get("/metrics").body, series);
}

class ClusterPingBackfillE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpsTestServer>> server = HttpsTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    s3_ = *std::move(server);
    // The replicas trust and allow the local S3 stand-in.
    const absl::Status started = cluster_.Start(
        /*replicas=*/2, /*gateways=*/1, {},
        {"--s3_fetch_allowed_hosts=127.0.0.1:*", absl::StrCat("--s3_fetch_ca_file=", s3_->ca_file()),
         "--s3_fetch_poll_interval=50ms", "--s3_fetch_backoff=100ms",
         "--s3_fetch_max_backoff=400ms"});
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

TEST_F(ClusterPingBackfillE2eTest, PingIsFetchedOnceAndEveryReplicaStoresTheSameBody) {
  s3_->SetReplies("/body", {{200, SleepWebhookBuilder(kUser, "sleep-in-s3").Json()}});
  const std::string url = s3_->Url("/body") + "?X-Amz-Signature=abc";
  Post(S3PayloadWebhookJson(url, 300), {{"X-Terra-Trace-Id", "cluster-ping-1"}});
  // Terra re-delivers the same ping: still one ping, one fetch.
  Post(S3PayloadWebhookJson(url, 300), {{"X-Terra-Trace-Id", "cluster-ping-1"}});

  const v1::S3Fetch a = ResolvedFetch(cluster_, 0);
  const v1::S3Fetch b = ResolvedFetch(cluster_, 1);
  ASSERT_EQ(a.state(), v1::S3Fetch::STATE_FETCHED) << a.DebugString() << cluster_.Logs();
  EXPECT_EQ(a.url(), s3_->Url("/body")) << "the pre-signed query is not shown";
  EXPECT_EQ(a.fetched_type(), "sleep");
  EXPECT_EQ(a.events(), 1);
  EXPECT_GT(a.first_revision(), a.ping_revision());
  EXPECT_EQ(a.first_revision(), a.last_revision());
  // Recorded from one log entry: the same on both, attempt count included.
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString()) << b.DebugString();

  const uint64_t applied = std::max(cluster_.Status(0).replica().applied_sequence(),
                                    cluster_.Status(1).replica().applied_sequence());
  ASSERT_TRUE(cluster_.WaitForSameDigest(applied)) << cluster_.Logs();
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::Event> stored =
        testing::FindStored(cluster_.stub(i), kUser, v1::EVENT_TYPE_SLEEP, "sleep-in-s3");
    ASSERT_TRUE(stored.has_value()) << "replica " << i;
    EXPECT_EQ(stored->revision(), a.first_revision()) << "replica " << i;
    EXPECT_EQ(stored->s3_ping_revision(), a.ping_revision()) << "linked to the ping";
    EXPECT_EQ(stored->trace_id(), "cluster-ping-1");
  }
  // Each replica that fetched published its outcome under the ping's
  // Nats-Msg-Id: the log kept the first, acknowledged the other as a
  // duplicate (or the other's fetch was not needed any more).
  const int requests = s3_->RequestCount("/body");
  EXPECT_GE(requests, 1);
  EXPECT_LE(requests, 2);
  int64_t published = 0, duplicates = 0;
  // (The later replica's PubAck may still be on its way.)
  PollUntil(
      [&] {
        published = duplicates = 0;
        for (int i = 0; i < 2; ++i) {
          published += ReplicaMetric(
              cluster_, i, "healthwire_s3_fetch_outcomes_published_total{result=\"new\"}");
          duplicates += ReplicaMetric(
              cluster_, i, "healthwire_s3_fetch_outcomes_published_total{result=\"duplicate\"}");
        }
        return published + duplicates == requests;
      },
      absl::Seconds(10));
  EXPECT_EQ(published, 1);
  EXPECT_EQ(published + duplicates, requests);

  // A replica added now replays the log from empty: it learns the outcome
  // from the log and does not fetch the body again.
  absl::StatusOr<int> added = cluster_.AddReplica();
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(cluster_.WaitForSameDigest(applied)) << cluster_.Logs();
  const v1::S3Fetch c = ResolvedFetch(cluster_, *added);
  EXPECT_EQ(c.SerializeAsString(), a.SerializeAsString()) << c.DebugString();
  absl::SleepFor(absl::Milliseconds(500));  // ten of its fetcher's polls
  EXPECT_EQ(s3_->RequestCount("/body"), requests) << "the new replica fetched again";
  EXPECT_EQ(ReplicaMetric(cluster_, *added,
                          "healthwire_s3_fetch_outcomes_published_total{result=\"new\"}"),
            0);
}

TEST_F(ClusterPingBackfillE2eTest, FetchThatNeverSucceedsEndsFailedOnEveryReplica) {
  s3_->SetReplies("/gone", {{404, "no such key"}});
  // Expires in 2 s: retried (backoff 100 ms, at most 400 ms) until then.
  Post(S3PayloadWebhookJson(s3_->Url("/gone") + "?X-Amz-Signature=abc", 2),
       {{"X-Terra-Trace-Id", "cluster-ping-gone"}});
  const v1::S3Fetch a = ResolvedFetch(cluster_, 0);
  const v1::S3Fetch b = ResolvedFetch(cluster_, 1);
  ASSERT_EQ(a.state(), v1::S3Fetch::STATE_FAILED) << a.DebugString() << cluster_.Logs();
  EXPECT_TRUE(absl::StrContains(a.last_error(), "HTTP 404")) << a.last_error();
  EXPECT_GE(a.attempts(), 2) << "retried before it gave up";
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString()) << b.DebugString();
  EXPECT_GE(s3_->RequestCount("/gone"), 2);
  // A host not on the allow-list: FAILED at once, never requested.
  Post(S3PayloadWebhookJson("https://elsewhere.example.com/x?sig=1", 300),
       {{"X-Terra-Trace-Id", "cluster-ping-elsewhere"}});
  ASSERT_TRUE(PollUntil(
      [&] {
        for (int i = 0; i < 2; ++i) {
          std::vector<v1::S3Fetch> fetches = Fetches(cluster_, i);
          if (fetches.size() != 2 || fetches[1].state() != v1::S3Fetch::STATE_FAILED) return false;
        }
        return true;
      },
      absl::Seconds(20)));
  EXPECT_EQ(Fetches(cluster_, 0)[1].SerializeAsString(), Fetches(cluster_, 1)[1].SerializeAsString());
  EXPECT_TRUE(absl::StrContains(Fetches(cluster_, 0)[1].last_error(), "s3_fetch_allowed_hosts"));
}

TEST_F(ClusterPingBackfillE2eTest, SecondOutcomeOfAResolvedPingIsSkippedByEveryReplica) {
  s3_->SetReplies("/once", {{200, SleepWebhookBuilder(kUser, "sleep-once").Json()}});
  Post(S3PayloadWebhookJson(s3_->Url("/once") + "?X-Amz-Signature=abc", 300),
       {{"X-Terra-Trace-Id", "cluster-ping-once"}});
  const v1::S3Fetch resolved = ResolvedFetch(cluster_, 0);
  ASSERT_EQ(resolved.state(), v1::S3Fetch::STATE_FETCHED) << resolved.DebugString();

  // What a replica that fetched late (after the duplicate window) would
  // publish: another outcome of the same ping, with another body.
  CommitLogOptions options;
  options.servers = cluster_.nats()->Urls();
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options);
  ASSERT_TRUE(log.ok()) << log.status();
  LogPublisher publisher(log->get());
  auto late_outcome = [&](const std::string& delivery_id) {
    DeliveryContext context;
    context.received_at = absl::Now();
    context.trace_id = "cluster-ping-once";
    context.s3_ping_revision = resolved.ping_revision();
    absl::StatusOr<ConvertedWebhook> converted =
        ConvertTerraWebhook(SleepWebhookBuilder(kUser, "sleep-late").Json(), context);
    EXPECT_TRUE(converted.ok()) << converted.status();
    log::v1::Delivery delivery;
    delivery.set_delivery_id(delivery_id);
    for (v1::Event& event : converted->events) *delivery.add_events() = std::move(event);
    v1::S3Fetch outcome = resolved;
    outcome.set_attempts(7);
    *delivery.mutable_fetch_outcome() = outcome;
    return publisher.PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(10));
  };
  // Under the ping's own Nats-Msg-Id, within the window: dropped by the log.
  absl::StatusOr<PublishResult> same_id =
      late_outcome(FetchOutcomeDeliveryId(resolved.ping_revision()));
  ASSERT_TRUE(same_id.ok()) << same_id.status();
  EXPECT_TRUE(same_id->duplicate);
  // Under another id (as after the window): in the log, skipped on apply.
  absl::StatusOr<PublishResult> other_id = late_outcome("late-outcome-after-the-window");
  ASSERT_TRUE(other_id.ok()) << other_id.status();
  EXPECT_FALSE(other_id->duplicate);
  ASSERT_TRUE(cluster_.WaitForSameDigest(other_id->sequence)) << cluster_.Logs();
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(testing::FindStored(cluster_.stub(i), kUser, v1::EVENT_TYPE_SLEEP, "sleep-late")
                     .has_value())
        << "replica " << i << " applied a second outcome";
    std::vector<v1::S3Fetch> fetches = Fetches(cluster_, i);
    ASSERT_EQ(fetches.size(), 1u);
    EXPECT_EQ(fetches[0].SerializeAsString(), resolved.SerializeAsString()) << "replica " << i;
  }
}

TEST_F(ClusterPingBackfillE2eTest, PendingFetchSurvivesARestartOfEveryReplica) {
  s3_->SetReplies("/later", {{503, "slow down"}});
  Post(S3PayloadWebhookJson(s3_->Url("/later") + "?X-Amz-Signature=abc", 60),
       {{"X-Terra-Trace-Id", "cluster-ping-later"}});
  ASSERT_TRUE(PollUntil([&] { return s3_->RequestCount("/later") >= 2; }, absl::Seconds(20)));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_.KillReplica(i).ok());
  // Only the store and the log know the fetch now.
  s3_->SetReplies("/later", {{200, SleepWebhookBuilder(kUser, "sleep-later").Json()}});
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_.RestartReplica(i).ok()) << cluster_.Logs();
  const v1::S3Fetch a = ResolvedFetch(cluster_, 0);
  ASSERT_EQ(a.state(), v1::S3Fetch::STATE_FETCHED) << a.DebugString() << cluster_.Logs();
  EXPECT_EQ(a.SerializeAsString(), ResolvedFetch(cluster_, 1).SerializeAsString());
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(testing::FindStored(cluster_.stub(i), kUser, v1::EVENT_TYPE_SLEEP, "sleep-later")
                    .has_value())
        << "replica " << i;
  }
}

TEST_F(ClusterPingBackfillE2eTest, LargeFetchedBodyTravelsInChunksAndIsStoredWhole) {
  // Above the log's 8 MiB message limit: published as chunks plus a commit.
  std::string body = SleepWebhookBuilder(kUser, "sleep-large").Json();
  // (Inside the sleep record: its raw JSON is what is stored.)
  const size_t record = body.find('{', body.find("\"data\""));
  ASSERT_NE(record, std::string::npos) << body;
  body.insert(record + 1, absl::StrCat("\"padding\":\"", std::string(9 << 20, 'x'), "\","));
  s3_->SetReplies("/large", {{200, body}});
  Post(S3PayloadWebhookJson(s3_->Url("/large") + "?X-Amz-Signature=abc", 300),
       {{"X-Terra-Trace-Id", "cluster-ping-large"}});
  const v1::S3Fetch a = ResolvedFetch(cluster_, 0);
  ASSERT_EQ(a.state(), v1::S3Fetch::STATE_FETCHED) << a.DebugString() << cluster_.Logs();
  EXPECT_EQ(a.SerializeAsString(), ResolvedFetch(cluster_, 1).SerializeAsString());
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::Event> stored =
        testing::FindStored(cluster_.stub(i), kUser, v1::EVENT_TYPE_SLEEP, "sleep-large");
    ASSERT_TRUE(stored.has_value()) << "replica " << i;
    EXPECT_GT(stored->raw_json().size(), 9u << 20) << "replica " << i;
    EXPECT_TRUE(absl::StrContains(stored->raw_json(), "padding")) << "replica " << i;
  }
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
