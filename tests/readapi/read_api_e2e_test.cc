// The HTTP/JSON read API and the operator's log lines, against the real
// //server:healthwire (and the split binaries) on loopback with free ports:
// queries over curl-like HTTP on the read API's own port (never the webhook
// port), server-sent events resumed with Last-Event-ID, the connection cap,
// and the log: an access line per webhook with its fields, warnings for
// unknown types and schema drift, subscriber connect/disconnect, and
// --log_format=json lines that parse as JSON.
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/util/http_test_client.h"
#include "tests/util/polling.h"
#include "tests/util/server_process.h"
#include "tests/util/status_table_bodies.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::HttpResponse;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::kDriftedActivityBody;
using ::healthwire::testing::kUnknownTypeBody;
using ::healthwire::testing::PollUntil;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::SleepBody;
using ::healthwire::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBinary[] = "server/healthwire";
constexpr char kSecret[] = "read-api-e2e-secret";

class ReadApiE2eTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data_dir=" + data_dir_.path(), "--http_port=0",
                                      "--grpc_port=0", absl::StrCat("--signing_secret=", kSecret)};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(kBinary, args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  int read_api_port() const { return std::stoi(server_->ReadyValue("read_api_port")); }

  HttpTestClient Webhooks() {
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    options.timeout = absl::Seconds(30);
    return HttpTestClient(server_->http_port(), options);
  }

  HttpTestClient Reader(absl::Duration timeout = absl::Seconds(30)) {
    HttpTestClient::Options options;
    options.timeout = timeout;
    return HttpTestClient(read_api_port(), options);
  }

  void Post(const std::string& body, const std::string& trace_id = "") {
    HttpTestClient client = Webhooks();
    testing::HttpHeaders headers;
    if (!trace_id.empty()) headers.emplace_back("X-Terra-Trace-Id", trace_id);
    const HttpResponse response = client.PostSigned(body, headers);
    ASSERT_EQ(response.status, 200) << response;
  }

  // What a stream sends within `within` (it never ends by itself).
  std::string ReadStream(const std::string& target, testing::HttpHeaders headers = {},
                         absl::Duration within = absl::Seconds(3)) {
    HttpTestClient client = Reader();
    EXPECT_TRUE(client.connected()) << client.connect_error();
    EXPECT_TRUE(client.WriteRequestHead("GET", target, headers).ok());
    bool closed = false;
    return client.ReadUntilClosed(within, &closed);
  }

  // Waits for a log line containing every one of `parts`; returns it.
  std::string AwaitLogLine(const std::vector<std::string>& parts) {
    std::string found;
    PollUntil([&] {
      for (absl::string_view line : absl::StrSplit(server_->Stderr(), '\n')) {
        bool all = true;
        for (const std::string& part : parts) all = all && absl::StrContains(line, part);
        if (all) {
          found = std::string(line);
          return true;
        }
      }
      return false;
    });
    return found;
  }

  TempDir data_dir_{"read-api-e2e"};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ReadApiE2eTest, ReadApiAnswersOnItsOwnPortAndNeverOnTheWebhookPort) {
  Start({"--read_api_port=0"});
  ASSERT_GT(read_api_port(), 0);
  ASSERT_NE(read_api_port(), server_->http_port());
  Post(SleepBody("s-1", "user-1"));

  HttpTestClient reader = Reader();
  HttpResponse latest = reader.Get("/v1/users/user-1/latest/sleep");
  ASSERT_EQ(latest.status, 200) << latest;
  EXPECT_EQ(latest.header("content-type"), "application/json");
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(latest.body, &parsed).ok()) << latest;
  EXPECT_EQ(parsed.fields().at("event").struct_value().fields().at("record_key").string_value(),
            "s-1");
  EXPECT_TRUE(latest.keep_alive);
  // The same connection, kept alive: list and user.
  EXPECT_EQ(reader.Get("/v1/users/user-1/records/sleep?page_size=10").status, 200);
  EXPECT_EQ(reader.Get("/v1/users/-?reference_id=patient-1").status, 200);
  const HttpResponse missing = reader.Get("/v1/users/nobody/latest/sleep");
  EXPECT_EQ(missing.status, 404) << missing;
  EXPECT_THAT(missing.body, HasSubstr("\"status\":\"NOT_FOUND\""));
  EXPECT_EQ(reader.Get("/v1/users/user-1/latest/banana").status, 400);

  // The webhook port (internet-facing) does not serve reads.
  HttpTestClient webhooks = Webhooks();
  EXPECT_EQ(webhooks.Get("/v1/users/user-1/latest/sleep").status, 404);
  const HttpResponse metrics = webhooks.Get("/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("healthwire_read_api_requests_total{code=\"2xx\"} "));
  EXPECT_THAT(metrics.body, HasSubstr("healthwire_read_api_max_connections 64"));
  EXPECT_THAT(server_->Stderr(), HasSubstr(absl::StrCat("read_api=http://127.0.0.1:",
                                                        read_api_port())));
}

