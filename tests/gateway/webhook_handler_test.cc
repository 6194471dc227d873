// WebhookHandler without a socket: every row of README's webhook status table
// (and the probe endpoints), decided by the handler over real parts: a real
// EventStore in a temp folder behind LocalIngestor; for the 503 rows a real
// RemoteIngestor pointed at a closed port, and stores whose RocksDB file
// system fails or stalls WAL writes. The HTTP wiring is proven by
// webhook_gateway_test and the end-to-end tests.
#include "server/webhook_handler.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
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
#include "server/local_ingestor.h"
#include "server/remote_ingestor.h"
#include "server/signature_verifier.h"
#include "storage/event_store.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;

constexpr char kSecret[] = "handler-test-secret";
constexpr char kOtherSecret[] = "second-environment-secret";
constexpr char kPath[] = "/webhooks/terra";

std::string SleepBody(absl::string_view summary_id, absl::string_view user_id = "user-1") {
  return absl::StrCat(
      R"({"type":"sleep","version":"2022-03-16",)", R"("user":{"user_id":")", user_id,
      R"(","provider":"OURA","reference_id":"patient-1"},)",
      R"("data":[{"metadata":{"summary_id":")", summary_id,
      R"(","start_time":"2026-07-01T23:12:30.000000+02:00",)",
      R"("end_time":"2026-07-02T07:03:00.000000+02:00"}}]})");
}

constexpr char kHealthcheckBody[] =
    R"({"type":"healthcheck","status":"success",)"
    R"("creation_timestamp":"2026-07-01T12:00:00.000000+00:00"})";

constexpr char kUnknownTypeBody[] =
    R"({"type":"glucose_alert","version":"2027-01-01",)"
    R"("user":{"user_id":"user-2","provider":"DEXCOM"},"alert":{"level":"urgent_low"}})";

// An activity whose energy_kilojoules does not fit the typed schema.
constexpr char kDriftedActivityBody[] =
    R"({"type":"activity","version":"2022-03-16","user":{"user_id":"user-3","provider":"GARMIN"},)"
    R"("data":[{"metadata":{"summary_id":"a-1","type":8,"start_time":"2026-07-01T07:00:00.000000+00:00"},)"
    R"("energy_data":{"energy_kilojoules":"n/a"}}]})";

WebhookRequest Request(std::string method, std::string target, std::string body = "") {
  WebhookRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  request.received_at = absl::Now();
  return request;
}

// A fresh folder under TEST_TMPDIR.
std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(base != nullptr ? base : "/tmp", "/webhook_handler_XXXXXX");
  EXPECT_NE(mkdtemp(path.data()), nullptr);
  return path;
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

// A file system whose WAL writes fail, or stall, while told to: the way to
// see what a failed or slow commit answers.
class FaultyWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyWalFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultyWalFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
    if (status.ok() && absl::EndsWith(name, ".log")) {
      *file = std::make_unique<FaultyFile>(std::move(*file), this);
    }
    return status;
  }

  std::atomic<bool> fail_wal_writes{false};
  std::atomic<bool> stall_wal_syncs{false};

 private:
  class FaultyFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultyWalFileSystem* fs)
        : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* debug) override {
      if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
      return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
      if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      // Stalls a bounded time: long enough to pass any test deadline.
      for (int i = 0; i < 100 && fs_->stall_wal_syncs; ++i) absl::SleepFor(absl::Milliseconds(50));
      return FSWritableFileOwnerWrapper::Sync(options, debug);
    }

   private:
    FaultyWalFileSystem* const fs_;
  };
};

// A real store in a temp folder (on a faulty file system) behind a
// LocalIngestor, and the handler in front of them.
class WebhookHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(HandlerOptions()); }

  void Start(WebhookHandler::Options options) {
    handler_.reset();
    ingestor_.reset();
    store_.reset();
    EventStore::Options store_options;
    store_options.path = MakeTempDir();
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
  std::string older_body = SleepBody("s1", "user-1");
  older_body.replace(older_body.find("patient-1"), 9, "patient-9");
  WebhookRequest older = Signed(older_body);
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

TEST_F(WebhookHandlerTest, CommitNotDoneWithinTheIngestDeadlineIs503) {
  WebhookHandler::Options options = HandlerOptions();
  options.ingest_deadline = absl::Milliseconds(300);
  Start(std::move(options));
  file_system_->stall_wal_syncs = true;
  const absl::Time start = absl::Now();
  const HttpReply reply = Answer(Signed(SleepBody("s1")));
  ExpectError(reply, 503, "store_deadline_exceeded", "retry later");
  EXPECT_TRUE(reply.retry_after);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // answered at the deadline, not the stall
}

// The split deployment's ingestor, with no store listening.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);  // nobody listens there now
  return ntohs(address.sin_port);
}

TEST(WebhookHandlerRemoteStoreTest, UnreachableStoreIs503RetryAfterAndReadyzIs503) {
  RemoteIngestor ingestor(absl::StrCat("127.0.0.1:", ClosedPort()));
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

TEST_F(WebhookHandlerTest, HealthzIs200) {
  const HttpReply reply = Answer(Request("GET", "/healthz"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"status":"ok"})");
  EXPECT_EQ(reply.kind, ReplyKind::kProbe);
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
  RemoteIngestor ingestor(absl::StrCat("127.0.0.1:", ClosedPort()));
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
