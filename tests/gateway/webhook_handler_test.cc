// WebhookHandler without a socket: every row of README's webhook status table
// (and the probe endpoints), decided by the handler over real parts: a real
// EventStore in a temp folder behind LocalIngestor; for the 503 rows a real
// RemoteIngestor pointed at a closed port, and stores whose RocksDB file
// system fails or stalls WAL writes. The HTTP wiring is proven by
// webhook_gateway_test and the end-to-end tests.
#include "server/webhook/webhook_handler.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "server/ingest/local_ingestor.h"
#include "server/ingest/remote_ingestor.h"
#include "server/webhook/signature_verifier.h"
#include "storage/event_store.h"
#include "tests/util/faulty_wal_file_system.h"
#include "tests/util/loopback.h"
#include "tests/util/status_table_bodies.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::FaultyWalFileSystem;
using ::healthwire::testing::kDriftedActivityBody;
using ::healthwire::testing::kHealthcheckBody;
using ::healthwire::testing::kUnknownTypeBody;
using ::healthwire::testing::SleepBody;
using ::healthwire::testing::TempDir;
using ::healthwire::testing::UnusedLoopbackPort;
using ::testing::HasSubstr;

constexpr char kSecret[] = "handler-test-secret";
constexpr char kOtherSecret[] = "second-environment-secret";
constexpr char kPath[] = "/webhooks/terra";

WebhookRequest Request(std::string method, std::string target, std::string body = "") {
  WebhookRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.received_at = absl::Now();
  return request;
}

// A POST to the webhook path signed with `secret` at `signed_at`.
WebhookRequest Signed(std::string body, absl::string_view secret = kSecret,
                      absl::Time signed_at = absl::Now()) {
  WebhookRequest request = Request("POST", kPath, std::move(body));
  request.headers.emplace_back(
      "terra-signature",
      SignatureVerifier::Sign(secret, absl::ToUnixSeconds(signed_at), request.body));
  return request;
}

WebhookHandler::Options HandlerOptions() {
  WebhookHandler::Options options;
  options.webhook_path = kPath;
  options.signing_secrets = {kSecret, kOtherSecret};
  return options;
}

// Runs the handler and waits for its answer (which may come from the
// ingestor's thread).
HttpReply Answer(WebhookHandler& handler, WebhookRequest request) {
  absl::Notification answered;
  HttpReply answer;
  std::atomic<int> calls{0};
  handler.Handle(std::move(request), [&](HttpReply reply) {
    if (calls.fetch_add(1) == 0) {
      answer = std::move(reply);
      answered.Notify();
    }
  });
  EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(calls.load(), 1);
  return answer;
}

// A real store in a temp folder (on a faulty file system) behind a
// LocalIngestor, and the handler in front of them.
class WebhookHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(HandlerOptions()); }

  void Start(WebhookHandler::Options options) {
    handler_.reset();
    ingestor_.reset();
    store_.reset();
    store_dir_ = std::make_unique<TempDir>("webhook_handler");
    EventStore::Options store_options;
    store_options.path = store_dir_->path();
    store_options.env = env_.get();
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ingestor_ = std::make_unique<LocalIngestor>(store_.get());
    absl::StatusOr<std::shared_ptr<WebhookHandler>> handler =
        WebhookHandler::Create(std::move(options), ingestor_.get());
    ASSERT_TRUE(handler.ok()) << handler.status();
    handler_ = *std::move(handler);
  }

  void TearDown() override {
    file_system_->fail_wal_writes = false;
    file_system_->stall_wal_syncs = false;
    handler_.reset();
    ingestor_.reset();
    store_.reset();  // before env_
  }

  HttpReply Answer(WebhookRequest request) { return healthwire::Answer(*handler_, std::move(request)); }

  std::vector<v1::Event> ChangeLog() {
    std::vector<v1::Event> events;
    EXPECT_TRUE(store_->ReadChangeLog(0, 1000, &events).ok());
    return events;
  }

  std::shared_ptr<FaultyWalFileSystem> file_system_ = std::make_shared<FaultyWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env_ = rocksdb::NewCompositeEnv(file_system_);
  std::unique_ptr<TempDir> store_dir_;  // outlives store_
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<LocalIngestor> ingestor_;
  std::shared_ptr<WebhookHandler> handler_;
};

