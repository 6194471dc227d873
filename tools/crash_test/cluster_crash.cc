#include "tools/crash_test/cluster_crash.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "tests/cluster/nats_cluster.h"
#include "tools/bench/bench_lib.h"

namespace healthwire {
namespace bench {
namespace {

constexpr char kSecret[] = "cluster-crash-test-secret";

struct Delivery {
  std::string record;     // exact bytes of data[0]
  uint64_t sequence = 0;  // log sequence of its 2xx; 0 = no 2xx
};

struct Totals {
  int64_t posted = 0, acknowledged = 0, refused = 0, verified_everywhere = 0, lost = 0,
          inconsistencies = 0;
};

// A store replica process and its stub; the data folder outlives restarts.
struct Replica {
  std::string data_dir;
  std::string log_path;
  ChildProcess process;
  std::unique_ptr<v1::EventStore::Stub> stub;
};

class ClusterCrash {
 public:
  explicit ClusterCrash(const ClusterCrashOptions& options)
      : options_(options), rng_(options.seed) {}

  bool Run() {
    absl::StatusOr<std::unique_ptr<testing::NatsCluster>> nats = testing::NatsCluster::Start(3);
    if (!nats.ok()) return Fail(absl::StrCat("nats-servers: ", nats.status().ToString()));
    nats_ = *std::move(nats);
    for (int i = 0; i < 2; ++i) {
      replicas_.push_back(std::make_unique<Replica>());
      replicas_[i]->data_dir = absl::StrCat(options_.work, "/replica-", i);
      replicas_[i]->log_path = absl::StrCat(options_.work, "/replica-", i, ".log");
      if (!StartReplica(i)) return false;
    }
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<ChildProcess> gateway = ChildProcess::StartServer(
          {options_.gateway_binary, absl::StrCat("--log=", nats_->UrlsJoined()),
           absl::StrCat("--data_dir=", options_.work, "/gateway-", i), "--http_port=0",
           absl::StrCat("--signing_secret=", kSecret)},
          absl::StrCat(options_.work, "/gateway-", i, ".log"),
          absl::StrCat(options_.work, "/gateway-", i, ".ready"), absl::Seconds(90));
      if (!gateway.ok()) return Fail(absl::StrCat("gateway: ", gateway.status().ToString()));
      gateways_.push_back(*std::move(gateway));
    }
    for (int round = 1; round <= options_.rounds; ++round) {
      PostAndKill(round);
      Verify(round);
    }
    for (ChildProcess& gateway : gateways_) gateway.Kill(SIGTERM);
    for (auto& replica : replicas_) replica->process.Kill(SIGTERM);
    return true;
  }

  bool Report() const {
    std::printf(
        "\nTOTALS posted=%lld acknowledged=%lld refused_503=%lld "
        "verified_on_every_replica=%lld lost=%lld inconsistencies=%lld\n",
        static_cast<long long>(totals_.posted), static_cast<long long>(totals_.acknowledged),
        static_cast<long long>(totals_.refused),
        static_cast<long long>(totals_.verified_everywhere),
        static_cast<long long>(totals_.lost), static_cast<long long>(totals_.inconsistencies));
    const bool ok = totals_.lost == 0 && totals_.inconsistencies == 0 &&
                    totals_.acknowledged > 0 &&
                    totals_.verified_everywhere == totals_.acknowledged;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok;
  }

 private:
  bool Fail(const std::string& what) {
    ++totals_.inconsistencies;
    std::printf("  INCONSISTENCY: %s\n", what.c_str());
    std::fflush(stdout);
    return false;
  }

  bool StartReplica(int i) {
    Replica& replica = *replicas_[i];
    absl::StatusOr<ChildProcess> process = ChildProcess::StartServer(
        {options_.store_binary, absl::StrCat("--log=", nats_->UrlsJoined()),
         absl::StrCat("--data_dir=", replica.data_dir), "--grpc_port=0"},
        replica.log_path, absl::StrCat(replica.data_dir, ".ready"), absl::Seconds(90));
    if (!process.ok()) return Fail(absl::StrCat("replica ", i, ": ", process.status().ToString()));
    replica.process = *std::move(process);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
    replica.stub = v1::EventStore::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", replica.process.IntValue("grpc_port")),
        grpc::InsecureChannelCredentials(), args));
    return true;
  }

