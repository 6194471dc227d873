// LogFetchRecorder: a cluster replica's S3FetchRecorder (issue 13, ping
// mode in cluster mode).
//
// A replica never writes a fetched body into its own store: it publishes the
// outcome to the commit log, through the same LogPublisher the gateways use,
// as a Delivery carrying the fetched body's converted events and the fetch's
// final state (commit_log.proto, Delivery.fetch_outcome; a large body is
// written in chunks like a large webhook). Every replica records the fetch
// FETCHED/FAILED when it applies that entry, so all agree.
//
// The entry's Nats-Msg-Id is FetchOutcomeDeliveryId(ping revision): two
// replicas fetching the same ping within the stream's duplicate window
// produce one entry (the second PubAck says duplicate); a later second
// outcome finds the fetch no longer PENDING and is skipped by every replica
// alike (ApplyBatch::ApplyCall).
//
// Only final outcomes are published (one entry per ping); attempts that
// leave the fetch PENDING stay in the fetcher's memory.
//
// ReadyToFetch is the replica's: fetching waits while the replica is behind
// the log (a later entry may already hold the outcome).
//
// Thread-safe. Owns its connection to the log.
#ifndef HEALTHWIRE_SERVER_FETCH_LOG_FETCH_RECORDER_H_
#define HEALTHWIRE_SERVER_FETCH_LOG_FETCH_RECORDER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/fetch/s3_fetch_recorder.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"

namespace healthwire {

class LogFetchRecorder final : public S3FetchRecorder {
 public:
  // Connects to the log of `options` (its stream must exist: the replica
  // created or checked it). `ready` answers ReadyToFetch.
  static absl::StatusOr<std::unique_ptr<LogFetchRecorder>> Create(
      const CommitLogOptions& options, std::function<absl::Status()> ready);
  ~LogFetchRecorder() override;

  void Record(std::vector<v1::Event> events, v1::S3Fetch outcome, absl::Duration timeout,
              Done done) override;
  bool RecordsAttempts() const override { return false; }
  absl::Status ReadyToFetch() const override { return ready_(); }
  // healthwire_s3_fetch_outcomes_published_total{result="new|duplicate|error"}.
  std::string MetricsText() const override;

 private:
  explicit LogFetchRecorder(std::function<absl::Status()> ready) : ready_(std::move(ready)) {}

  const std::function<absl::Status()> ready_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
  std::atomic<uint64_t> published_{0}, duplicates_{0}, errors_{0};
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FETCH_LOG_FETCH_RECORDER_H_
