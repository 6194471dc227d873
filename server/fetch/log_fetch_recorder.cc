#include "server/fetch/log_fetch_recorder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics_text.h"
#include "storage/commit_log/delivery_id.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<LogFetchRecorder>> LogFetchRecorder::Create(
    const CommitLogOptions& options, std::function<absl::Status()> ready) {
  std::unique_ptr<LogFetchRecorder> recorder(new LogFetchRecorder(std::move(ready)));
  CommitLogOptions log_options = options;
  log_options.client_name = "healthwire-s3-fetcher";
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(log_options);
  if (!log.ok()) return log.status();
  recorder->log_ = *std::move(log);
  recorder->publisher_ = std::make_unique<LogPublisher>(recorder->log_.get());
  return recorder;
}

LogFetchRecorder::~LogFetchRecorder() {
  publisher_.reset();  // answers what still waits, before the connection closes
  log_.reset();
}

void LogFetchRecorder::Record(std::vector<v1::Event> events, v1::S3Fetch outcome,
                              absl::Duration timeout, Done done) {
  log::v1::Delivery delivery;
  delivery.set_delivery_id(FetchOutcomeDeliveryId(outcome.ping_revision()));
  delivery.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (v1::Event& event : events) *delivery.add_events() = std::move(event);
  *delivery.mutable_fetch_outcome() = std::move(outcome);
  publisher_->Publish(std::move(delivery), absl::Now() + timeout,
                      [this, done = std::move(done)](absl::StatusOr<PublishResult> result) {
                        if (!result.ok()) {
                          errors_.fetch_add(1);
                          done(result.status());
                          return;
                        }
                        // A duplicate: another replica's outcome of the same
                        // ping is in the log already; this one is not needed.
                        (result->duplicate ? duplicates_ : published_).fetch_add(1);
                        done(absl::OkStatus());
                      });
}

std::string LogFetchRecorder::MetricsText() const {
  std::string text;
  AppendMetricHeader(
      &text, "healthwire_s3_fetch_outcomes_published_total", "counter",
      "s3_payload fetch outcomes this replica published to the commit log (duplicate: another "
      "replica's outcome of the same ping was there first; error: not published, retried).");
  AppendSample(&text, "healthwire_s3_fetch_outcomes_published_total", "result=\"new\"",
               published_.load());
  AppendSample(&text, "healthwire_s3_fetch_outcomes_published_total", "result=\"duplicate\"",
               duplicates_.load());
  AppendSample(&text, "healthwire_s3_fetch_outcomes_published_total", "result=\"error\"",
               errors_.load());
  return text;
}

}  // namespace healthwire
