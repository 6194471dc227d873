// The gateway's limits against the real binaries on loopback (issue 10's
// HTTP and process rows), each bounded in time:
// - framing: a Transfer-Encoding not ending in chunked is 400 + close and
//   nothing is stored (the corpus in tests/gateway/http_attacks/);
// - file descriptors: under a low RLIMIT_NOFILE, more HTTP connections than
//   the cap leave gRPC serving, and a webhook gets in after they close;
// - slow senders: the whole-header deadline and the minimum body rate cut
//   tricklers while a legitimate webhook is answered promptly;
// - memory: the request buffer budget bounds peak RSS (VmHWM) under many
//   large unsigned bodies, and one large signed webhook stays within 3x;
// - large webhooks convert on workers: small ones keep flowing, a large one
//   is 200 or 503, and a 503 one is never stored;
// - probes are not webhooks in the metrics;
// - split mode: /readyz follows a SIGSTOPped store;
// - bad flags: refused at start with one clear line.
// The long versions (the issue's full numbers) are for a benchmark run by
// hand, not for CI.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/process_util.h"
#include "server/webhook/signature_verifier.h"
#include "storage/id_limits.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using testing::ServerProcess;

constexpr char kSecret[] = "limits-test-secret";
constexpr char kPath[] = "/webhooks/terra";

std::string SleepBody(absl::string_view user_id, absl::string_view summary_id,
                      size_t padding_bytes = 0) {
  return absl::StrCat(
      R"({"type":"sleep","version":"2022-03-16","user":{"user_id":")", user_id,
      R"(","provider":"OURA"},"data":[{"metadata":{"summary_id":")", summary_id,
      R"(","start_time":"2026-07-01T23:12:30.000000+02:00","end_time":"2026-07-02T07:03:00.000000+02:00"})",
      padding_bytes > 0 ? absl::StrCat(R"(,"padding":")", std::string(padding_bytes, 'x'), "\"")
                        : std::string(),
      "}]}");
}

std::string SignedRequest(const std::string& body, bool keep_alive = false) {
  return absl::StrCat(
      "POST ", kPath, " HTTP/1.1\r\nHost: healthwire\r\nContent-Type: application/json\r\n",
      "terra-signature: ", SignatureVerifier::Sign(kSecret, absl::ToUnixSeconds(absl::Now()), body),
      "\r\nContent-Length: ", body.size(), "\r\n", keep_alive ? "" : "Connection: close\r\n",
      "\r\n", body);
}

std::string Get(absl::string_view path) {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: healthwire\r\nConnection: close\r\n\r\n");
}

// A blocking loopback TCP connection with timeouts on every call.
class Connection {
 public:
  explicit Connection(int port, absl::Duration timeout = absl::Seconds(10)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv = absl::ToTimeval(timeout);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return fd_ >= 0; }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Everything until the peer closes or a read times out.
  std::string ReadUntilClosed() {
    std::string out;
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        return out;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
  }

  // One response (header + Content-Length body); "" on timeout/close first.
  std::string ReadResponse() {
    std::string out;
    char buffer[64 * 1024];
    for (;;) {
      const size_t header_end = out.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        size_t length = 0;
        const size_t at = out.find("Content-Length: ");
        if (at != std::string::npos && at < header_end) {
          (void)absl::SimpleAtoi(out.substr(at + 16, out.find("\r\n", at) - at - 16), &length);
        }
        if (out.size() >= header_end + 4 + length) return out.substr(0, header_end + 4 + length);
      }
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
  }

  // True when the peer has closed (a read returns EOF or reset within 5 s).
  bool PeerClosed() {
    timeval tv = absl::ToTimeval(absl::Seconds(5));
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    const ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

int StatusOf(absl::string_view response) {
  int status = 0;
  if (response.size() >= 12 && absl::StartsWith(response, "HTTP/1.1 ")) {
    (void)absl::SimpleAtoi(response.substr(9, 3), &status);
  }
  return status;
}

std::string Exchange(int port, const std::string& request) {
  Connection connection(port);
  if (!connection.ok() || !connection.Send(request)) return "";
  return connection.ReadResponse();
}

int Post(int port, const std::string& body) { return StatusOf(Exchange(port, SignedRequest(body))); }

std::string Metrics(int port) { return Exchange(port, Get("/metrics")); }

// The value of one un-labelled or fully-labelled series in Prometheus text.
double MetricValue(const std::string& text, absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series) && line.size() > series.size() &&
        line[series.size()] == ' ') {
      double value = 0;
      (void)absl::SimpleAtod(line.substr(series.size() + 1), &value);
      return value;
    }
  }
  return -1;
}

