#include "server/ingest/local_ingestor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace healthwire {

LocalIngestor::LocalIngestor(EventStore* store)
    : store_(store), timer_thread_([this] { RunDeadlineTimer(); }) {}

LocalIngestor::~LocalIngestor() {
  mu_.LockWhen(absl::Condition(
      +[](int* commits_in_store) { return *commits_in_store == 0; }, &commits_in_store_));
  stopping_ = true;
  timer_wakeup_.Signal();
  mu_.Unlock();
  timer_thread_.join();
}

void LocalIngestor::Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    if (deadline <= absl::Now()) {
      // The caller has given up: the commit is not attempted; the timer
      // thread answers DeadlineExceeded (never this thread: the caller may
      // hold locks).
      auto deadline_entry = deadlines_.emplace(deadline, id);
      pending_.emplace(id, Pending{std::move(done), deadline_entry});
      if (deadline_entry == deadlines_.begin()) timer_wakeup_.Signal();
      return;
    }
    ++commits_in_store_;
    in_store_since_.emplace(id, absl::Now());
  }
  // The deadline is checked again when the commit starts: a call that waited
  // behind a slow commit past it is refused by the store, not stored after
  // the gateway has given up on it.
  store_->IngestAsync(
      std::move(events),
      [this, id, done = std::move(done)](absl::StatusOr<v1::IngestResponse> result) mutable {
        OnCommitted(id, std::move(result), std::move(done));
      },
      [deadline]() -> absl::Status {
        const absl::Time now = absl::Now();
        if (now < deadline) return absl::OkStatus();
        return absl::DeadlineExceededError(absl::StrCat(
            "the commit would have started ",
            absl::FormatDuration(absl::Trunc(now - deadline, absl::Milliseconds(1))),
            " after the ingest deadline; nothing stored"));
      });
}

void LocalIngestor::OnCommitted(uint64_t id, absl::StatusOr<v1::IngestResponse> result,
                                Callback done) {
  {
    absl::MutexLock lock(&mu_);
    in_store_since_.erase(id);
  }
  done(std::move(result));
  // Last, and without touching `this` after it: the destructor may run as
  // soon as the count drops.
  absl::MutexLock lock(&mu_);
  --commits_in_store_;
}

void LocalIngestor::RunDeadlineTimer() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      timer_wakeup_.Wait(&mu_);
      continue;
    }
    const absl::Time earliest = deadlines_.begin()->first;
    const absl::Time now = absl::Now();
    if (now < earliest) {
      timer_wakeup_.WaitWithDeadline(&mu_, earliest);
      continue;
    }
    std::vector<Callback> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto it = pending_.find(deadlines_.begin()->second);
      expired.push_back(std::move(it->second.done));
      pending_.erase(it);
      deadlines_.erase(deadlines_.begin());
    }
    mu_.Unlock();
    for (Callback& done : expired) {
      done(absl::DeadlineExceededError("the store did not commit before the deadline"));
    }
    mu_.Lock();
  }
}

absl::Status LocalIngestor::CheckReady() {
  {
    absl::MutexLock lock(&mu_);
    if (!in_store_since_.empty()) {
      absl::Time oldest = absl::InfiniteFuture();
      for (const auto& [id, since] : in_store_since_) oldest = std::min(oldest, since);
      const absl::Duration waiting = absl::Now() - oldest;
      if (waiting > kStuckCommitAfter) {
        return absl::UnavailableError(absl::StrCat("a store commit has not finished for ",
                                                   absl::FormatDuration(absl::Trunc(waiting, absl::Milliseconds(100)))));
      }
    }
  }
  // The store's current health (disk reserve, stopped writes), not the
  // outcome of the last commit: readiness returns by itself once the store
  // can write again, without waiting for a webhook to succeed.
  return store_->Health();
}

uint64_t LocalIngestor::CurrentRevision() { return store_->CurrentRevision(); }

}  // namespace healthwire