void ExpectError(const HttpReply& reply, int status, absl::string_view reason,
                 absl::string_view error) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.reason, reason);
  EXPECT_THAT(reply.body, HasSubstr("\"status\":\"error\""));
  EXPECT_THAT(reply.body, HasSubstr(error));
  EXPECT_EQ(reply.content_type, "application/json");
}

// ---- 200 rows ------------------------------------------------------------------------

TEST_F(WebhookHandlerTest, ValidWebhookIsCommittedDurablyAnd200WithItsCounts) {
  const HttpReply reply = Answer(Signed(SleepBody("s1")));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.reason, "ok");
  EXPECT_EQ(reply.kind, ReplyKind::kWebhook);
  EXPECT_EQ(reply.body,
            R"({"status":"ok","events":1,"stored":1,"identical":0,"stale":0,"revision":1,)"
            R"("schema_problems":0})");
  ASSERT_EQ(ChangeLog().size(), 1u);
  EXPECT_EQ(ChangeLog()[0].sleep().metadata().summary_id(), "s1");
}

TEST_F(WebhookHandlerTest, IdenticalRedeliveryIs200IdenticalWithNoNewRevision) {
  ASSERT_EQ(Answer(Signed(SleepBody("s1"))).status, 200);
  const HttpReply reply = Answer(Signed(SleepBody("s1")));
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr(R"("stored":0,"identical":1,"stale":0,"revision":1)"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookHandlerTest, OlderOrderingTimestampIs200StaleWithNoNewRevision) {
  WebhookRequest newer = Signed(SleepBody("s1", "user-1"));
  newer.headers.emplace_back("x-terra-ordering-timestamp", "2000");
  ASSERT_EQ(Answer(std::move(newer)).status, 200);
  // Different content (another reference), older ordering timestamp.
  WebhookRequest older =
      Signed(SleepWebhookBuilder("user-1", "s1").ReferenceId("patient-9").Json());
  older.headers.emplace_back("X-Terra-Ordering-Timestamp", "1000");
  const HttpReply reply = Answer(std::move(older));
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr(R"("stored":0,"identical":0,"stale":1,"revision":1)"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookHandlerTest, UnknownEventTypeIs200AndStoredAsUnknownWithItsRawJson) {
  const HttpReply reply = Answer(Signed(kUnknownTypeBody));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr(R"("events":1,"stored":1)"));
  const std::vector<v1::Event> log = ChangeLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].type(), v1::EVENT_TYPE_UNKNOWN);
  EXPECT_THAT(log[0].raw_json(), HasSubstr("urgent_low"));
}

TEST_F(WebhookHandlerTest, SchemaDriftRecordIs200StoredRawAndFlagged) {
  const HttpReply reply = Answer(Signed(kDriftedActivityBody));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr(R"("stored":1)"));
  EXPECT_THAT(reply.body, HasSubstr(R"("schema_problems":1})"));
  const std::vector<v1::Event> log = ChangeLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0].raw_json(), HasSubstr("\"n/a\""));
  EXPECT_GE(log[0].conversion_problems_size(), 1);
}

TEST_F(WebhookHandlerTest, HealthcheckIs200NoEventsAndStoresNothing) {
  const HttpReply reply = Answer(Signed(kHealthcheckBody));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.reason, "no_events");
  EXPECT_THAT(reply.body, HasSubstr(R"("events":0,"stored":0)"));
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, AnyConfiguredSecretAndTheXTerraSignatureHeaderAreAccepted) {
  EXPECT_EQ(Answer(Signed(SleepBody("s1"), kOtherSecret)).status, 200);
  WebhookRequest request = Request("POST", kPath, SleepBody("s2"));
  request.headers.emplace_back(
      "X-Terra-Signature",
      SignatureVerifier::Sign(kSecret, absl::ToUnixSeconds(absl::Now()), request.body));
  EXPECT_EQ(Answer(std::move(request)).status, 200);
  EXPECT_EQ(store_->CurrentRevision(), 2u);
}

// ---- 401 rows ------------------------------------------------------------------------

