// cluster_bench: cluster mode's benchmark, run by hand (not a test). One run
// starts everything on loopback and prints one table:
//
//   1. ceiling: a small nats.c publisher, the same concurrency as the ingest
//      line (2 connections x N/2 threads, each a synchronous js_Publish with
//      a Nats-Msg-Id, waiting for the PubAck) of messages the size of the
//      webhook bodies, into the same R3 stream (its chunks subject, which
//      replicas only read when a commit names a chunk: the ceiling's
//      messages change nothing they apply);
//   2. cluster ingest: signed 1.1 KB sleep webhooks over N keep-alive
//      connections split across 2 healthwire_gateway processes, 2xx after
//      the quorum PubAck;
//   3. during 2: apply lag as a reader sees it (2xx -> GetLatest with
//      min_log_sequence answered on replica 0, sampled every 20 ms) and
//      webhook 2xx -> a StreamUpdates subscriber on replica 1;
//   4. catch-up: the stream topped up to --catchup_events deliveries (one
//      event each, LogPublisher), then an empty replica started and timed
//      until it applied the last sequence.
//
//   bazel build -c opt //tools/bench:cluster_bench //server:healthwire_store \
//       //server:healthwire_gateway
//   bazel-bin/tools/bench/cluster_bench --bin_dir=bazel-bin/server
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"
#include "tests/cluster/nats_cluster.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/version.h"

ABSL_FLAG(std::string, bin_dir, "bazel-bin/server",
          "Folder with healthwire_store and healthwire_gateway.");
ABSL_FLAG(int, connections, 64, "Concurrent webhook connections (and ceiling publishers).");
ABSL_FLAG(int64_t, body_bytes, 1100, "Webhook body size (and ceiling message size).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30), "Length of the ceiling and ingest runs.");
ABSL_FLAG(int64_t, catchup_events, 1000000,
          "Deliveries in the stream when the empty replica starts (topped up as needed).");
ABSL_FLAG(std::string, work, "",
          "Folder for data and logs (kept); empty = a fresh one in /tmp, removed at the end.");

namespace healthwire {
namespace bench {
namespace {

constexpr char kSecret[] = "cluster-bench-secret";

struct Line {
  std::string name, figure, ceiling, ratio, target, met, detail;
};

struct Server {
  ChildProcess process;
  std::unique_ptr<v1::EventStore::Stub> stub;
};

absl::StatusOr<Server> StartReplica(const std::string& bin, const std::string& urls,
                                    const std::string& dir) {
  absl::StatusOr<ChildProcess> process = ChildProcess::StartServer(
      {bin + "/healthwire_store", "--log=" + urls, "--data_dir=" + dir, "--grpc_port=0"},
      dir + ".log", dir + ".ready", absl::Seconds(120));
  if (!process.ok()) return process.status();
  Server server{*std::move(process), nullptr};
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  server.stub = v1::EventStore::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server.process.IntValue("grpc_port")),
      grpc::InsecureChannelCredentials(), args));
  return server;
}

uint64_t AppliedSequence(v1::EventStore::Stub* stub) {
  v1::GetStatusResponse status;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!stub->GetStatus(&context, {}, &status).ok()) return 0;
  return status.replica().applied_sequence();
}

