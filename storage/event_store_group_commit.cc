// Feeder 1 of the commit path: group commit of IngestAsync calls. Calls queue
// up; one writer thread takes every pending call, applies them in order into
// one ApplyBatch and commits it with one (synced) write, so many small
// webhooks share one fsync. Callbacks run in the order the calls arrived,
// except that a group holds at most one large call and small calls may
// overtake a waiting large one of another user (TakeGroup).
#include <utility>
#include <vector>

#include "storage/event_store_impl.h"

namespace healthwire {

void EventStore::Impl::IngestAsync(std::vector<v1::Event> events, IngestCallback done,
                                   CommitGate may_start) {
  IngestFetchedAsync(std::move(events), v1::S3Fetch(), std::move(done), std::move(may_start));
}

void EventStore::Impl::IngestFetchedAsync(std::vector<v1::Event> events, v1::S3Fetch outcome,
                                          IngestCallback done, CommitGate may_start) {
  if (options_.log_replica) {
    done(absl::FailedPreconditionError(
        "this store is a replica of the commit log: send webhooks to a gateway with --log"));
    return;
  }
  // Large raw JSON is written by the large-value writer threads, outside the
  // writer's group and off this (the caller's) thread: the group's synced
  // write then carries only a reference, so small calls never wait for these
  // bytes (storage/large_values.h, event_store_large_write.cc).
  uint64_t large_bytes = 0;
  if (options_.large_value_bytes > 0) {
    for (const v1::Event& event : events) {
      if (event.raw_json().size() > options_.large_value_bytes) large_bytes += event.raw_json().size();
    }
  }
  if (large_bytes > 0) {
    // The disk reserve and a stopped store refuse here as the writer would,
    // before any byte is written.
    absl::Status room = writes_stopped() ? Health() : CheckDiskRoom(large_bytes);
    if (!room.ok()) {
      if (!writes_stopped()) {
        refused_disk_full_.fetch_add(1, std::memory_order_relaxed);
        refused_bytes_.store(large_bytes, std::memory_order_relaxed);
      }
      done(std::move(room));
      return;
    }
    QueueLargeWrite(std::move(events), std::move(outcome), std::move(done), std::move(may_start));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      PendingCall call;
      call.events = std::move(events);
      call.done = std::move(done);
      call.may_start = std::move(may_start);
      // ping_revision 0: a plain IngestAsync call.
      if (outcome.ping_revision() != 0) call.fetch_outcome = std::move(outcome);
      QueueCallLocked(std::move(call));
      return;
    }
  }
  done(absl::UnavailableError("the event store is closing"));
}

void EventStore::Impl::QueueCallLocked(PendingCall call) {
  const bool takeable = call.large_write == 0;
  queue_.push_back(std::move(call));
  if (!takeable) return;
  queue_changed_flag_ = true;
  queue_changed_.notify_one();
}

void EventStore::Impl::WriterLoop() {
  while (true) {
    std::vector<PendingCall> calls;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Not "the queue is not empty": every queued call may be waiting for
      // its large values (then the writer sleeps until one is written).
      const auto ready = [this] { return queue_changed_flag_ || stopping_; };
      if (writes_stopped()) {
        // Recover by itself, not only when the next commit asks.
        queue_changed_.wait_for(lock, absl::ToChronoMilliseconds(options_.write_recovery_interval),
                                ready);
      } else {
        queue_changed_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) return;  // everything queued is done
      queue_changed_flag_ = false;
      calls = TakeGroup();
      // Calls left behind (a second large call, a later call of a user
      // whose call waits) are looked at again after this group.
      if (!calls.empty() && !queue_.empty()) queue_changed_flag_ = true;
    }
    if (calls.empty()) {
      TryRecoverWrites().IgnoreError();
      continue;
    }
    CommitGroup(std::move(calls));
  }
}

