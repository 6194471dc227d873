// Feeder 1 of the commit path: group commit of IngestAsync calls. Calls queue
// up; one writer thread takes every pending call, applies them in order into
// one ApplyBatch and commits it with one (synced) write, so many small
// webhooks share one fsync. Callbacks run in the order the calls arrived.
#include <utility>
#include <vector>

#include "storage/event_store_impl.h"

namespace healthwire {

void EventStore::Impl::IngestAsync(std::vector<v1::Event> events, IngestCallback done) {
  IngestFetchedAsync(std::move(events), v1::S3Fetch(), std::move(done));
}

void EventStore::Impl::IngestFetchedAsync(std::vector<v1::Event> events, v1::S3Fetch outcome,
                                          IngestCallback done) {
  if (options_.log_replica) {
    done(absl::FailedPreconditionError(
        "this store is a replica of the commit log: send webhooks to a gateway with --log"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      std::optional<v1::S3Fetch> fetch_outcome;
      // ping_revision 0: a plain IngestAsync call.
      if (outcome.ping_revision() != 0) fetch_outcome = std::move(outcome);
      queue_.push_back(PendingCall{std::move(events), std::move(done), std::move(fetch_outcome)});
      queue_changed_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("the event store is closing"));
}

void EventStore::Impl::WriterLoop() {
  while (true) {
    std::vector<PendingCall> calls;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto ready = [this] { return !queue_.empty() || stopping_; };
      if (writes_stopped()) {
        // Recover by itself, not only when the next commit asks.
        queue_changed_.wait_for(lock, absl::ToChronoMilliseconds(options_.write_recovery_interval),
                                ready);
      } else {
        queue_changed_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) return;  // everything queued is done
      calls.swap(queue_);
    }
    if (calls.empty()) {
      TryRecoverWrites().IgnoreError();
      continue;
    }
    CommitGroup(std::move(calls));
  }
}

void EventStore::Impl::CommitGroup(std::vector<PendingCall> calls) {
  ApplyBatch group = NewApplyBatch();
  std::vector<absl::StatusOr<v1::IngestResponse>> results;
  results.reserve(calls.size());
  for (PendingCall& call : calls) {
    results.push_back(group.ApplyCall(
        call.events, call.fetch_outcome.has_value() ? &*call.fetch_outcome : nullptr));
  }

  const absl::StatusOr<uint64_t> committed = CommitApplied(group);
  for (size_t i = 0; i < calls.size(); ++i) {
    if (results[i].ok()) {
      // A failed write fails every call that had applied (the group was one
      // batch); calls that were refused keep their own error.
      if (committed.ok()) {
        results[i]->set_store_revision(*committed);
      } else {
        results[i] = committed.status();
      }
    }
    if (calls[i].done) calls[i].done(std::move(results[i]));
  }
}

}  // namespace healthwire
