// GatewayMetrics: the webhook gateway's counters, rendered for Prometheus.
//
// Exposed series (text format 0.0.4):
//   healthwire_http_requests_total{code="200",reason="ok"}      counter (webhooks)
//   healthwire_http_request_bytes_total                         counter (webhooks)
//   healthwire_http_request_duration_seconds                    histogram (webhooks)
//   healthwire_http_probe_requests_total{endpoint,code}         counter
//   healthwire_webhook_workers_busy, _queue_depth               gauges
//   healthwire_events_total{type="sleep",outcome="stored"}      counter
//   healthwire_schema_problem_events_total                      counter
//   healthwire_store_revision                                   gauge
//
// Label values come from fixed sets (HTTP codes, the gateway's reason names,
// EventType names, IngestResult outcomes), never from request data, so the
// number of series stays bounded.
//
// Thread-safe: every method may be called from any thread.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_GATEWAY_METRICS_H_
#define HEALTHWIRE_SERVER_WEBHOOK_GATEWAY_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

class GatewayMetrics {
 public:
  // Upper bounds (seconds) of the duration histogram's buckets; +Inf is added.
  static constexpr std::array<double, 12> kDurationBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

  // One answered HTTP request: its status code, a short reason name
  // ("ok", "bad_signature", ...), its body size and how long it took.
  void RecordRequest(int status_code, absl::string_view reason, uint64_t body_bytes,
                     absl::Duration duration);

  // One answered request to /healthz, /readyz or /metrics (endpoint
  // "healthz", "readyz", "metrics") or to an unknown path ("other"): probes
  // are not webhooks and stay out of the webhook series.
  void RecordProbe(absl::string_view endpoint, int status_code);

  // The webhook worker pool's current state (rendered as gauges).
  void SetWorkerState(int busy, int queued);

  // The outcome of every committed event: results[i] belongs to the event of
  // type event_types[i].
  void RecordIngested(const std::vector<v1::EventType>& event_types,
                      const v1::IngestResponse& response);

  // Events that were stored raw and flagged because part of them did not fit
  // the typed schema.
  void RecordSchemaProblemEvents(int count);

  // Everything in Prometheus text format; `store_revision` is the gauge
  // value, left out when the gateway does not know it (cluster mode).
  std::string RenderPrometheusText(std::optional<uint64_t> store_revision) const;

  // The type label of an event type: "sleep", "auth_error", "unknown", ...
  static std::string TypeLabel(v1::EventType type);

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<int, std::string>, uint64_t> requests_ ABSL_GUARDED_BY(mu_);
  uint64_t request_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kDurationBuckets.size()> duration_bucket_counts_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t duration_count_ ABSL_GUARDED_BY(mu_) = 0;
  double duration_sum_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> events_ ABSL_GUARDED_BY(mu_);
  uint64_t schema_problem_events_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<std::string, int>, uint64_t> probes_ ABSL_GUARDED_BY(mu_);
  int workers_busy_ ABSL_GUARDED_BY(mu_) = 0;
  int worker_queue_depth_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_GATEWAY_METRICS_H_