  // Posting threads through both gateways; one random kill -9 while they
  // post; they go on through the failure, then the victim is restarted.
  void PostAndKill(int round) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> posted{0}, acked{0}, refused{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < options_.connections; ++c) {
      threads.emplace_back([&, c] {
        const int port = gateways_[c % gateways_.size()].IntValue("http_port");
        auto connection = std::make_unique<HttpConnection>(port);
        int64_t n = 0;
        while (!stop.load()) {
          const std::string key = absl::StrCat("cc-r", round, "-c", c, "-", n);
          Webhook webhook = SleepWebhook(absl::StrCat("cc-user-", n % 8), key,
                                         1767225600 + (round * 100000 + n) * 60,
                                         options_.body_bytes);
          ++n;
          {
            std::lock_guard<std::mutex> lock(mu_);
            deliveries_[key] = Delivery{webhook.record, 0};
          }
          ++posted;
          absl::StatusOr<HttpResponse> response = connection->Post(
              "/webhooks/terra", {SignatureHeader(kSecret, webhook.body)}, webhook.body);
          uint64_t sequence = 0;
          if (response.ok() && response->status == 200 &&
              JsonUint(response->body, "log_sequence", &sequence) && sequence > 0) {
            std::lock_guard<std::mutex> lock(mu_);
            deliveries_[key].sequence = sequence;
            ++acked;
          } else {
            ++refused;
            if (response.ok() && response->status != 503) {
              std::printf("  unexpected HTTP %d: %s\n", response->status,
                          response->body.c_str());
            }
            if (!response.ok()) connection = std::make_unique<HttpConnection>(port);
            absl::SleepFor(absl::Milliseconds(50));  // Terra backs off too
          }
        }
      });
    }
    std::uniform_int_distribution<int> kill_ms(options_.min_kill_ms, options_.max_kill_ms);
    std::uniform_int_distribution<int> victim_of(0, 4);  // 3 nats-servers, 2 replicas
    const int wait_ms = kill_ms(rng_);
    const int victim = victim_of(rng_);
    absl::SleepFor(absl::Milliseconds(wait_ms));
    std::string what;
    if (victim < 3) {
      what = absl::StrCat("nats-server ", nats_->Name(victim));
      (void)nats_->Kill(victim);
    } else {
      what = absl::StrCat("replica ", victim - 3);
      replicas_[victim - 3]->process.Kill(SIGKILL);
    }
    // Load goes on through the failure (elections, a replica away).
    absl::SleepFor(absl::Milliseconds(kill_ms(rng_)));
    stop = true;
    for (std::thread& t : threads) t.join();
    if (victim < 3) {
      if (absl::Status restarted = nats_->Restart(victim); !restarted.ok()) {
        Fail(absl::StrCat("restart ", what, ": ", restarted.ToString()));
      } else {
        WaitForStreamCurrent(what);
      }
    } else {
      StartReplica(victim - 3);
    }
    totals_.posted += posted;
    totals_.acknowledged += acked;
    totals_.refused += refused;
    std::printf("round %d: kill -9 %s after %d ms; posted %lld, acknowledged %lld, 503 %lld\n",
                round, what.c_str(), wait_ms, static_cast<long long>(posted.load()),
                static_cast<long long>(acked.load()), static_cast<long long>(refused.load()));
    std::printf("%s", rejoin_note_.c_str());
    rejoin_note_.clear();
    std::fflush(stdout);
  }

  // After a nats-server restart: it rejoined once the stream has a leader
  // and every peer is current (caught up with the RAFT log). Waiting for it
  // makes each round one failure, not the previous victim still catching up
  // plus the next one killed (a lost quorum, which its own test covers).
  void WaitForStreamCurrent(const std::string& what) {
    const absl::Time start = absl::Now();
    natsConnection* connection = nullptr;
    jsCtx* js = nullptr;
    const std::string urls = nats_->UrlsJoined();
    std::string state = "no connection";
    bool current = false;
    while (!current && absl::Now() - start < absl::Seconds(60)) {
      if (connection == nullptr &&
          natsConnection_ConnectTo(&connection, urls.c_str()) == NATS_OK &&
          natsConnection_JetStream(&js, connection, nullptr) != NATS_OK) {
        natsConnection_Destroy(connection);
        connection = nullptr;
      }
      jsStreamInfo* info = nullptr;
      jsErrCode err = static_cast<jsErrCode>(0);
      if (js != nullptr && js_GetStreamInfo(&info, js, "HEALTHWIRE", nullptr, &err) == NATS_OK) {
        const jsClusterInfo* cluster = info->Cluster;
        current = cluster != nullptr && cluster->Leader != nullptr && *cluster->Leader != '\0';
        state = current ? absl::StrCat("leader ", cluster->Leader) : "no leader";
        for (int i = 0; current && i < cluster->ReplicasLen; ++i) {
          const jsPeerInfo* peer = cluster->Replicas[i];
          if (!peer->Current || peer->Offline) {
            current = false;
            state = absl::StrCat("leader ", cluster->Leader, ", ", peer->Name, " lags ",
                                 peer->Lag);
          }
        }
        jsStreamInfo_Destroy(info);
      } else if (js != nullptr) {
        state = absl::StrCat("stream info failed (JetStream error ", err, ")");
      }
      if (!current) absl::SleepFor(absl::Milliseconds(100));
    }
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) natsConnection_Destroy(connection);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (current) {
      rejoin_note_ = absl::StrFormat(
          "  restarted %s rejoined: %s, every peer current %.1f s after the restart\n",
          what.c_str(), state.c_str(), seconds);
    } else {
      Fail(absl::StrCat("restarted ", what, " did not rejoin within 60 s: ", state));
    }
  }

  // The change log of replica i, revisions 1..n, with raw bytes.
  bool ReplayOf(int i, uint64_t n, std::vector<v1::Event>* events) {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    request.set_include_raw_json(true);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    auto reader = replicas_[i]->stub->StreamUpdates(&context, request);
    v1::StreamUpdatesResponse response;
    while (events->size() < n && reader->Read(&response)) {
      if (response.has_update()) events->push_back(response.update());
    }
    context.TryCancel();
    (void)reader->Finish();
    return events->size() == n;
  }

  v1::GetStatusResponse StatusOf(int i, bool* ok) {
    v1::GetStatusResponse status;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    *ok = replicas_[i]->stub->GetStatus(&context, {}, &status).ok();
    return status;
  }

  void Verify(int round) {
    uint64_t wanted = 0;
    for (const auto& [key, d] : deliveries_) wanted = std::max(wanted, d.sequence);
    // Every replica catches up to the last acknowledged sequence, with one
    // digest.
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    std::vector<v1::GetStatusResponse> statuses(replicas_.size());
    bool same = false;
    while (!same && absl::Now() < give_up) {
      same = true;
      for (size_t i = 0; i < replicas_.size(); ++i) {
        bool ok = false;
        statuses[i] = StatusOf(static_cast<int>(i), &ok);
        if (!ok || statuses[i].replica().applied_sequence() < wanted) same = false;
      }
      for (size_t i = 1; same && i < replicas_.size(); ++i) {
        same = statuses[i].replica().applied_sequence() ==
                   statuses[0].replica().applied_sequence() &&
               statuses[i].replica().digest() == statuses[0].replica().digest() &&
               statuses[i].store_revision() == statuses[0].store_revision();
      }
      if (!same) absl::SleepFor(absl::Milliseconds(100));
    }
    if (!same) {
      Fail(absl::StrCat("round ", round, ": replicas did not reach sequence ", wanted,
                        " with one digest within 120 s"));
      return;
    }
    const uint64_t n = statuses[0].store_revision();
    std::map<std::string, int> present;  // key -> replicas holding it exactly
    for (size_t i = 0; i < replicas_.size(); ++i) {
      std::vector<v1::Event> events;
      if (!ReplayOf(static_cast<int>(i), n, &events)) {
        Fail(absl::StrCat("replica ", i, ": replay did not reach revision ", n));
        return;
      }
      std::set<std::string> keys;
      for (size_t r = 0; r < events.size(); ++r) {
        const v1::Event& e = events[r];
        if (e.revision() != r + 1) {
          Fail(absl::StrCat("replica ", i, ": position ", r + 1, " has revision ", e.revision()));
          break;
        }
        if (!keys.insert(e.record_key()).second) {
          Fail(absl::StrCat("replica ", i, ": ", e.record_key(), " twice"));
        }
        auto it = deliveries_.find(e.record_key());
        if (it == deliveries_.end()) {
          Fail(absl::StrCat("replica ", i, ": unknown record ", e.record_key()));
        } else if (it->second.record != e.raw_json()) {
          Fail(absl::StrCat("replica ", i, ": ", e.record_key(), " differs from what was posted"));
        } else {
          ++present[e.record_key()];
        }
      }
    }
    int64_t verified = 0, lost = 0;
    for (const auto& [key, d] : deliveries_) {
      if (d.sequence == 0) continue;
      if (present[key] == static_cast<int>(replicas_.size())) {
        ++verified;
      } else {
        ++lost;
        std::printf("  LOST: %s (log sequence %llu) on %d of %zu replicas\n", key.c_str(),
                    static_cast<unsigned long long>(d.sequence), present[key], replicas_.size());
      }
    }
    totals_.verified_everywhere = verified;  // cumulative: every ack so far, re-verified
    totals_.lost = lost;
    std::printf("  round %d: replicas at sequence %llu, revision %llu, digest %.16s...; %lld "
                "acknowledged verified on both, %lld lost\n",
                round, static_cast<unsigned long long>(statuses[0].replica().applied_sequence()),
                static_cast<unsigned long long>(n), statuses[0].replica().digest().c_str(),
                static_cast<long long>(verified), static_cast<long long>(lost));
    std::fflush(stdout);
  }

  const ClusterCrashOptions options_;
  std::mt19937_64 rng_;
  std::unique_ptr<testing::NatsCluster> nats_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<ChildProcess> gateways_;
  std::mutex mu_;
  std::map<std::string, Delivery> deliveries_;  // by summary_id
  Totals totals_;
  std::string rejoin_note_;  // printed after the round's line
};

}  // namespace

int RunClusterCrashTest(const ClusterCrashOptions& options) {
  std::printf("crash_test --cluster: 3 nats-servers, 2 replicas, 2 gateways; rounds=%d "
              "connections=%d seed=%llu work=%s\n",
              options.rounds, options.connections,
              static_cast<unsigned long long>(options.seed), options.work.c_str());
  std::fflush(stdout);
  ClusterCrash test(options);
  test.Run();
  return test.Report() ? 0 : 1;
}

}  // namespace bench
}  // namespace healthwire
