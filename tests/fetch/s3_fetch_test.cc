// s3_payload ("ping mode") end to end: the real healthwire binary, signed
// pings over HTTP, and a local HTTPS server (throwaway certificate, trusted
// through --s3_fetch_ca_file) standing in for S3's pre-signed URLs.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/deployment.h"
#include "tests/util/https_test_server.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::S3PayloadWebhookJson;
using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::FindStored;
using ::healthwire::testing::HttpsTestServer;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::MetricValue;
using ::healthwire::testing::PollUntil;
using ::healthwire::testing::RpcContext;

constexpr char kSecret[] = "s3-test-secret";
// A query like S3's: the API must not show it.
constexpr char kPresignedQuery[] = "?X-Amz-Expires=300&X-Amz-Signature=0123abcd";

class S3FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpsTestServer>> server = HttpsTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    s3_ = *std::move(server);
    ASSERT_TRUE(deployment_.Start(Flags()).ok()) << deployment_.Logs();
  }

  std::vector<std::string> Flags() const {
    return {absl::StrCat("--signing_secret=", kSecret),
            "--s3_fetch_allowed_hosts=127.0.0.1:*",
            absl::StrCat("--s3_fetch_ca_file=", s3_->ca_file()),
            "--s3_fetch_backoff=200ms",
            "--s3_fetch_max_backoff=1s",
            "--s3_fetch_poll_interval=50ms",
            "--max_body_mb=1"};
  }

  // Posts a signed ping for `url`; returns its revision (the ping's id).
  uint64_t PostPing(const std::string& url, int expires_in,
                    const std::string& trace_id = "trace-ping-1") {
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    HttpTestClient client = deployment_.Client(options);
    testing::HttpResponse response = client.PostSigned(S3PayloadWebhookJson(url, expires_in),
                                                       {{"X-Terra-Trace-Id", trace_id}});
    EXPECT_EQ(response.status, 200) << response;
    return static_cast<uint64_t>(testing::JsonInteger(response.body, "revision"));
  }

  std::optional<v1::S3Fetch> Fetch(uint64_t ping_revision) {
    v1::ListS3FetchesRequest request;
    request.set_after_ping_revision(ping_revision - 1);
    request.set_page_size(1);
    v1::ListS3FetchesResponse response;
    grpc::Status status = deployment_.stub()->ListS3Fetches(RpcContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (response.fetches_size() == 0 || response.fetches(0).ping_revision() != ping_revision) {
      return std::nullopt;
    }
    return response.fetches(0);
  }

  // Waits until the fetch of `ping_revision` is no longer PENDING.
  v1::S3Fetch WaitForOutcome(uint64_t ping_revision) {
    std::optional<v1::S3Fetch> fetch;
    const bool done = PollUntil(
        [&] {
          fetch = Fetch(ping_revision);
          return fetch.has_value() && fetch->state() != v1::S3Fetch::STATE_PENDING;
        },
        absl::Seconds(60));
    EXPECT_TRUE(done) << "still pending: " << (fetch ? fetch->DebugString() : "no fetch") << "\n"
                      << deployment_.Logs();
    return fetch.value_or(v1::S3Fetch());
  }

  std::string Metrics() {
    return deployment_.Client().Get("/metrics").body;
  }

  static std::string SleepBody(const std::string& user, const std::string& summary_id) {
    return SleepWebhookBuilder(user, summary_id).SleepScore(80).Json();
  }

  std::unique_ptr<HttpsTestServer> s3_;
  Deployment deployment_{DeploymentMode::kEmbedded};
};

