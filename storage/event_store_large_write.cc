// Feeder 1's large-value writer (issue 10): a call carrying raw JSON over
// Options.large_value_bytes has those bytes written (storage/large_values.h)
// by a few threads of its own, so that
//  - the caller of IngestAsync (a webhook worker) never blocks on a 60 MB
//    write, its syncs, or an ingest that waits for the commit writer's
//    current (synced) write, and
//  - the commit writer's groups carry only references, so small calls never
//    wait for those bytes.
// The call keeps its place in the commit queue while its values are written
// (PendingCall::large_write): calls of the same users stay behind it (per-user
// order), an erasure stays a barrier, and calls of other users overtake it.
// Bounded: at most large_write_max_queued calls wait for or are in the
// writer; beyond that a call is refused at once (Unavailable -> 503).
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/event_store_impl.h"
#include "storage/large_values.h"

namespace healthwire {

void EventStore::Impl::QueueLargeWrite(std::vector<v1::Event> events, v1::S3Fetch outcome,
                                       IngestCallback done, CommitGate may_start) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t waiting = large_writes_waiting_.load(std::memory_order_relaxed);
    if (stopping_ || large_writers_stopping_) {
      refused = absl::UnavailableError("the event store is closing");
    } else if (waiting >= options_.large_write_max_queued) {
      large_writes_refused_.fetch_add(1, std::memory_order_relaxed);
      refused = absl::UnavailableError(absl::StrCat(
          waiting, " calls with large records already wait for the large-value writer "
                   "(--large_write_max_queued); nothing stored, retry later"));
    } else {
      PendingCall call;
      call.large_write = ++next_large_write_;
      for (const v1::Event& event : events) call.writing_users.push_back(event.user().user_id());
      call.done = std::move(done);
      call.may_start = may_start;
      if (outcome.ping_revision() != 0) call.fetch_outcome = std::move(outcome);
      LargeWrite job;
      job.id = call.large_write;
      job.events = std::move(events);
      job.may_start = std::move(may_start);
      QueueCallLocked(std::move(call));  // its place; not taken yet
      large_writes_.push_back(std::move(job));
      large_writes_waiting_.fetch_add(1, std::memory_order_relaxed);
      large_write_wake_.notify_one();
      return;
    }
  }
  done(std::move(refused));
}

void EventStore::Impl::LargeWriteLoop() {
  for (;;) {
    LargeWrite job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      large_write_wake_.wait(lock,
                             [this] { return large_writers_stopping_ || !large_writes_.empty(); });
      // Closing drains: a queued call is written and committed like any
      // queued call (the store "finishes the calls already queued").
      if (large_writes_.empty()) return;
      job = std::move(large_writes_.front());
      large_writes_.pop_front();
    }
    absl::Status status;
    // A caller that gave up while the call waited here costs no write.
    if (job.may_start) {
      status = job.may_start();
      if (!status.ok()) refused_late_.fetch_add(1, std::memory_order_relaxed);
    }
    std::vector<std::optional<LargeValueRef>> values(job.events.size());
    for (size_t i = 0; status.ok() && i < job.events.size(); ++i) {
      if (job.events[i].raw_json().size() <= options_.large_value_bytes) continue;
      absl::StatusOr<LargeValueRef> written = WriteLargeValue(
          db_.get(), families_, LargeValueIngestDir(options_.path), job.events[i].raw_json());
      if (!written.ok()) {
        status = written.status();
        break;
      }
      large_values_written_.fetch_add(1, std::memory_order_relaxed);
      values[i] = *std::move(written);
    }
    FinishLargeWrite(std::move(job), std::move(values), std::move(status));
  }
}

void EventStore::Impl::FinishLargeWrite(LargeWrite job,
                                        std::vector<std::optional<LargeValueRef>> values,
                                        absl::Status status) {
  IngestCallback refused_done;
  bool placed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    large_writes_waiting_.fetch_sub(1, std::memory_order_relaxed);
    // The place is there: the commit writer never takes a call whose
    // large_write is set, and only this function clears or removes it.
    auto place = queue_.begin();
    while (place != queue_.end() && place->large_write != job.id) ++place;
    if (place != queue_.end()) {
      placed = true;
      if (status.ok()) {
        place->events = std::move(job.events);
        place->large_values = std::move(values);
        place->large_write = 0;
        place->writing_users.clear();
      } else {
        refused_done = std::move(place->done);
        queue_.erase(place);  // calls blocked behind it may go now
      }
      queue_changed_flag_ = true;
      queue_changed_.notify_one();
    }
  }
  if (status.ok() && placed) return;
  DiscardLargeValues(values);
  if (refused_done) refused_done(std::move(status));
}

void EventStore::Impl::DiscardLargeValues(
    const std::vector<std::optional<LargeValueRef>>& large_values) {
  for (const std::optional<LargeValueRef>& ref : large_values) {
    if (!ref.has_value()) continue;
    // A failure leaves the pending key: the next open removes the value.
    absl::StatusOr<bool> removed = DiscardLargeValue(db_.get(), families_, *ref);
    if (removed.ok() && *removed) large_values_collected_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace healthwire
