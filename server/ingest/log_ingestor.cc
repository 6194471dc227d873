#include "server/ingest/log_ingestor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<LogIngestor>> LogIngestor::Create(const CommitLogOptions& options,
                                                                 bool ensure_stream,
                                                                 absl::Duration ready_timeout) {
  std::unique_ptr<LogIngestor> ingestor(new LogIngestor());
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options);
  if (!log.ok()) return log.status();
  ingestor->log_ = std::move(*log);
  if (ensure_stream) {
    absl::Status ensured = ingestor->log_->EnsureStream(absl::Now() + ready_timeout);
    if (!ensured.ok()) return ensured;
  }
  ingestor->publisher_ = std::make_unique<LogPublisher>(ingestor->log_.get());
  return ingestor;
}

LogIngestor::~LogIngestor() {
  publisher_.reset();  // answers what is still waiting, before the log closes
  log_.reset();
}

void LogIngestor::Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) {
  log::v1::Delivery delivery;
  delivery.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (v1::Event& event : events) *delivery.add_events() = std::move(event);
  publisher_->Publish(std::move(delivery), deadline,
                      [this, done = std::move(done)](absl::StatusOr<PublishResult> result) {
                        if (!result.ok()) {
                          done(result.status());
                          return;
                        }
                        uint64_t seen = last_sequence_.load();
                        while (result->sequence > seen &&
                               !last_sequence_.compare_exchange_weak(seen, result->sequence)) {
                        }
                        v1::IngestResponse response;
                        response.set_log_sequence(result->sequence);
                        done(std::move(response));
                      });
}

absl::Status LogIngestor::CheckReady() {
  if (log_->IsConnected()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("the commit log (",
                                             absl::StrJoin(log_->options().servers, ","),
                                             ") is not reachable"));
}

}  // namespace healthwire
