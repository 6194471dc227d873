// The webhook gateway end to end inside one process: a real EventStore (in a
// temp folder), LocalIngestor and WebhookGateway on 127.0.0.1, driven by real
// HTTP requests from a Beast client. One test per row of the status table;
// store failures use fake ingestors.
#include "server/webhook/webhook_gateway.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ingest/local_ingestor.h"
#include "server/webhook/signature_verifier.h"
#include "storage/event_store.h"
#include "tests/util/http_test_client.h"
#include "tests/util/status_table_bodies.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::HttpResponse;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::kDriftedActivityBody;
using ::healthwire::testing::kHealthcheckBody;
using ::healthwire::testing::kUnknownTypeBody;
using ::healthwire::testing::SleepBody;
using ::healthwire::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "gateway-test-secret";
constexpr char kOtherSecret[] = "second-environment-secret";
constexpr char kWebhookPath[] = "/webhooks/terra";

std::string SignNow(absl::string_view body, absl::string_view secret = kSecret) {
  return HttpTestClient::SignNow(body, secret);
}

// A new connection to `port`; PostSigned signs with kSecret.
HttpTestClient ClientOf(int port) {
  HttpTestClient::Options options;
  options.signing_secret = kSecret;
  HttpTestClient client(port, options);
  EXPECT_TRUE(client.connected()) << client.connect_error();
  return client;
}

// Passes calls through to another Ingestor and counts them.
class CountingIngestor : public Ingestor {
 public:
  explicit CountingIngestor(Ingestor* inner) : inner_(inner) {}
  void Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) override {
    ++ingest_calls;
    inner_->Ingest(std::move(events), deadline, std::move(done));
  }
  absl::Status CheckReady() override { return inner_->CheckReady(); }
  uint64_t CurrentRevision() override { return inner_->CurrentRevision(); }

  std::atomic<int> ingest_calls{0};

 private:
  Ingestor* const inner_;
};

// Answers every Ingest with a fixed Status (or never, or after a delay).
class FakeIngestor : public Ingestor {
 public:
  explicit FakeIngestor(absl::Status answer) : answer_(std::move(answer)) {}
  ~FakeIngestor() override {
    for (std::thread& thread : delayed_) thread.join();
  }

  void Ingest(std::vector<v1::Event> events, absl::Time /*deadline*/, Callback done) override {
    if (never_answer) {
      absl::MutexLock lock(&mu_);
      parked_.push_back(std::move(done));  // never called (until destruction)
      return;
    }
    v1::IngestResponse response;
    for (size_t i = 0; i < events.size(); ++i) {
      v1::IngestResult* result = response.add_results();
      result->set_outcome(v1::IngestResult::OUTCOME_STORED);
      result->set_revision(i + 1);
    }
    response.set_store_revision(events.size());
    absl::StatusOr<v1::IngestResponse> result =
        answer_.ok() ? absl::StatusOr<v1::IngestResponse>(response) : answer_;
    if (answer_delay > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      delayed_.emplace_back([done = std::move(done), result, delay = answer_delay] {
        absl::SleepFor(delay);
        done(result);
      });
      return;
    }
    done(std::move(result));
  }
  absl::Status CheckReady() override { return ready; }
  uint64_t CurrentRevision() override { return 42; }

  absl::Status ready = absl::OkStatus();
  bool never_answer = false;
  absl::Duration answer_delay = absl::ZeroDuration();

 private:
  const absl::Status answer_;
  absl::Mutex mu_;
  std::vector<Callback> parked_;
  std::vector<std::thread> delayed_;
};

WebhookGateway::Options TestOptions() {
  WebhookGateway::Options options;
  options.signing_secrets = {kSecret, kOtherSecret};
  options.max_body_bytes = 64 * 1024;
  return options;
}

