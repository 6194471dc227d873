#include "server/fetch/s3_fetch_recorder.h"

#include <utility>

#include "absl/time/clock.h"

namespace healthwire {
namespace {

class StoreFetchRecorder final : public S3FetchRecorder {
 public:
  explicit StoreFetchRecorder(EventStore* store) : store_(store) {}

  void Record(std::vector<v1::Event> events, v1::S3Fetch outcome, absl::Duration timeout,
              Done done) override {
    // Through the store's CommitGate, like a webhook's ingest: a commit that
    // has not started by the deadline is refused (nothing written, the fetch
    // stays PENDING and is tried again), so a slow store cannot pile up
    // fetched bodies.
    const absl::Time deadline = absl::Now() + timeout;
    EventStore::CommitGate may_start = [deadline]() -> absl::Status {
      if (absl::Now() <= deadline) return absl::OkStatus();
      return absl::DeadlineExceededError(
          "the s3_payload fetch's commit did not start within --s3_fetch_commit_timeout");
    };
    store_->IngestFetchedAsync(
        std::move(events), std::move(outcome),
        [done = std::move(done)](absl::StatusOr<v1::IngestResponse> committed) {
          done(committed.status());
        },
        std::move(may_start));
  }
  bool RecordsAttempts() const override { return true; }
  absl::Status ReadyToFetch() const override { return absl::OkStatus(); }

 private:
  EventStore* const store_;
};

}  // namespace

std::unique_ptr<S3FetchRecorder> MakeStoreFetchRecorder(EventStore* store) {
  return std::make_unique<StoreFetchRecorder>(store);
}

}  // namespace healthwire
