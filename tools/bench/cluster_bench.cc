// cluster_bench: cluster mode's benchmark, run by hand (not a test). One run
// starts everything on loopback (3 nats-servers, 2 store replicas, 2
// gateways) and prints one table:
//
//   1. ceilings: a small nats.c publisher at the ingest line's concurrency
//      (2 connections x N/2 threads, each a synchronous js_Publish with a
//      Nats-Msg-Id, waiting for its PubAck) into the same R3 stream, twice:
//      a. "replicas idle": messages of the webhook body's size to the
//         stream's chunks subject (replicas only read a chunk a commit names:
//         these change nothing they apply);
//      b. "replicas applying": one-event Delivery entries (a distinct sleep
//         record each, raw JSON of the body's size) to the deliveries
//         subject, so both replicas apply them while the publisher runs, as
//         they do during the ingest line. The ratio is against (b): on a
//         machine whose cores the replicas share, (a) also credits the
//         publisher with the replicas' idle CPU, which no gateway can have.
//   2. cluster ingest: wrk (tools/bench/wrk_presigned.lua, one wrk process of
//      one thread per gateway, N/2 keep-alive connections each) sends 1.1 KB
//      sleep webhooks that presign_webhooks wrote and signed before the run;
//      2xx only after the quorum PubAck. Generator CPU = both wrk processes'
//      own utime+stime, plus this process's (probes) in the detail.
//   3. during 2, probes from this process, one every --probe_interval on its
//      own connection (alternating gateways): apply lag = probe's 2xx ->
//      GetLatest with its min_log_sequence answered on replica 0; and probe
//      2xx -> a StreamUpdates subscriber (filtered to the probe user) on
//      replica 1;
//   4. catch-up: the stream topped up to --catchup_events deliveries (one
//      event each, LogPublisher), then an empty replica started and timed
//      until it applied the last sequence.
// Every line carries the 1-minute load average when it finished; the ceiling
// and ingest lines also say where the machine's CPU went during them
// (gateways, replicas, nats-servers, this process: utime+stime from /proc,
// % of one core and microseconds per message).
//
//   bazel build -c opt //tools/bench:cluster_bench //tools/bench:presign_webhooks \
//       //server:healthwire_store //server:healthwire_gateway
//   flock /work/coord/bench.lock bazel-bin/tools/bench/cluster_bench \
//       --bin_dir=bazel-bin/server --tools_dir=bazel-bin/tools/bench
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nats/nats.h>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"
#include "tests/cluster/nats_cluster.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(std::string, bin_dir, "bazel-bin/server",
          "Folder with healthwire_store and healthwire_gateway.");
ABSL_FLAG(std::string, tools_dir, "bazel-bin/tools/bench", "Folder with presign_webhooks.");
ABSL_FLAG(std::string, wrk, "wrk", "The wrk binary (path or name in PATH).");
ABSL_FLAG(std::string, wrk_script, "tools/bench/wrk_presigned.lua",
          "wrk_presigned.lua (sends the pre-signed requests).");
ABSL_FLAG(int, connections, 64,
          "Concurrent webhook connections (split over the 2 gateways) and ceiling publishers.");
ABSL_FLAG(int64_t, body_bytes, 1100, "Webhook body size (and the ceilings' message size).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30),
          "Length of each ceiling run and of the ingest run.");
ABSL_FLAG(int64_t, requests_per_gateway, 250000,
          "Pre-signed requests written for each gateway's wrk (more than a run can send; a run "
          "that runs out says EXHAUSTED).");
ABSL_FLAG(absl::Duration, probe_interval, absl::Milliseconds(20),
          "Time between two latency probes during the ingest run.");
ABSL_FLAG(bool, probes, true,
          "Send the latency probes (false: the ingest line's CPU without them; no lag lines).");
ABSL_FLAG(bool, idle_ceiling, true, "Measure the ceiling with the replicas idle (1a).");
ABSL_FLAG(bool, applying_ceiling, true,
          "Measure the ceiling with the replicas applying (1b; the ratio's denominator).");
ABSL_FLAG(std::string, gateway_flags, "",
          "Extra flags for both healthwire_gateway processes, space-separated (e.g. "
          "\"--http_threads=1\"), to compare settings.");
ABSL_FLAG(int64_t, catchup_events, 1000000,
          "Deliveries in the stream when the empty replica starts (topped up as needed; 0 = no "
          "catch-up line).");