TEST_F(S3FetchTest, FetchedBodyIsStoredLikeAPostedOneAndLinkedToThePing) {
  s3_->SetReplies("/ok", {{200, SleepBody("user-s3", "sleep-fetched")}});
  const uint64_t ping = PostPing(s3_->Url("/ok") + kPresignedQuery, 300, "trace-abc");
  ASSERT_GT(ping, 0u);

  const v1::S3Fetch fetch = WaitForOutcome(ping);
  EXPECT_EQ(fetch.state(), v1::S3Fetch::STATE_FETCHED) << fetch.DebugString();
  EXPECT_EQ(fetch.attempts(), 1);
  EXPECT_EQ(fetch.fetched_type(), "sleep");
  EXPECT_EQ(fetch.events(), 1);
  EXPECT_EQ(fetch.url(), s3_->Url("/ok")) << "the pre-signed query must not be shown";

  std::optional<v1::Event> stored =
      FindStored(deployment_.stub(), "user-s3", v1::EVENT_TYPE_SLEEP, "sleep-fetched");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->s3_ping_revision(), ping);
  EXPECT_EQ(stored->trace_id(), "trace-abc");
  EXPECT_EQ(stored->revision(), fetch.first_revision());
  EXPECT_EQ(stored->sleep().data_enrichment().sleep_score(), 80);
  EXPECT_EQ(MetricValue(Metrics(), "healthwire_s3_fetches_total{outcome=\"fetched\"}"), 1);
}

TEST_F(S3FetchTest, UrlThatExpiresBeforeAnyAttemptSucceedsMarksThePingFailed) {
  s3_->SetReplies("/expired", {{403, "<Error><Code>AccessDenied</Code></Error>"}});
  const uint64_t ping = PostPing(s3_->Url("/expired") + kPresignedQuery, 2);

  const v1::S3Fetch fetch = WaitForOutcome(ping);
  EXPECT_EQ(fetch.state(), v1::S3Fetch::STATE_FAILED);
  EXPECT_NE(fetch.last_error().find("expired"), std::string::npos) << fetch.last_error();
  EXPECT_NE(fetch.last_error().find("HTTP 403"), std::string::npos) << fetch.last_error();
  EXPECT_GE(fetch.attempts(), 1);
  EXPECT_GE(s3_->RequestCount("/expired"), 1);
  EXPECT_EQ(MetricValue(Metrics(), "healthwire_s3_fetches_total{outcome=\"failed\"}"), 1);
  const std::string logs = deployment_.Logs();
  EXPECT_NE(logs.find(absl::StrCat("s3_payload fetch failed ping_revision=", ping)),
            std::string::npos)
      << logs;
  EXPECT_EQ(logs.find("X-Amz-Signature"), std::string::npos) << "the log shows credentials";
}

TEST_F(S3FetchTest, NotFoundThenOkIsRetriedWithBackoffAndStored) {
  s3_->SetReplies("/flaky", {{404, "not yet"}, {200, SleepBody("user-s3", "sleep-retried")}});
  const uint64_t ping = PostPing(s3_->Url("/flaky"), 300);

  const v1::S3Fetch fetch = WaitForOutcome(ping);
  EXPECT_EQ(fetch.state(), v1::S3Fetch::STATE_FETCHED) << fetch.DebugString();
  EXPECT_EQ(fetch.attempts(), 2);
  EXPECT_EQ(s3_->RequestCount("/flaky"), 2);
  EXPECT_TRUE(
      FindStored(deployment_.stub(), "user-s3", v1::EVENT_TYPE_SLEEP, "sleep-retried").has_value());
  EXPECT_GE(MetricValue(Metrics(), "healthwire_s3_fetch_retries_total"), 1);
}

TEST_F(S3FetchTest, BodyOverMaxBodyMbFailsWithoutRetrying) {
  s3_->SetReplies("/big", {{200, std::string(2 << 20, ' ')}});  // 2 MiB > --max_body_mb=1
  const uint64_t ping = PostPing(s3_->Url("/big"), 300);

  const v1::S3Fetch fetch = WaitForOutcome(ping);
  EXPECT_EQ(fetch.state(), v1::S3Fetch::STATE_FAILED);
  EXPECT_NE(fetch.last_error().find("larger than 1048576 bytes"), std::string::npos)
      << fetch.last_error();
  EXPECT_EQ(fetch.attempts(), 1);
  EXPECT_EQ(s3_->RequestCount("/big"), 1);
}