// A gateway in front of a real store.
class WebhookGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventStore::Options store_options;
    store_options.path = store_dir_.File("store");
    store_options.sync_writes = false;  // durability is the store tests' subject
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    local_ingestor_ = std::make_unique<LocalIngestor>(store_.get());
    ingestor_ = std::make_unique<CountingIngestor>(local_ingestor_.get());
    absl::StatusOr<std::unique_ptr<WebhookGateway>> gateway =
        WebhookGateway::Start(TestOptions(), ingestor_.get());
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    ASSERT_GT(gateway_->port(), 0);
  }

  void TearDown() override {
    gateway_.reset();
    ingestor_.reset();
    local_ingestor_.reset();
    store_.reset();
  }

  HttpTestClient Client() { return ClientOf(gateway_->port()); }

  const TempDir store_dir_{"gateway"};  // outlives store_
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<LocalIngestor> local_ingestor_;
  std::unique_ptr<CountingIngestor> ingestor_;
  std::unique_ptr<WebhookGateway> gateway_;
};

// A gateway in front of a FakeIngestor.
struct FakeGateway {
  explicit FakeGateway(absl::Status answer,
                       WebhookGateway::Options options = TestOptions())
      : ingestor(std::make_unique<FakeIngestor>(std::move(answer))) {
    absl::StatusOr<std::unique_ptr<WebhookGateway>> started =
        WebhookGateway::Start(std::move(options), ingestor.get());
    EXPECT_TRUE(started.ok()) << started.status();
    gateway = *std::move(started);
  }
  ~FakeGateway() { gateway.reset(); }  // before the ingestor

  std::unique_ptr<FakeIngestor> ingestor;
  std::unique_ptr<WebhookGateway> gateway;
};

void ExpectJsonError(const HttpResponse& result, absl::string_view error_part) {
  EXPECT_EQ(result.headers.count("content-type") ? result.headers.at("content-type") : "",
            "application/json");
  EXPECT_THAT(result.body, HasSubstr("\"error\":"));
  EXPECT_THAT(result.body, HasSubstr(std::string(error_part)));
}

// --- 200 rows ---------------------------------------------------------------

TEST_F(WebhookGatewayTest, SignedWebhookIsCommittedAndAnswered200) {
  HttpTestClient client = Client();
  HttpResponse result = client.PostSigned(SleepBody("s-1"));
  ASSERT_EQ(result.status, 200) << result.error << result.body;
  EXPECT_EQ(result.headers["content-type"], "application/json");
  EXPECT_EQ(result.body,
            absl::StrCat(R"({"status":"ok","events":1,"stored":1,"identical":0,"stale":0,)",
                         R"("revision":)", store_->CurrentRevision(), R"(,"schema_problems":0})"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookGatewayTest, IdenticalRedeliveryIs200Identical) {
  HttpTestClient client = Client();
  ASSERT_EQ(client.PostSigned(SleepBody("s-1")).status, 200);
  HttpResponse again = client.PostSigned(SleepBody("s-1"));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(again.body, HasSubstr(R"("stored":0,"identical":1,"stale":0)"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookGatewayTest, StaleDeliveryIs200Stale) {
  HttpTestClient client = Client();
  // Newer by the ordering timestamp, and different content (is_nap).
  const std::string newer =
      SleepWebhookBuilder("user-1", "s-1").ReferenceId("patient-1").IsNap(false).Json();
  ASSERT_EQ(client.PostSigned(newer, {{"x-terra-ordering-timestamp", "1782000002000"}}).status,
            200);
  HttpResponse older =
      client.PostSigned(SleepBody("s-1"), {{"x-terra-ordering-timestamp", "1782000001000"}});
  EXPECT_EQ(older.status, 200) << older.body;
  EXPECT_THAT(older.body, HasSubstr(R"("stored":0,"identical":0,"stale":1)"));
}

TEST_F(WebhookGatewayTest, UnparseableOrderingTimestampIsIgnored) {
  HttpResponse result =
      Client().PostSigned(SleepBody("s-1"), {{"x-terra-ordering-timestamp", "yesterday"}});
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr(R"("stored":1)"));
}

TEST_F(WebhookGatewayTest, UnknownTypeIs200AndStored) {
  HttpResponse result = Client().PostSigned(kUnknownTypeBody);
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr(R"("events":1,"stored":1)"));
}

TEST_F(WebhookGatewayTest, SchemaDriftRecordIs200StoredAndFlagged) {
  HttpResponse result = Client().PostSigned(kDriftedActivityBody);
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr(R"("stored":1)"));
  EXPECT_THAT(result.body, HasSubstr(R"("schema_problems":1)"));
}

TEST_F(WebhookGatewayTest, HealthcheckIs200WithoutIngesting) {
  HttpResponse result = Client().PostSigned(kHealthcheckBody);
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr(R"("events":0)"));
  EXPECT_EQ(ingestor_->ingest_calls.load(), 0);
}

