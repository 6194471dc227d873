#include "storage/replica/stream_eraser.h"

#include <nats/nats.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"

namespace healthwire {
namespace {

constexpr absl::Duration kWarnAfter = absl::Seconds(10);

}  // namespace

StreamEraser::StreamEraser(EventStore* store, CommitLog* log, ReplicaRegistry* registry,
                           const Options& options)
    : store_(store), log_(log), registry_(registry), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

StreamEraser::~StreamEraser() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

StreamEraser::Status StreamEraser::GetStatus() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void StreamEraser::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void StreamEraser::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.interval);
      if (stopping_) return;
      woken_ = false;
    }
    Pass();
  }
}

absl::Status StreamEraser::DeleteMessage(uint64_t sequence) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = absl::ToInt64Milliseconds(log_->options().api_timeout);
  jsErrCode err = static_cast<jsErrCode>(0);
  // Erase, not only delete: the server overwrites the message's bytes in
  // its files (health data), on every server of the stream's group.
  natsStatus s =
      js_EraseMsg(log_->jetstream(), log_->options().stream.c_str(), sequence, &options, &err);
  if (s == NATS_OK) return absl::OkStatus();
  // Already deleted (by another replica's eraser, or before a crash): the
  // server only says "delete failed", so look.
  natsMsg* msg = nullptr;
  err = static_cast<jsErrCode>(0);
  natsStatus got =
      js_GetMsg(&msg, log_->jetstream(), log_->options().stream.c_str(), sequence, &options, &err);
  if (got == NATS_OK) {
    natsMsg_Destroy(msg);
    return NatsStatus(s, 0, absl::StrCat("cannot delete message ", sequence, " of the log"));
  }
  if (got == NATS_NOT_FOUND || err == JSNoMessageFoundErr) return absl::OkStatus();
  return NatsStatus(got, err, absl::StrCat("cannot delete message ", sequence, " of the log"));
}

void StreamEraser::Pass() {
  absl::StatusOr<std::vector<EventStore::StreamDeletionJob>> jobs =
      store_->ListStreamDeletionJobs(64);
  auto fail = [this](const absl::Status& error) {
    absl::MutexLock lock(&mu_);
    if (status_.last_error != error.ToString()) {
      logging::Warning("stream eraser: cannot delete erased messages yet (retrying)",
                       {{"error", error.ToString()}});
    }
    status_.last_error = error.ToString();
  };
  if (!jobs.ok()) return fail(jobs.status());
  {
    absl::MutexLock lock(&mu_);
    status_.jobs_pending = jobs->size();
    if (jobs->empty()) {
      status_.blocked_by.clear();
      status_.last_error.clear();
    }
  }
  for (const EventStore::StreamDeletionJob& job : *jobs) {
    // 1. Say that the log is deleted through E before looking who is behind
    // it (a replica starting now registers first, then reads this).
    if (absl::Status raised = registry_->RaiseErasedThrough(job.erasure_sequence); !raised.ok()) {
      return fail(raised);
    }
    // 2. Every registered replica must have applied E.
    absl::StatusOr<std::vector<ReplicaRegistry::Entry>> replicas = registry_->List();
    if (!replicas.ok()) return fail(replicas.status());
    std::vector<std::string> behind;
    for (const ReplicaRegistry::Entry& replica : *replicas) {
      if (replica.applied_sequence < job.erasure_sequence) {
        behind.push_back(
            absl::StrCat(replica.replica_id, " (applied ", replica.applied_sequence, ")"));
      }
    }
    if (!behind.empty()) {
      const std::string blocked = absl::StrJoin(behind, ", ");
      absl::MutexLock lock(&mu_);
      status_.blocked_by = blocked;
      if (blocked_job_ != job.erasure_sequence) {
        blocked_job_ = job.erasure_sequence;
        blocked_since_ = absl::Now();
      }
      // Replicas report once a second, so every erasure waits a moment for
      // them: warn only about a wait that lasts.
      if (absl::Now() - blocked_since_ >= kWarnAfter &&
          last_blocked_log_ != absl::StrCat(job.erasure_sequence, blocked)) {
        last_blocked_log_ = absl::StrCat(job.erasure_sequence, blocked);
        logging::Warning(
            "stream eraser: the erasure's messages stay in the log until these replicas have "
            "applied it (restart them, or hwctl replicas --forget=ID for one gone for good)",
            {{"erasure_sequence", job.erasure_sequence}, {"replicas", blocked}});
      }
      return;
    }
    // 3. Delete, then 4. finish the job.
    for (uint64_t sequence : job.sequences) {
      if (absl::Status deleted = DeleteMessage(sequence); !deleted.ok()) return fail(deleted);
      absl::MutexLock lock(&mu_);
      ++status_.messages_deleted;
    }
    if (absl::Status finished = store_->FinishStreamDeletionJob(job.erasure_sequence);
        !finished.ok()) {
      return fail(finished);
    }
    logging::Info("stream eraser: erased messages deleted from the log",
                  {{"erasure_sequence", job.erasure_sequence},
                   {"messages", job.sequences.size()}});
    absl::MutexLock lock(&mu_);
    blocked_job_ = 0;
    ++status_.jobs_finished;
    if (status_.jobs_pending > 0) --status_.jobs_pending;
    status_.blocked_by.clear();
    status_.last_error.clear();
  }
}

}  // namespace healthwire