TEST_F(WebhookHandlerTest, MissingSignatureIs401AndStoresNothing) {
  ExpectError(Answer(Request("POST", kPath, SleepBody("s1"))), 401, "missing_signature",
              "missing");
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, MalformedSignatureIs401) {
  WebhookRequest request = Request("POST", kPath, SleepBody("s1"));
  request.headers.emplace_back("terra-signature", "not a signature");
  ExpectError(Answer(std::move(request)), 401, "malformed_signature", "malformed");
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, WrongSecretOrTamperedBodyIs401) {
  ExpectError(Answer(Signed(SleepBody("s1"), "some-other-secret")), 401, "signature_mismatch",
              "signature");
  WebhookRequest tampered = Signed(SleepBody("s1"));
  tampered.body = SleepBody("s2");
  ExpectError(Answer(std::move(tampered)), 401, "signature_mismatch", "signature");
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, TimestampOutsideTheWindowIs401) {
  ExpectError(Answer(Signed(SleepBody("s1"), kSecret, absl::Now() - absl::Hours(48))), 401,
              "expired_signature", "signature timestamp");
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

// ---- 400 rows ------------------------------------------------------------------------

TEST_F(WebhookHandlerTest, UnusableEnvelopesAre400WithWhatAndWhereAndStoreNothing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"type=sleep&user=1", "not valid JSON"},
      {"[1,2]", "object"},
      {R"({"user":{"user_id":"u"},"data":[]})", "type"},
      {R"({"type":"sleep","user":{"user_id":"u"},"data":{}})", "data"},
      {R"({"type":"sleep","user":{"user_id":"u"},"data":[{"metadata":{}}]})", "summary_id"},
      {R"({"type":"sleep","data":[{"metadata":{"summary_id":"s"}}]})", "user_id"},
  };
  for (const auto& [body, error] : cases) {
    const HttpReply reply = Answer(Signed(body));
    EXPECT_EQ(reply.status, 400) << body << " -> " << reply.body;
    EXPECT_EQ(reply.reason, "invalid_envelope") << body;
    EXPECT_THAT(reply.body, HasSubstr(error)) << body;
  }
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, InvalidRecordAmongValidOnesStoresNothingFromThatRequest) {
  const std::string body =
      R"({"type":"sleep","user":{"user_id":"u"},"data":[)"
      R"({"metadata":{"summary_id":"ok-1","start_time":"2026-07-01T23:00:00Z"}},{"metadata":{}}]})";
  EXPECT_EQ(Answer(Signed(body)).status, 400);
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

// ---- 413, 405, 404 -------------------------------------------------------------------

TEST_F(WebhookHandlerTest, BodyOverTheLimitIs413AndStoresNothing) {
  WebhookHandler::Options options = HandlerOptions();
  options.max_body_bytes = 100;
  Start(std::move(options));
  const std::string body = SleepBody("a-summary-id-that-makes-the-body-long");
  ASSERT_GT(body.size(), 100u);
  ExpectError(Answer(Signed(body)), 413, "body_too_large", "larger than 100 bytes");
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, WrongMethodOnTheWebhookPathIs405AllowPost) {
  const HttpReply reply = Answer(Request("GET", kPath));
  ExpectError(reply, 405, "method_not_allowed", "POST");
  EXPECT_EQ(reply.allow, "POST");
}

TEST_F(WebhookHandlerTest, WrongMethodOnAProbeIs405AllowGet) {
  const HttpReply reply = Answer(Request("POST", "/healthz"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.allow, "GET");
  EXPECT_EQ(reply.kind, ReplyKind::kProbe);
}

TEST_F(WebhookHandlerTest, UnknownPathIs404) {
  const HttpReply reply = Answer(Request("POST", "/webhooks/other"));
  ExpectError(reply, 404, "not_found", "not found");
  EXPECT_EQ(reply.kind, ReplyKind::kOther);
}

TEST_F(WebhookHandlerTest, QueryStringOnTheWebhookPathIsIgnored) {
  WebhookRequest request = Signed(SleepBody("s1"));
  request.target = absl::StrCat(kPath, "?source=terra");
  EXPECT_EQ(Answer(std::move(request)).status, 200);
}

// ---- 503 rows ------------------------------------------------------------------------

TEST_F(WebhookHandlerTest, FailedCommitIs503RetryAfterAndNothingHalfWritten) {
  ASSERT_EQ(Answer(Signed(SleepBody("s1"))).status, 200);
  file_system_->fail_wal_writes = true;
  const HttpReply reply = Answer(Signed(SleepBody("s2")));
  ExpectError(reply, 503, "store_unavailable", "store unavailable, retry later");
  EXPECT_TRUE(reply.retry_after);
  // Internal details go to the log line only.
  EXPECT_THAT(reply.log_detail, HasSubstr("injected"));
  EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("injected")));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(ChangeLog().size(), 1u);
}

