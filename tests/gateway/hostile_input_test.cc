// Hostile input, end to end: the real //server:healthwire binary on loopback,
// fed the corpus in tests/hostile/ (cases.tsv: body, signature mode, expected
// status and response text) plus HTTP-level abuse (slow senders, lying
// Content-Length, oversize chunked bodies, malformed requests).
//
// After every case:
// - the answer has the documented status and message (webhook_gateway.h);
// - the store revision (read over gRPC) is unchanged after a 4xx, and grew by
//   exactly the "stored" count after a 200;
// - every data record a 200 accepted is readable over gRPC with its exact raw
//   JSON and the same conversion problems the converter reports (schema drift
//   is kept raw and flagged);
// - GET /healthz still answers 200.
// The last test checks that a valid webhook is still stored.
//
// The server runs with --max_body_mb=8 (the oversize cases) and
// --ingest_deadline=60s (so the 100,000-record case measures the converter and
// store, not a 5 s timer on a slow, sanitized CI machine).
#include <signal.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/convert/record_key.h"
#include "server/convert/terra_converter.h"
#include "server/webhook/signature_verifier.h"
#include "tests/util/deployment.h"
#include "tests/util/http_test_client.h"
#include "tests/util/store_reads.h"
#include "tests/util/test_files.h"
#include "tests/util/text_scrapers.h"

namespace healthwire {
namespace {

using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::HttpHeaders;
using ::healthwire::testing::HttpResponse;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::JsonInteger;
using ::healthwire::testing::ReadTestFile;
using ::healthwire::testing::StatusOfRawAnswer;
constexpr char kSecret[] = "hostile-test-secret-0f3a";
constexpr char kWebhookPath[] = "/webhooks/terra";
constexpr uint64_t kMaxBodyBytes = 8ull << 20;  // --max_body_mb=8
// The gateway's default io timeout (WebhookGateway::Options::io_timeout; no
// flag sets it): a stalled sender is cut after this.
constexpr absl::Duration kServerIoTimeout = absl::Seconds(30);

// ---------------------------------------------------------------------------
// The corpus.

struct HostileCase {
  std::string name;
  int status = 0;
  std::string sig;
  std::string body_source;  // "file" or "gen:<generator>"
  std::string expect;       // substring of the answer; empty for none
};

std::vector<HostileCase> LoadCases() {
  std::vector<HostileCase> cases;
  std::istringstream lines(ReadTestFile("tests/hostile/cases.tsv"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> columns = absl::StrSplit(line, '\t');
    EXPECT_EQ(columns.size(), 5u) << line;
    if (columns.size() != 5) continue;
    HostileCase c;
    c.name = columns[0];
    EXPECT_TRUE(absl::SimpleAtoi(columns[1], &c.status)) << line;
    c.sig = columns[2];
    c.body_source = columns[3];
    c.expect = columns[4] == "-" ? "" : columns[4];
    cases.push_back(std::move(c));
  }
  return cases;
}

constexpr char kUserJson[] =
    R"({"user_id":"hostile-gen","provider":"GARMIN","reference_id":"hostile-ref"})";

std::string ActivityWith(absl::string_view record_extra, absl::string_view name_json = "\"Run\"",
                         absl::string_view user_json = kUserJson,
                         absl::string_view summary_id = "gen-1") {
  return absl::StrCat(R"({"type":"activity","version":"2022-03-16","user":)", user_json,
                      R"(,"data":[{"metadata":{"summary_id":")", summary_id,
                      R"(","name":)", name_json,
                      R"(,"type":8,"start_time":"2026-07-01T07:04:11.000000+01:00"})",
                      record_extra, "}]}");
}

std::string Nested(int depth, char open, char close, absl::string_view inner) {
  std::string s(depth, open);
  s += std::string(inner);
  s += std::string(depth, close);
  return s;
}

std::string ManyRecords(int count, absl::string_view last_record) {
  std::string body = absl::StrCat(R"({"type":"activity","user":)", kUserJson, R"(,"data":[)");
  for (int i = 0; i < count; ++i) {
    if (i > 0) body += ',';
    if (i + 1 == count && !last_record.empty()) {
      body += std::string(last_record);
    } else {
      absl::StrAppend(&body, R"({"metadata":{"summary_id":"t)", i, R"("}})");
    }
  }
  body += "]}";
  return body;
}

// An activity exactly `size` bytes long (padding in an unknown member).
std::string PaddedActivity(size_t size) {
  const std::string base = ActivityWith(R"(,"padding":"")", "\"Run\"", kUserJson, "gen-padded");
  std::string body = ActivityWith(
      absl::StrCat(R"(,"padding":")", std::string(size - base.size(), 'p'), "\""), "\"Run\"",
      kUserJson, "gen-padded");
  EXPECT_EQ(body.size(), size);
  return body;
}