TEST_F(ReadApiE2eTest, SplitGatewayReadsFromItsRemoteStoreAndTheStoreServesItToo) {
  TempDir store_dir("read-api-split-store");
  absl::StatusOr<std::unique_ptr<ServerProcess>> store = ServerProcess::Start(
      "server/healthwire_store",
      {"--data_dir=" + store_dir.path(), "--grpc_port=0", "--read_api_port=0"});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway = ServerProcess::Start(
      "server/healthwire_gateway",
      {"--data_dir=" + data_dir_.path(), "--http_port=0", "--read_api_port=0",
       "--store=" + (*store)->grpc_target(), absl::StrCat("--signing_secret=", kSecret)});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  server_ = *std::move(gateway);
  Post(SleepBody("s-1", "user-1"));
  // Through the gateway's read API (gRPC to the store) ...
  HttpResponse via_gateway = Reader().Get("/v1/users/user-1/latest/sleep");
  EXPECT_EQ(via_gateway.status, 200) << via_gateway;
  EXPECT_THAT(via_gateway.body, HasSubstr("\"record_key\":\"s-1\""));
  // ... and the store's own (in-process), with its metrics on that port.
  HttpTestClient on_store(std::stoi((*store)->ReadyValue("read_api_port")));
  EXPECT_EQ(on_store.Get("/v1/users/user-1/latest/sleep").body, via_gateway.body);
  EXPECT_THAT(on_store.Get("/metrics").body,
              HasSubstr("healthwire_read_api_requests_total{code=\"2xx\"} 1"));
}

TEST_F(ReadApiE2eTest, ReadApiIsOffUnlessAPortIsGiven) {
  Start();
  EXPECT_EQ(server_->ReadyValue("read_api_port"), "0");
  EXPECT_THAT(server_->Stderr(), Not(HasSubstr("read_api=")));
}

TEST_F(ReadApiE2eTest, ServerSentEventsCarryRevisionIdsAndResumeWithLastEventId) {
  Start({"--read_api_port=0", "--read_api_heartbeat=500ms"});
  Post(SleepBody("s-1", "user-1"));
  Post(SleepBody("s-2", "user-1"));
  const std::string all = ReadStream("/v1/updates?from_revision=1&types=sleep");
  EXPECT_THAT(all, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(all, HasSubstr("Content-Type: text/event-stream"));
  EXPECT_THAT(all, HasSubstr("event: update\nid: 1\ndata: {"));
  EXPECT_THAT(all, HasSubstr("event: update\nid: 2\ndata: {"));
  EXPECT_THAT(all, HasSubstr("event: progress\nid: 2\n"));  // the heartbeat

  // What an EventSource sends when it reconnects: exactly what followed.
  const std::string resumed =
      ReadStream("/v1/updates?from_revision=1&types=sleep", {{"Last-Event-ID", "1"}});
  EXPECT_THAT(resumed, Not(HasSubstr("id: 1\n")));
  EXPECT_THAT(resumed, HasSubstr("event: update\nid: 2\n"));

  // NDJSON: one JSON object per line.
  const std::string ndjson = ReadStream("/v1/updates?from_revision=2&format=ndjson");
  const size_t body = ndjson.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << ndjson;
  const std::string first_line = ndjson.substr(body + 4, ndjson.find('\n', body + 4) - body - 4);
  google::protobuf::Struct line;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(first_line, &line).ok()) << first_line;
  EXPECT_EQ(line.fields().at("update").struct_value().fields().at("revision").string_value(), "2");

  // Another timeline: a clear 409 instead of a silent skip.
  HttpTestClient reader = Reader();
  const HttpResponse other =
      reader.Get("/v1/updates?from_revision=1&timeline=0123456789abcdef0123456789abcdef");
  EXPECT_EQ(other.status, 409) << other;
  EXPECT_THAT(other.body, HasSubstr("re-sync"));
}