TEST_F(WebhookHandlerTest, WebhookPastItsDeadlineBeforeTheCommitStartsIs503AndNotStored) {
  WebhookRequest request = Signed(SleepBody("s1"));
  request.received_at = absl::Now() - absl::Seconds(6);  // deadline 5 s: already gone
  const HttpReply reply = Answer(std::move(request));
  ExpectError(reply, 503, "store_deadline_exceeded", "retry later");
  EXPECT_TRUE(reply.retry_after);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

// A body over inline_body_bytes goes to the worker pool.
std::string LargeSleepBody(absl::string_view summary_id) {
  std::string body = SleepBody(std::string(summary_id));
  body.insert(body.size() - 3, absl::StrCat(R"(,"padding":")", std::string(300 << 10, 'x'), "\""));
  return body;
}

TEST_F(WebhookHandlerTest, LargeWebhookIsConvertedOnAWorkerAndStored) {
  const HttpReply reply = Answer(Signed(LargeSleepBody("big-1")));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookHandlerTest, LargeWebhookThatWaitedForAWorkerPastItsDeadlineIs503AndNotStored) {
  WebhookRequest request = Signed(LargeSleepBody("big-1"));
  request.received_at = absl::Now() - absl::Seconds(6);
  ExpectError(Answer(std::move(request)), 503, "store_deadline_exceeded", "retry later");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(store_->CurrentRevision(), 0u);
}