ABSL_FLAG(std::string, work, "",
          "Folder for data and logs (kept); empty = a fresh one in /tmp, removed at the end.");

namespace healthwire {
namespace bench {
namespace {

constexpr char kSecret[] = "cluster-bench-secret";
constexpr char kProbeUser[] = "probe-user";

struct Line {
  std::string name, figure, ceiling, ratio, target, met, gen_cpu, load, detail;
};

std::string LoadAverage() {
  const std::string loadavg = ReadFileOrEmpty("/proc/loadavg");
  return std::string(loadavg.substr(0, loadavg.find(' ')));
}

// CPU seconds (utime + stime) of this process's children by command name
// (/proc/<pid>/comm: "healthwire_gate", "healthwire_stor", "nats-server"),
// plus this process as "cluster_bench": where a phase's CPU went.
std::map<std::string, double> CpuByCommand() {
  std::map<std::string, double> cpu;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const pid_t self = getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    const std::string stat = ReadFileOrEmpty(entry.path().string() + "/stat");
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    // After "(comm) ": state ppid ... utime is field 14, stime 15 (1-based).
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
    if (fields.size() < 13) continue;
    int64_t ppid = 0, utime = 0, stime = 0;
    if (!absl::SimpleAtoi(fields[1], &ppid) || ppid != self) continue;
    if (!absl::SimpleAtoi(fields[11], &utime) || !absl::SimpleAtoi(fields[12], &stime)) continue;
    cpu[stat.substr(open + 1, close - open - 1)] += (utime + stime) / tick;
  }
  cpu["cluster_bench"] = ProcessCpuSeconds();
  return cpu;
}

// "gateways 1.23 s (95 us/msg), ..." for the CPU used between two snapshots.
std::string CpuDetail(const std::map<std::string, double>& before,
                      const std::map<std::string, double>& after, double seconds,
                      double messages) {
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"healthwire_gate", "gateways"},
      {"healthwire_stor", "replicas"},
      {"nats-server", "nats-servers"},
      {"cluster_bench", "this bench"}};
  std::string out;
  double total = 0;
  for (const auto& [command, label] : parts) {
    auto a = after.find(command);
    if (a == after.end()) continue;
    auto b = before.find(command);
    const double used = a->second - (b == before.end() ? 0 : b->second);
    total += used;
    absl::StrAppendFormat(&out, "%s%s %.0f%% (%.0f us/msg)", out.empty() ? "" : ", ", label,
                          used * 100 / seconds, messages > 0 ? used * 1e6 / messages : 0);
  }
  return absl::StrFormat("CPU %% of one core: %s; sum %.0f%% of the 2 cores' 200%%", out,
                         total * 100 / seconds);
}

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

// key=value fields of the last "RESULT ..." line of a tool's output.
std::map<std::string, std::string> ResultFields(const std::string& output) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!absl::ConsumePrefix(&line, "RESULT ")) continue;
    fields.clear();
    for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
      fields[kv.first] = kv.second;
    }
  }
  return fields;
}

double Number(const std::map<std::string, std::string>& fields, const std::string& key) {
  double value = 0;
  auto it = fields.find(key);
  return it != fields.end() && absl::SimpleAtod(it->second, &value) ? value : 0;
}

// One event like the gateway's for a sleep webhook: a distinct record each.
log::v1::Delivery SleepDelivery(const std::string& user, const std::string& key,
                                int64_t received_unix, const std::string& raw_json) {
  log::v1::Delivery delivery;
  v1::Event* event = delivery.add_events();
  event->set_type(v1::EVENT_TYPE_SLEEP);
  event->set_terra_type("sleep");
  event->set_record_key(key);
  event->mutable_user()->set_user_id(user);
  event->mutable_received_at()->set_seconds(received_unix);
  event->set_start_time("2026-07-01T01:00:00.000000+00:00");
  event->set_raw_json(raw_json);
  delivery.set_delivery_id(key);
  return delivery;
}

struct CeilingRun {
  double rate = 0;
  double cpu_pct = 0;
  size_t message_bytes = 0;
  Line line;
};