std::string GeneratedBody(absl::string_view generator) {
  if (generator == "nested_arrays_10000") return Nested(10000, '[', ']', "");
  if (generator == "nested_objects_10000_in_record") {
    std::string deep;
    for (int i = 0; i < 10000; ++i) deep += R"({"a":)";
    deep += "1" + std::string(10000, '}');
    return ActivityWith(absl::StrCat(R"(,"deep":)", deep));
  }
  if (generator == "nested_arrays_900_unknown_field") {
    return ActivityWith(absl::StrCat(R"(,"deep_unknown":)", Nested(900, '[', ']', "1")));
  }
  if (generator == "nested_arrays_900_in_metadata_name") {
    return ActivityWith("", Nested(900, '[', ']', "\"Run\""), kUserJson, "gen-deep-name");
  }
  if (generator == "tiny_records_100000") return ManyRecords(100000, "");
  if (generator == "tiny_records_100000_last_bad") {
    return ManyRecords(100000, R"({"metadata":{}})");
  }
  if (generator == "empty_records_100000") {
    std::string body = absl::StrCat(R"({"type":"activity","user":)", kUserJson, R"(,"data":[{})");
    for (int i = 1; i < 100000; ++i) body += ",{}";
    return body + "]}";
  }
  if (generator == "padded_activity_8mib") return PaddedActivity(kMaxBodyBytes);
  if (generator == "padded_activity_8mib_plus_1") return PaddedActivity(kMaxBodyBytes + 1);
  if (generator == "padded_activity_20mib") return PaddedActivity(20u << 20);
  if (generator == "user_id_1mib") {
    return ActivityWith(
        "", "\"Run\"",
        absl::StrCat(R"({"user_id":")", std::string(1 << 20, 'u'), R"(","provider":"GARMIN"})"),
        "gen-long-user");
  }
  ADD_FAILURE() << "unknown generator " << generator;
  return "";
}

std::string BodyOf(const HostileCase& c) {
  if (c.body_source == "file") return ReadTestFile(absl::StrCat("tests/hostile/", c.name, ".body"));
  if (absl::StartsWith(c.body_source, "gen:")) return GeneratedBody(c.body_source.substr(4));
  ADD_FAILURE() << "bad body source " << c.body_source;
  return "";
}

// ---------------------------------------------------------------------------
// Signature modes.

using Headers = HttpHeaders;

// The hex part of a header made by Sign().
std::string HexOf(const std::string& header) {
  return header.substr(header.find("v1=") + 3);
}