TEST_F(WebhookHandlerTest, FullWorkerQueueIsAFast503AndNotStored) {
  WebhookHandler::Options options = HandlerOptions();
  options.worker_queue_limit = 0;
  Start(std::move(options));
  const HttpReply reply = Answer(Signed(LargeSleepBody("big-1")));
  ExpectError(reply, 503, "workers_busy", "retry later");
  EXPECT_TRUE(reply.retry_after);
  // Small webhooks do not need a worker.
  EXPECT_EQ(Answer(Signed(SleepBody("small-1"))).status, 200);
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

TEST_F(WebhookHandlerTest, CommitThatStartedIsAnsweredWithItsOutcomeEvenPastTheDeadline) {
  WebhookHandler::Options options = HandlerOptions();
  options.ingest_deadline = absl::Milliseconds(300);
  Start(std::move(options));
  file_system_->stall_wal_syncs = true;
  std::thread unstall([this] {
    absl::SleepFor(absl::Seconds(1));
    file_system_->stall_wal_syncs = false;
  });
  const HttpReply reply = Answer(Signed(SleepBody("s1")));
  unstall.join();
  // Not a 503 for a record that is stored: the answer is the commit's.
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(store_->CurrentRevision(), 1u);
}

// The other side of the deadline: a webhook handed to the store in time but
// queued behind a stalled commit until past its deadline is refused when its
// commit would start (EventStore::CommitGate), so its 503 is the whole truth
// and it is not stored once the disk comes back.
TEST_F(WebhookHandlerTest, AWebhookQueuedBehindAStalledCommitPastItsDeadlineIs503AndNeverStored) {
  WebhookHandler::Options options = HandlerOptions();
  options.ingest_deadline = absl::Milliseconds(300);
  Start(std::move(options));
  file_system_->stall_wal_syncs = true;
  absl::Notification first_answered;
  HttpReply first;
  handler_->Handle(Signed(SleepBody("s1")), [&](HttpReply reply) {
    first = std::move(reply);
    first_answered.Notify();
  });
  absl::SleepFor(absl::Milliseconds(100));  // s1's commit is stalled in the writer
  absl::Notification second_answered;
  HttpReply second;
  handler_->Handle(Signed(SleepBody("s2")), [&](HttpReply reply) {
    second = std::move(reply);
    second_answered.Notify();
  });
  absl::SleepFor(absl::Milliseconds(1500));  // well past s2's deadline
  file_system_->stall_wal_syncs = false;
  ASSERT_TRUE(first_answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(second_answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(first.status, 200) << first.body;  // its commit had started
  ExpectError(second, 503, "store_deadline_exceeded", "retry later");
  EXPECT_THAT(second.log_detail, HasSubstr("after the ingest deadline"));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  const std::vector<v1::Event> log = ChangeLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].record_key(), "s1");
  EXPECT_EQ(store_->GetStats().refused_late, 1u);
}

TEST_F(WebhookHandlerTest, ReadyzIs503WhileACommitIsStuckAndOkAfterIt) {
  file_system_->stall_wal_syncs = true;
  absl::Notification committed;
  handler_->Handle(Signed(SleepBody("s1")), [&](HttpReply) { committed.Notify(); });
  absl::SleepFor(absl::Seconds(4));  // past LocalIngestor::kStuckCommitAfter (3 s)
  const HttpReply stuck = Answer(Request("GET", "/readyz"));
  EXPECT_EQ(stuck.status, 503);
  EXPECT_THAT(stuck.body, HasSubstr("has not finished"));
  file_system_->stall_wal_syncs = false;
  ASSERT_TRUE(committed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(Answer(Request("GET", "/readyz")).status, 200);
}


TEST(WebhookHandlerRemoteStoreTest, UnreachableStoreIs503RetryAfterAndReadyzIs503) {
  // The split deployment's ingestor, with no store listening.
  std::unique_ptr<RemoteIngestor> remote =
      *RemoteIngestor::Create(absl::StrCat("127.0.0.1:", UnusedLoopbackPort()));
  RemoteIngestor& ingestor = *remote;
  absl::StatusOr<std::shared_ptr<WebhookHandler>> handler =
      WebhookHandler::Create(HandlerOptions(), &ingestor);
  ASSERT_TRUE(handler.ok()) << handler.status();
  const HttpReply reply = Answer(**handler, Signed(SleepBody("s1")));
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_TRUE(reply.retry_after);
  EXPECT_TRUE(reply.reason == "store_unavailable" || reply.reason == "store_deadline_exceeded")
      << reply.reason;
  EXPECT_THAT(reply.body, HasSubstr("store unavailable, retry later"));

  const HttpReply ready = Answer(**handler, Request("GET", "/readyz"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.reason, "not_ready");
  EXPECT_EQ(ready.kind, ReplyKind::kProbe);
}

// ---- probes --------------------------------------------------------------------------

TEST_F(WebhookHandlerTest, HealthzIs200AndAProbeNotAWebhook) {
  const HttpReply reply = Answer(Request("GET", "/healthz"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"status":"ok"})");
  EXPECT_EQ(reply.kind, ReplyKind::kProbe);
  EXPECT_EQ(reply.endpoint, "healthz");
}

TEST_F(WebhookHandlerTest, ReadyzIs200UntilDrainingThen503) {
  EXPECT_EQ(Answer(Request("GET", "/readyz")).status, 200);
  handler_->StartDraining();
  ExpectError(Answer(Request("GET", "/readyz")), 503, "not_ready", "shutting down");
}

TEST_F(WebhookHandlerTest, MetricsAreThePrometheusTextOfEventsAndRevision) {
  ASSERT_EQ(Answer(Signed(SleepBody("s1"))).status, 200);
  const HttpReply reply = Answer(Request("GET", "/metrics"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.content_type, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(reply.body, HasSubstr("healthwire_events_total{type=\"sleep\",outcome=\"stored\"} 1"));
  EXPECT_THAT(reply.body, HasSubstr("healthwire_store_revision 1"));
}

// ---- options -------------------------------------------------------------------------

TEST(WebhookHandlerCreateTest, BadOptionsAreInvalidArgument) {
  // The split deployment's ingestor, with no store listening.
  std::unique_ptr<RemoteIngestor> remote =
      *RemoteIngestor::Create(absl::StrCat("127.0.0.1:", UnusedLoopbackPort()));
  RemoteIngestor& ingestor = *remote;
  WebhookHandler::Options no_secret = HandlerOptions();
  no_secret.signing_secrets.clear();
  EXPECT_EQ(WebhookHandler::Create(no_secret, &ingestor).status().code(),
            absl::StatusCode::kInvalidArgument);
  WebhookHandler::Options zero_deadline = HandlerOptions();
  zero_deadline.ingest_deadline = absl::ZeroDuration();
  EXPECT_EQ(WebhookHandler::Create(zero_deadline, &ingestor).status().code(),
            absl::StatusCode::kInvalidArgument);
  WebhookHandler::Options bad_path = HandlerOptions();
  bad_path.webhook_path = "webhooks";
  EXPECT_EQ(WebhookHandler::Create(bad_path, &ingestor).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WebhookHandler::Create(HandlerOptions(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthwire
