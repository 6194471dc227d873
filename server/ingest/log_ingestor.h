// LogIngestor: the gateway's Ingestor in cluster mode; commits a delivery by
// publishing it to the commit log (a replicated JetStream stream) and
// answers only after the PubAck, i.e. once the delivery is on a quorum of
// the stream's servers. Store replicas apply it from there.
//
// The response carries the delivery's log_sequence (and no per-event
// outcomes or store revision: those are decided by the replicas, the same on
// each). Publish errors and a stream without quorum are Unavailable, a
// PubAck that did not come before the deadline is DeadlineExceeded, too many
// publishes in flight is ResourceExhausted: the gateway answers 503 with
// Retry-After for all of them, never 2xx.
//
// Thread-safe. Owns its CommitLog connection and publisher.
#ifndef HEALTHWIRE_SERVER_INGEST_LOG_INGESTOR_H_
#define HEALTHWIRE_SERVER_INGEST_LOG_INGESTOR_H_

#include <atomic>
#include <memory>

#include "server/ingest/ingestor.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"

namespace healthwire {

class LogIngestor final : public Ingestor {
 public:
  // Connects to the log; with `ensure_stream`, also creates or checks the
  // stream (waiting up to `ready_timeout` for JetStream).
  static absl::StatusOr<std::unique_ptr<LogIngestor>> Create(const CommitLogOptions& options,
                                                             bool ensure_stream,
                                                             absl::Duration ready_timeout);
  ~LogIngestor() override;

  void Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) override;
  absl::Status CheckReady() override;
  // The gateway knows no store revision; 0.
  uint64_t CurrentRevision() override { return 0; }
  bool KnowsStoreOutcomes() const override { return false; }

  // The highest log sequence acknowledged so far.
  uint64_t LastLogSequence() const { return last_sequence_.load(); }
  LogPublisher::Stats GetPublisherStats() const { return publisher_->GetStats(); }

 private:
  LogIngestor() = default;

  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
  std::atomic<uint64_t> last_sequence_{0};
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_INGEST_LOG_INGESTOR_H_
