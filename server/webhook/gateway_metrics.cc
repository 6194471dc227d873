#include "server/webhook/gateway_metrics.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/metrics_text.h"
#include "tools/build_defs/version.h"

namespace healthwire {
namespace {

std::string OutcomeLabel(v1::IngestResult::Outcome outcome) {
  switch (outcome) {
    case v1::IngestResult::OUTCOME_STORED:
      return "stored";
    case v1::IngestResult::OUTCOME_IDENTICAL:
      return "identical";
    case v1::IngestResult::OUTCOME_STALE:
      return "stale";
    default:
      return "unspecified";
  }
}

std::string FormatBound(double bound) { return absl::StrFormat("%g", bound); }

}  // namespace

std::string GatewayMetrics::TypeLabel(v1::EventType type) {
  std::string name = v1::EventType_Name(type);
  if (name.empty()) return "unknown";
  constexpr absl::string_view kPrefix = "EVENT_TYPE_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  return absl::AsciiStrToLower(name);
}

void GatewayMetrics::RecordRequest(int status_code, absl::string_view reason,
                                   uint64_t body_bytes, absl::Duration duration) {
  const double seconds = absl::ToDoubleSeconds(duration);
  absl::MutexLock lock(&mu_);
  ++requests_[{status_code, std::string(reason)}];
  request_bytes_ += body_bytes;
  ++duration_count_;
  duration_sum_seconds_ += seconds;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    // Stored per bucket (not cumulative); rendering accumulates.
    if (seconds <= kDurationBuckets[i]) {
      ++duration_bucket_counts_[i];
      break;
    }
  }
}

void GatewayMetrics::RecordProbe(absl::string_view endpoint, int status_code) {
  absl::MutexLock lock(&mu_);
  ++probes_[{std::string(endpoint), status_code}];
}

void GatewayMetrics::SetWorkerState(int busy, int queued) {
  absl::MutexLock lock(&mu_);
  workers_busy_ = busy;
  worker_queue_depth_ = queued;
}

void GatewayMetrics::RecordIngested(const std::vector<v1::EventType>& event_types,
                                    const v1::IngestResponse& response) {
  const size_t n = std::min<size_t>(event_types.size(), response.results_size());
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < n; ++i) {
    ++events_[{TypeLabel(event_types[i]), OutcomeLabel(response.results(i).outcome())}];
  }
}

void GatewayMetrics::RecordSchemaProblemEvents(int count) {
  if (count <= 0) return;
  absl::MutexLock lock(&mu_);
  schema_problem_events_ += static_cast<uint64_t>(count);
}

std::string GatewayMetrics::RenderPrometheusText(std::optional<uint64_t> store_revision) const {
  std::string out;
  // Prometheus' build-info convention: a constant 1 whose labels say what
  // runs (hwctl status shows it as the server version).
  AppendMetricHeader(&out, "healthwire_build_info", "gauge",
                     "The healthwire release this process runs.");
  AppendSample(&out, "healthwire_build_info", absl::StrCat("version=\"", kVersion, "\""), 1);
  absl::MutexLock lock(&mu_);

  AppendMetricHeader(&out, "healthwire_http_requests_total", "counter",
                     "HTTP requests answered, by status code and reason.");
  for (const auto& [key, count] : requests_) {
    AppendSample(&out, "healthwire_http_requests_total",
                 absl::StrCat("code=\"", key.first, "\",reason=\"", EscapeLabelValue(key.second),
                              "\""),
                 count);
  }

  AppendMetricHeader(&out, "healthwire_http_probe_requests_total", "counter",
                     "Requests to /healthz, /readyz, /metrics and unknown paths (\"other\"), by "
                     "endpoint and status code; not counted as webhooks.");
  for (const auto& [key, count] : probes_) {
    AppendSample(&out, "healthwire_http_probe_requests_total",
                 absl::StrCat("endpoint=\"", EscapeLabelValue(key.first), "\",code=\"",
                              key.second, "\""),
                 count);
  }

  AppendGauge(&out, "healthwire_webhook_workers_busy",
              "Webhook workers converting a large body now.", workers_busy_);
  AppendGauge(&out, "healthwire_webhook_queue_depth", "Large webhooks waiting for a worker.",
              worker_queue_depth_);
  AppendCounter(&out, "healthwire_http_request_bytes_total", "Request body bytes received.",
                request_bytes_);

  constexpr absl::string_view kDuration = "healthwire_http_request_duration_seconds";
  AppendMetricHeader(&out, kDuration, "histogram", "Time from a request's headers to its answer.");
  const std::string bucket = absl::StrCat(kDuration, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    cumulative += duration_bucket_counts_[i];
    AppendSample(&out, bucket, absl::StrCat("le=\"", FormatBound(kDurationBuckets[i]), "\""),
                 cumulative);
  }
  AppendSample(&out, bucket, "le=\"+Inf\"", duration_count_);
  AppendSample(&out, absl::StrCat(kDuration, "_sum"), "",
               absl::StrFormat("%.6f", duration_sum_seconds_));
  AppendSample(&out, absl::StrCat(kDuration, "_count"), "", duration_count_);

  AppendMetricHeader(&out, "healthwire_events_total", "counter",
                     "Converted events handed to the store, by type and outcome.");
  for (const auto& [key, count] : events_) {
    AppendSample(&out, "healthwire_events_total",
                 absl::StrCat("type=\"", EscapeLabelValue(key.first), "\",outcome=\"",
                              EscapeLabelValue(key.second), "\""),
                 count);
  }

  AppendCounter(&out, "healthwire_schema_problem_events_total",
                "Events stored raw and flagged because part of them did not fit the typed schema.",
                schema_problem_events_);
  if (store_revision.has_value()) {
    AppendGauge(&out, "healthwire_store_revision", "The store's latest committed revision.",
                *store_revision);
  }
  return out;
}

}  // namespace healthwire