// 1. A ceiling: synchronous js_Publish from `threads` threads over 2
// connections, for `duration`, of what `message(thread, n)` returns.
CeilingRun Ceiling(const std::string& name, const CommitLogOptions& log_options,
                   const std::string& subject, int threads,
                   const std::function<std::string(int, int64_t)>& message,
                   absl::Duration duration) {
  CeilingRun run;
  std::vector<std::unique_ptr<CommitLog>> logs;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(log_options);
    if (!log.ok()) {
      run.line = {name, "error: " + log.status().ToString()};
      return run;
    }
    logs.push_back(*std::move(log));
  }
  run.message_bytes = message(0, 0).size();
  std::atomic<int64_t> ok{0}, failed{0};
  std::vector<std::vector<int64_t>> latencies(threads);
  const double cpu0 = ProcessCpuSeconds();
  const std::map<std::string, double> cpu_before = CpuByCommand();
  const absl::Time start = absl::Now(), stop = start + duration;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      jsCtx* js = logs[t % 2]->jetstream();
      const std::string prefix = absl::StrCat("ceiling-", NowNanos(), "-", t, "-");
      for (int64_t n = 0; absl::Now() < stop; ++n) {
        const std::string data = message(t, n);
        const std::string id = absl::StrCat(prefix, n);
        jsPubOptions options;
        jsPubOptions_Init(&options);
        options.MsgId = id.c_str();
        options.MaxWait = 5000;
        jsPubAck* ack = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        const int64_t t0 = NowNanos();
        natsStatus s = js_Publish(&ack, js, subject.c_str(), data.data(),
                                  static_cast<int>(data.size()), &options, &err);
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
  const std::map<std::string, double> cpu_after = CpuByCommand();
  run.cpu_pct = (ProcessCpuSeconds() - cpu0) * 100 / seconds;
  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const LatencySummary s = Summarize(&all);
  run.rate = ok / seconds;
  run.line = {absl::StrFormat("%s: nats.c js_Publish, %zu B messages, %d publishers, 2 conns, R3",
                              name, run.message_bytes, threads),
              absl::StrFormat("%.0f msg/s", run.rate), "-", "-", "-", "-",
              absl::StrFormat("%.0f%%", run.cpu_pct), LoadAverage(),
              absl::StrFormat("PubAck p50/p90/p99/max %.1f/%.1f/%.1f/%.1f ms; %lld failed; %s",
                              s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms,
                              static_cast<long long>(failed.load()),
                              CpuDetail(cpu_before, cpu_after, seconds,
                                        static_cast<double>(ok.load())))};
  return run;
}