TEST_F(WebhookGatewayTest, XTerraSignatureHeaderIsAccepted) {
  const std::string body = SleepBody("s-1");
  HttpResponse result = Client().Post(body, {{"X-Terra-Signature", SignNow(body)}});
  EXPECT_EQ(result.status, 200) << result.body;
}

TEST_F(WebhookGatewayTest, SecondConfiguredSecretIsAccepted) {
  const std::string body = SleepBody("s-1");
  HttpResponse result = Client().Post(body, {{"terra-signature", SignNow(body, kOtherSecret)}});
  EXPECT_EQ(result.status, 200) << result.body;
}

TEST_F(WebhookGatewayTest, KeepAliveConnectionServesSeveralRequests) {
  HttpTestClient client = Client();
  for (int i = 0; i < 5; ++i) {
    HttpResponse result = client.PostSigned(SleepBody(absl::StrCat("s-", i)));
    ASSERT_EQ(result.status, 200) << result.error << result.body;
    EXPECT_TRUE(result.keep_alive);
  }
  EXPECT_EQ(store_->CurrentRevision(), 5u);
}

TEST_F(WebhookGatewayTest, ManyConcurrentConnectionsAreAllCommitted) {
  constexpr int kClients = 16, kRequestsEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpTestClient client = Client();
      for (int i = 0; i < kRequestsEach; ++i) {
        ok += client.PostSigned(SleepBody(absl::StrCat("c", c, "-", i))).status == 200;
      }
    });
  }
  for (std::thread& thread : clients) thread.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
  EXPECT_EQ(store_->CurrentRevision(), static_cast<uint64_t>(kClients * kRequestsEach));
}

// --- 401 rows ---------------------------------------------------------------

TEST_F(WebhookGatewayTest, MissingSignatureIs401) {
  HttpResponse result = Client().Post(SleepBody("s-1"), {});
  EXPECT_EQ(result.status, 401);
  ExpectJsonError(result, "missing terra-signature header");
  EXPECT_EQ(ingestor_->ingest_calls.load(), 0);
}

TEST_F(WebhookGatewayTest, MalformedSignatureIs401) {
  HttpResponse result = Client().Post(SleepBody("s-1"), {{"terra-signature", "v1=abc"}});
  EXPECT_EQ(result.status, 401);
  ExpectJsonError(result, "malformed terra-signature header");
}

TEST_F(WebhookGatewayTest, WrongSecretIs401) {
  const std::string body = SleepBody("s-1");
  HttpResponse result = Client().Post(body, {{"terra-signature", SignNow(body, "nope")}});
  EXPECT_EQ(result.status, 401);
  ExpectJsonError(result, "signature does not match any configured secret");
  EXPECT_THAT(result.body, Not(HasSubstr(kSecret)));
}

TEST_F(WebhookGatewayTest, TamperedBodyIs401) {
  const std::string body = SleepBody("s-1");
  HttpResponse result = Client().Post(SleepBody("s-2"), {{"terra-signature", SignNow(body)}});
  EXPECT_EQ(result.status, 401);
  ExpectJsonError(result, "signature does not match any configured secret");
}

TEST_F(WebhookGatewayTest, ExpiredSignatureTimestampIs401) {
  const std::string body = SleepBody("s-1");
  const int64_t long_ago = absl::ToUnixSeconds(absl::Now() - absl::Hours(40));
  HttpResponse result =
      Client().Post(body, {{"terra-signature", SignatureVerifier::Sign(kSecret, long_ago, body)}});
  EXPECT_EQ(result.status, 401);
  ExpectJsonError(result, "signature timestamp outside the allowed window");
}