TEST_F(ReadApiE2eTest, ConnectionsOverTheCapAre503AndStreamsEndOnShutdown) {
  Start({"--read_api_port=0", "--read_api_max_connections=2", "--read_api_heartbeat=200ms"});
  HttpTestClient stream_a = Reader(), stream_b = Reader();
  ASSERT_TRUE(stream_a.WriteRequestHead("GET", "/v1/updates", {}).ok());
  ASSERT_TRUE(stream_b.WriteRequestHead("GET", "/v1/updates", {}).ok());
  EXPECT_THAT(stream_a.ReadRawHead(), HasSubstr("200 OK"));
  EXPECT_THAT(stream_b.ReadRawHead(), HasSubstr("200 OK"));
  HttpTestClient third = Reader();
  const HttpResponse refused = third.Get("/v1/users/user-1");
  EXPECT_EQ(refused.status, 503) << refused;
  HttpTestClient webhooks = Webhooks();
  EXPECT_THAT(webhooks.Get("/metrics").body,
              HasSubstr("healthwire_read_api_connections_refused_total 1"));
  EXPECT_THAT(webhooks.Get("/metrics").body, HasSubstr("healthwire_read_api_streams 2"));
  // SIGTERM ends open streams (clients resume with Last-Event-ID) and exits 0.
  absl::StatusOr<int> code = server_->Stop(SIGTERM);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << server_->Stderr();
  bool closed = false;
  stream_a.ReadUntilClosed(absl::Seconds(5), &closed);
  EXPECT_TRUE(closed);
}

TEST_F(ReadApiE2eTest, BadReadApiAndLogFlagsAreRefusedWithOneLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--read_api_port=70000", "--read_api_port=70000 is not a TCP port"},
      {"--read_api_address=nowhere", "--read_api_address=nowhere is not an IP address"},
      {"--read_api_max_connections=0", "--read_api_max_connections must be at least 1"},
      {"--log_format=xml", "--log_format=xml: must be text or json"},
      {"--log_level=chatty", "--log_level=chatty: must be debug, info, warning or error"},
  };
  for (const auto& [flag, message] : cases) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
        kBinary, {"--data_dir=" + data_dir_.path(), "--http_port=0", "--grpc_port=0",
                  "--read_api_port=0", absl::StrCat("--signing_secret=", kSecret), flag},
        absl::Seconds(20));
    ASSERT_FALSE(server.ok()) << flag << " was accepted";
    EXPECT_THAT(std::string(server.status().message()),
                HasSubstr(absl::StrCat("healthwire: cannot start: ", message)))
        << flag;
  }
}

// ---- logs ----------------------------------------------------------------------------