int Run() {
  const std::string bin = absl::GetFlag(FLAGS_bin_dir);
  const int connections = absl::GetFlag(FLAGS_connections);
  const size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (connections < 2 || connections % 2 != 0) {
    std::fprintf(stderr, "cluster_bench: --connections must be even (split over 2 gateways)\n");
    return 2;
  }
  if (access(absl::GetFlag(FLAGS_wrk_script).c_str(), R_OK) != 0) {
    std::fprintf(stderr, "cluster_bench: --wrk_script %s not readable (run from the repo root)\n",
                 absl::GetFlag(FLAGS_wrk_script).c_str());
    return 2;
  }
  std::string work = absl::GetFlag(FLAGS_work);
  if (work.empty()) {
    std::string pattern = "/tmp/cluster-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return 2;
    work = pattern;
  }
  std::fprintf(stderr, "cluster_bench: work folder %s\n", work.c_str());

  // Requests first (seconds of CPU, before anything is measured).
  const std::string tag = absl::StrCat("cb", NowNanos() / 1000);
  std::vector<std::string> request_files;
  int64_t avg_body = 0;
  for (int g = 0; g < 2; ++g) {
    const std::string file = absl::StrCat(work, "/gw-", g, ".req");
    const std::string out = absl::StrCat(work, "/presign-", g, ".txt");
    absl::StatusOr<ChildProcess> presign = ChildProcess::Start(
        {absl::GetFlag(FLAGS_tools_dir) + "/presign_webhooks", absl::StrCat("--secret=", kSecret),
         "--kind=sleep", absl::StrCat("--body_bytes=", body_bytes),
         absl::StrCat("--count=", absl::GetFlag(FLAGS_requests_per_gateway)),
         absl::StrCat("--tag=", tag, "g", g), "--out=" + file},
        out);
    if (!presign.ok() || presign->Wait() != 0) {
      std::fprintf(stderr, "presign_webhooks failed: %s\n", ReadFileOrEmpty(out).c_str());
      return 1;
    }
    avg_body = static_cast<int64_t>(Number(ResultFields(ReadFileOrEmpty(out)), "avg_body"));
    request_files.push_back(file);
  }

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
    std::vector<std::string> argv = {bin + "/healthwire_gateway", "--log=" + urls,
                                     absl::StrCat("--data_dir=", work, "/gw-", i), "--http_port=0",
                                     absl::StrCat("--signing_secret=", kSecret)};
    for (absl::string_view flag :
         absl::StrSplit(absl::GetFlag(FLAGS_gateway_flags), ' ', absl::SkipEmpty())) {
      argv.emplace_back(flag);
    }
    absl::StatusOr<ChildProcess> gateway = ChildProcess::StartServer(
        std::move(argv),
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
  absl::StatusOr<std::unique_ptr<CommitLog>> control = CommitLog::Connect(log_options);
  if (!control.ok()) return 1;
  std::vector<Line> lines;

  // 1a/1b. Ceilings (first, so the stream is smallest for them and the
  // ingest line runs on a stream of the same size or larger).
  // A record whose one-event entry is at least the webhook body's size.
  std::string raw;
  for (size_t target = body_bytes;; target += 16) {
    raw = SleepWebhook("u", "k", 1767225600, target).record;
    log::v1::LogEntry entry;
    *entry.mutable_delivery() = SleepDelivery("ceiling-user-00", "k", 1767225600, raw);
    if (entry.ByteSizeLong() >= body_bytes + 48) break;  // + the per-message key's length
  }
  CeilingRun idle;
  if (absl::GetFlag(FLAGS_idle_ceiling)) {
    std::fprintf(stderr, "== ceiling, replicas idle\n");
    const std::string payload(body_bytes, 'x');
    idle = Ceiling("ceiling 1a (replicas idle, chunks subject)", log_options,
                   (*control)->chunks_subject(), connections,
                   [&](int, int64_t) { return payload; }, duration);
    lines.push_back(idle.line);
  }
  CeilingRun applying;
  if (absl::GetFlag(FLAGS_applying_ceiling)) {
    std::fprintf(stderr, "== ceiling, replicas applying\n");
    applying = Ceiling(
        "ceiling 1b (replicas applying, one-event deliveries)", log_options,
        (*control)->deliveries_subject(), connections,
        [&](int t, int64_t n) {
          const std::string key = absl::StrCat(tag, "-ceiling-", t, "-", n);
          log::v1::LogEntry entry;
          *entry.mutable_delivery() =
              SleepDelivery(absl::StrCat("ceiling-user-", t), key, 1767225600 + n, raw);
          return entry.SerializeAsString();
        },
        duration);
    lines.push_back(applying.line);
    // The replicas apply more slowly than 1b publishes: let them finish, so
    // the ingest line's lag is its own and not 1b's backlog.
    if (absl::StatusOr<StreamState> state = (*control)->GetStreamState(absl::Seconds(5));
        state.ok()) {
      const absl::Time backlog_start = absl::Now();
      while (absl::Now() - backlog_start < absl::Minutes(5) &&
             (AppliedSequence(replicas[0].stub.get()) < state->last_sequence ||
              AppliedSequence(replicas[1].stub.get()) < state->last_sequence)) {
        absl::SleepFor(absl::Milliseconds(50));
      }
      lines.back().detail +=
          absl::StrFormat("; both replicas done applying %.1f s after it ended",
                          absl::ToDoubleSeconds(absl::Now() - backlog_start));
    }
  }
  const double ceiling = applying.rate;

  // 2./3. Cluster ingest with the lag and subscriber probes.
  std::fprintf(stderr, "== cluster ingest\n");
  uint64_t stream_bytes_before = 0, stream_msgs_before = 0;
  if (absl::StatusOr<StreamState> state = (*control)->GetStreamState(absl::Seconds(5));
      state.ok()) {
    stream_bytes_before = state->bytes;
    stream_msgs_before = state->messages;
  }
  // Subscriber on replica 1 (the probe user's changes), from now on.
  grpc::ClientContext subscriber_context;
  v1::StreamUpdatesRequest subscribe;
  subscribe.add_user_ids(kProbeUser);
  auto reader = replicas[1].stub->StreamUpdates(&subscriber_context, subscribe);
  std::mutex mu;
  std::map<std::string, int64_t> arrivals;  // record_key -> arrival (ns)
  std::thread subscriber([&] {
    v1::StreamUpdatesResponse response;
    while (reader->Read(&response)) {
      if (!response.has_update()) continue;
      const int64_t now = NowNanos();
      std::lock_guard<std::mutex> lock(mu);
      arrivals.emplace(response.update().record_key(), now);
    }
  });
  // wrk, one process per gateway.
  const std::string clk_tck = absl::StrCat(sysconf(_SC_CLK_TCK));
  std::vector<ChildProcess> generators;
  std::vector<std::string> generator_outputs;
  const int64_t wrk_seconds = std::max<int64_t>(1, absl::ToInt64Seconds(duration));
  for (int g = 0; g < 2; ++g) {
    const std::string out = absl::StrCat(work, "/wrk-", g, ".txt");
    absl::StatusOr<ChildProcess> wrk = ChildProcess::Start(
        {absl::GetFlag(FLAGS_wrk), "-t1", absl::StrCat("-c", connections / 2),
         absl::StrCat("-d", wrk_seconds, "s"), "--timeout", "30s", "-s",
         absl::GetFlag(FLAGS_wrk_script),
         absl::StrCat("http://127.0.0.1:", gateways[g].IntValue("http_port")), "--",
         request_files[g], absl::StrCat("gw", g), absl::StrCat(avg_body), clk_tck},
        out);
    if (!wrk.ok()) {
      std::fprintf(stderr, "wrk: %s\n", wrk.status().ToString().c_str());
      return 1;
    }
    generators.push_back(*std::move(wrk));
    generator_outputs.push_back(out);
  }
  // Probes: post, note the 2xx time, wait for the write on replica 0.
  std::map<std::string, int64_t> probe_acks;  // record_key -> 2xx (ns)
  std::vector<int64_t> lag_nanos;
  int64_t probe_failures = 0, lag_failures = 0;
  std::vector<std::thread> lag_checks;
  const double bench_cpu0 = ProcessCpuSeconds();
  const std::map<std::string, double> ingest_cpu_before = CpuByCommand();
  const absl::Time start = absl::Now(), stop_at = start + absl::Seconds(wrk_seconds);
  {
    std::vector<std::unique_ptr<HttpConnection>> probe_connections;
    for (int g = 0; g < 2; ++g) {
      probe_connections.push_back(
          std::make_unique<HttpConnection>(gateways[g].IntValue("http_port")));
    }
    absl::SleepFor(absl::Seconds(1));  // past wrk's connection setup
    if (!absl::GetFlag(FLAGS_probes)) absl::SleepFor(stop_at - absl::Milliseconds(500) - absl::Now());
    for (int64_t n = 0; absl::GetFlag(FLAGS_probes) && absl::Now() < stop_at - absl::Milliseconds(500);
         ++n) {
      const absl::Time next = absl::Now() + absl::GetFlag(FLAGS_probe_interval);
      const std::string key = absl::StrCat(tag, "-probe-", n);
      Webhook webhook = SleepWebhook(kProbeUser, key, 1767225600 + n * 60, body_bytes);
      absl::StatusOr<HttpResponse> response = probe_connections[n % 2]->Post(
          "/webhooks/terra", {SignatureHeader(kSecret, webhook.body)}, webhook.body);
      const int64_t acked = NowNanos();
      uint64_t sequence = 0;
      if (!response.ok() || response->status != 200 ||
          !JsonUint(response->body, "log_sequence", &sequence)) {
        ++probe_failures;
        continue;
      }
      probe_acks[key] = acked;
      // Each wait on its own thread: a lag of seconds must not thin the probes.
      lag_checks.emplace_back([&, sequence, acked] {
        v1::GetLatestRequest request;
        request.mutable_subject()->set_user_id(kProbeUser);
        request.set_type(v1::EVENT_TYPE_SLEEP);
        request.set_omit_raw_json(true);
        request.set_min_log_sequence(sequence);
        v1::GetLatestResponse latest;
        // The replica waits a bounded time for the sequence, then answers
        // "behind": ask again (for at most 60 s) until it has it.
        bool answered = false;
        for (const absl::Time give_up = absl::Now() + absl::Seconds(60);
             !answered && absl::Now() < give_up;) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          answered = replicas[0].stub->GetLatest(&context, request, &latest).ok();
        }
        const int64_t now = NowNanos();
        std::lock_guard<std::mutex> lock(mu);
        if (answered) {
          lag_nanos.push_back(now - acked);
        } else {
          ++lag_failures;
        }
      });
      absl::SleepFor(std::min(next, stop_at) - absl::Now());
    }
  }
  // While wrk still runs: the CPU of the measured part of the ingest line.
  const std::map<std::string, double> ingest_cpu_after = CpuByCommand();
  const double ingest_cpu_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  for (std::thread& t : lag_checks) t.join();
  const double bench_cpu_pct =
      (ProcessCpuSeconds() - bench_cpu0) * 100 / absl::ToDoubleSeconds(absl::Now() - start);
  int64_t ok = 0, non2xx = 0, errors = 0;
  double rate = 0, gen_cpu = 0, max_p99 = 0, max_ms = 0;
  bool exhausted = false;
  std::string per_gateway;
  for (int g = 0; g < 2; ++g) {
    const int code = generators[g].Wait();
    const std::string output = ReadFileOrEmpty(generator_outputs[g]);
    const std::map<std::string, std::string> r = ResultFields(output);
    if (code != 0 || r.empty()) {
      std::fprintf(stderr, "wrk for gateway %d exited %d:\n%s\n", g, code, output.c_str());
      return 1;
    }
    ok += static_cast<int64_t>(Number(r, "ok"));
    non2xx += static_cast<int64_t>(Number(r, "non2xx"));
    errors += static_cast<int64_t>(Number(r, "errors"));
    rate += Number(r, "req_per_s");
    gen_cpu += Number(r, "gen_cpu_pct");
    max_p99 = std::max(max_p99, Number(r, "p99_ms"));
    max_ms = std::max(max_ms, Number(r, "max_ms"));
    exhausted = exhausted || Number(r, "exhausted") > 0;
    absl::StrAppendFormat(&per_gateway, "%sgw%d %.0f req/s p50/p90/p99 %.1f/%.1f/%.1f ms",
                          g == 0 ? "" : ", ", g, Number(r, "req_per_s"), Number(r, "p50_ms"),
                          Number(r, "p90_ms"), Number(r, "p99_ms"));
    std::remove(request_files[g].c_str());
  }
  const std::string ingest_load = LoadAverage();
  uint64_t ingest_last = 0;
  std::string entry_size = "?";
  if (absl::StatusOr<StreamState> state = (*control)->GetStreamState(absl::Seconds(5));
      state.ok()) {
    ingest_last = state->last_sequence;
    if (state->messages > stream_msgs_before) {
      entry_size = absl::StrCat((state->bytes - stream_bytes_before) /
                                (state->messages - stream_msgs_before));
    }
  }
  // Let the subscriber receive the tail, then stop it.
  for (absl::Time give_up = absl::Now() + absl::Seconds(60);
       absl::Now() < give_up && AppliedSequence(replicas[1].stub.get()) < ingest_last;) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  absl::SleepFor(absl::Milliseconds(500));
  subscriber_context.TryCancel();
  subscriber.join();
  (void)reader->Finish();

  lines.push_back(
      {absl::StrFormat("cluster ingest, %lld B sleep, %d conns (wrk, pre-signed), 2 gateways, "
                       "R3, %lld s",
                       static_cast<long long>(avg_body), connections,
                       static_cast<long long>(wrk_seconds)),
       absl::StrFormat("%.0f req/s%s", rate, exhausted ? " EXHAUSTED (invalid)" : ""),
       absl::StrFormat("%.0f msg/s (1b)%s", ceiling,
                       idle.rate > 0 ? absl::StrFormat("; %.0f (1a)", idle.rate) : ""),
       absl::StrFormat("%.2f (1b)%s", ceiling > 0 ? rate / ceiling : 0,
                       idle.rate > 0 ? absl::StrFormat("; %.2f (1a)", rate / idle.rate) : ""),
       ">= 0.60 of 1b", rate >= 0.6 * ceiling ? "yes" : "no",
       absl::StrFormat("%.0f%% (2 wrk) + %.0f%% (probes)", gen_cpu, bench_cpu_pct), ingest_load,
       absl::StrFormat("%s; worst p99 %.1f ms, max %.1f ms; %lld non-2xx, %lld transport "
                       "errors; log entry %s B; %s (wrk not included)",
                       per_gateway, max_p99, max_ms, static_cast<long long>(non2xx),
                       static_cast<long long>(errors), entry_size,
                       CpuDetail(ingest_cpu_before, ingest_cpu_after, ingest_cpu_seconds,
                                 rate * ingest_cpu_seconds))});
  const LatencySummary lag = Summarize(&lag_nanos);
  lines.push_back({"apply lag on a replica at that load (probe 2xx -> GetLatest "
                   "min_log_sequence on replica 0)",
                   absl::StrFormat("p99 %.1f ms", lag.p99_ms), "-", "-", "report", "-", "-",
                   ingest_load,
                   absl::StrFormat("p50/p90/max %.1f/%.1f/%.1f ms, %zu probes; %lld probe posts and "
                                   "%lld reads failed",
                                   lag.p50_ms, lag.p90_ms, lag.max_ms, lag.count,
                                   static_cast<long long>(probe_failures),
                                   static_cast<long long>(lag_failures))});
  std::vector<int64_t> subscriber_nanos;
  for (const auto& [key, acked] : probe_acks) {
    auto it = arrivals.find(key);
    if (it == arrivals.end()) continue;
    subscriber_nanos.push_back(std::max<int64_t>(0, it->second - acked));
  }
  const LatencySummary sub = Summarize(&subscriber_nanos);
  lines.push_back({"webhook 2xx -> subscriber on the other replica (replica 1), at that load",
                   absl::StrFormat("p99 %.1f ms", sub.p99_ms), "-", "-", "report", "-", "-",
                   ingest_load,
                   absl::StrFormat("p50/p90/max %.1f/%.1f/%.1f ms; %zu of %zu probes arrived "
                                   "(arrivals before the probe saw its 2xx count as 0)",
                                   sub.p50_ms, sub.p90_ms, sub.max_ms, sub.count,
                                   probe_acks.size())});

  // 4. Catch-up of an empty replica.
  const int64_t wanted = absl::GetFlag(FLAGS_catchup_events);
  if (wanted > 0) {
    uint64_t final_sequence = ingest_last;
    // Deliveries so far (1b's, the ingest's, the probes'): what replica 0
    // applied once it reached the ingest's last sequence.
    int64_t deliveries = 0;
    for (absl::Time give_up = absl::Now() + absl::Seconds(60); absl::Now() < give_up;) {
      v1::GetStatusResponse status;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (replicas[0].stub->GetStatus(&context, {}, &status).ok() &&
          status.replica().applied_sequence() >= ingest_last) {
        deliveries = static_cast<int64_t>(status.replica().deliveries_applied());
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    std::fprintf(stderr, "== topping the stream up from %lld to %lld deliveries\n",
                 static_cast<long long>(deliveries), static_cast<long long>(wanted));
    {
      LogPublisher publisher(control->get());
      std::atomic<int64_t> inflight{0};
      std::atomic<uint64_t> top{0};
      std::atomic<int64_t> failures{0};
      for (int64_t n = deliveries; n < wanted; ++n) {
        while (inflight.load() >= 2048) absl::SleepFor(absl::Microseconds(200));
        ++inflight;
        publisher.Publish(SleepDelivery(absl::StrCat("topup-user-", n % 64),
                                        absl::StrCat(tag, "-topup-", n), 1767225600 + n, raw),
                          absl::Now() + absl::Seconds(30),
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
                     absl::StrFormat("%.1f s", catch_seconds), "-", "-", "report", "-", "-",
                     LoadAverage(),
                     absl::StrFormat("%.0f events/s incl. process start; stream sequence %llu "
                                     "(also holds 1a's chunk-subject messages, read past)",
                                     deliveries / catch_seconds,
                                     static_cast<unsigned long long>(final_sequence))});
    empty->process.Kill(SIGTERM);
  }

  std::printf("| line | figure | ceiling | ratio | target | met? | generator CPU | load | detail |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const Line& l : lines) {
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l.name.c_str(),
                l.figure.c_str(), l.ceiling.c_str(), l.ratio.c_str(), l.target.c_str(),
                l.met.c_str(), l.gen_cpu.c_str(), l.load.c_str(), l.detail.c_str());
  }
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
  healthwire::ParseFlagsWithVersion(argc, argv, "cluster_bench");
  return healthwire::bench::Run();
}