Headers SignatureHeaders(absl::string_view mode, const std::string& body) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string valid = SignatureVerifier::Sign(kSecret, now, body);
  const std::string hex = HexOf(valid);
  const std::string t = absl::StrCat("t=", now);
  auto primary = [](std::string value) { return Headers{{"terra-signature", std::move(value)}}; };

  if (mode == "valid") return primary(valid);
  if (mode == "none") return {};
  if (mode == "empty") return primary("");
  if (mode == "whitespace") return primary("   \t ");
  if (mode == "wrong_secret") return primary(SignatureVerifier::Sign("not-the-secret", now, body));
  if (mode == "expired") return primary(SignatureVerifier::Sign(kSecret, now - 48 * 3600, body));
  if (mode == "future") return primary(SignatureVerifier::Sign(kSecret, now + 48 * 3600, body));
  if (mode == "garbled") {
    std::string garbled = valid;
    garbled.back() = garbled.back() == '0' ? '1' : '0';
    return primary(garbled);
  }
  if (mode == "other_t") return primary(absl::StrCat("t=", now + 1, ",v1=", hex));
  if (mode == "other_body") return primary(SignatureVerifier::Sign(kSecret, now, body + " "));
  if (mode == "reserialized_body") {
    return primary(SignatureVerifier::Sign(
        kSecret, now, absl::StrReplaceAll(body, {{": ", ":"}, {", ", ","}})));
  }
  if (mode == "short_v1") return primary(absl::StrCat(t, ",v1=", hex.substr(1)));
  if (mode == "not_hex") {
    std::string bad = hex;
    bad[10] = 'g';
    return primary(absl::StrCat(t, ",v1=", bad));
  }
  if (mode == "no_t") return primary(absl::StrCat("v1=", hex));
  if (mode == "no_v1") return primary(t);
  if (mode == "v0_only") return primary(absl::StrCat(t, ",v0=", hex));
  if (mode == "t_not_number") return primary(absl::StrCat("t=abc,v1=", hex));
  if (mode == "t_negative") return primary(absl::StrCat("t=-5,v1=", hex));
  if (mode == "t_huge") return primary(absl::StrCat("t=1234567890123456789,v1=", hex));
  if (mode == "two_t") return primary(absl::StrCat(t, ",", t, ",v1=", hex));
  if (mode == "no_equals") return primary(absl::StrCat(t, ",v1", hex));
  if (mode == "garbage") return primary("hello world");
  if (mode == "binary") return primary("t=\xff\xfe\x80,v1=\xc3\xa9\xe2\x82\xac");
  if (mode == "bad_primary_good_alternate") {
    return {{"terra-signature", SignatureVerifier::Sign("not-the-secret", now, body)},
            {"X-Terra-Signature", valid}};
  }
  if (mode == "huge_header") {
    std::string header = valid;
    for (int i = 0; i < 300; ++i) absl::StrAppend(&header, ",v1=", std::string(64, '0'));
    return primary(header);
  }
  if (mode == "uppercase") return primary(absl::StrCat(t, ",v1=", absl::AsciiStrToUpper(hex)));
  if (mode == "extra_parts") {
    return primary(absl::StrCat("v0=abc,v1=", std::string(64, 'f'), ",", valid, ",v2=zz,"));
  }
  if (mode == "spaced") return primary(absl::StrCat(" t = ", now, " ,  v1 = ", hex, " , "));
  if (mode == "alternate_header") return {{"X-Terra-Signature", valid}};
  if (mode == "many_v1") {
    std::string header = t;
    for (int i = 0; i < 49; ++i) absl::StrAppend(&header, ",v1=", std::string(64, 'a' + i % 6));
    absl::StrAppend(&header, ",v1=", hex);
    return primary(header);
  }
  ADD_FAILURE() << "unknown signature mode " << mode;
  return {};
}

// ---------------------------------------------------------------------------
// HTTP.

// A client on a fresh connection with generous timeouts (the server closes
// after some errors; the 100,000-record cases take a while under sanitizers).
HttpTestClient FreshConnection(int port, absl::Duration timeout = absl::Seconds(120)) {
  HttpTestClient::Options options;
  options.timeout = timeout;
  return HttpTestClient(port, options);
}

// One request on a fresh connection, always with Content-Type: application/json.
HttpResponse Request(int port, absl::string_view method, const std::string& target,
                     std::string body, const Headers& headers = {},
                     absl::Duration timeout = absl::Seconds(120)) {
  Headers all = {{"Content-Type", "application/json"}};
  all.insert(all.end(), headers.begin(), headers.end());
  return FreshConnection(port, timeout).Send(method, target, std::move(body), all);
}

// ---------------------------------------------------------------------------
// The fixture: one server for all tests (they run in order, sequentially).

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    deployment_ = new Deployment(DeploymentMode::kEmbedded);
    absl::Status started = deployment_->Start(
        {absl::StrCat("--signing_secret=", kSecret), "--max_body_mb=8", "--ingest_deadline=60s"});
    ASSERT_TRUE(started.ok()) << started;
    server_ = deployment_->store();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      absl::StatusOr<int> exit_code = server_->Stop(SIGTERM);
      EXPECT_TRUE(exit_code.ok()) << exit_code.status();
      if (exit_code.ok()) {
        EXPECT_EQ(*exit_code, 0) << server_->Stderr();
      }
    }
    server_ = nullptr;
    delete deployment_;
    deployment_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static int port() { return server_->http_port(); }

  // The store revision, read over gRPC.
  static uint64_t Revision() { return testing::StoreRevision(deployment_->stub()); }

  // The stored latest version of (user, type, key).
  static std::optional<v1::Event> StoredRecord(const std::string& user_id, v1::EventType type,
                                               const std::string& record_key) {
    return testing::FindStored(deployment_->stub(), user_id, type, record_key);
  }

  static void ExpectHealthy() {
    HttpResponse health = Request(port(), "GET", "/healthz", "", {}, absl::Seconds(30));
    EXPECT_EQ(health.status, 200) << health.error << "\nserver stderr tail:\n"
                                  << StderrTail();
  }

  static std::string StderrTail() {
    const std::string all = server_->Stderr();
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

  static HttpResponse PostValid(const std::string& body) {
    return Request(port(), "POST", kWebhookPath, body, SignatureHeaders("valid", body));
  }

  static Deployment* deployment_;
  static testing::ServerProcess* server_;  // the deployment's one process
};