// --- 400, 404, 405, 413 rows --------------------------------------------------

TEST_F(WebhookGatewayTest, UnusableEnvelopeIs400WithTheConverterMessage) {
  HttpResponse result = Client().PostSigned("type=sleep&user=1");
  EXPECT_EQ(result.status, 400);
  ExpectJsonError(result, "body is not valid JSON");
  EXPECT_EQ(ingestor_->ingest_calls.load(), 0);
}

TEST_F(WebhookGatewayTest, BodyOverTheLimitIs413) {
  std::string huge = SleepBody("s-1");
  huge.append(100 * 1024, ' ');  // still valid JSON, over the 64 KiB test limit
  HttpResponse result = Client().PostSigned(huge);
  EXPECT_EQ(result.status, 413) << result.error;
  ExpectJsonError(result, "request body larger than 65536 bytes");
  EXPECT_FALSE(result.keep_alive);
}

TEST_F(WebhookGatewayTest, BodyJustUnderTheLimitIsAccepted) {
  std::string body = SleepBody("s-1");
  body.append(64 * 1024 - body.size(), ' ');
  HttpResponse result = Client().PostSigned(body);
  EXPECT_EQ(result.status, 200) << result.error << result.body;
}

TEST_F(WebhookGatewayTest, WrongMethodOnWebhookPathIs405AllowPost) {
  HttpResponse result = Client().Send("GET", kWebhookPath, "");
  EXPECT_EQ(result.status, 405);
  EXPECT_EQ(result.headers["allow"], "POST");
  ExpectJsonError(result, "method not allowed");
}

TEST_F(WebhookGatewayTest, UnknownPathIs404) {
  HttpResponse result = Client().Send("POST", "/webhooks/other", "{}");
  EXPECT_EQ(result.status, 404);
  ExpectJsonError(result, "not found");
}

TEST_F(WebhookGatewayTest, QueryStringOnWebhookPathIsIgnored) {
  const std::string body = SleepBody("s-1");
  HttpResponse result = Client().Send("POST", absl::StrCat(kWebhookPath, "?env=prod"), body,
                                      {{"terra-signature", SignNow(body)}});
  EXPECT_EQ(result.status, 200) << result.body;
}

TEST_F(WebhookGatewayTest, ErrorAnswersKeepTheConnectionAlive) {
  HttpTestClient client = Client();
  EXPECT_EQ(client.Post(SleepBody("s-1"), {}).status, 401);
  EXPECT_EQ(client.PostSigned(SleepBody("s-1")).status, 200);
}

TEST_F(WebhookGatewayTest, ExpectContinueGets100ThenTheAnswer) {
  const std::string body = SleepBody("s-1");
  HttpTestClient connection = Client();
  EXPECT_TRUE(connection
                  .WriteRequestHead("POST", kWebhookPath,
                                    {{"terra-signature", SignNow(body)},
                                     {"Content-Length", absl::StrCat(body.size())},
                                     {"Expect", "100-continue"}})
                  .ok());
  EXPECT_THAT(connection.ReadRawHead(), HasSubstr("HTTP/1.1 100 Continue"));
  EXPECT_TRUE(connection.WriteRaw(body).ok());
  EXPECT_THAT(connection.ReadRawHead(), HasSubstr("HTTP/1.1 200 OK"));
}

TEST_F(WebhookGatewayTest, MalformedHttpIs400) {
  HttpTestClient connection = Client();
  EXPECT_TRUE(
      connection.WriteRaw("POST /webhooks/terra HTTP/1.1\r\nContent-Length: banana\r\n\r\n").ok());
  EXPECT_THAT(connection.ReadRawHead(), HasSubstr("HTTP/1.1 400 Bad Request"));
}