// 1. The ceiling: synchronous js_Publish from `threads` threads over 2
// connections, for `duration`.
Line Ceiling(const CommitLogOptions& log_options, int threads, size_t bytes,
             absl::Duration duration, double* rate) {
  std::vector<std::unique_ptr<CommitLog>> logs;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(log_options);
    if (!log.ok()) return {"ceiling", "error: " + log.status().ToString()};
    logs.push_back(*std::move(log));
  }
  const std::string subject = logs[0]->chunks_subject();
  const std::string payload(bytes, 'x');
  std::atomic<int64_t> ok{0}, failed{0};
  std::vector<std::vector<int64_t>> latencies(threads);
  const absl::Time start = absl::Now(), stop = start + duration;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      jsCtx* js = logs[t % 2]->jetstream();
      int64_t n = 0;
      while (absl::Now() < stop) {
        const std::string id = absl::StrCat("ceiling-", t, "-", n++);
        jsPubOptions options;
        jsPubOptions_Init(&options);
        options.MsgId = id.c_str();
        options.MaxWait = 5000;
        jsPubAck* ack = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        const int64_t t0 = NowNanos();
        natsStatus s = js_Publish(&ack, js, subject.c_str(), payload.data(),
                                  static_cast<int>(payload.size()), &options, &err);
        if (s == NATS_OK) {
          latencies[t].push_back(NowNanos() - t0);
          ++ok;
          jsPubAck_Destroy(ack);
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const LatencySummary s = Summarize(&all);
  *rate = ok / seconds;
  return {absl::StrFormat("ceiling: nats.c js_Publish, %zu B, %d publishers, 2 conns, R3", bytes,
                          threads),
          absl::StrFormat("%.0f msg/s", *rate), "-", "-", "-", "-",
          absl::StrFormat("PubAck p50/p90/p99/max %.1f/%.1f/%.1f/%.1f ms; %lld failed", s.p50_ms,
                          s.p90_ms, s.p99_ms, s.max_ms, static_cast<long long>(failed.load()))};
}

int Run() {
  const std::string bin = absl::GetFlag(FLAGS_bin_dir);
  const int connections = absl::GetFlag(FLAGS_connections);
  const size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  std::string work = absl::GetFlag(FLAGS_work);
  if (work.empty()) {
    std::string pattern = "/tmp/cluster-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return 2;
    work = pattern;
  }
  std::fprintf(stderr, "cluster_bench: work folder %s\n", work.c_str());

  absl::StatusOr<std::unique_ptr<testing::NatsCluster>> nats = testing::NatsCluster::Start(3);
  if (!nats.ok()) {
    std::fprintf(stderr, "nats-servers: %s\n", nats.status().ToString().c_str());
    return 1;
  }
  const std::string urls = (*nats)->UrlsJoined();
  std::vector<Server> replicas;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Server> replica = StartReplica(bin, urls, absl::StrCat(work, "/replica-", i));
    if (!replica.ok()) {
      std::fprintf(stderr, "replica: %s\n", replica.status().ToString().c_str());
      return 1;
    }
    replicas.push_back(*std::move(replica));
  }
  std::vector<ChildProcess> gateways;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<ChildProcess> gateway = ChildProcess::StartServer(
        {bin + "/healthwire_gateway", "--log=" + urls, absl::StrCat("--data_dir=", work, "/gw-", i),
         "--http_port=0", absl::StrCat("--signing_secret=", kSecret)},
        absl::StrCat(work, "/gw-", i, ".log"), absl::StrCat(work, "/gw-", i, ".ready"),
        absl::Seconds(120));
    if (!gateway.ok()) {
      std::fprintf(stderr, "gateway: %s\n", gateway.status().ToString().c_str());
      return 1;
    }
    gateways.push_back(*std::move(gateway));
  }
  CommitLogOptions log_options;
  log_options.servers = (*nats)->Urls();
  std::vector<Line> lines;

  // 1. Ceiling (first, so the stream is empty for both and the ingest line
  // runs on a stream of the same size or larger).
  std::fprintf(stderr, "== ceiling\n");
  double ceiling = 0;
  lines.push_back(Ceiling(log_options, connections, body_bytes, duration, &ceiling));

  // 2./3. Cluster ingest with the lag and subscriber probes.
  std::fprintf(stderr, "== cluster ingest\n");
  std::mutex mu;
  std::map<std::string, int64_t> ack_time;  // summary_id -> 2xx time (ns)
  std::atomic<uint64_t> last_sequence{0};
  std::atomic<int64_t> last_ack_nanos{0};
  std::string last_user;
  std::atomic<bool> stop{false};
  // Subscriber on replica 1, from now on.
  std::vector<int64_t> subscriber_nanos;
  grpc::ClientContext subscriber_context;
  v1::StreamUpdatesRequest subscribe;
  auto reader = replicas[1].stub->StreamUpdates(&subscriber_context, subscribe);
  std::vector<std::pair<std::string, int64_t>> arrivals;
  std::thread subscriber([&] {
    v1::StreamUpdatesResponse response;
    while (reader->Read(&response)) {
      if (!response.has_update()) continue;
      arrivals.emplace_back(response.update().record_key(), NowNanos());
    }
  });
  // Apply lag sampler on replica 0.
  std::vector<int64_t> lag_nanos;
  std::thread sampler([&] {
    while (!stop.load()) {
      absl::SleepFor(absl::Milliseconds(20));
      const uint64_t sequence = last_sequence.load();
      const int64_t acked_at = last_ack_nanos.load();
      if (sequence == 0) continue;
      std::string user;
      {
        std::lock_guard<std::mutex> lock(mu);
        user = last_user;
      }
      v1::GetLatestRequest request;
      request.mutable_subject()->set_user_id(user);
      request.set_type(v1::EVENT_TYPE_SLEEP);
      request.set_omit_raw_json(true);
      request.set_min_log_sequence(sequence);
      v1::GetLatestResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (replicas[0].stub->GetLatest(&context, request, &response).ok()) {
        lag_nanos.push_back(NowNanos() - acked_at);
      }
    }
  });
  std::atomic<int64_t> ok{0}, non2xx{0}, errors{0};
  std::vector<std::vector<int64_t>> latencies(connections);
  const std::string tag = absl::StrCat("cb", NowNanos() / 1000);
  const absl::Time start = absl::Now(), stop_at = start + duration;
  std::vector<std::thread> posters;
  std::atomic<int64_t> issued{0};
  for (int c = 0; c < connections; ++c) {
    posters.emplace_back([&, c] {
      HttpConnection connection(gateways[c % 2].IntValue("http_port"));
      while (absl::Now() < stop_at) {
        const int64_t seq = issued.fetch_add(1);
        const std::string user = absl::StrCat("bench-user-", seq % 64);
        const std::string key = absl::StrCat(tag, "-", seq);
        Webhook webhook = SleepWebhook(user, key, 1767225600 + seq * 60, body_bytes);
        const int64_t t0 = NowNanos();
        absl::StatusOr<HttpResponse> response = connection.Post(
            "/webhooks/terra", {SignatureHeader(kSecret, webhook.body)}, webhook.body);
        const int64_t t1 = NowNanos();
        uint64_t sequence = 0;
        if (!response.ok()) {
          ++errors;
          continue;
        }
        if (response->status != 200 || !JsonUint(response->body, "log_sequence", &sequence)) {
          ++non2xx;
          continue;
        }
        ++ok;
        latencies[c].push_back(t1 - t0);
        std::lock_guard<std::mutex> lock(mu);
        ack_time[key] = t1;
        if (sequence > last_sequence.load()) {
          last_sequence = sequence;
          last_ack_nanos = t1;
          last_user = user;
        }
      }
    });
  }
  for (std::thread& p : posters) p.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  stop = true;
  sampler.join();
  // Let the subscriber receive the tail, then stop it.
  const uint64_t ingest_last = last_sequence.load();
  for (absl::Time give_up = absl::Now() + absl::Seconds(60);
       absl::Now() < give_up && AppliedSequence(replicas[1].stub.get()) < ingest_last;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(500));
  subscriber_context.TryCancel();
  subscriber.join();
  (void)reader->Finish();

  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const LatencySummary ingest = Summarize(&all);
  const double rate = ok / seconds;
  lines.push_back({absl::StrFormat("cluster ingest, %zu B sleep, %d conns, 2 gateways, R3, %.0f s",
                                   body_bytes, connections, seconds),
                   absl::StrFormat("%.0f req/s", rate), absl::StrFormat("%.0f msg/s", ceiling),
                   absl::StrFormat("%.2f", ceiling > 0 ? rate / ceiling : 0), ">= 0.60",
                   rate >= 0.6 * ceiling ? "yes" : "no",
                   absl::StrFormat("2xx p50/p90/p99/max %.1f/%.1f/%.1f/%.1f ms; %lld non-2xx, "
                                   "%lld transport errors",
                                   ingest.p50_ms, ingest.p90_ms, ingest.p99_ms, ingest.max_ms,
                                   static_cast<long long>(non2xx.load()),
                                   static_cast<long long>(errors.load()))});
  const LatencySummary lag = Summarize(&lag_nanos);
  lines.push_back({"apply lag on a replica at that load (2xx -> GetLatest min_log_sequence)",
                   absl::StrFormat("p99 %.1f ms", lag.p99_ms), "-", "-", "report", "-",
                   absl::StrFormat("p50/p90/max %.1f/%.1f/%.1f ms, %zu samples", lag.p50_ms,
                                   lag.p90_ms, lag.max_ms, lag.count)});
  size_t matched = 0;
  for (const auto& [key, at] : arrivals) {
    auto it = ack_time.find(key);
    if (it == ack_time.end()) continue;
    ++matched;
    subscriber_nanos.push_back(std::max<int64_t>(0, at - it->second));
  }
  const LatencySummary sub = Summarize(&subscriber_nanos);
  lines.push_back({"webhook 2xx -> subscriber on the other replica, at that load",
                   absl::StrFormat("p99 %.1f ms", sub.p99_ms), "-", "-", "report", "-",
                   absl::StrFormat("p50/p90/max %.1f/%.1f/%.1f ms; %zu of %lld updates matched "
                                   "(arrivals before the client saw its 2xx count as 0)",
                                   sub.p50_ms, sub.p90_ms, sub.max_ms, matched,
                                   static_cast<long long>(ok.load()))});

  // 4. Catch-up of an empty replica.
  const int64_t wanted = absl::GetFlag(FLAGS_catchup_events);
  std::fprintf(stderr, "== topping the stream up to %lld deliveries\n",
               static_cast<long long>(wanted));
  int64_t deliveries = ok.load();
  uint64_t final_sequence = ingest_last;
  {
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(log_options);
    if (!log.ok()) return 1;
    LogPublisher publisher(log->get());
    std::atomic<int64_t> inflight{0};
    std::atomic<uint64_t> top{0};
    std::atomic<int64_t> failures{0};
    const std::string raw = SleepWebhook("u", "k", 1767225600, body_bytes).record;
    for (int64_t n = deliveries; n < wanted; ++n) {
      log::v1::Delivery delivery;
      v1::Event* event = delivery.add_events();
      event->set_type(v1::EVENT_TYPE_SLEEP);
      event->set_terra_type("sleep");
      event->set_record_key(absl::StrCat("topup-", n));
      event->mutable_user()->set_user_id(absl::StrCat("topup-user-", n % 64));
      event->mutable_received_at()->set_seconds(1767225600 + n);
      event->set_start_time("2026-07-01T01:00:00.000000+00:00");
      event->set_raw_json(raw);
      while (inflight.load() >= 2048) absl::SleepFor(absl::Microseconds(200));
      ++inflight;
      publisher.Publish(std::move(delivery), absl::Now() + absl::Seconds(30),
                        [&](absl::StatusOr<PublishResult> result) {
                          if (result.ok()) {
                            uint64_t seen = top.load();
                            while (result->sequence > seen &&
                                   !top.compare_exchange_weak(seen, result->sequence)) {
                            }
                          } else {
                            ++failures;
                          }
                          --inflight;
                        });
    }
    while (inflight.load() > 0) absl::SleepFor(absl::Milliseconds(10));
    final_sequence = std::max<uint64_t>(final_sequence, top.load());
    deliveries = std::max<int64_t>(deliveries, wanted) - failures.load();
  }
  std::fprintf(stderr, "== empty replica catching up to sequence %llu\n",
               static_cast<unsigned long long>(final_sequence));
  const absl::Time catch_start = absl::Now();
  absl::StatusOr<Server> empty = StartReplica(bin, urls, work + "/replica-empty");
  if (!empty.ok()) return 1;
  while (AppliedSequence(empty->stub.get()) < final_sequence &&
         absl::Now() - catch_start < absl::Minutes(30)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  const double catch_seconds = absl::ToDoubleSeconds(absl::Now() - catch_start);
  lines.push_back({absl::StrFormat("empty replica catches up on %lld deliveries (1 event each)",
                                   static_cast<long long>(deliveries)),
                   absl::StrFormat("%.1f s", catch_seconds), "-", "-", "report", "-",
                   absl::StrFormat("%.0f events/s incl. process start; stream sequence %llu",
                                   deliveries / catch_seconds,
                                   static_cast<unsigned long long>(final_sequence))});

  std::printf("| line | figure | ceiling | ratio | target | met? | detail |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Line& l : lines) {
    std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", l.name.c_str(), l.figure.c_str(),
                l.ceiling.c_str(), l.ratio.c_str(), l.target.c_str(), l.met.c_str(),
                l.detail.c_str());
  }
  empty->process.Kill(SIGTERM);
  for (ChildProcess& g : gateways) g.Kill(SIGTERM);
  for (Server& r : replicas) r.process.Kill(SIGTERM);
  if (absl::GetFlag(FLAGS_work).empty()) {
    std::error_code ignored;  // gigabytes after a 1M catch-up
    std::filesystem::remove_all(work, ignored);
  }
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [] { return healthwire::VersionLine("cluster_bench"); };
  absl::SetFlagsUsageConfig(usage_config);
  absl::ParseCommandLine(argc, argv);
  return healthwire::bench::Run();
}