Deployment* HostileInputTest::deployment_ = nullptr;
testing::ServerProcess* HostileInputTest::server_ = nullptr;

TEST_F(HostileInputTest, CorpusHasEnoughCases) {
  EXPECT_GE(LoadCases().size(), 100u);
}

TEST_F(HostileInputTest, EveryCaseGetsItsDocumentedAnswerAndTheServerStaysUp) {
  const std::vector<HostileCase> cases = LoadCases();
  ASSERT_FALSE(cases.empty());
  int passed = 0;
  for (const HostileCase& c : cases) {
    SCOPED_TRACE(c.name);
    const ::testing::TestResult* result =
        ::testing::UnitTest::GetInstance()->current_test_info()->result();
    const int parts_before = result->total_part_count();

    const std::string body = BodyOf(c);
    const uint64_t revision_before = Revision();
    const absl::Time start = absl::Now();
    const HttpResponse answer =
        Request(port(), "POST", kWebhookPath, body, SignatureHeaders(c.sig, body));
    const absl::Duration took = absl::Now() - start;
    if (took > absl::Seconds(2)) {
      std::printf("hostile: %s took %s (%zu bytes)\n", c.name.c_str(),
                  absl::FormatDuration(took).c_str(), body.size());
    }

    EXPECT_EQ(answer.status, c.status) << "answer: " << answer.body.substr(0, 500)
                                       << " error: " << answer.error;
    if (answer.status != 0) {
      EXPECT_TRUE(absl::StrContains(answer.body, "\"status\":")) << answer.body.substr(0, 500);
    }
    if (!c.expect.empty()) {
      EXPECT_TRUE(absl::StrContains(answer.body, c.expect))
          << "expected \"" << c.expect << "\" in: " << answer.body.substr(0, 500);
    }

    const uint64_t revision_after = Revision();
    if (answer.status >= 400 || answer.status == 0) {
      EXPECT_EQ(revision_after, revision_before) << "a refused request changed the store";
    } else if (answer.status == 200) {
      const int64_t stored = JsonInteger(answer.body, "stored");
      EXPECT_GE(stored, 0) << answer.body;
      EXPECT_EQ(revision_after, revision_before + static_cast<uint64_t>(stored)) << answer.body;
      EXPECT_EQ(JsonInteger(answer.body, "revision"), static_cast<int64_t>(revision_after));

      // What the server kept matches what the converter makes of the body:
      // exact raw bytes and the same problems (schema drift flagged).
      DeliveryContext context;
      absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
      EXPECT_TRUE(converted.ok()) << converted.status();
      if (!converted.ok()) continue;
      EXPECT_EQ(JsonInteger(answer.body, "events"), static_cast<int64_t>(converted->events.size()));
      EXPECT_EQ(JsonInteger(answer.body, "schema_problems"), converted->events_with_problems);
      if (converted->events.size() <= 10) {
        for (const v1::Event& expected : converted->events) {
          if (!IsDataRecordType(expected.type())) continue;
          std::optional<v1::Event> stored_event =
              StoredRecord(expected.user().user_id(), expected.type(), expected.record_key());
          EXPECT_TRUE(stored_event.has_value()) << "record " << expected.record_key()
                                                << " of " << expected.user().user_id().substr(0, 40)
                                                << " not readable over gRPC";
          if (!stored_event.has_value()) continue;
          EXPECT_EQ(stored_event->raw_json(), expected.raw_json());
          EXPECT_EQ(stored_event->conversion_problems_size(),
                    expected.conversion_problems_size());
          EXPECT_GT(stored_event->revision(), 0u);
        }
      }
    }

    ExpectHealthy();
    // Keep going: every case is reported, not just the first failure.
    if (result->total_part_count() == parts_before) {
      ++passed;
    } else {
      std::printf("hostile: FAILED %s\n", c.name.c_str());
    }
  }
  std::printf("hostile: %d of %zu cases passed\n", passed, cases.size());
}

