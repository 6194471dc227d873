// webhook_load: signed Terra webhooks over HTTP keep-alive connections.
//
// N connections (one thread each, blocking keep-alive sockets on loopback)
// post unique, signed webhooks for a duration (or a request count), and the
// tool prints req/s, events/s, MB/s and the 2xx latency p50/p90/p99/max.
// Every body carries a unique summary_id, so every request stores a new
// version (a real durable commit, never an IDENTICAL no-op).
//
// All --max_requests bodies are built and signed before the clock starts, so
// the measured run spends no CPU on JSON or HMAC; the tool reports its own
// CPU over the run (gen_cpu_pct, % of one core). For high request rates use
// wrk with presign_webhooks + wrk_presigned.lua (tools/bench/run_all.sh does):
// one thread per connection costs more than wrk's event loop.
//
//   webhook_load --port=8080 --secret=s --kind=sleep --body_bytes=1100
//                --connections=64 --duration=30s
//   webhook_load --port=8080 --secret=s --kind=activity --body_bytes=10485760
//                --connections=1 --max_requests=5        (the 10 MB webhook)
//
// The last line is machine-readable: "RESULT key=value ...".
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/bench/bench_lib.h"
#include "tools/build_defs/parse_flags.h"

ABSL_FLAG(int, port, 8080, "healthwire's webhook HTTP port (127.0.0.1).");
ABSL_FLAG(std::string, path, "/webhooks/terra", "Webhook path.");
ABSL_FLAG(std::string, secret, "", "Signing secret (as given to healthwire --signing_secret).");
ABSL_FLAG(std::string, kind, "sleep", "sleep | activity");
ABSL_FLAG(int64_t, body_bytes, 1100, "Approximate body size (bodies are at least this big).");
ABSL_FLAG(int, connections, 64, "Concurrent keep-alive connections (one thread each).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(30), "How long to post.");
ABSL_FLAG(int64_t, max_requests, 100000,
          "Requests to build before the run (each sent once); the run stops when all are sent.");
ABSL_FLAG(int64_t, max_prebuilt_bytes, int64_t{4} << 30,
          "Refuse to build more than this many body bytes before the run.");
ABSL_FLAG(int, users, 64, "Distinct user ids (bench-user-<i>) the records are spread over.");
ABSL_FLAG(std::string, tag, "", "summary_id prefix; empty = derived from the clock.");
ABSL_FLAG(std::string, label, "webhook_load", "Name printed in the RESULT line.");

namespace healthwire {
namespace bench {
namespace {

struct ThreadResult {
  std::vector<int64_t> latencies;
  int64_t ok = 0, errors = 0, non2xx = 0, bytes = 0;
};

int Run() {
  const std::string secret = absl::GetFlag(FLAGS_secret);
  if (secret.empty()) {
    std::fprintf(stderr, "--secret is required\n");
    return 2;
  }
  const std::string kind = absl::GetFlag(FLAGS_kind);
  if (kind != "sleep" && kind != "activity") {
    std::fprintf(stderr, "--kind must be sleep or activity\n");
    return 2;
  }
  const int connections = absl::GetFlag(FLAGS_connections);
  const size_t body_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_body_bytes));
  const int users = std::max(1, absl::GetFlag(FLAGS_users));
  const int64_t max_requests = absl::GetFlag(FLAGS_max_requests);
  std::string tag = absl::GetFlag(FLAGS_tag);
  if (tag.empty()) tag = absl::StrCat("b", NowNanos() / 1000);
  const std::string path = absl::GetFlag(FLAGS_path);
  const int port = absl::GetFlag(FLAGS_port);

  if (max_requests <= 0 ||
      static_cast<double>(max_requests) * static_cast<double>(body_bytes) >
          static_cast<double>(absl::GetFlag(FLAGS_max_prebuilt_bytes))) {
    std::fprintf(stderr, "--max_requests x --body_bytes must be in 1..--max_prebuilt_bytes\n");
    return 2;
  }
  struct Prebuilt {
    std::string body, signature;
  };
  std::vector<Prebuilt> requests(static_cast<size_t>(max_requests));
  const int64_t base_start = 1767225600;  // 2026-01-01
  for (int64_t seq = 0; seq < max_requests; ++seq) {
    const std::string user = absl::StrCat("bench-user-", seq % users);
    const std::string summary_id = absl::StrCat(tag, "-", kind, "-", seq);
    const int64_t start_unix = base_start + seq * 60;
    Webhook webhook = kind == "sleep" ? SleepWebhook(user, summary_id, start_unix, body_bytes)
                                      : ActivityWebhook(user, summary_id, start_unix, body_bytes);
    requests[seq].signature = SignatureHeader(secret, webhook.body);
    requests[seq].body = std::move(webhook.body);
  }

  std::atomic<int64_t> issued{0};
  std::vector<ThreadResult> results(connections);
  const double cpu0 = ProcessCpuSeconds();
  const absl::Time start = absl::Now();
  const absl::Time stop_at = start + absl::GetFlag(FLAGS_duration);
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      HttpConnection connection(port);
      ThreadResult& r = results[c];
      r.latencies.reserve(1 << 16);
      std::vector<std::string> headers(1);
      while (absl::Now() < stop_at) {
        const int64_t seq = issued.fetch_add(1);
        if (seq >= max_requests) break;
        const Prebuilt& request = requests[seq];
        headers[0] = request.signature;
        const int64_t t0 = NowNanos();
        absl::StatusOr<HttpResponse> response = connection.Post(path, headers, request.body);
        const int64_t t1 = NowNanos();
        if (!response.ok()) {
          ++r.errors;
          if (r.errors <= 3) {
            std::fprintf(stderr, "connection %d: %s\n", c, response.status().ToString().c_str());
          }
          absl::SleepFor(absl::Milliseconds(10));
          continue;
        }
        if (response->status / 100 != 2) {
          ++r.non2xx;
          if (r.non2xx <= 3) {
            std::fprintf(stderr, "connection %d: HTTP %d %s\n", c, response->status,
                         response->body.c_str());
          }
          continue;
        }
        ++r.ok;
        r.bytes += static_cast<int64_t>(request.body.size());
        r.latencies.push_back(t1 - t0);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_pct = (ProcessCpuSeconds() - cpu0) / seconds * 100;

  std::vector<int64_t> all;
  int64_t ok = 0, errors = 0, non2xx = 0, bytes = 0;
  for (ThreadResult& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    ok += r.ok;
    errors += r.errors;
    non2xx += r.non2xx;
    bytes += r.bytes;
  }
  LatencySummary s = Summarize(&all);
  const double rps = ok / seconds;
  const double mbps = bytes / seconds / 1e6;
  std::printf("%s: kind=%s body~%zu B connections=%d %.1fs\n", absl::GetFlag(FLAGS_label).c_str(),
              kind.c_str(), body_bytes, connections, seconds);
  std::printf("  2xx=%lld non2xx=%lld transport_errors=%lld  %.0f req/s (= events/s)  %.2f MB/s\n",
              static_cast<long long>(ok), static_cast<long long>(non2xx),
              static_cast<long long>(errors), rps, mbps);
  std::printf("  latency (send -> 2xx): %s\n", FormatSummary(s).c_str());
  std::printf("  generator CPU %.1f%% of a core\n", cpu_pct);
  std::printf(
      "RESULT label=%s ok=%lld non2xx=%lld errors=%lld seconds=%.3f req_per_s=%.1f mb_per_s=%.3f "
      "avg_body=%lld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f gen_cpu_pct=%.1f\n",
      absl::GetFlag(FLAGS_label).c_str(), static_cast<long long>(ok),
      static_cast<long long>(non2xx), static_cast<long long>(errors), seconds, rps, mbps,
      static_cast<long long>(ok > 0 ? bytes / ok : 0), s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, cpu_pct);
  return ok > 0 && non2xx == 0 ? 0 : 1;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  healthwire::ParseFlagsWithVersion(argc, argv, "webhook_load");
  return healthwire::bench::Run();
}
