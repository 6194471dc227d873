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
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/healthwire.grpc.pb.h"
#include "tools/bench/bench_lib.h"

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

std::string DefaultBinary(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* dir = getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(dir, "/healthwire/server/healthwire"));
  }
  if (const char* dir = getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(dir, "/healthwire/server/healthwire"));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/healthwire/server/healthwire"));
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

int Run(const char* argv0) {
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int connections = absl::GetFlag(FLAGS_connections);
  std::string binary = absl::GetFlag(FLAGS_binary);
  if (binary.empty()) binary = DefaultBinary(argv0);
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::string work;
  {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/crash_test-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      perror("mkdtemp");
      return 2;
    }
    work = pattern;
  }
  if (data_dir.empty()) data_dir = work + "/data";
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = static_cast<uint64_t>(NowNanos());
  std::mt19937_64 rng(seed);
  const size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  std::printf("crash_test: binary=%s data_dir=%s rounds=%d connections=%d seed=%llu\n",
              binary.c_str(), data_dir.c_str(), rounds, connections,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);

  std::map<std::string, Delivery> deliveries;  // by summary_id
  std::mutex deliveries_mu;
  Totals totals;
  uint64_t subscriber_last = 0;  // last revision the live subscriber saw
  std::unique_ptr<LiveSubscriber> live;
  std::unique_ptr<v1::EventStore::Stub> stub;
  std::shared_ptr<grpc::Channel> channel;
  const std::vector<std::string> args = {binary,
                                         "--data_dir=" + data_dir,
                                         "--grpc_port=0",
                                         "--http_port=0",
                                         absl::StrCat("--signing_secret=", kSecret)};
  const std::string log = work + "/server.log";
  const std::string ready = work + "/ready";

  auto fail = [&](const std::string& what) {
    ++totals.inconsistencies;
    std::printf("  INCONSISTENCY: %s\n", what.c_str());
  };

  // Verifies the restarted store against everything known so far; then
  // starts the resumed subscriber as the next round's live one.
  auto verify = [&](int round, int http_port) -> bool {
    absl::StatusOr<uint64_t> n = CurrentRevision(http_port);
    if (!n.ok()) {
      fail(absl::StrCat("current revision: ", n.status().ToString()));
      return false;
    }
    absl::StatusOr<std::vector<v1::Event>> replay = Replay(stub.get(), 1, *n);
    if (!replay.ok()) {
      fail(replay.status().ToString());
      return false;
    }
    // 1. dense and unique.
    std::map<std::string, const v1::Event*> by_key;
    for (size_t i = 0; i < replay->size(); ++i) {
      const v1::Event& e = (*replay)[i];
      if (e.revision() != i + 1) {
        fail(absl::StrCat("replay position ", i + 1, " has revision ", e.revision()));
        break;
      }
      if (!by_key.emplace(e.record_key(), &e).second) {
        fail(absl::StrCat("record ", e.record_key(), " appears twice (revision ", e.revision(),
                          ")"));
      }
    }
    if (replay->size() != *n) {
      fail(absl::StrCat("replay has ", replay->size(), " events, store revision is ", *n));
    }
    // 2./3. acknowledged: present and exact; unanswered: absent or exact.
    int64_t round_verified = 0, round_lost = 0;
    for (const auto& [key, d] : deliveries) {
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        if (d.ack_revision != 0) {
          ++round_lost;
          std::printf("  LOST: %s (acknowledged at revision %llu)\n", key.c_str(),
                      static_cast<unsigned long long>(d.ack_revision));
        }
        continue;
      }
      if (it->second->raw_json() != d.record) {
        ++totals.corrupt;
        fail(absl::StrCat("record ", key, " raw_json differs from what was posted"));
        continue;
      }
      if (d.ack_revision != 0) {
        if (it->second->revision() > d.ack_revision) {
          fail(absl::StrCat(key, " has revision ", it->second->revision(),
                            " > acknowledged store revision ", d.ack_revision));
        }
        ++round_verified;
      }
    }
    for (const auto& [key, e] : by_key) {
      if (deliveries.find(key) == deliveries.end()) fail("unknown record in the store: " + key);
    }
    totals.verified = round_verified;  // cumulative: every ack so far, re-verified
    totals.lost = round_lost;
    // 4. what the live subscriber was shown before the kill.
    if (live != nullptr) {
      live->Stop();
      std::vector<v1::Event> seen = live->Events();
      for (const v1::Event& e : seen) {
        if (e.revision() == 0 || e.revision() > replay->size()) {
          fail(absl::StrCat("subscriber saw revision ", e.revision(), " that did not survive"));
          continue;
        }
        const v1::Event& stored = (*replay)[e.revision() - 1];
        if (stored.record_key() != e.record_key() || stored.raw_json() != e.raw_json()) {
          fail(absl::StrCat("subscriber saw revision ", e.revision(), " as ", e.record_key(),
                            ", the store has ", stored.record_key()));
        }
        if (e.revision() != subscriber_last + 1) {
          fail(absl::StrCat("live subscriber: revision ", e.revision(), " after ",
                            subscriber_last));
        }
        subscriber_last = e.revision();
        ++totals.live_checked;
      }
      live.reset();
    }
    // 5. resume from last + 1: exactly the missed updates, then live.
    live = std::make_unique<LiveSubscriber>(stub.get(), subscriber_last + 1);
    if (*n > subscriber_last) {
      if (!live->WaitFor(*n, absl::Seconds(60))) {
        fail(absl::StrCat("resumed subscriber did not reach revision ", *n));
      } else {
        std::vector<v1::Event> missed = live->Events();
        if (missed.size() != *n - subscriber_last) {
          fail(absl::StrCat("resumed subscriber got ", missed.size(), " updates, expected ",
                            *n - subscriber_last));
        }
        for (size_t i = 0; i < missed.size(); ++i) {
          const uint64_t want = subscriber_last + 1 + i;
          if (missed[i].revision() != want || want > replay->size() ||
              missed[i].raw_json() != (*replay)[want - 1].raw_json() ||
              missed[i].record_key() != (*replay)[want - 1].record_key()) {
            fail(absl::StrCat("resumed subscriber update ", i, " is revision ",
                              missed[i].revision(), ", expected ", want));
            break;
          }
        }
        totals.resume_checked += static_cast<int64_t>(missed.size());
      }
    }
    std::printf("  round %d: store revision %llu, replay dense, %lld acknowledged verified, "
                "%lld lost, subscriber resumed at %llu\n",
                round, static_cast<unsigned long long>(*n), static_cast<long long>(round_verified),
                static_cast<long long>(round_lost),
                static_cast<unsigned long long>(subscriber_last + 1));
    std::fflush(stdout);
    return true;
  };

  int64_t seq_base = 0;
  for (int round = 1; round <= rounds + 1; ++round) {
    absl::StatusOr<ChildProcess> server =
        ChildProcess::StartServer(args, log, ready, absl::Seconds(60));
    if (!server.ok()) {
      std::printf("FAILED to start healthwire (round %d): %s\n", round,
                  server.status().ToString().c_str());
      return 1;
    }
    const int http_port = server->IntValue("http_port");
    channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->IntValue("grpc_port")),
                                  grpc::InsecureChannelCredentials());
    stub = v1::EventStore::NewStub(channel);
    // Verify what the previous rounds left (round 1: the empty store).
    verify(round - 1, http_port);
    if (round == rounds + 1) {  // the last restart only verifies
      live.reset();
      server->Kill(SIGTERM);
      break;
    }

    std::atomic<bool> stop{false};
    std::atomic<int64_t> next_seq{seq_base};
    std::atomic<int64_t> posted{0}, acked{0}, unanswered{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
      threads.emplace_back([&, c] {
        HttpConnection connection(http_port);
        while (!stop.load()) {
          const int64_t seq = next_seq.fetch_add(1);
          const std::string key = absl::StrCat("crash-r", round, "-c", c, "-", seq);
          Webhook webhook = SleepWebhook(absl::StrCat("crash-user-", seq % 8), key,
                                         1767225600 + seq * 60, body_bytes);
          {
            std::lock_guard<std::mutex> lock(deliveries_mu);
            deliveries[key] = Delivery{webhook.record, 0};
          }
          ++posted;
          absl::StatusOr<HttpResponse> response = connection.Post(
              "/webhooks/terra", {SignatureHeader(kSecret, webhook.body)}, webhook.body);
          uint64_t revision = 0;
          if (response.ok() && response->status / 100 == 2 &&
              JsonUint(response->body, "revision", &revision) && revision > 0) {
            std::lock_guard<std::mutex> lock(deliveries_mu);
            deliveries[key].ack_revision = revision;
            ++acked;
          } else {
            ++unanswered;
            if (response.ok() && response->status / 100 != 5) {
              std::printf("  unexpected HTTP %d: %s\n", response->status,
                          response->body.c_str());
            }
            if (!response.ok()) break;  // the server is gone
          }
        }
      });
    }
    std::uniform_int_distribution<int> kill_ms(absl::GetFlag(FLAGS_min_kill_ms),
                                               absl::GetFlag(FLAGS_max_kill_ms));
    const int wait_ms = kill_ms(rng);
    absl::SleepFor(absl::Milliseconds(wait_ms));
    server->Kill(SIGKILL);
    stop = true;
    for (auto& t : threads) t.join();
    seq_base = next_seq.load();
    totals.posted += posted;
    totals.acknowledged += acked;
    totals.unanswered += unanswered;
    std::printf("round %d: killed after %d ms; posted %lld, acknowledged %lld, unanswered %lld\n",
                round, wait_ms, static_cast<long long>(posted.load()),
                static_cast<long long>(acked.load()), static_cast<long long>(unanswered.load()));
    std::fflush(stdout);
  }

  std::printf(
      "\nTOTALS posted=%lld acknowledged=%lld verified=%lld lost=%lld corrupt=%lld "
      "unanswered=%lld live_updates_checked=%lld resumed_updates_checked=%lld "
      "inconsistencies=%lld\n",
      static_cast<long long>(totals.posted), static_cast<long long>(totals.acknowledged),
      static_cast<long long>(totals.verified), static_cast<long long>(totals.lost),
      static_cast<long long>(totals.corrupt), static_cast<long long>(totals.unanswered),
      static_cast<long long>(totals.live_checked), static_cast<long long>(totals.resume_checked),
      static_cast<long long>(totals.inconsistencies));
  const bool ok = totals.lost == 0 && totals.inconsistencies == 0 &&
                  totals.verified == totals.acknowledged && totals.acknowledged > 0;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  if (!absl::GetFlag(FLAGS_keep_data) && absl::GetFlag(FLAGS_data_dir).empty() && ok) {
    std::error_code ignored;  // a leftover temp folder is not a test failure
    std::filesystem::remove_all(work, ignored);
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return healthwire::bench::Run(argv[0]);
}