TEST(WebhookGatewayTimeoutTest, StalledSenderIsDisconnected) {
  WebhookGateway::Options options = TestOptions();
  options.io_timeout = absl::Milliseconds(300);
  FakeGateway fake(absl::OkStatus(), options);
  HttpTestClient connection = ClientOf(fake.gateway->port());
  // Promises 100 bytes, sends one, then stalls.
  EXPECT_TRUE(
      connection
          .WriteRaw("POST /webhooks/terra HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
          .ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(connection.ServerClosed(absl::Seconds(3) + absl::Seconds(1)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(WebhookGatewayTimeoutTest, IdleKeepAliveConnectionIsClosedAfterTheTimeout) {
  WebhookGateway::Options options = TestOptions();
  options.io_timeout = absl::Milliseconds(300);
  FakeGateway fake(absl::OkStatus(), options);
  HttpTestClient client = ClientOf(fake.gateway->port());
  ASSERT_EQ(client.Send("GET", "/healthz", "").status, 200);
  EXPECT_TRUE(client.ServerClosed(absl::Seconds(60)));
}

// --- 503 rows (fake ingestors) -------------------------------------------------

void Expect503StoreUnavailable(const HttpResponse& result) {
  EXPECT_EQ(result.status, 503) << result.error << result.body;
  EXPECT_EQ(result.headers.count("retry-after") ? result.headers.at("retry-after") : "", "5");
  ExpectJsonError(result, "store unavailable, retry later");
}

TEST(WebhookGatewayStoreFailureTest, UnavailableIs503WithRetryAfter) {
  FakeGateway fake(absl::UnavailableError("connection refused to 10.0.0.7:7000"));
  HttpResponse result = ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1"));
  Expect503StoreUnavailable(result);
  EXPECT_THAT(result.body, Not(HasSubstr("10.0.0.7")));  // internal details never leak
}

TEST(WebhookGatewayStoreFailureTest, DeadlineExceededIs503) {
  FakeGateway fake(absl::DeadlineExceededError("slow"));
  Expect503StoreUnavailable(ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1")));
}

TEST(WebhookGatewayStoreFailureTest, ResourceExhaustedIs503) {
  FakeGateway fake(absl::ResourceExhaustedError("disk full"));
  Expect503StoreUnavailable(ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1")));
}

TEST(WebhookGatewayStoreFailureTest, OtherStoreFailureIs503) {
  FakeGateway fake(absl::InternalError("corruption in 000123.sst"));
  HttpResponse result = ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1"));
  Expect503StoreUnavailable(result);
  EXPECT_THAT(result.body, Not(HasSubstr("sst")));
}

TEST(WebhookGatewayStoreFailureTest, IngestorThatNeverAnswersIs503AfterTheDeadline) {
  WebhookGateway::Options options = TestOptions();
  options.ingest_deadline = absl::Milliseconds(100);
  FakeGateway fake(absl::OkStatus(), options);
  fake.ingestor->never_answer = true;
  const absl::Time start = absl::Now();
  Expect503StoreUnavailable(ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// --- health, readiness, metrics --------------------------------------------------

TEST_F(WebhookGatewayTest, HealthzIs200) {
  HttpResponse result = Client().Send("GET", "/healthz", "");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, R"({"status":"ok"})");
}

TEST_F(WebhookGatewayTest, ReadyzIs200WhenTheStoreIsReady) {
  HttpResponse result = Client().Send("GET", "/readyz", "");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, R"({"status":"ok"})");
}

TEST(WebhookGatewayReadinessTest, ReadyzIs503WithTheReasonWhenNotReady) {
  FakeGateway fake(absl::OkStatus());
  fake.ingestor->ready = absl::UnavailableError("store unreachable");
  HttpResponse result = ClientOf(fake.gateway->port()).Send("GET", "/readyz", "");
  EXPECT_EQ(result.status, 503);
  ExpectJsonError(result, "not ready: store unreachable");
}

TEST_F(WebhookGatewayTest, MetricsCountRequestsEventsAndRevision) {
  HttpTestClient client = Client();
  ASSERT_EQ(client.PostSigned(SleepBody("s-1")).status, 200);
  ASSERT_EQ(client.PostSigned(SleepBody("s-1")).status, 200);
  ASSERT_EQ(client.PostSigned(kDriftedActivityBody).status, 200);
  ASSERT_EQ(client.Post(SleepBody("s-1"), {}).status, 401);
  HttpResponse metrics = client.Send("GET", "/metrics", "");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics.body;
  EXPECT_THAT(text, HasSubstr("healthwire_http_requests_total{code=\"200\",reason=\"ok\"} 3\n"));
  EXPECT_THAT(text, HasSubstr(
                        "healthwire_http_requests_total{code=\"401\",reason=\"missing_signature\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_events_total{type=\"sleep\",outcome=\"stored\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_events_total{type=\"sleep\",outcome=\"identical\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_events_total{type=\"activity\",outcome=\"stored\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_schema_problem_events_total 1\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_store_revision 2\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_http_request_duration_seconds_count 4\n"));
  EXPECT_THAT(text, HasSubstr("healthwire_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE healthwire_http_request_bytes_total counter\n"));
}

// --- shutdown ---------------------------------------------------------------------

TEST(WebhookGatewayShutdownTest, InFlightRequestIsAnsweredBeforeShutdownReturns) {
  FakeGateway fake(absl::OkStatus());
  fake.ingestor->answer_delay = absl::Milliseconds(300);
  HttpResponse result;
  std::thread client([&] { result = ClientOf(fake.gateway->port()).PostSigned(SleepBody("s-1")); });
  absl::SleepFor(absl::Milliseconds(100));  // the request is waiting for the ingestor
  fake.gateway->Shutdown();
  client.join();
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_FALSE(result.keep_alive);  // answered with Connection: close
}

TEST(WebhookGatewayShutdownTest, IdleKeepAliveConnectionsAreClosedPromptly) {
  FakeGateway fake(absl::OkStatus());
  HttpTestClient client = ClientOf(fake.gateway->port());
  ASSERT_EQ(client.Send("GET", "/healthz", "").status, 200);
  const absl::Time start = absl::Now();
  fake.gateway->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(client.ServerClosed(absl::Seconds(60)));
}

TEST(WebhookGatewayShutdownTest, NewConnectionsAreRefusedAfterShutdown) {
  FakeGateway fake(absl::OkStatus());
  const int port = fake.gateway->port();
  fake.gateway->Shutdown();
  EXPECT_FALSE(HttpTestClient(port).connected());
}

// --- startup ----------------------------------------------------------------------

TEST(WebhookGatewayStartTest, NoSigningSecretIsInvalidArgument) {
  FakeIngestor ingestor(absl::OkStatus());
  WebhookGateway::Options options;
  EXPECT_EQ(WebhookGateway::Start(options, &ingestor).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebhookGatewayStartTest, PortInUseIsUnavailable) {
  FakeGateway first(absl::OkStatus());
  FakeIngestor ingestor(absl::OkStatus());
  WebhookGateway::Options options = TestOptions();
  options.port = first.gateway->port();
  EXPECT_EQ(WebhookGateway::Start(options, &ingestor).status().code(),
            absl::StatusCode::kUnavailable);
}

// --- LocalIngestor ------------------------------------------------------------------

TEST_F(WebhookGatewayTest, LocalIngestorPastDeadlineAnswersDeadlineExceededWithoutCommitting) {
  std::atomic<int> calls{0};
  absl::Notification answered;
  absl::Status answer;
  {
    LocalIngestor ingestor(store_.get());
    v1::Event event;
    event.set_type(v1::EVENT_TYPE_UNKNOWN);
    event.set_terra_type("glucose_alert");
    event.set_record_key("k-1");
    event.mutable_user()->set_user_id("user-9");
    event.set_raw_json("{}");
    std::vector<v1::Event> events;
    events.push_back(event);
    ingestor.Ingest(std::move(events), absl::Now() - absl::Seconds(1),
                    [&](absl::StatusOr<v1::IngestResponse> result) {
                      if (++calls == 1) {
                        answer = result.status();
                        answered.Notify();
                      }
                    });
    answered.WaitForNotification();
  }
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(answer.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookGatewayTest, LocalIngestorIsReadyAndReportsTheRevision) {
  EXPECT_TRUE(local_ingestor_->CheckReady().ok());
  ASSERT_EQ(Client().PostSigned(SleepBody("s-1")).status, 200);
  EXPECT_EQ(local_ingestor_->CurrentRevision(), 1u);
}

}  // namespace
}  // namespace healthwire
