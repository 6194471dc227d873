// crash_test: kill -9 healthwire under webhook load, restart, and check that
// nothing acknowledged was lost.
//
// Every round: start the real binary (fork/exec, --ready_file, port 0, the
// same data folder every round), post signed webhooks with unique summary
// ids from several connections while a live subscriber streams updates,
// kill -9 at a random moment, restart, and verify over the public API:
//   1. replay from revision 1 is dense (1..N) and every record key appears
//      once (every delivery is unique, so no revision may repeat one);
//   2. every delivery that got a 2xx is in the replay with its exact bytes as
//      raw_json and a revision <= the revision its 2xx reported;
//   3. deliveries that got no answer (in flight at the kill) are either
//      absent or exact (never corrupt);
//   4. everything the live subscriber received before the kill is in the
//      replay, identical (nothing it was shown was lost);
//   5. a subscriber that resumes from its last revision + 1 gets exactly the
//      updates it missed (compared with the replay), then goes on streaming
//      live during the next round.
// Prints totals (posted, acknowledged, verified, lost) and exits 1 on any loss
// or inconsistency.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/parse_flags.h"
#include "tools/crash_test/cluster_crash.h"

ABSL_FLAG(int, rounds, 20, "Kill/restart rounds.");
ABSL_FLAG(int, connections, 6, "Concurrent webhook connections.");
ABSL_FLAG(std::string, binary, "",
          "healthwire binary; empty = server/healthwire from this program's runfiles.");
ABSL_FLAG(std::string, data_dir, "", "Data folder (kept across rounds); empty = a fresh temp one.");
ABSL_FLAG(int, min_kill_ms, 150, "Earliest kill, ms after the load started.");
ABSL_FLAG(int, max_kill_ms, 1500, "Latest kill, ms after the load started.");
ABSL_FLAG(int64_t, body_bytes, 1100, "Webhook body size.");
ABSL_FLAG(uint64_t, seed, 0, "Random seed (0 = from the clock).");
ABSL_FLAG(bool, keep_data, false, "Keep the data folder afterwards.");
ABSL_FLAG(bool, cluster, false,
          "Cluster mode: 3 nats-servers, 2 healthwire_store replicas, 2 healthwire_gateway; "
          "each round kill -9 a random nats-server or replica while posting, restart it, and "
          "verify every acknowledged webhook on every replica (tools/crash_test/cluster_crash.h).");

namespace healthwire {
namespace bench {
namespace {

constexpr char kSecret[] = "crash-test-signing-secret";

struct Delivery {
  std::string record;      // exact bytes of data[0]
  uint64_t ack_revision;   // 0 = no 2xx (outcome unknown)
};

struct Totals {
  int64_t posted = 0, acknowledged = 0, unanswered = 0, verified = 0, lost = 0, corrupt = 0,
          inconsistencies = 0, unanswered_committed = 0, resume_checked = 0, live_checked = 0;
};

std::string DefaultBinary(const char* argv0, const std::string& name = "healthwire") {
  std::vector<std::string> candidates;
  if (const char* dir = getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(dir, "/healthwire/server/", name));
  }
  if (const char* dir = getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(dir, "/healthwire/server/", name));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/healthwire/server/", name));
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return candidates.back();
}

// A StreamUpdates call read on its own thread.
class LiveSubscriber {
 public:
  LiveSubscriber(v1::EventStore::Stub* stub, uint64_t start_revision) {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(start_revision);
    request.set_include_raw_json(true);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    reader_ = stub->StreamUpdates(&context_, request);
    thread_ = std::thread([this] {
      v1::StreamUpdatesResponse response;
      while (reader_->Read(&response)) {
        if (!response.has_update()) continue;
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(response.update());
      }
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
    });
  }
  ~LiveSubscriber() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    context_.TryCancel();
    thread_.join();
    (void)reader_->Finish();
  }
  // Waits until the subscriber has an update with revision >= `revision`.
  bool WaitFor(uint64_t revision, absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!events_.empty() && events_.back().revision() >= revision) return true;
        if (ended_) return false;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }
  std::vector<v1::Event> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StreamUpdatesResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<v1::Event> events_;
  bool ended_ = false;
};

