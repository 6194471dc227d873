#include "server/service/read_gate.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace healthwire {

ReadGate::ReadGate(const EventStore* store, const StoreReplica* replica, const Options& options)
    : store_(store), replica_(replica), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

ReadGate::~ReadGate() {
  std::list<Parked> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    left.swap(parked_);
    stats_.waiting = 0;
  }
  thread_.join();
  for (Parked& parked : left) {
    parked.refuse(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is shutting down"));
  }
}

bool ReadGate::Reached(uint64_t min_log_sequence, uint64_t min_revision) const {
  if (min_revision > store_->CurrentRevision()) return false;
  if (min_log_sequence == 0) return true;
  return replica_ != nullptr && replica_->applied_sequence() >= min_log_sequence;
}

grpc::Status ReadGate::Behind(uint64_t min_log_sequence, uint64_t min_revision) const {
  std::string message = "this store is behind";
  if (min_log_sequence > 0 && replica_ != nullptr) {
    const StoreReplica::Status status = replica_->GetStatus();
    if (status.applied_sequence < min_log_sequence) {
      absl::StrAppend(&message, ": applied log sequence ", status.applied_sequence,
                      " of the wanted ", min_log_sequence, " (", status.behind,
                      " log entries behind");
      if (!status.last_error.empty()) absl::StrAppend(&message, "; ", status.last_error);
      absl::StrAppend(&message, ")");
    }
  }
  const uint64_t revision = store_->CurrentRevision();
  if (min_revision > revision) {
    absl::StrAppend(&message, ": at revision ", revision, " of the wanted ", min_revision);
  }
  absl::StrAppend(&message, " after waiting ", absl::FormatDuration(options_.max_wait),
                  " (--read_wait_max); retry, or read from another replica");
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
}

void ReadGate::Run(uint64_t min_log_sequence, uint64_t min_revision, std::function<void()> read,
                   std::function<void(grpc::Status)> refuse) {
  if (min_log_sequence > 0 && replica_ == nullptr) {
    refuse(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "min_log_sequence: this store is not a replica of a commit log (not in "
                        "cluster mode); use min_revision"));
    return;
  }
  if (Reached(min_log_sequence, min_revision)) {
    read();
    return;
  }
  if (options_.max_wait <= absl::ZeroDuration()) {
    refuse(Behind(min_log_sequence, min_revision));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && static_cast<int>(parked_.size()) < options_.max_waiting) {
      parked_.push_back(Parked{min_log_sequence, min_revision, absl::Now() + options_.max_wait,
                               std::move(read), std::move(refuse)});
      ++stats_.waiting;
      return;
    }
    ++stats_.refused_full;
  }
  refuse(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("this store is behind and ", options_.max_waiting,
                                   " reads already wait for it (--read_wait_max_waiting); "
                                   "retry, or read from another replica")));
}

void ReadGate::Loop() {
  auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !parked_.empty();
  };
  while (true) {
    std::vector<Parked> ready, expired;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      const absl::Time now = absl::Now();
      for (auto it = parked_.begin(); it != parked_.end();) {
        if (Reached(it->min_log_sequence, it->min_revision)) {
          ready.push_back(std::move(*it));
          ++stats_.waited;
        } else if (now >= it->deadline) {
          expired.push_back(std::move(*it));
          ++stats_.timed_out;
        } else {
          ++it;
          continue;
        }
        it = parked_.erase(it);
        --stats_.waiting;
      }
    }
    for (Parked& parked : ready) parked.read();
    for (Parked& parked : expired) {
      parked.refuse(Behind(parked.min_log_sequence, parked.min_revision));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

ReadGate::Stats ReadGate::GetStats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace healthwire