TEST_F(HostileInputTest, StalledBodyDoesNotBlockOthersAndIsCutByTheIoTimeout) {
  const uint64_t revision_before = Revision();
  const std::string body = ActivityWith("", "\"Stalled\"", kUserJson, "stalled-1");
  HttpTestClient stalled = FreshConnection(port());
  ASSERT_TRUE(
      stalled
          .WriteRaw(absl::StrCat(
              "POST ", kWebhookPath, " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
              "terra-signature: ", SignatureHeaders("valid", body)[0].second, "\r\n",
              "Content-Length: ", body.size(), "\r\n\r\n", body.substr(0, body.size() / 2)))
          .ok());

  // Meanwhile everybody else is served.
  ExpectHealthy();
  const HttpResponse other = PostValid(ActivityWith("", "\"Other\"", kUserJson, "while-stalled"));
  EXPECT_EQ(other.status, 200) << other.body << other.error;
  EXPECT_EQ(Revision(), revision_before + 1);

  // The stalled connection is closed (no answer) once the io timeout passes.
  bool closed = false;
  const absl::Time start = absl::Now();
  const std::string answer =
      stalled.ReadUntilClosed(kServerIoTimeout + absl::Seconds(15), &closed);
  EXPECT_TRUE(closed) << "still open after " << absl::FormatDuration(absl::Now() - start);
  EXPECT_EQ(answer, "");
  EXPECT_EQ(Revision(), revision_before + 1) << "the half-sent body was stored";
  ExpectHealthy();
}

TEST_F(HostileInputTest, ManyStalledConnectionsDoNotStopService) {
  std::vector<std::unique_ptr<HttpTestClient>> stalled;
  for (int i = 0; i < 64; ++i) {
    stalled.push_back(std::make_unique<HttpTestClient>(FreshConnection(port())));
    // Half a request line, or headers without their end.
    (void)stalled.back()->WriteRaw(i % 2 == 0
                                       ? "POST /webhooks/te"
                                       : "POST /webhooks/terra HTTP/1.1\r\nHost: x\r\nContent-Le");
  }
  ExpectHealthy();
  const HttpResponse answer = PostValid(ActivityWith("", "\"Busy\"", kUserJson, "many-stalled"));
  EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
}

TEST_F(HostileInputTest, TrickledBodyIsStillAccepted) {
  const std::string body = ActivityWith("", "\"Trickle\"", kUserJson, "trickled-1");
  HttpTestClient slow = FreshConnection(port());
  ASSERT_TRUE(
      slow.WriteRaw(absl::StrCat("POST ", kWebhookPath,
                                 " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                 "terra-signature: ", SignatureHeaders("valid", body)[0].second,
                                 "\r\nContent-Length: ", body.size(), "\r\n\r\n"))
          .ok());
  for (size_t at = 0; at < body.size(); at += 16) {
    ASSERT_TRUE(slow.WriteRaw(body.substr(at, 16)).ok());
    absl::SleepFor(absl::Milliseconds(50));
  }
  bool closed = false;
  const std::string answer = slow.ReadUntilClosed(absl::Seconds(30), &closed);
  EXPECT_EQ(StatusOfRawAnswer(answer), 200) << answer;
  ExpectHealthy();
}

TEST_F(HostileInputTest, HugeContentLengthIsRefusedUpFront) {
  const uint64_t revision_before = Revision();
  HttpTestClient connection = FreshConnection(port());
  ASSERT_TRUE(connection
                  .WriteRaw(absl::StrCat("POST ", kWebhookPath,
                                         " HTTP/1.1\r\nHost: x\r\nterra-signature: t=1,v1=00\r\n"
                                         "Content-Length: 999999999999\r\n\r\n{\"type\":"))
                  .ok());
  bool closed = false;
  const std::string answer = connection.ReadUntilClosed(absl::Seconds(20), &closed);
  EXPECT_EQ(StatusOfRawAnswer(answer), 413) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "request body larger than 8388608 bytes")) << answer;
  EXPECT_EQ(Revision(), revision_before);
  ExpectHealthy();
}

