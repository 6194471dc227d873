// Feeder 1 of the commit path: group commit of IngestAsync calls. Calls queue
// up; one writer thread takes every pending call, applies them in order into
// one ApplyBatch and commits it with one (synced) write, so many small
// webhooks share one fsync. Callbacks run in the order the calls arrived.
#include <utility>
#include <vector>

#include "storage/event_store_impl.h"

namespace healthwire {

void EventStore::Impl::IngestAsync(std::vector<v1::Event> events, IngestCallback done) {
  if (options_.log_replica) {
    done(absl::FailedPreconditionError(
        "this store is a replica of the commit log: send webhooks to a gateway with --log"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(PendingCall{std::move(events), std::move(done)});
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
  std::vector<absl::StatusOr<ApplyBatch::ErasureOutcome>> erasures;
  results.reserve(calls.size());
  erasures.reserve(calls.size());
  // Erasures take their place in the queue's order like any call.
  for (PendingCall& call : calls) {
    if (call.erasure.has_value()) {
      erasures.push_back(group.ApplyErasure(*call.erasure));
      results.push_back(v1::IngestResponse());
    } else {
      erasures.push_back(ApplyBatch::ErasureOutcome());
      results.push_back(group.ApplyCall(call.events));
    }
  }

  const absl::StatusOr<uint64_t> committed = CommitApplied(group);
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].erasure.has_value()) {
      if (erasures[i].ok()) {
        if (committed.ok()) {
          erasures[i]->response.set_store_revision(*committed);
        } else {
          erasures[i] = committed.status();
        }
      }
      if (calls[i].erase_done) calls[i].erase_done(std::move(erasures[i]));
      continue;
    }
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