// The store revision, from a signed healthcheck webhook (public HTTP API).
absl::StatusOr<uint64_t> CurrentRevision(int http_port) {
  HttpConnection connection(http_port);
  const std::string body =
      R"({"type":"healthcheck","status":"success","creation_timestamp":"2026-07-01T12:00:00.000000+00:00","trend_percentage":0.0,"sent_webhooks_last_hour":1})";
  absl::StatusOr<HttpResponse> response =
      connection.Post("/webhooks/terra", {SignatureHeader(kSecret, body)}, body);
  if (!response.ok()) return response.status();
  uint64_t revision = 0;
  if (response->status != 200 || !JsonUint(response->body, "revision", &revision)) {
    return absl::InternalError(absl::StrCat("healthcheck: HTTP ", response->status, " ",
                                            response->body));
  }
  return revision;
}

// Replays revisions 1..n (with raw_json).
absl::StatusOr<std::vector<v1::Event>> Replay(v1::EventStore::Stub* stub, uint64_t from,
                                              uint64_t n) {
  std::vector<v1::Event> events;
  if (n < from) return events;
  LiveSubscriber subscriber(stub, from);
  if (!subscriber.WaitFor(n, absl::Seconds(120))) {
    return absl::DeadlineExceededError(absl::StrCat("replay from ", from, " did not reach ", n));
  }
  subscriber.Stop();
  events = subscriber.Events();
  while (!events.empty() && events.back().revision() > n) events.pop_back();
  return events;
}

// What one run is asked to do (the flags).
struct CrashTestOptions {
  std::string binary;
  std::string data_dir;
  std::string work;  // temp folder: server log, ready file, default data folder
  int rounds = 0;
  int connections = 0;
  uint64_t seed = 0;
  size_t body_bytes = 0;
};

// A fresh temp folder under $TEST_TMPDIR (or /tmp).
absl::StatusOr<std::string> MakeWorkFolder() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/crash_test-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  return pattern;
}

// The rounds of one run and everything they have learnt so far: every
// delivery posted (by summary_id) with its acknowledged revision, the live
// subscriber of the current round and the last revision it saw. Not
// thread-safe except `deliveries_`, which the posting threads share.
class CrashTest {
 public:
  explicit CrashTest(CrashTestOptions options) : options_(std::move(options)) {
    args_ = {options_.binary, "--data_dir=" + options_.data_dir, "--grpc_port=0",
             "--http_port=0", absl::StrCat("--signing_secret=", kSecret)};
  }