TEST_F(HostileInputTest, OversizeChunkedBodyIsRefused) {
  const uint64_t revision_before = Revision();
  HttpTestClient connection = FreshConnection(port());
  ASSERT_TRUE(connection
                  .WriteRaw(absl::StrCat("POST ", kWebhookPath,
                                         " HTTP/1.1\r\nHost: x\r\nterra-signature: t=1,v1=00\r\n"
                                         "Transfer-Encoding: chunked\r\n\r\n"))
                  .ok());
  const std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 10; ++i) {
    if (!connection.WriteRaw(absl::StrCat("100000\r\n", chunk, "\r\n")).ok()) break;  // cut: fine
  }
  bool closed = false;
  const std::string answer = connection.ReadUntilClosed(absl::Seconds(20), &closed);
  EXPECT_EQ(StatusOfRawAnswer(answer), 413) << answer.substr(0, 300);
  EXPECT_EQ(Revision(), revision_before);
  ExpectHealthy();
}

TEST_F(HostileInputTest, BodyShorterThanContentLengthThenCloseStoresNothing) {
  const uint64_t revision_before = Revision();
  const std::string body = ActivityWith("", "\"Short\"", kUserJson, "short-1");
  {
    HttpTestClient connection = FreshConnection(port());
    ASSERT_TRUE(connection
                    .WriteRaw(absl::StrCat(
                        "POST ", kWebhookPath, " HTTP/1.1\r\nHost: x\r\nterra-signature: ",
                        SignatureHeaders("valid", body)[0].second,
                        "\r\nContent-Length: ", body.size() + 100, "\r\n\r\n", body))
                    .ok());
  }  // closed by us, mid-body
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Revision(), revision_before);
  ExpectHealthy();
}

TEST_F(HostileInputTest, MalformedHttpGetsA400) {
  for (const char* request : {"GARBAGE\r\n\r\n", "POST /webhooks/terra HTTP/9.9\r\n\r\n",
                              "POST /webhooks/terra HTTP/1.1\r\nBad Header\r\n\r\n",
                              "POST /webhooks/terra HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                              "POST /webhooks/terra HTTP/1.1\r\nContent-Length: 5\r\n"
                              "Content-Length: 6\r\n\r\nhello!"}) {
    SCOPED_TRACE(request);
    HttpTestClient connection = FreshConnection(port());
    ASSERT_TRUE(connection.WriteRaw(request).ok());
    bool closed = false;
    const std::string answer = connection.ReadUntilClosed(absl::Seconds(20), &closed);
    EXPECT_EQ(StatusOfRawAnswer(answer), 400) << answer;
    EXPECT_TRUE(absl::StrContains(answer, "malformed HTTP request")) << answer;
  }
  ExpectHealthy();
}

TEST_F(HostileInputTest, WrongMethodAndPath) {
  const HttpResponse get = Request(port(), "GET", kWebhookPath, "");
  EXPECT_EQ(get.status, 405);
  const HttpResponse put = Request(port(), "PUT", kWebhookPath, "{}");
  EXPECT_EQ(put.status, 405);
  const HttpResponse other = Request(port(), "POST", "/webhooks/terra/../../etc/passwd", "{}");
  EXPECT_EQ(other.status, 404);
  const HttpResponse health_post = Request(port(), "POST", "/healthz", "{}");
  EXPECT_EQ(health_post.status, 405);
  ExpectHealthy();
}

// Runs last (tests run in the order they are defined).
TEST_F(HostileInputTest, ZzAValidWebhookIsStillStoredAtTheEnd) {
  const uint64_t revision_before = Revision();
  const std::string body = ActivityWith("", "\"Final\"", kUserJson, "final-1");
  const HttpResponse answer = PostValid(body);
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  EXPECT_TRUE(absl::StrContains(answer.body, "\"stored\":1")) << answer.body;
  EXPECT_EQ(Revision(), revision_before + 1);
  std::optional<v1::Event> stored =
      StoredRecord("hostile-gen", v1::EVENT_TYPE_ACTIVITY, "final-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(absl::StrContains(stored->raw_json(), "\"Final\""));
  ExpectHealthy();
}

}  // namespace
}  // namespace healthwire