namespace {

// A call this large (its raw JSON) is committed in a group with no other
// large call: a 60 MB webhook takes about a second to write and sync, and a
// small webhook queued behind several of them would otherwise wait for all.
constexpr size_t kLargeCallBytes = 1 << 20;

// The raw JSON the call's batch will carry (not what the large-value path
// wrote already).
size_t InlineBytes(const std::vector<v1::Event>& events,
                   const std::vector<std::optional<LargeValueRef>>& large_values) {
  size_t bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i < large_values.size() && large_values[i].has_value()) continue;
    bytes += events[i].raw_json().size();
  }
  return bytes;
}

}  // namespace

std::vector<EventStore::Impl::PendingCall> EventStore::Impl::TakeGroup() {
  // Every queued call, except that a group holds at most one large call:
  // later large calls wait for the next group, and small calls queued
  // behind them overtake them, unless they share a user with a call left
  // waiting (per user, calls stay in arrival order, so a later delivery of a
  // record is never committed before an earlier one). An erasure is a
  // barrier: it never overtakes a waiting call (that call may be the erased
  // person's), and nothing queued after a waiting erasure overtakes it.
  std::vector<PendingCall> group;
  std::vector<PendingCall> waiting;
  std::vector<const std::string*> waiting_users;
  bool has_large = false;
  bool erasure_waiting = false;
  for (PendingCall& call : queue_) {
    if (call.large_write != 0) {  // its large values are being written
      for (const std::string& user : call.writing_users) waiting_users.push_back(&user);
      waiting.push_back(std::move(call));
      continue;
    }
    bool blocked = erasure_waiting || (call.erasure.has_value() && !waiting.empty());
    for (const v1::Event& event : call.events) {
      for (const std::string* user : waiting_users) {
        if (*user == event.user().user_id()) blocked = true;
      }
    }
    const bool large = InlineBytes(call.events, call.large_values) > kLargeCallBytes;
    if (blocked || (large && has_large)) {
      for (const v1::Event& event : call.events) waiting_users.push_back(&event.user().user_id());
      erasure_waiting = erasure_waiting || call.erasure.has_value();
      waiting.push_back(std::move(call));
      continue;
    }
    has_large = has_large || large;
    group.push_back(std::move(call));
  }
  // (waiting_users stay valid: moving a call moves its events' and its
  // writing_users' buffers, not the elements.)
  queue_ = std::move(waiting);
  return group;
}

void EventStore::Impl::CommitGroup(std::vector<PendingCall> calls) {
  // A large call's record goes into the batch twice (record and change-log
  // entry): reserve that up front instead of regrowing the batch.
  size_t call_bytes = 0;
  for (const PendingCall& call : calls) call_bytes += InlineBytes(call.events, call.large_values);
  ApplyBatch group = NewApplyBatch(call_bytes > kLargeCallBytes ? 2 * call_bytes + (64 << 10) : 0);
  std::vector<absl::StatusOr<v1::IngestResponse>> results;
  std::vector<absl::StatusOr<ApplyBatch::ErasureOutcome>> erasures;
  results.reserve(calls.size());
  erasures.reserve(calls.size());
  // Erasures take their place in the queue's order like any call.
  for (PendingCall& call : calls) {
    if (call.erasure.has_value()) {
      erasures.push_back(group.ApplyErasure(*call.erasure));
      results.push_back(v1::IngestResponse());
      continue;
    }
    erasures.push_back(ApplyBatch::ErasureOutcome());
    // The commit starts now: a caller that has given up meanwhile is
    // refused before anything of its call is applied.
    if (call.may_start) {
      if (absl::Status admitted = call.may_start(); !admitted.ok()) {
        refused_late_.fetch_add(1, std::memory_order_relaxed);
        results.push_back(std::move(admitted));
        continue;
      }
    }
    results.push_back(group.ApplyCall(call.events,
                                      call.fetch_outcome.has_value() ? &*call.fetch_outcome : nullptr,
                                      &call.large_values));
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
    // Large values no commit key claims go now: the call was answered "not
    // stored", or its record was an identical re-delivery or stale.
    DiscardLargeValues(calls[i].large_values);
    if (calls[i].done) calls[i].done(std::move(results[i]));
  }
}

}  // namespace healthwire
