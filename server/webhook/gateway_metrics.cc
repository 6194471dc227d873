#include "server/webhook/gateway_metrics.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// Prometheus label values: escape backslash, quote and newline.
std::string EscapeLabel(absl::string_view value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      escaped.push_back('\\');
      escaped.push_back(c);
    } else if (c == '\n') {
      escaped.append("\\n");
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
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
  absl::StrAppend(&out,
                  "# HELP healthwire_build_info The healthwire release this process runs.\n"
                  "# TYPE healthwire_build_info gauge\n"
                  "healthwire_build_info{version=\"", kVersion, "\"} 1\n");
  absl::MutexLock lock(&mu_);

  absl::StrAppend(&out,
                  "# HELP healthwire_http_requests_total HTTP requests answered, by status code "
                  "and reason.\n"
                  "# TYPE healthwire_http_requests_total counter\n");
  for (const auto& [key, count] : requests_) {
    absl::StrAppend(&out, "healthwire_http_requests_total{code=\"", key.first, "\",reason=\"",
                    EscapeLabel(key.second), "\"} ", count, "\n");
  }

  absl::StrAppend(&out,
                  "# HELP healthwire_http_probe_requests_total Requests to /healthz, /readyz, "
                  "/metrics and unknown paths (\"other\"), by endpoint and status code; not "
                  "counted as webhooks.\n"
                  "# TYPE healthwire_http_probe_requests_total counter\n");
  for (const auto& [key, count] : probes_) {
    absl::StrAppend(&out, "healthwire_http_probe_requests_total{endpoint=\"",
                    EscapeLabel(key.first), "\",code=\"", key.second, "\"} ", count, "\n");
  }

  absl::StrAppend(&out,
                  "# HELP healthwire_webhook_workers_busy Webhook workers converting a large "
                  "body now.\n"
                  "# TYPE healthwire_webhook_workers_busy gauge\n"
                  "healthwire_webhook_workers_busy ", workers_busy_, "\n",
                  "# HELP healthwire_webhook_queue_depth Large webhooks waiting for a worker.\n"
                  "# TYPE healthwire_webhook_queue_depth gauge\n"
                  "healthwire_webhook_queue_depth ", worker_queue_depth_, "\n");

  absl::StrAppend(&out,
                  "# HELP healthwire_http_request_bytes_total Request body bytes received.\n"
                  "# TYPE healthwire_http_request_bytes_total counter\n"
                  "healthwire_http_request_bytes_total ",
                  request_bytes_, "\n");

  absl::StrAppend(&out,
                  "# HELP healthwire_http_request_duration_seconds Time from a request's "
                  "headers to its answer.\n"
                  "# TYPE healthwire_http_request_duration_seconds histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    cumulative += duration_bucket_counts_[i];
    absl::StrAppend(&out, "healthwire_http_request_duration_seconds_bucket{le=\"",
                    FormatBound(kDurationBuckets[i]), "\"} ", cumulative, "\n");
  }
  absl::StrAppend(&out, "healthwire_http_request_duration_seconds_bucket{le=\"+Inf\"} ",
                  duration_count_, "\n",
                  "healthwire_http_request_duration_seconds_sum ",
                  absl::StrFormat("%.6f", duration_sum_seconds_), "\n",
                  "healthwire_http_request_duration_seconds_count ", duration_count_, "\n");

  absl::StrAppend(&out,
                  "# HELP healthwire_events_total Converted events handed to the store, by "
                  "type and outcome.\n"
                  "# TYPE healthwire_events_total counter\n");
  for (const auto& [key, count] : events_) {
    absl::StrAppend(&out, "healthwire_events_total{type=\"", EscapeLabel(key.first),
                    "\",outcome=\"", EscapeLabel(key.second), "\"} ", count, "\n");
  }

  absl::StrAppend(&out,
                  "# HELP healthwire_schema_problem_events_total Events stored raw and flagged "
                  "because part of them did not fit the typed schema.\n"
                  "# TYPE healthwire_schema_problem_events_total counter\n"
                  "healthwire_schema_problem_events_total ",
                  schema_problem_events_, "\n");

  if (store_revision.has_value()) {
    absl::StrAppend(&out,
                    "# HELP healthwire_store_revision The store's latest committed revision.\n"
                    "# TYPE healthwire_store_revision gauge\n"
                    "healthwire_store_revision ",
                    *store_revision, "\n");
  }
  return out;
}

}  // namespace healthwire
