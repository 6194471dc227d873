// Backfills end to end: signed sequences built from Terra's examples
// (large_request_processing, large_request_sending with reference and
// expected_payloads, then data webhooks with the terra-reference header and
// X-Terra-Trace-Id "<id>:chunk:<n>") posted to the real healthwire binary;
// GetBackfill / ListBackfills / StreamUpdates read what it made of them.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/deployment.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tests/util/stream_subscriber.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::LargeRequestWebhookJson;
using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::MetricValue;
using ::healthwire::testing::PollUntil;
using ::healthwire::testing::RpcContext;
using ::healthwire::testing::StreamSubscriber;

constexpr char kSecret[] = "backfill-test-secret";
constexpr char kUser[] = "user-backfill";

class BackfillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(deployment_.Start({absl::StrCat("--signing_secret=", kSecret),
                                   "--backfill_stall_after=2s"})
                    .ok())
        << deployment_.Logs();
  }

  void Post(const std::string& body, testing::HttpHeaders headers) {
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    HttpTestClient client = deployment_.Client(options);
    testing::HttpResponse response = client.PostSigned(body, std::move(headers));
    ASSERT_EQ(response.status, 200) << response;
  }

  void Processing(const std::string& reference) {
    Post(LargeRequestWebhookJson("large_request_processing", kUser, reference, -1),
         {{"X-Terra-Trace-Id", reference + "-processing"}});
  }
  void Sending(const std::string& reference, int expected) {
    Post(LargeRequestWebhookJson("large_request_sending", kUser, reference, expected),
         {{"X-Terra-Trace-Id", reference + "-sending"}});
  }
  // Chunk `n` of `reference`: one sleep record per chunk (two for n = 2, to
  // show that one webhook counts as one payload however many records).
  void Chunk(const std::string& reference, int n) {
    std::string body =
        SleepWebhookBuilder(kUser, absl::StrCat(reference, "-sleep-", n))
            .StartTime(absl::StrCat("2026-06-", 10 + n, "T23:00:00.000000+01:00"))
            .Json();
    Post(body, {{"terra-reference", reference},
                {"X-Terra-Trace-Id", absl::StrCat("7f3c2a10-", reference, ":chunk:", n)}});
  }

  grpc::Status GetBackfill(const std::string& reference, v1::Backfill* backfill) {
    v1::GetBackfillRequest request;
    request.set_reference(reference);
    v1::GetBackfillResponse response;
    grpc::Status status = deployment_.stub()->GetBackfill(RpcContext().get(), request, &response);
    *backfill = response.backfill();
    return status;
  }

  v1::Backfill Backfill(const std::string& reference) {
    v1::Backfill backfill;
    grpc::Status status = GetBackfill(reference, &backfill);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return backfill;
  }

  // The BACKFILL_COMPLETE changes in the change log so far.
  std::vector<v1::Event> CompleteChanges() {
    const uint64_t through = testing::StoreRevision(deployment_.stub());
    std::vector<v1::Event> complete;
    for (v1::Event& event : testing::ReplayChangeLog(deployment_.stub(), through, false)) {
      if (event.type() == v1::EVENT_TYPE_BACKFILL_COMPLETE) complete.push_back(std::move(event));
    }
    return complete;
  }

  Deployment deployment_{DeploymentMode::kEmbedded};
};