TEST_F(ReadApiE2eTest, EveryWebhookHasOneAccessLineWithItsFieldsAndNoHealthData) {
  // A short heartbeat: a stream notices its client left at its next writes.
  Start({"--read_api_port=0", "--read_api_heartbeat=200ms"});
  const std::string body =
      SleepWebhookBuilder("user-7", "s-7").ReferenceId("patient-7").SleepScore(73.625).Json();
  Post(body, "trace-e2e-1");
  std::string line = AwaitLogLine({"webhook", "trace_id=trace-e2e-1"});
  ASSERT_FALSE(line.empty()) << server_->Stderr();
  const std::regex expected(absl::StrCat(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info webhook status=200 reason=ok type=sleep )",
      R"(user=user-7 events=1 stored=1 identical=0 stale=0 schema_problems=0 revision=1 )",
      R"(trace_id=trace-e2e-1 bytes=)", body.size(), R"( ms=\d+\.\d{3} remote=127\.0\.0\.1:\d+$)"));
  EXPECT_TRUE(std::regex_search(line, expected)) << line;

  // A re-delivery is a 200 too, and its line says identical.
  Post(body, "trace-e2e-2");
  line = AwaitLogLine({"webhook", "trace_id=trace-e2e-2"});
  EXPECT_THAT(line, HasSubstr("stored=0 identical=1 stale=0 schema_problems=0 revision=1"));

  // Refusals get their line too, with the reason (and never the body).
  HttpTestClient client = Webhooks();
  EXPECT_EQ(client.Post(body, {{"X-Terra-Trace-Id", "trace-e2e-unsigned"}}).status, 401);
  line = AwaitLogLine({"webhook", "trace_id=trace-e2e-unsigned"});
  EXPECT_THAT(line, HasSubstr(" warning webhook status=401 reason=missing_signature"));

  // Unknown types and schema drift are warnings naming type, user and the
  // field paths.
  Post(kUnknownTypeBody, "trace-e2e-unknown");
  line = AwaitLogLine({"warning", "unknown type", "trace_id=trace-e2e-unknown"});
  EXPECT_THAT(line, HasSubstr("type=glucose_alert user=user-2"));
  Post(kDriftedActivityBody, "trace-e2e-drift");
  line = AwaitLogLine({"warning", "typed schema", "trace_id=trace-e2e-drift"});
  EXPECT_THAT(line, HasSubstr("type=activity user=user-3 events_with_problems=1"));
  EXPECT_THAT(line, HasSubstr("field_paths=energy_data.energy_kilojoules"));
  EXPECT_THAT(AwaitLogLine({"webhook", "trace_id=trace-e2e-drift"}),
              HasSubstr("schema_problems=1"));

  // A subscriber's connect and disconnect, with its filters.
  ReadStream("/v1/updates?from_revision=1&types=sleep&user_ids=user-7", {},
             absl::Milliseconds(500));
  EXPECT_THAT(AwaitLogLine({"subscriber connected"}),
              HasSubstr("types=EVENT_TYPE_SLEEP user_ids=user-7 reference_ids=\"\" "
                        "start_revision=1"));
  EXPECT_FALSE(AwaitLogLine({"subscriber disconnected", "messages_sent="}).empty())
      << server_->Stderr();

  // Health data never reaches the log: the sleep score (a payload value) is
  // nowhere, nor the unknown event's payload.
  const std::string log = server_->Stderr();
  EXPECT_THAT(log, Not(HasSubstr("73.625")));
  EXPECT_THAT(log, Not(HasSubstr("urgent_low")));
  // Every line starts with its UTC time and level.
  for (absl::string_view l : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(std::regex_search(std::string(l),
                                  std::regex(R"(^\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info|warning|error) )")))
        << l;
  }
}

TEST_F(ReadApiE2eTest, JsonLogLinesParseAsJsonWithTheAccessFields) {
  Start({"--log_format=json"});
  Post(SleepBody("s-1", "user-1"), "trace-json-1");
  ASSERT_FALSE(AwaitLogLine({"\"msg\":\"webhook\"", "trace-json-1"}).empty()) << server_->Stderr();
  int lines = 0;
  bool saw_access = false, saw_ready = false;
  for (absl::string_view l : absl::StrSplit(server_->Stderr(), '\n', absl::SkipEmpty())) {
    ++lines;
    google::protobuf::Struct parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(l), &parsed).ok()) << l;
    const auto& f = parsed.fields();
    EXPECT_TRUE(std::regex_match(f.at("time").string_value(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
        << l;
    EXPECT_FALSE(f.at("level").string_value().empty()) << l;
    if (absl::StartsWith(f.at("msg").string_value(), "healthwire ready:")) saw_ready = true;
    if (f.at("msg").string_value() != "webhook") continue;
    saw_access = true;
    EXPECT_EQ(f.at("level").string_value(), "info");
    EXPECT_EQ(f.at("status").number_value(), 200);
    EXPECT_EQ(f.at("type").string_value(), "sleep");
    EXPECT_EQ(f.at("user").string_value(), "user-1");
    EXPECT_EQ(f.at("stored").number_value(), 1);
    EXPECT_EQ(f.at("identical").number_value(), 0);
    EXPECT_EQ(f.at("stale").number_value(), 0);
    EXPECT_EQ(f.at("revision").number_value(), 1);
    EXPECT_EQ(f.at("trace_id").string_value(), "trace-json-1");
    EXPECT_GT(f.at("bytes").number_value(), 100);
    EXPECT_GE(f.at("ms").number_value(), 0);
  }
  EXPECT_TRUE(saw_access);
  EXPECT_TRUE(saw_ready);
  EXPECT_GE(lines, 2);
}

}  // namespace
}  // namespace healthwire