  // rounds + 1 starts: each verifies what the rounds before left, then (but
  // the last) posts under load and kills. Returns false when the server does
  // not start.
  bool RunRounds() {
    std::mt19937_64 rng(options_.seed);
    for (int round = 1; round <= options_.rounds + 1; ++round) {
      absl::StatusOr<ChildProcess> server = ChildProcess::StartServer(
          args_, options_.work + "/server.log", options_.work + "/ready", absl::Seconds(60));
      if (!server.ok()) {
        std::printf("FAILED to start healthwire (round %d): %s\n", round,
                    server.status().ToString().c_str());
        return false;
      }
      const int http_port = server->IntValue("http_port");
      grpc::ChannelArguments channel_args;
      channel_args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);  // --body_bytes can be large
      channel_ = grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", server->IntValue("grpc_port")),
          grpc::InsecureChannelCredentials(), channel_args);
      stub_ = v1::EventStore::NewStub(channel_);
      // Verify what the previous rounds left (round 1: the empty store).
      Verify(round - 1, http_port);
      if (round == options_.rounds + 1) {  // the last restart only verifies
        live_.reset();
        server->Kill(SIGTERM);
        break;
      }
      PostUntilKilled(round, http_port, rng, &*server);
    }
    return true;
  }

  // Prints the TOTALS and PASS/FAIL lines; true when nothing was lost.
  bool Report() const {
    std::printf(
        "\nTOTALS posted=%lld acknowledged=%lld verified=%lld lost=%lld corrupt=%lld "
        "unanswered=%lld live_updates_checked=%lld resumed_updates_checked=%lld "
        "inconsistencies=%lld\n",
        static_cast<long long>(totals_.posted), static_cast<long long>(totals_.acknowledged),
        static_cast<long long>(totals_.verified), static_cast<long long>(totals_.lost),
        static_cast<long long>(totals_.corrupt), static_cast<long long>(totals_.unanswered),
        static_cast<long long>(totals_.live_checked),
        static_cast<long long>(totals_.resume_checked),
        static_cast<long long>(totals_.inconsistencies));
    const bool ok = totals_.lost == 0 && totals_.inconsistencies == 0 &&
                    totals_.verified == totals_.acknowledged && totals_.acknowledged > 0;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok;
  }

 private:
  void Fail(const std::string& what) {
    ++totals_.inconsistencies;
    std::printf("  INCONSISTENCY: %s\n", what.c_str());
  }

  // What one round's posting threads count.
  struct RoundCounters {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> next_seq{0};
    std::atomic<int64_t> posted{0}, acked{0}, unanswered{0};
  };

  // One connection's poster: unique signed sleep webhooks, one after the
  // other, until told to stop or the server is gone. Records every delivery
  // before it is sent and its revision once acknowledged.
  void PostFromConnection(int round, int c, int http_port, RoundCounters* counters) {
    HttpConnection connection(http_port);
    while (!counters->stop.load()) {
      const int64_t seq = counters->next_seq.fetch_add(1);
      const std::string key = absl::StrCat("crash-r", round, "-c", c, "-", seq);
      Webhook webhook = SleepWebhook(absl::StrCat("crash-user-", seq % 8), key,
                                     1767225600 + seq * 60, options_.body_bytes);
      {
        std::lock_guard<std::mutex> lock(deliveries_mu_);
        deliveries_[key] = Delivery{webhook.record, 0};
      }
      ++counters->posted;
      absl::StatusOr<HttpResponse> response = connection.Post(
          "/webhooks/terra", {SignatureHeader(kSecret, webhook.body)}, webhook.body);
      uint64_t revision = 0;
      if (response.ok() && response->status / 100 == 2 &&
          JsonUint(response->body, "revision", &revision) && revision > 0) {
        std::lock_guard<std::mutex> lock(deliveries_mu_);
        deliveries_[key].ack_revision = revision;
        ++counters->acked;
      } else {
        ++counters->unanswered;
        if (response.ok() && response->status / 100 != 5) {
          std::printf("  unexpected HTTP %d: %s\n", response->status, response->body.c_str());
        }
        if (!response.ok()) break;  // the server is gone
      }
    }
  }

  // Posts from every connection until a random moment, then kills the server
  // with SIGKILL.
  void PostUntilKilled(int round, int http_port, std::mt19937_64& rng, ChildProcess* server) {
    RoundCounters counters;
    counters.next_seq = seq_base_;
    std::vector<std::thread> threads;
    for (int c = 0; c < options_.connections; ++c) {
      threads.emplace_back([this, round, c, http_port, &counters] {
        PostFromConnection(round, c, http_port, &counters);
      });
    }
    std::uniform_int_distribution<int> kill_ms(absl::GetFlag(FLAGS_min_kill_ms),
                                               absl::GetFlag(FLAGS_max_kill_ms));
    const int wait_ms = kill_ms(rng);
    absl::SleepFor(absl::Milliseconds(wait_ms));
    server->Kill(SIGKILL);
    counters.stop = true;
    for (auto& t : threads) t.join();
    seq_base_ = counters.next_seq.load();
    totals_.posted += counters.posted;
    totals_.acknowledged += counters.acked;
    totals_.unanswered += counters.unanswered;
    std::printf("round %d: killed after %d ms; posted %lld, acknowledged %lld, unanswered %lld\n",
                round, wait_ms, static_cast<long long>(counters.posted.load()),
                static_cast<long long>(counters.acked.load()),
                static_cast<long long>(counters.unanswered.load()));
    std::fflush(stdout);
  }

  // Verifies the restarted store against everything known so far; then
  // starts the resumed subscriber as the next round's live one.
  bool Verify(int round, int http_port) {
    absl::StatusOr<uint64_t> n = CurrentRevision(http_port);
    if (!n.ok()) {
      Fail(absl::StrCat("current revision: ", n.status().ToString()));
      return false;
    }
    absl::StatusOr<std::vector<v1::Event>> replay = Replay(stub_.get(), 1, *n);
    if (!replay.ok()) {
      Fail(replay.status().ToString());
      return false;
    }
    const std::map<std::string, const v1::Event*> by_key = CheckDenseAndUnique(*replay, *n);
    int64_t round_verified = 0, round_lost = 0;
    CheckDeliveries(by_key, &round_verified, &round_lost);
    totals_.verified = round_verified;  // cumulative: every ack so far, re-verified
    totals_.lost = round_lost;
    CheckLiveSubscriber(*replay);
    ResumeSubscriber(*replay, *n);
    std::printf("  round %d: store revision %llu, replay dense, %lld acknowledged verified, "
                "%lld lost, subscriber resumed at %llu\n",
                round, static_cast<unsigned long long>(*n), static_cast<long long>(round_verified),
                static_cast<long long>(round_lost),
                static_cast<unsigned long long>(subscriber_last_ + 1));
    std::fflush(stdout);
    return true;
  }

  // 1. The replay is dense (position i holds revision i) and every record key
  // appears once. Returns the replay's events by record key.
  std::map<std::string, const v1::Event*> CheckDenseAndUnique(
      const std::vector<v1::Event>& replay, uint64_t store_revision) {
    std::map<std::string, const v1::Event*> by_key;
    for (size_t i = 0; i < replay.size(); ++i) {
      const v1::Event& e = replay[i];
      if (e.revision() != i + 1) {
        Fail(absl::StrCat("replay position ", i + 1, " has revision ", e.revision()));
        break;
      }
      if (!by_key.emplace(e.record_key(), &e).second) {
        Fail(absl::StrCat("record ", e.record_key(), " appears twice (revision ", e.revision(),
                          ")"));
      }
    }
    if (replay.size() != store_revision) {
      Fail(absl::StrCat("replay has ", replay.size(), " events, store revision is ",
                        store_revision));
    }
    return by_key;
  }

  // 2./3. Acknowledged deliveries are present and exact, at a revision no
  // later than their 2xx said; unanswered ones are absent or exact; nothing
  // unknown is stored.
  void CheckDeliveries(const std::map<std::string, const v1::Event*>& by_key,
                       int64_t* round_verified, int64_t* round_lost) {
    for (const auto& [key, d] : deliveries_) {
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        if (d.ack_revision != 0) {
          ++*round_lost;
          std::printf("  LOST: %s (acknowledged at revision %llu)\n", key.c_str(),
                      static_cast<unsigned long long>(d.ack_revision));
        }
        continue;
      }
      if (it->second->raw_json() != d.record) {
        ++totals_.corrupt;
        Fail(absl::StrCat("record ", key, " raw_json differs from what was posted"));
        continue;
      }
      if (d.ack_revision != 0) {
        if (it->second->revision() > d.ack_revision) {
          Fail(absl::StrCat(key, " has revision ", it->second->revision(),
                            " > acknowledged store revision ", d.ack_revision));
        }
        ++*round_verified;
      }
    }
    for (const auto& [key, e] : by_key) {
      if (deliveries_.find(key) == deliveries_.end()) Fail("unknown record in the store: " + key);
    }
  }

  // 4. Everything the live subscriber was shown before the kill survived,
  // identical, and came in revision order without gaps.
  void CheckLiveSubscriber(const std::vector<v1::Event>& replay) {
    if (live_ == nullptr) return;
    live_->Stop();
    std::vector<v1::Event> seen = live_->Events();
    for (const v1::Event& e : seen) {
      if (e.revision() == 0 || e.revision() > replay.size()) {
        Fail(absl::StrCat("subscriber saw revision ", e.revision(), " that did not survive"));
        continue;
      }
      const v1::Event& stored = replay[e.revision() - 1];
      if (stored.record_key() != e.record_key() || stored.raw_json() != e.raw_json()) {
        Fail(absl::StrCat("subscriber saw revision ", e.revision(), " as ", e.record_key(),
                          ", the store has ", stored.record_key()));
      }
      if (e.revision() != subscriber_last_ + 1) {
        Fail(absl::StrCat("live subscriber: revision ", e.revision(), " after ",
                          subscriber_last_));
      }
      subscriber_last_ = e.revision();
      ++totals_.live_checked;
    }
    live_.reset();
  }

  // 5. A subscriber resumed from last + 1 gets exactly the missed updates;
  // it stays open as the next round's live subscriber.
  void ResumeSubscriber(const std::vector<v1::Event>& replay, uint64_t store_revision) {
    live_ = std::make_unique<LiveSubscriber>(stub_.get(), subscriber_last_ + 1);
    if (store_revision <= subscriber_last_) return;
    if (!live_->WaitFor(store_revision, absl::Seconds(60))) {
      Fail(absl::StrCat("resumed subscriber did not reach revision ", store_revision));
      return;
    }
    std::vector<v1::Event> missed = live_->Events();
    if (missed.size() != store_revision - subscriber_last_) {
      Fail(absl::StrCat("resumed subscriber got ", missed.size(), " updates, expected ",
                        store_revision - subscriber_last_));
    }
    for (size_t i = 0; i < missed.size(); ++i) {
      const uint64_t want = subscriber_last_ + 1 + i;
      if (missed[i].revision() != want || want > replay.size() ||
          missed[i].raw_json() != replay[want - 1].raw_json() ||
          missed[i].record_key() != replay[want - 1].record_key()) {
        Fail(absl::StrCat("resumed subscriber update ", i, " is revision ", missed[i].revision(),
                          ", expected ", want));
        break;
      }
    }
    totals_.resume_checked += static_cast<int64_t>(missed.size());
  }

  const CrashTestOptions options_;
  std::vector<std::string> args_;
  std::mutex deliveries_mu_;
  std::map<std::string, Delivery> deliveries_;  // by summary_id
  Totals totals_;
  int64_t seq_base_ = 0;         // the next delivery's sequence number
  uint64_t subscriber_last_ = 0;  // last revision the live subscriber saw
  std::unique_ptr<LiveSubscriber> live_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
};

