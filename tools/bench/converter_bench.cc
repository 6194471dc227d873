// Converter microbenchmark: ConvertTerraWebhook on simulator bodies,
// single-threaded (issue 14: one pass over each record).
//
//   bazel run -c opt //tools/bench:converter_bench
//   bazel run -c opt //tools/bench:converter_bench -- --benchmark_filter=Sleep
//
// Bodies: the 1.1 KB sleep of the durable-ingest line (bench_lib's
// SleepWebhook, as webhook_load sends it); from //tools/simulator:terra_payloads
// the smallest sleep it makes (2 KB, no samples) and a 20 KB and a 10 MB
// activity with samples, sized by growing samples_per_array until the body
// reaches the target. Reports
// bodies/s (items) and MB/s (bytes) beside the time per body.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/convert/terra_converter.h"
#include "tools/bench/bench_lib.h"
#include "tools/simulator/terra_payloads.h"

namespace healthwire {
namespace {

// The first simulated body of `type` whose size is at least `target_bytes`,
// growing samples_per_array (0, 1, 2, 4, ... then linearly by the remainder).
std::string BodyOfAtLeast(simulator::PayloadType type, size_t target_bytes) {
  simulator::SimulationOptions options;
  options.type = type;
  options.reference_id = "bench-ref";
  auto generate = [&](int samples) {
    options.samples_per_array = samples;
    absl::StatusOr<std::vector<simulator::SimulatedWebhook>> webhooks =
        simulator::GenerateWebhooks(options);
    if (!webhooks.ok() || webhooks->empty()) {
      std::fprintf(stderr, "converter_bench: simulator: %s\n",
                   webhooks.status().ToString().c_str());
      std::exit(1);
    }
    return (*webhooks)[0].body;
  };
  int low = 0;
  std::string body = generate(0);
  if (body.size() >= target_bytes) return body;
  int high = 1;
  while ((body = generate(high)).size() < target_bytes) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {  // the smallest count that reaches the target
    const int middle = low + (high - low) / 2;
    if (generate(middle).size() >= target_bytes) {
      high = middle;
    } else {
      low = middle;
    }
  }
  return generate(high);
}

const std::string& IngestSleepBody() {
  static const std::string* const body = new std::string(
      bench::SleepWebhook("bench-user", "bench-sleep-1", 1782889200, 1100).body);
  return *body;
}
const std::string& SimulatedSleepBody() {
  static const std::string* const body =
      new std::string(BodyOfAtLeast(simulator::PayloadType::kSleep, 0));
  return *body;
}
const std::string& Activity20KBody() {
  static const std::string* const body =
      new std::string(BodyOfAtLeast(simulator::PayloadType::kActivity, 20 * 1000));
  return *body;
}
const std::string& Activity10MBody() {
  static const std::string* const body =
      new std::string(BodyOfAtLeast(simulator::PayloadType::kActivity, 10 * 1000 * 1000));
  return *body;
}

void RunConvert(benchmark::State& state, const std::string& body) {
  DeliveryContext context;
  context.received_at = absl::FromUnixSeconds(1782900000);
  size_t events = 0;
  for (auto _ : state) {
    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(body, context);
    if (!converted.ok() || converted->events_with_problems != 0) {
      state.SkipWithError(converted.ok() ? "conversion problems" : "conversion failed");
      break;
    }
    events += converted->events.size();
    benchmark::DoNotOptimize(converted->events.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_ConvertSleep1K(benchmark::State& state) { RunConvert(state, IngestSleepBody()); }
void BM_ConvertSimulatedSleep2K(benchmark::State& state) {
  RunConvert(state, SimulatedSleepBody());
}
void BM_ConvertActivity20K(benchmark::State& state) { RunConvert(state, Activity20KBody()); }
void BM_ConvertActivity10M(benchmark::State& state) { RunConvert(state, Activity10MBody()); }

BENCHMARK(BM_ConvertSleep1K);
BENCHMARK(BM_ConvertSimulatedSleep2K);
BENCHMARK(BM_ConvertActivity20K);
BENCHMARK(BM_ConvertActivity10M)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace
}  // namespace healthwire

BENCHMARK_MAIN();