uint64_t StoreRevision(int port) {
  return static_cast<uint64_t>(MetricValue(Metrics(port), "healthwire_store_revision"));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A fresh data folder that lives as long as the test binary: the servers a
// test starts write into it until they are stopped at the test's end.
std::string DataDir(absl::string_view prefix) {
  static auto* folders = new std::vector<std::unique_ptr<testing::TempDir>>();
  folders->push_back(std::make_unique<testing::TempDir>(prefix));
  return folders->back()->path();
}

std::vector<std::string> BaseArgs(const std::string& data_dir) {
  return {"--data_dir=" + data_dir, "--http_port=0", "--grpc_port=0",
          absl::StrCat("--signing_secret=", kSecret)};
}

std::unique_ptr<ServerProcess> StartEmbedded(std::vector<std::string> extra = {},
                                             const std::string& launcher = "",
                                             std::vector<std::string> launcher_args = {}) {
  std::vector<std::string> args = BaseArgs(DataDir("limits"));
  args.insert(args.end(), extra.begin(), extra.end());
  std::string binary = "server/healthwire";
  if (!launcher.empty()) {
    launcher_args.push_back(binary);
    args.insert(args.begin(), launcher_args.begin(), launcher_args.end());
    binary = launcher;
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(binary, args);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::unique_ptr<v1::EventStore::Stub> StoreStub(const ServerProcess& server) {
  return v1::EventStore::NewStub(
      grpc::CreateChannel(server.grpc_target(), grpc::InsecureChannelCredentials()));
}

// OK / NOT_FOUND: the gRPC service answered.
grpc::Status GetLatestSleep(v1::EventStore::Stub& stub, const std::string& user_id,
                            v1::GetLatestResponse* response = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(user_id);
  request.set_type(v1::EVENT_TYPE_SLEEP);
  request.set_omit_raw_json(true);
  v1::GetLatestResponse ignored;
  return stub.GetLatest(&context, request, response != nullptr ? response : &ignored);
}

// Raises this test's own soft fd limit: it opens hundreds of connections.
void RaiseOwnFdLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// ---- framing ---------------------------------------------------------------------------

TEST(GatewayLimitsTest, TransferEncodingNotEndingInChunkedIs400ClosesAndStoresNothing) {
  std::unique_ptr<ServerProcess> server = StartEmbedded();
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator("tests/gateway/http_attacks")) {
    if (entry.path().extension() != ".http") continue;
    ++cases;
    const std::string attack = absl::StrReplaceAll(
        ReadFile(entry.path().string()),
        {{"{SIGNED_WEBHOOK_REQUEST}",
          SignedRequest(SleepBody("smuggled", entry.path().stem().string()), true)}});
    Connection connection(port);
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(connection.Send(attack));
    const std::string answer = connection.ReadUntilClosed();
    EXPECT_EQ(StatusOf(answer), 400) << entry.path() << ": " << answer;
    EXPECT_TRUE(absl::StrContains(answer, "Transfer-Encoding")) << answer;
    // One answer only: the inner request was not parsed as a second one.
    EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << answer;
    EXPECT_TRUE(connection.closed()) << entry.path();
  }
  EXPECT_GE(cases, 4);
  EXPECT_EQ(StoreRevision(port), 0u);
  auto stub = StoreStub(*server);
  EXPECT_EQ(GetLatestSleep(*stub, "smuggled").error_code(), grpc::StatusCode::NOT_FOUND);
  // Chunked itself is fine.
  const std::string body = SleepBody("chunked-user", "c-1");
  const std::string chunked = absl::StrCat(
      "POST ", kPath, " HTTP/1.1\r\nHost: h\r\nConnection: close\r\nterra-signature: ",
      SignatureVerifier::Sign(kSecret, absl::ToUnixSeconds(absl::Now()), body),
      "\r\nTransfer-Encoding: chunked\r\n\r\n", absl::StrFormat("%x", body.size()), "\r\n", body,
      "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(Exchange(port, chunked)), 200);
}

// ---- file descriptors ------------------------------------------------------------------

TEST(GatewayLimitsTest, HttpConnectionsBeyondTheCapCannotStarveGrpcUnderALowFdLimit) {
  RaiseOwnFdLimit();
  // Hard limit 512 for the server: the cap is 512 - 256 = 256. Eviction off:
  // this test is about the refusal when no connection may be closed.
  std::unique_ptr<ServerProcess> server =
      StartEmbedded({"--http_evict_at_cap=false"}, "/usr/bin/prlimit", {"--nofile=512:512"});
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(absl::StrContains(server->Stderr(), "http_max_connections=256 (RLIMIT_NOFILE 512)"))
      << server->Stderr();
  const int port = server->http_port();

  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 600; ++i) {
    auto connection = std::make_unique<Connection>(port, absl::Seconds(5));
    if (connection->ok()) held.push_back(std::move(connection));
  }
  ASSERT_GE(held.size(), 300u);
  // The last ones were over the cap: 503 and closed.
  const std::string refused = held.back()->ReadUntilClosed();
  EXPECT_EQ(StatusOf(refused), 503) << refused;
  EXPECT_TRUE(absl::StrContains(refused, "Retry-After: 5"));

  // gRPC still accepts and answers while HTTP is at its cap.
  auto stub = StoreStub(*server);
  EXPECT_EQ(GetLatestSleep(*stub, "nobody").error_code(), grpc::StatusCode::NOT_FOUND);

  held.clear();
  // Once they closed, a webhook gets in (the server notices the closes).
  int status = 0;
  for (absl::Time give_up = absl::Now() + absl::Seconds(15); absl::Now() < give_up;) {
    status = Post(port, SleepBody("after-flood", "s-1"));
    if (status == 200) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(GetLatestSleep(*stub, "after-flood").ok());
  EXPECT_GT(MetricValue(Metrics(port), "healthwire_http_connections_refused_total"), 0);
}

// The issue's row: 1,100 tricklers at a 1,024 fd limit held every slot of
// the cap for the 20 s body grace, and legitimate webhooks got 503 at accept.
// With eviction at the cap a newcomer closes the slowest trickler instead.
TEST(GatewayLimitsTest, TricklersFillingTheCapAreEvictedSoLegitimateWebhooksGet200) {
  RaiseOwnFdLimit();
  // Cap 256 (fd limit 512); the body grace and header timeout are long, so
  // only eviction can make room while the tricklers trickle.
  std::unique_ptr<ServerProcess> server = StartEmbedded(
      {"--http_body_grace=60s", "--http_header_timeout=60s"}, "/usr/bin/prlimit",
      {"--nofile=512:512"});
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  // Every slot of the cap: first 10 header tricklers (half a request line),
  // then 246 body tricklers (a header declaring 10,000 bytes, then one byte).
  constexpr int kHeaderTricklers = 10;
  std::vector<std::unique_ptr<Connection>> tricklers;
  for (int i = 0; i < 256; ++i) {
    auto connection = std::make_unique<Connection>(port);
    ASSERT_TRUE(connection->ok());
    ASSERT_TRUE(connection->Send(
        i < kHeaderTricklers
            ? std::string("POST /webhooks/ter")
            : absl::StrCat("POST ", kPath, " HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n{")));
    tricklers.push_back(std::move(connection));
  }
  absl::SleepFor(absl::Milliseconds(1500));  // older than the eviction minimum age (1 s)

  // Legitimate webhooks on fresh keep-alive connections that stay open, so
  // each one needs a slot of its own: every one is 200 and stored.
  constexpr int kLegit = 30;
  std::vector<std::unique_ptr<Connection>> legit;
  int ok = 0;
  for (int i = 0; i < kLegit; ++i) {
    auto connection = std::make_unique<Connection>(port);
    ASSERT_TRUE(connection->ok());
    ASSERT_TRUE(connection->Send(
        SignedRequest(SleepBody("legit-at-cap", absl::StrCat("s-", i)), /*keep_alive=*/true)));
    const std::string answer = connection->ReadResponse();
    ok += StatusOf(answer) == 200;
    EXPECT_EQ(StatusOf(answer), 200) << answer;
    legit.push_back(std::move(connection));
  }
  EXPECT_EQ(ok, kLegit);
  legit.clear();
  const std::string metrics = Metrics(port);
  EXPECT_EQ(MetricValue(metrics, "healthwire_store_revision"), kLegit);
  // The oldest header waits went first, then the slowest bodies (a held
  // legitimate connection idle for over a second may be chosen too).
  const double header_evictions =
      MetricValue(metrics, "healthwire_http_evictions_total{phase=\"header\"}");
  const double body_evictions =
      MetricValue(metrics, "healthwire_http_evictions_total{phase=\"body\"}");
  EXPECT_GE(header_evictions, kHeaderTricklers) << metrics;
  EXPECT_GE(header_evictions + body_evictions, kLegit) << metrics;
  EXPECT_GE(body_evictions, 1) << metrics;
  EXPECT_EQ(MetricValue(metrics, "healthwire_http_connections_refused_total"), 0) << metrics;
  for (int i = 0; i < kHeaderTricklers; ++i) EXPECT_TRUE(tricklers[i]->PeerClosed()) << i;
}

// ---- slow senders ----------------------------------------------------------------------

TEST(GatewayLimitsTest, TricklersAreCutByDeadlinesWhileALegitimateWebhookGets200Promptly) {
  RaiseOwnFdLimit();
  std::unique_ptr<ServerProcess> server = StartEmbedded(
      {"--http_header_timeout=3s", "--http_body_grace=2s", "--http_body_min_rate=500"});
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();

  // Body tricklers: a header declaring 10,000 bytes, then one byte now and then.
  std::vector<std::unique_ptr<Connection>> body_tricklers;
  for (int i = 0; i < 200; ++i) {
    auto connection = std::make_unique<Connection>(port);
    ASSERT_TRUE(connection->ok());
    ASSERT_TRUE(connection->Send(absl::StrCat("POST ", kPath,
                                              " HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n"
                                              "\r\n{")));
    body_tricklers.push_back(std::move(connection));
  }
  // A header trickler: one header byte every 300 ms, never finishing.
  Connection header_trickler(port);
  ASSERT_TRUE(header_trickler.Send("POST /webhooks/terra HTTP/1.1\r\n"));
  const absl::Time trickling_since = absl::Now();
  std::atomic<bool> header_cut{false};
  std::thread header_sender([&] {
    while (absl::Now() - trickling_since < absl::Seconds(10)) {
      if (!header_trickler.Send("X")) {
        header_cut = true;
        return;
      }
      absl::SleepFor(absl::Milliseconds(300));
    }
  });

  // Meanwhile a legitimate webhook is answered promptly.
  const absl::Time start = absl::Now();
  EXPECT_EQ(Post(port, SleepBody("legit", "s-1")), 200);
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(1)) << took;

  // Past the grace period, the body tricklers are cut (each sent 1 byte: far
  // below 500 bytes/s), within grace + margin.
  for (auto& connection : body_tricklers) connection->Send("x");
  absl::SleepFor(absl::Seconds(3));
  int closed = 0;
  for (auto& connection : body_tricklers) closed += connection->PeerClosed();
  EXPECT_EQ(closed, 200);
  header_sender.join();
  EXPECT_TRUE(header_cut.load()) << "the header trickler was not cut within 10 s";
  const std::string metrics = Metrics(port);
  EXPECT_GE(MetricValue(metrics, "healthwire_http_timeouts_total{phase=\"body\"}"), 200);
  EXPECT_GE(MetricValue(metrics, "healthwire_http_timeouts_total{phase=\"header\"}"), 1);
}

// ---- memory ----------------------------------------------------------------------------

TEST(GatewayLimitsTest, BufferBudgetBoundsPeakMemoryUnderManyLargeUnsignedBodies) {
  // Scaled down from the issue (50 x 60 MB, 256 MB budget): 30 x 16 MB with
  // a 64 MB budget; without the budget the bodies alone are 480 MB.
  std::unique_ptr<ServerProcess> server =
      StartEmbedded({"--max_body_mb=16", "--http_buffer_budget_mb=64"});
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  const uint64_t baseline = PeakRssBytes(server->pid());
  constexpr uint64_t kBodyBytes = 16ull << 20;
  const std::string chunk(1 << 20, 'a');

  std::atomic<int> unauthorized{0}, busy{0}, other{0};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 30; ++i) {
    attackers.emplace_back([&] {
      Connection connection(port, absl::Seconds(30));
      if (!connection.ok()) {
        ++other;
        return;
      }
      std::string response;
      std::thread reader([&] { response = connection.ReadResponse(); });
      if (connection.Send(absl::StrCat("POST ", kPath, " HTTP/1.1\r\nHost: h\r\nContent-Length: ",
                                       kBodyBytes, "\r\n\r\n"))) {
        for (uint64_t sent = 0; sent < kBodyBytes && connection.Send(chunk); sent += chunk.size()) {
        }
      }
      reader.join();
      const int status = StatusOf(response);
      if (status == 401) {
        ++unauthorized;
      } else if (status == 503 && absl::StrContains(response, "Retry-After")) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& attacker : attackers) attacker.join();
  const uint64_t peak = PeakRssBytes(server->pid());
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(unauthorized.load(), 0);
  EXPECT_EQ(unauthorized.load() + busy.load(), 30);
  std::fprintf(stderr, "buffer budget: %d x 401, %d x 503; peak RSS %llu MB (baseline %llu MB)\n",
               unauthorized.load(), busy.load(), static_cast<unsigned long long>(peak >> 20),
               static_cast<unsigned long long>(baseline >> 20));
  EXPECT_LE(peak, baseline + (64ull << 20) + (200ull << 20));
  EXPECT_EQ(MetricValue(Metrics(port), "healthwire_http_buffered_request_bytes"), 0);
}

// Issue 10's row: a large record is stored once (storage/large_values.h:
// written in 1 MiB chunks, referenced by the record and its change-log
// entry), so the process holds the body (which becomes the record's raw
// JSON) and the converter's DOM copy of it, not also the store's copies:
// attack_bench measured 2.1x at 40 MB and 2.0x at 60 MB (2026-12-03 19:02,
// -c opt, tcmalloc). Before: 4.1x at 40 MB (the SST writer's block buffer
// held a whole second copy, and tcmalloc kept the freed copies' pages).
TEST(GatewayLimitsTest, OneLargeSignedWebhookPeaksAtMostThreeTimesItsBody) {
  std::unique_ptr<ServerProcess> server = StartEmbedded({"--ingest_deadline=60s"});
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  ASSERT_EQ(Post(port, SleepBody("warm-up", "s-0")), 200);
  const uint64_t baseline = PeakRssBytes(server->pid());
  const std::string body = SleepBody("large", "s-1", 40ull << 20);
  EXPECT_EQ(Post(port, body), 200);
  const uint64_t peak = PeakRssBytes(server->pid());
  std::fprintf(stderr, "large webhook: body %zu MB, peak RSS growth %llu MB (%.1fx)\n",
               body.size() >> 20, static_cast<unsigned long long>((peak - baseline) >> 20),
               static_cast<double>(peak - baseline) / static_cast<double>(body.size()));
  EXPECT_LE(peak - baseline, 3 * body.size());
}

// ---- large webhooks on workers ---------------------------------------------------------

TEST(GatewayLimitsTest, SmallWebhooksFlowWhileLargeOnesConvertAndA503IsNeverStored) {
  std::unique_ptr<ServerProcess> server = StartEmbedded();
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  auto stub = StoreStub(*server);

  constexpr int kLarge = 4;
  std::vector<int> large_status(kLarge);
  std::vector<absl::Duration> large_took(kLarge);
  std::vector<std::thread> large;
  for (int i = 0; i < kLarge; ++i) {
    large.emplace_back([&, i] {
      const std::string body = SleepBody(absl::StrCat("large-", i), "s-1", 20ull << 20);
      const absl::Time start = absl::Now();
      large_status[i] = Post(port, body);
      large_took[i] = absl::Now() - start;
    });
  }
  std::vector<absl::Duration> small_took;
  for (int i = 0; i < 40; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_EQ(Post(port, SleepBody("small", absl::StrCat("s-", i))), 200);
    small_took.push_back(absl::Now() - start);
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (std::thread& thread : large) thread.join();
  std::sort(small_took.begin(), small_took.end());
  std::fprintf(stderr, "small webhooks during large ones: median %s, max %s\n",
               absl::FormatDuration(small_took[small_took.size() / 2]).c_str(),
               absl::FormatDuration(small_took.back()).c_str());
  // Before the worker pool the I/O threads converted the large bodies and
  // every small webhook waited seconds. Timing on a shared 2-core machine is
  // noisy (a small commit can also queue behind a large one in the store's
  // writer): the median and the 90th percentile, with wide margins.
  EXPECT_LT(small_took[small_took.size() / 2], absl::Milliseconds(250));
  EXPECT_LT(small_took[small_took.size() * 9 / 10], absl::Seconds(1));
  for (int i = 0; i < kLarge; ++i) {
    std::fprintf(stderr, "large %d: %d in %s\n", i, large_status[i],
                 absl::FormatDuration(large_took[i]).c_str());
    EXPECT_TRUE(large_status[i] == 200 || large_status[i] == 503) << large_status[i];
    EXPECT_LT(large_took[i], absl::Seconds(8));
  }
  absl::SleepFor(absl::Seconds(2));  // anything late would have landed by now
  for (int i = 0; i < kLarge; ++i) {
    const grpc::Status found = GetLatestSleep(*stub, absl::StrCat("large-", i));
    if (large_status[i] == 200) {
      EXPECT_TRUE(found.ok()) << i;
    } else {
      EXPECT_EQ(found.error_code(), grpc::StatusCode::NOT_FOUND) << "a 503 was stored: " << i;
    }
  }
}

// ---- small webhooks beside many large ones ---------------------------------------------

// The issue's row: 8 concurrent 60 MB webhooks made small ones wait 3.9 s.
// Here 6 x 30 MB valid webhooks are in flight (conversion on the worker
// pool, commits in the store's writer) while small webhooks are posted one
// after another. The bounds are generous for a shared 2-core CI machine; the
// 50 ms target is measured by tools/bench:attack_bench.
TEST(GatewayLimitsTest, SmallWebhooksAre200PromptlyWhileSixLargeOnesAreInFlight) {
  std::unique_ptr<ServerProcess> server = StartEmbedded({"--ingest_deadline=30s"});
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  constexpr int kLarge = 6;
  std::vector<int> large_status(kLarge);
  std::atomic<int> large_done{0};
  std::vector<std::thread> large;
  for (int i = 0; i < kLarge; ++i) {
    large.emplace_back([&, i] {
      const std::string body = SleepBody(absl::StrCat("large-", i), "s-1", 30ull << 20);
      large_status[i] = Post(port, body);
      ++large_done;
    });
  }
  absl::SleepFor(absl::Milliseconds(300));  // the large bodies are being sent
  std::vector<absl::Duration> small_took;
  int small_ok = 0;
  while (large_done.load() < kLarge && small_took.size() < 400) {
    const absl::Time start = absl::Now();
    small_ok += Post(port, SleepBody("small", absl::StrCat("s-", small_took.size()))) == 200;
    small_took.push_back(absl::Now() - start);
    // Short pauses: since large bodies are read 64 KiB at a time, the six
    // large ones take ~1 s in all, and 20 ms pauses left fewer than 10 samples.
    absl::SleepFor(absl::Milliseconds(5));
  }
  for (std::thread& thread : large) thread.join();
  ASSERT_GE(small_took.size(), 10u) << "the large webhooks finished before small ones could run";
  EXPECT_EQ(small_ok, static_cast<int>(small_took.size()));
  std::sort(small_took.begin(), small_took.end());
  const absl::Duration p99 = small_took[std::min(small_took.size() - 1, small_took.size() * 99 / 100)];
  std::fprintf(stderr, "%zu small webhooks beside %d x 30 MB: median %s, p99 %s, max %s\n",
               small_took.size(), kLarge,
               absl::FormatDuration(small_took[small_took.size() / 2]).c_str(),
               absl::FormatDuration(p99).c_str(), absl::FormatDuration(small_took.back()).c_str());
  // A small webhook waits for at most the one large commit in the store's
  // writer (1-3 s for 30 MB on this machine under CI load); before large
  // calls were kept out of each other's group commits it waited for all of
  // them (3.5-5.2 s measured here). The median and p90 show the common case.
  EXPECT_LT(small_took[small_took.size() / 2], absl::Milliseconds(250));
  EXPECT_LT(small_took[small_took.size() * 9 / 10], absl::Milliseconds(1500));
  EXPECT_LT(small_took.back(), absl::Seconds(5));
  for (int i = 0; i < kLarge; ++i) {
    EXPECT_TRUE(large_status[i] == 200 || large_status[i] == 503) << i << ": " << large_status[i];
  }
}

// ---- ids over the store's limit ----------------------------------------------------------

struct SplitDeployment {
  std::unique_ptr<ServerProcess> store;
  std::unique_ptr<ServerProcess> gateway;
};

SplitDeployment StartSplit(std::vector<std::string> gateway_extra = {}) {
  SplitDeployment split;
  absl::StatusOr<std::unique_ptr<ServerProcess>> store = ServerProcess::Start(
      "server/healthwire_store", {"--data_dir=" + DataDir("limits-store"), "--grpc_port=0"});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return split;
  split.store = *std::move(store);
  std::vector<std::string> args = {"--store=" + split.store->grpc_target(), "--http_port=0",
                                   absl::StrCat("--signing_secret=", kSecret),
                                   "--data_dir=" + DataDir("limits-gateway")};
  args.insert(args.end(), gateway_extra.begin(), gateway_extra.end());
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway =
      ServerProcess::Start("server/healthwire_gateway", args);
  EXPECT_TRUE(gateway.ok()) << gateway.status();
  if (gateway.ok()) split.gateway = *std::move(gateway);
  return split;
}

// Posts until the gateway's store answers (a split gateway may start before
// its channel is connected).
int PostWhenReady(int port, const std::string& body) {
  int status = 0;
  for (absl::Time give_up = absl::Now() + absl::Seconds(15); absl::Now() < give_up;) {
    status = Post(port, body);
    if (status != 503) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return status;
}

// An id the store would refuse (storage/id_limits.h) is the sender's 400 with
// a short message naming the field, in both deployments: not a 503 that Terra
// would retry for a day. An id of exactly the limit is stored.
void ExpectOverlongIdsAre400(int port, v1::EventStore::Stub& stub) {
  ASSERT_EQ(PostWhenReady(port, SleepBody("ids-user", "s-0")), 200);
  const std::string long_summary(kMaxIdBytes + 1, 's');
  const std::string long_user(kMaxIdBytes + 1, 'u');
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {SleepBody("ids-user", long_summary),
       absl::StrCat("data[0]: record key: at most ", kMaxIdBytes, " bytes")},
      {SleepBody(long_user, "s-1"), absl::StrCat("user.user_id: at most ", kMaxIdBytes, " bytes")},
  };
  for (const Case& c : cases) {
    const std::string answer = Exchange(port, SignedRequest(c.body));
    EXPECT_EQ(StatusOf(answer), 400) << answer.substr(0, 300);
    EXPECT_TRUE(absl::StrContains(answer, c.message)) << answer.substr(0, 300);
    EXPECT_TRUE(absl::StrContains(answer, absl::StrCat("(", kMaxIdBytes + 1, " bytes)")));
    EXPECT_LT(answer.size(), 1000u) << "the answer echoed the id";
  }
  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatestSleep(stub, "ids-user", &latest).ok());
  EXPECT_EQ(latest.event().record_key(), "s-0");
  EXPECT_EQ(latest.store_revision(), 1u);
  // Exactly the limit is fine.
  EXPECT_EQ(Post(port, SleepBody("ids-user", std::string(kMaxIdBytes, 's'))), 200);
}

TEST(GatewayLimitsTest, IdsOverTheStoreLimitAre400InEmbeddedMode) {
  std::unique_ptr<ServerProcess> server = StartEmbedded();
  ASSERT_NE(server, nullptr);
  auto stub = StoreStub(*server);
  ExpectOverlongIdsAre400(server->http_port(), *stub);
}

TEST(GatewayLimitsTest, IdsOverTheStoreLimitAre400InSplitMode) {
  SplitDeployment split = StartSplit();
  ASSERT_NE(split.gateway, nullptr);
  auto stub = StoreStub(*split.store);
  ExpectOverlongIdsAre400(split.gateway->http_port(), *stub);
}

// A store may take the Ingest RPC long after the gateway gave up on it
// (stopped, swapping, a stalled disk): the gateway answered 503, so the store
// must not store it then. It refuses a commit that would start after the
// absolute commit-start deadline the RPC carries (server/ingest/commit_deadline.h).
TEST(GatewayLimitsTest, SplitStoreThatWasStoppedDoesNotStoreAWebhookThatWasAnswered503) {
  SplitDeployment split = StartSplit({"--ingest_deadline=1s"});
  ASSERT_NE(split.gateway, nullptr);
  const int port = split.gateway->http_port();
  auto stub = StoreStub(*split.store);
  ASSERT_EQ(PostWhenReady(port, SleepBody("before-stop", "s-0")), 200);

  kill(split.store->pid(), SIGSTOP);
  // Every thread of the store is stopped ("T" in /proc/<pid>/stat) before the post.
  for (absl::Time give_up = absl::Now() + absl::Seconds(5); absl::Now() < give_up;) {
    const std::string stat = ReadFile(absl::StrCat("/proc/", split.store->pid(), "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T') break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  const std::string answer = Exchange(port, SignedRequest(SleepBody("while-stopped", "s-1")));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(StatusOf(answer), 503) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "Retry-After"));
  EXPECT_LT(took, absl::Seconds(5)) << took;
  absl::SleepFor(absl::Seconds(1));
  kill(split.store->pid(), SIGCONT);

  // The store reads the call now, with its relative gRPC timeout seemingly
  // fresh; the absolute deadline has long passed.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(GetLatestSleep(*stub, "while-stopped").error_code(), grpc::StatusCode::NOT_FOUND)
      << "a webhook answered 503 was stored; gateway log:\n"
      << split.gateway->Stderr() << "\nstore log:\n" << split.store->Stderr();
  EXPECT_EQ(PostWhenReady(port, SleepBody("after-stop", "s-2")), 200);
  v1::GetLatestResponse latest;
  ASSERT_TRUE(GetLatestSleep(*stub, "after-stop", &latest).ok());
  EXPECT_EQ(latest.store_revision(), 2u) << "revisions stay dense: nothing else was stored";
}

// ---- probes ----------------------------------------------------------------------------

TEST(GatewayLimitsTest, ProbesAreCountedApartFromWebhooks) {
  std::unique_ptr<ServerProcess> server = StartEmbedded();
  ASSERT_NE(server, nullptr);
  const int port = server->http_port();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(StatusOf(Exchange(port, Get("/healthz"))), 200);
    EXPECT_EQ(StatusOf(Exchange(port, Get("/readyz"))), 200);
  }
  EXPECT_EQ(StatusOf(Exchange(port, Get("/nowhere"))), 404);
  const std::string metrics = Metrics(port);
  EXPECT_FALSE(absl::StrContains(metrics, "healthwire_http_requests_total{")) << metrics;
  EXPECT_EQ(MetricValue(metrics, "healthwire_http_request_duration_seconds_count"), 0);
  EXPECT_EQ(MetricValue(metrics, "healthwire_http_probe_requests_total{endpoint=\"healthz\",code=\"200\"}"), 3);
  EXPECT_EQ(MetricValue(metrics, "healthwire_http_probe_requests_total{endpoint=\"readyz\",code=\"200\"}"), 3);
  EXPECT_EQ(MetricValue(metrics, "healthwire_http_probe_requests_total{endpoint=\"other\",code=\"404\"}"), 1);
  EXPECT_EQ(Post(port, SleepBody("u", "s-1")), 200);
  EXPECT_EQ(MetricValue(Metrics(port), "healthwire_http_requests_total{code=\"200\",reason=\"ok\"}"), 1);
}

// ---- split mode readiness --------------------------------------------------------------

TEST(GatewayLimitsTest, SplitGatewayReadyzFollowsAStoppedStore) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> store = ServerProcess::Start(
      "server/healthwire_store",
      {"--data_dir=" + DataDir("limits-store"), "--grpc_port=0"});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway = ServerProcess::Start(
      "server/healthwire_gateway",
      {"--store=" + (*store)->grpc_target(), "--http_port=0",
       absl::StrCat("--signing_secret=", kSecret),
       "--data_dir=" + DataDir("limits-gateway")});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const int port = (*gateway)->http_port();
  auto readyz = [&] { return StatusOf(Exchange(port, Get("/readyz"))); };
  auto wait_for = [&](int want) {
    for (absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
      if (readyz() == want) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };
  ASSERT_TRUE(wait_for(200));
  kill((*store)->pid(), SIGSTOP);
  const absl::Time stopped = absl::Now();
  EXPECT_TRUE(wait_for(503));
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  EXPECT_TRUE(absl::StrContains(Exchange(port, Get("/readyz")), "health check"));
  kill((*store)->pid(), SIGCONT);
  EXPECT_TRUE(wait_for(200));
}

// ---- flags -----------------------------------------------------------------------------

TEST(GatewayLimitsTest, BadFlagsAreRefusedAtStartWithOneClearLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--grpc_port=70000", "--grpc_port=70000 is not a TCP port"},
      {"--http_port=-1", "--http_port=-1 is not a TCP port"},
      {"--http_port=65536", "--http_port=65536 is not a TCP port"},
      {"--ingest_deadline=0s", "--ingest_deadline=0 must be positive"},
      {"--signing_secret=,,,", "--signing_secret holds no usable secret"},
      {"--http_buffer_budget_mb=1", "--http_buffer_budget_mb=1 is below --max_body_mb=64"},
      {"--webhook_workers=0", "--webhook_workers must be at least 1"},
      {"--http_threads=0", "--http_threads must be at least 1"},
      {"--http_header_timeout=0s", "--http_header_timeout must be positive"},
  };
  for (const auto& [flag, message] : cases) {
    std::vector<std::string> args = {"--data_dir=" + DataDir("limits-flags"),
                                     "--http_port=0", "--grpc_port=0",
                                     absl::StrCat("--signing_secret=", kSecret)};
    args.push_back(flag);  // the last occurrence of a flag wins
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start("server/healthwire", args, absl::Seconds(20));
    ASSERT_FALSE(server.ok()) << flag << " was accepted";
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition) << flag;
    EXPECT_TRUE(absl::StrContains(server.status().message(),
                                  absl::StrCat("healthwire: cannot start: ", message)))
        << flag << ": " << server.status().message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << flag;
  }
}

}  // namespace
}  // namespace healthwire
