#include "storage/replica/store_replica.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "storage/commit_log/log_consumer.h"

namespace healthwire {

absl::StatusOr<std::unique_ptr<StoreReplica>> StoreReplica::Start(EventStore* store,
                                                                  const Options& options) {
  std::unique_ptr<StoreReplica> replica(new StoreReplica(store, options));
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options.log);
  if (!log.ok()) return log.status();
  replica->log_ = std::move(*log);
  if (options.ensure_stream) {
    absl::Status ensured = replica->log_->EnsureStream(absl::Now() + options.ready_timeout);
    if (!ensured.ok()) return ensured;
  }
  absl::StatusOr<EventStore::LogPosition> position = store->ReadLogPosition();
  if (!position.ok()) return position.status();
  {
    absl::MutexLock lock(&replica->mu_);
    replica->status_.applied_sequence = position->applied_sequence;
    replica->status_.digest_hex = absl::BytesToHexString(position->digest);
    replica->status_.store_revision = store->CurrentRevision();
  }
  replica->thread_ = std::thread([r = replica.get()] { r->Run(); });
  return replica;
}

StoreReplica::~StoreReplica() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

StoreReplica::Status StoreReplica::GetStatus() const {
  Status status;
  {
    absl::MutexLock lock(&mu_);
    status = status_;
  }
  status.log_connected = log_->IsConnected();
  return status;
}

bool StoreReplica::WaitForSequence(uint64_t sequence, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, sequence]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return status_.applied_sequence >= sequence;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

bool StoreReplica::WaitForRevision(uint64_t revision, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, revision]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return status_.store_revision >= revision;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

void StoreReplica::Run() {
  std::unique_ptr<LogConsumer> consumer;
  auto stopping = [this] {
    absl::MutexLock lock(&mu_);
    return stopping_;
  };
  auto record_error = [this](const absl::Status& error) {
    absl::MutexLock lock(&mu_);
    status_.last_error = error.ToString();
  };
  while (!stopping()) {
    if (consumer == nullptr) {
      LogConsumer::Options consumer_options;
      {
        absl::MutexLock lock(&mu_);
        consumer_options.start_sequence = status_.applied_sequence + 1;
      }
      absl::StatusOr<std::unique_ptr<LogConsumer>> started =
          LogConsumer::Start(log_.get(), consumer_options);
      if (!started.ok()) {
        record_error(started.status());
        absl::SleepFor(absl::Milliseconds(250));
        continue;
      }
      consumer = std::move(*started);
    }

    // A batch: wait for the first entry, then take what is already there.
    std::vector<EventStore::LogCall> calls;
    size_t bytes = 0, malformed = 0;
    uint64_t behind = 0;
    absl::Time logged_at;
    absl::Status read_error;
    while (calls.size() < options_.max_batch_deliveries && bytes < options_.max_batch_bytes) {
      absl::StatusOr<std::optional<ConsumedDelivery>> next =
          consumer->Next(calls.empty() ? absl::Milliseconds(200) : absl::Milliseconds(1));
      if (!next.ok()) {
        read_error = next.status();
        break;
      }
      if (!next->has_value()) break;
      ConsumedDelivery& consumed = **next;
      EventStore::LogCall call;
      call.sequence = consumed.sequence;
      if (consumed.malformed.empty()) {
        call.events.assign(std::make_move_iterator(consumed.delivery.mutable_events()->begin()),
                           std::make_move_iterator(consumed.delivery.mutable_events()->end()));
        for (const v1::Event& event : call.events) bytes += event.raw_json().size();
      } else {
        // Every replica sees the same bytes and skips the same entry.
        ++malformed;
        logging::Warning("replica: skipping a malformed log entry",
                         {{"sequence", consumed.sequence}, {"error", consumed.malformed}});
      }
      behind = consumed.pending;
      logged_at = consumed.logged_at;
      calls.push_back(std::move(call));
    }
    if (!read_error.ok()) record_error(read_error);
    if (calls.empty()) continue;

    const size_t count = calls.size();
    absl::StatusOr<EventStore::LogApplyResult> applied = store_->ApplyLogCalls(std::move(calls));
    if (!applied.ok()) {
      // Nothing of the batch is durable: read it again from the log.
      {
        absl::MutexLock lock(&mu_);
        ++status_.apply_errors;
        status_.last_error = applied.status().ToString();
      }
      consumer.reset();
      absl::SleepFor(absl::Milliseconds(250));
      continue;
    }
    absl::MutexLock lock(&mu_);
    status_.applied_sequence = applied->position.applied_sequence;
    status_.digest_hex = absl::BytesToHexString(applied->position.digest);
    status_.store_revision = applied->store_revision;
    status_.behind = behind;
    status_.deliveries_applied += count;
    status_.batches_applied += 1;
    status_.malformed_skipped += malformed;
    status_.last_apply_lag = absl::Now() - logged_at;
    if (read_error.ok()) status_.last_error.clear();
  }
}

}  // namespace healthwire