int RunCluster(const char* argv0) {
  ClusterCrashOptions options;
  options.store_binary = DefaultBinary(argv0, "healthwire_store");
  options.gateway_binary = DefaultBinary(argv0, "healthwire_gateway");
  absl::StatusOr<std::string> work = MakeWorkFolder();
  if (!work.ok()) {
    std::fprintf(stderr, "%s\n", std::string(work.status().message()).c_str());
    return 2;
  }
  options.work = *work;
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.seed == 0) options.seed = static_cast<uint64_t>(NowNanos());
  options.body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  options.min_kill_ms = absl::GetFlag(FLAGS_min_kill_ms);
  options.max_kill_ms = absl::GetFlag(FLAGS_max_kill_ms);
  const int result = RunClusterCrashTest(options);
  if (result == 0 && !absl::GetFlag(FLAGS_keep_data)) {
    std::error_code ignored;
    std::filesystem::remove_all(options.work, ignored);
  }
  return result;
}

int Run(const char* argv0) {
  if (absl::GetFlag(FLAGS_cluster)) return RunCluster(argv0);
  CrashTestOptions options;
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.binary = absl::GetFlag(FLAGS_binary);
  if (options.binary.empty()) options.binary = DefaultBinary(argv0);
  absl::StatusOr<std::string> work = MakeWorkFolder();
  if (!work.ok()) {
    std::fprintf(stderr, "%s\n", std::string(work.status().message()).c_str());
    return 2;
  }
  options.work = *work;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (options.data_dir.empty()) options.data_dir = options.work + "/data";
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.seed == 0) options.seed = static_cast<uint64_t>(NowNanos());
  options.body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  std::printf("crash_test: binary=%s data_dir=%s rounds=%d connections=%d seed=%llu\n",
              options.binary.c_str(), options.data_dir.c_str(), options.rounds,
              options.connections, static_cast<unsigned long long>(options.seed));
  std::fflush(stdout);

  CrashTest test(options);
  if (!test.RunRounds()) return 1;
  const bool ok = test.Report();
  if (!absl::GetFlag(FLAGS_keep_data) && absl::GetFlag(FLAGS_data_dir).empty() && ok) {
    std::error_code ignored;  // a leftover temp folder is not a test failure
    std::filesystem::remove_all(options.work, ignored);
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  healthwire::ParseFlagsWithVersion(argc, argv, "crash_test");
  return healthwire::bench::Run(argv[0]);
}