TEST_F(S3FetchTest, HostNotOnTheAllowListIsRefusedWithoutAnyRequest) {
  const uint64_t metadata = PostPing("https://169.254.169.254/latest/meta-data/", 300);
  const uint64_t plain_http = PostPing(absl::StrCat("http://127.0.0.1:", s3_->port(), "/ok"), 300);

  const v1::S3Fetch refused_host = WaitForOutcome(metadata);
  EXPECT_EQ(refused_host.state(), v1::S3Fetch::STATE_FAILED);
  EXPECT_NE(refused_host.last_error().find("not on --s3_fetch_allowed_hosts"), std::string::npos)
      << refused_host.last_error();
  EXPECT_EQ(refused_host.attempts(), 0);
  const v1::S3Fetch refused_scheme = WaitForOutcome(plain_http);
  EXPECT_EQ(refused_scheme.state(), v1::S3Fetch::STATE_FAILED);
  EXPECT_NE(refused_scheme.last_error().find("only https"), std::string::npos)
      << refused_scheme.last_error();
  EXPECT_EQ(s3_->RequestCount("/ok"), 0);
  EXPECT_EQ(MetricValue(Metrics(), "healthwire_s3_fetches_total{outcome=\"refused\"}"), 2);
}

TEST_F(S3FetchTest, FetchedBodyThatIsItselfAPingIsStoredButNotFollowed) {
  s3_->SetReplies("/nested", {{200, S3PayloadWebhookJson(s3_->Url("/ok"), 300)}});
  s3_->SetReplies("/ok", {{200, SleepBody("user-s3", "never")}});
  const uint64_t ping = PostPing(s3_->Url("/nested"), 300);

  const v1::S3Fetch fetch = WaitForOutcome(ping);
  EXPECT_EQ(fetch.state(), v1::S3Fetch::STATE_FAILED);
  EXPECT_NE(fetch.last_error().find("not followed"), std::string::npos) << fetch.last_error();
  EXPECT_EQ(fetch.fetched_type(), "s3_payload");
  // Given time to (wrongly) follow it, nothing fetched /ok.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(s3_->RequestCount("/ok"), 0);
  v1::ListS3FetchesRequest all;
  v1::ListS3FetchesResponse listed;
  ASSERT_TRUE(deployment_.stub()->ListS3Fetches(RpcContext().get(), all, &listed).ok());
  EXPECT_EQ(listed.fetches_size(), 1) << "the nested ping started a fetch of its own";
}

TEST_F(S3FetchTest, FetchPendingAtShutdownIsResumedAfterRestart) {
  s3_->SetReplies("/later", {{503, "slow down"}});
  const uint64_t ping = PostPing(s3_->Url("/later"), 300);
  std::optional<v1::S3Fetch> fetch;
  ASSERT_TRUE(PollUntil([&] {
    fetch = Fetch(ping);
    return fetch.has_value() && fetch->attempts() >= 1;
  }, absl::Seconds(60))) << deployment_.Logs();
  EXPECT_EQ(fetch->state(), v1::S3Fetch::STATE_PENDING);
  EXPECT_EQ(fetch->last_error(), "HTTP 503");

  absl::StatusOr<int> stopped = deployment_.store()->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  deployment_.ForgetStore();
  s3_->SetReplies("/later", {{200, SleepBody("user-s3", "sleep-after-restart")}});
  ASSERT_TRUE(deployment_.Start(Flags()).ok()) << deployment_.Logs();

  const v1::S3Fetch done = WaitForOutcome(ping);
  EXPECT_EQ(done.state(), v1::S3Fetch::STATE_FETCHED) << done.DebugString();
  EXPECT_GE(done.attempts(), 2);
  EXPECT_TRUE(FindStored(deployment_.stub(), "user-s3", v1::EVENT_TYPE_SLEEP,
                         "sleep-after-restart")
                  .has_value());
}

}  // namespace
}  // namespace healthwire