TEST_F(BackfillTest, LastExpectedChunkCompletesTheBackfillAndStreamsBackfillComplete) {
  v1::StreamUpdatesRequest watch;
  watch.add_types(v1::EVENT_TYPE_BACKFILL_COMPLETE);
  watch.set_start_revision(1);
  StreamSubscriber subscriber(deployment_.stub(), watch);

  Processing("ref-a");
  EXPECT_EQ(Backfill("ref-a").state(), v1::Backfill::STATE_PROCESSING);
  Sending("ref-a", 3);
  Chunk("ref-a", 1);
  Chunk("ref-a", 2);
  v1::Backfill partial = Backfill("ref-a");
  EXPECT_EQ(partial.state(), v1::Backfill::STATE_SENDING);
  EXPECT_EQ(partial.received_payloads(), 2);
  EXPECT_TRUE(CompleteChanges().empty());
  Chunk("ref-a", 3);

  const v1::Backfill done = Backfill("ref-a");
  EXPECT_EQ(done.state(), v1::Backfill::STATE_COMPLETE);
  EXPECT_EQ(done.user_id(), kUser);
  EXPECT_EQ(done.expected_payloads(), 3);
  EXPECT_EQ(done.received_payloads(), 3);
  EXPECT_EQ(std::vector<uint32_t>(done.chunks().begin(), done.chunks().end()),
            (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(done.has_first_payload_at() && done.has_last_payload_at());
  EXPECT_GT(done.first_revision(), 0u);
  EXPECT_LT(done.first_revision(), done.last_revision());
  EXPECT_GE(done.completed_at().seconds(), done.last_payload_at().seconds());
  EXPECT_EQ(done.complete_revision(), done.last_revision() + 1)
      << "BACKFILL_COMPLETE is committed with the last payload";

  ASSERT_TRUE(subscriber.WaitForUpdates(1)) << deployment_.Logs();
  EXPECT_EQ(subscriber.revisions().front(), done.complete_revision());
  const std::vector<v1::Event> complete = CompleteChanges();
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(complete[0].record_key(), "ref-a");
  EXPECT_EQ(complete[0].user().user_id(), kUser);
  EXPECT_EQ(complete[0].received_at().seconds(), done.completed_at().seconds());
  EXPECT_GT(complete[0].received_at().seconds(), 0);
  EXPECT_EQ(complete[0].backfill().first_revision(), done.first_revision());
  EXPECT_EQ(complete[0].backfill().last_revision(), done.last_revision());
}

TEST_F(BackfillTest, ChunksArrivingOutOfOrderAndBeforeTheSendingNoticeStillComplete) {
  Chunk("ref-o", 3);
  Chunk("ref-o", 1);
  v1::Backfill early = Backfill("ref-o");
  EXPECT_EQ(early.expected_payloads(), 0) << "unknown until large_request_sending";
  EXPECT_EQ(early.received_payloads(), 2);
  Chunk("ref-o", 2);
  EXPECT_NE(Backfill("ref-o").state(), v1::Backfill::STATE_COMPLETE);
  Sending("ref-o", 3);  // the notice arrives last: it completes the backfill

  const v1::Backfill done = Backfill("ref-o");
  EXPECT_EQ(done.state(), v1::Backfill::STATE_COMPLETE);
  EXPECT_EQ(std::vector<uint32_t>(done.chunks().begin(), done.chunks().end()),
            (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(CompleteChanges().size(), 1u);
}

TEST_F(BackfillTest, RedeliveredChunksAreCountedOnceAndCompleteOnlyOnce) {
  Sending("ref-d", 3);
  Chunk("ref-d", 1);
  Chunk("ref-d", 1);
  Chunk("ref-d", 2);
  v1::Backfill partial = Backfill("ref-d");
  EXPECT_EQ(partial.received_payloads(), 2);
  EXPECT_EQ(partial.redelivered_payloads(), 1);
  EXPECT_NE(partial.state(), v1::Backfill::STATE_COMPLETE);

  Chunk("ref-d", 3);
  Chunk("ref-d", 3);
  Chunk("ref-d", 2);
  const v1::Backfill done = Backfill("ref-d");
  EXPECT_EQ(done.state(), v1::Backfill::STATE_COMPLETE);
  EXPECT_EQ(done.received_payloads(), 3);
  EXPECT_EQ(done.redelivered_payloads(), 3);
  EXPECT_EQ(CompleteChanges().size(), 1u) << "a re-delivered last chunk completes nothing again";
}

TEST_F(BackfillTest, BackfillWithNoPayloadForStallAfterIsReportedStalled) {
  Sending("ref-s", 4);
  Chunk("ref-s", 1);
  EXPECT_EQ(Backfill("ref-s").state(), v1::Backfill::STATE_SENDING);
  ASSERT_TRUE(PollUntil([&] { return Backfill("ref-s").state() == v1::Backfill::STATE_STALLED; },
                        absl::Seconds(30)));
  EXPECT_EQ(MetricValue(deployment_.Client().Get("/metrics").body, "healthwire_backfills_stalled"),
            1);
  // A payload revives it.
  Chunk("ref-s", 2);
  EXPECT_EQ(Backfill("ref-s").state(), v1::Backfill::STATE_SENDING);
  EXPECT_EQ(MetricValue(deployment_.Client().Get("/metrics").body, "healthwire_backfills_open"), 1);
}

TEST_F(BackfillTest, TwoConcurrentBackfillsOfOneUserAreTrackedApart) {
  Sending("ref-x", 2);
  Sending("ref-y", 3);
  Chunk("ref-x", 1);
  Chunk("ref-y", 1);
  Chunk("ref-y", 2);
  Chunk("ref-x", 2);  // completes ref-x only

  EXPECT_EQ(Backfill("ref-x").state(), v1::Backfill::STATE_COMPLETE);
  v1::Backfill y = Backfill("ref-y");
  EXPECT_EQ(y.received_payloads(), 2);
  EXPECT_NE(y.state(), v1::Backfill::STATE_COMPLETE);
  Chunk("ref-y", 3);
  EXPECT_EQ(Backfill("ref-y").state(), v1::Backfill::STATE_COMPLETE);

  v1::ListBackfillsRequest request;
  request.mutable_subject()->set_user_id(kUser);
  v1::ListBackfillsResponse listed;
  grpc::Status status = deployment_.stub()->ListBackfills(RpcContext().get(), request, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(listed.backfills_size(), 2);
  EXPECT_EQ(listed.backfills(0).reference(), "ref-x");
  EXPECT_EQ(listed.backfills(1).reference(), "ref-y");
  const std::vector<v1::Event> complete = CompleteChanges();
  ASSERT_EQ(complete.size(), 2u);
  EXPECT_EQ(complete[0].record_key(), "ref-x");
  EXPECT_EQ(complete[1].record_key(), "ref-y");
}

TEST_F(BackfillTest, UnknownReferenceIsNotFound) {
  v1::Backfill backfill;
  EXPECT_EQ(GetBackfill("never-sent", &backfill).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace healthwire
