#include "server/local_ingestor.h"

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
  // Already past the deadline: the caller has given up, so the commit is not
  // attempted; the timer thread answers DeadlineExceeded (never this thread:
  // the caller may hold locks).
  const bool commit = deadline > absl::Now();
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    auto deadline_entry = deadlines_.emplace(deadline, id);
    pending_.emplace(id, Pending{std::move(done), deadline_entry});
    if (commit) ++commits_in_store_;
    // A new earliest deadline: the timer thread may be sleeping until a later one.
    if (deadline_entry == deadlines_.begin()) timer_wakeup_.Signal();
  }
  if (!commit) return;
  store_->IngestAsync(std::move(events), [this, id](absl::StatusOr<v1::IngestResponse> result) {
    OnCommitted(id, std::move(result));
  });
}

void LocalIngestor::OnCommitted(uint64_t id, absl::StatusOr<v1::IngestResponse> result) {
  Callback done;
  {
    absl::MutexLock lock(&mu_);
    --commits_in_store_;
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      done = std::move(it->second.done);
      deadlines_.erase(it->second.deadline_entry);
      pending_.erase(it);
    }
    // Not found: the deadline passed first and the caller has its answer.
  }
  // Outside the lock, and without touching `this`: the destructor may run as
  // soon as the lock is released.
  if (done) done(std::move(result));
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
  // The store's current health (disk reserve, stopped writes), not the
  // outcome of the last commit: readiness returns by itself once the store
  // can write again, without waiting for a webhook to succeed.
  return store_->Health();
}

uint64_t LocalIngestor::CurrentRevision() { return store_->CurrentRevision(); }

}  // namespace healthwire
