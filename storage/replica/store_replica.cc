#include "storage/replica/store_replica.h"

#include <nats/nats.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "storage/commit_log/delivery_id.h"
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
  absl::StatusOr<EventStore::LogPosition> position = store->ReadDurableLogPosition();
  if (!position.ok()) return position.status();
  {
    absl::MutexLock lock(&replica->mu_);
    replica->status_.applied_sequence = position->applied_sequence;
    replica->status_.digest_hex = absl::BytesToHexString(position->digest);
    replica->status_.store_revision = store->CurrentRevision();
  }
  // Register first, then read how far erasures deleted the log (the
  // eraser does the two in the other order; ReplicaRegistry explains why).
  replica->replica_id_ =
      options.replica_id.empty() ? DefaultReplicaId(store->path()) : options.replica_id;
  absl::StatusOr<std::unique_ptr<ReplicaRegistry>> registry =
      ReplicaRegistry::Open(replica->log_.get());
  if (!registry.ok()) return registry.status();
  replica->registry_ = *std::move(registry);
  // Registered before and not past this folder: the entry, updated in
  // place, has held every deletion back to it since (continuous). Else a
  // new registration, checked against erased_through below.
  absl::StatusOr<std::optional<ReplicaRegistry::Entry>> existing =
      replica->registry_->Lookup(replica->replica_id_);
  if (!existing.ok()) return existing.status();
  bool continuous = false;
  if (existing->has_value() && (*existing)->applied_sequence <= position->applied_sequence) {
    continuous = replica->registry_
                     ->Report(replica->replica_id_, position->applied_sequence,
                              (*existing)->revision)
                     .ok();
  }
  if (!continuous) {
    if (absl::Status reported =
            replica->registry_->Report(replica->replica_id_, position->applied_sequence);
        !reported.ok()) {
      return reported;
    }
  }
  replica->reported_sequence_ = position->applied_sequence;
  replica->reported_at_ = absl::Now();
  absl::StatusOr<uint64_t> erased_through = replica->registry_->ErasedThrough();
  if (!erased_through.ok()) return erased_through.status();
  if (position->applied_sequence < *erased_through && !continuous) {
    // Not a replica of this log any more: others must not wait for it.
    (void)replica->registry_->Forget(replica->replica_id_);
    return absl::FailedPreconditionError(absl::StrCat(
        "this data folder has applied the commit log up to sequence ",
        position->applied_sequence, ", but erasures deleted messages of the log up to sequence ",
        *erased_through,
        ", so it cannot catch up from the log: start the replica from a checkpoint of a "
        "running replica instead (hwctl backup --store=REPLICA, then copy the checkpoint "
        "folder to --data_dir)"));
  }
  {
    absl::MutexLock lock(&replica->mu_);
    replica->status_.replica_id = replica->replica_id_;
  }
  if (options.delete_erased_messages) {
    replica->eraser_ = std::make_unique<StreamEraser>(store, replica->log_.get(),
                                                      replica->registry_.get(), options.eraser);
  }
  replica->thread_ = std::thread([r = replica.get()] { r->Run(); });
  replica->log_state_thread_ = std::thread([r = replica.get()] { r->WatchLogState(); });
  return replica;
}

absl::StatusOr<std::string> StoreReplica::LogTimeline(const Options& options) {
  absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options.log);
  if (!log.ok()) return log.status();
  if (options.ensure_stream) {
    absl::Status ensured = (*log)->EnsureStream(absl::Now() + options.ready_timeout);
    if (!ensured.ok()) return ensured;
  }
  absl::StatusOr<StreamState> state = (*log)->GetStreamState();
  if (!state.ok()) return state.status();
  const std::string identity =
      absl::StrCat("healthwire commit log ", options.log.stream, " created ",
                   absl::ToUnixNanos(state->created));
  // 32 hex digits, the shape of every store timeline.
  return absl::BytesToHexString(Sha256Bytes(identity).substr(0, 16));
}

std::string StoreReplica::DefaultReplicaId(const std::string& data_dir) {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::error_code error;
  std::filesystem::path folder = std::filesystem::absolute(data_dir, error);
  if (error) folder = data_dir;
  return absl::StrCat(host, ":", folder.lexically_normal().string());
}

StoreReplica::~StoreReplica() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (log_state_thread_.joinable()) log_state_thread_.join();
  eraser_.reset();
}

void StoreReplica::WatchLogState() {
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    // Short: this thread is joined at shutdown, when the servers may be gone.
    absl::StatusOr<StreamState> state = log_->GetStreamState(absl::Seconds(1));
    ReportProgress();
    absl::MutexLock lock(&mu_);
    if (state.ok()) {
      status_.log_last_sequence = state->last_sequence;
      status_.log_checked_at = absl::Now();
    }
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.log_state_interval)) return;
  }
}

void StoreReplica::ReportProgress() {
  // Also unchanged, now and then: an entry forgotten while the replica runs
  // comes back.
  if (applied_sequence() == reported_sequence_ && absl::Now() - reported_at_ < absl::Seconds(10)) {
    return;
  }
  // Only what is on disk: the erasers delete messages on this figure.
  absl::StatusOr<EventStore::LogPosition> durable = store_->ReadDurableLogPosition();
  if (!durable.ok()) return;
  // In place only: an entry forgotten while this replica ran (hwctl
  // replicas --forget) may have let erasers delete messages it has not
  // applied, so it stops applying (restarted, Start decides).
  absl::StatusOr<std::optional<ReplicaRegistry::Entry>> existing = registry_->Lookup(replica_id_);
  if (!existing.ok()) return;
  absl::Status reported =
      existing->has_value()
          ? registry_->Report(replica_id_, durable->applied_sequence, (*existing)->revision)
          : absl::FailedPreconditionError("forgotten");
  if (absl::IsFailedPrecondition(reported) && existing->has_value()) {
    // The update was refused: gone or changed by someone else, or only a
    // failed write (then the entry is still the one read: try again later).
    absl::StatusOr<std::optional<ReplicaRegistry::Entry>> again = registry_->Lookup(replica_id_);
    if (!again.ok() || (again->has_value() && (*again)->revision == (*existing)->revision)) {
      return;
    }
  }
  if (absl::IsFailedPrecondition(reported)) {
    absl::MutexLock lock(&mu_);
    if (!forgotten_) {
      logging::Error("replica: this replica's registry entry was removed (hwctl replicas "
                     "--forget) or written by another process with the same --replica_id while "
                     "it ran; it stops applying the log: restart it (with its own --replica_id)",
                     {{"replica_id", replica_id_}});
    }
    forgotten_ = true;
    status_.applying = false;
    status_.last_error =
        "removed from the replica registry while running (hwctl replicas --forget), or another "
        "replica uses the same --replica_id: restart it";
    return;
  }
  if (reported.ok()) {
    reported_sequence_ = durable->applied_sequence;
    reported_at_ = absl::Now();
  }
}

bool StoreReplica::WaitUntilStoreWritable() {
  while (true) {
    const absl::Status health = store_->Health();
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    if (health.ok()) {
      if (!status_.applying) {
        logging::Info("replica: applying the log again (store writable)");
        status_.applying = true;
        status_.last_error.clear();
      }
      return true;
    }
    if (status_.applying) {
      logging::Warning("replica: not applying the log", {{"reason", health.message()}});
    }
    status_.applying = false;
    status_.last_error = health.ToString();
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.health_retry_interval)) {
      return false;
    }
  }
}

StoreReplica::Status StoreReplica::GetStatus() const {
  Status status;
  {
    absl::MutexLock lock(&mu_);
    status = status_;
  }
  status.log_connected = log_->IsConnected();
  if (eraser_ != nullptr) status.eraser = eraser_->GetStatus();
  return status;
}

uint64_t StoreReplica::applied_sequence() const {
  absl::MutexLock lock(&mu_);
  return status_.applied_sequence;
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
  auto forgotten = [this] {
    absl::MutexLock lock(&mu_);
    return forgotten_;
  };
  while (!stopping()) {
    if (forgotten()) {
      absl::SleepFor(absl::Milliseconds(250));
      continue;
    }
    // Nothing is read from the log while it could not be written.
    if (!WaitUntilStoreWritable()) break;
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
      if (!next->has_value()) {
        if (calls.empty()) {
          // Nothing more in the log within the wait: caught up.
          absl::MutexLock lock(&mu_);
          status_.caught_up = true;
        }
        break;
      }
      ConsumedDelivery& consumed = **next;
      EventStore::LogCall call;
      call.sequence = consumed.sequence;
      if (consumed.malformed.empty() && consumed.erasure.has_value()) {
        const v1::Subject& subject = consumed.erasure->subject();
        call.erase_subject = subject.has_reference_id()
                                 ? StoreSubject::ReferenceId(subject.reference_id())
                                 : StoreSubject::UserId(subject.user_id());
        call.erase_received_at = consumed.erasure->requested_at();
      } else if (consumed.malformed.empty()) {
        call.events.assign(std::make_move_iterator(consumed.delivery.mutable_events()->begin()),
                           std::make_move_iterator(consumed.delivery.mutable_events()->end()));
        for (const v1::Event& event : call.events) bytes += event.raw_json().size();
        call.chunk_sequences = std::move(consumed.chunk_sequences);
        if (consumed.delivery.has_fetch_outcome()) {
          call.fetch_outcome = std::move(*consumed.delivery.mutable_fetch_outcome());
        }
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
    std::vector<uint64_t> sequences;
    for (const EventStore::LogCall& call : calls) sequences.push_back(call.sequence);
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
    if (applied->stream_deletion_jobs > 0 && eraser_ != nullptr) eraser_->Wake();
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < applied->erasures.size(); ++i) {
      if (!applied->erasures[i].has_value()) continue;
      erasures_[sequences[i]] = *applied->erasures[i];
      while (erasures_.size() > kRememberedErasures) erasures_.erase(erasures_.begin());
    }
    status_.applied_sequence = applied->position.applied_sequence;
    status_.digest_hex = absl::BytesToHexString(applied->position.digest);
    status_.store_revision = applied->store_revision;
    status_.behind = behind;
    status_.caught_up = behind == 0;
    status_.deliveries_applied += count;
    status_.batches_applied += 1;
    status_.malformed_skipped += malformed;
    status_.last_apply_lag = absl::Now() - logged_at;
    if (read_error.ok()) status_.last_error.clear();
  }
}

}  // namespace healthwire

namespace healthwire {

absl::StatusOr<v1::EraseUserResponse> StoreReplica::EraseThroughLog(const StoreSubject& subject,
                                                                    absl::Time deadline) {
  if (subject.id.empty() || subject.kind == StoreSubject::Kind::kUnset) {
    return absl::InvalidArgumentError("subject: set user_id or reference_id");
  }
  log::v1::LogEntry entry;
  log::v1::Erasure* erasure = entry.mutable_erasure();
  if (subject.kind == StoreSubject::Kind::kReferenceId) {
    erasure->mutable_subject()->set_reference_id(subject.id);
  } else {
    erasure->mutable_subject()->set_user_id(subject.id);
  }
  const absl::Time now = absl::Now();
  erasure->mutable_requested_at()->set_seconds(absl::ToUnixSeconds(now));
  const std::string payload = entry.SerializeAsString();
  if (payload.size() > log_->MessageLimit()) {
    return absl::InvalidArgumentError("subject: the id is too long for one log message");
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
  jsPubAck* ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&ack, log_->jetstream(), log_->deliveries_subject().c_str(),
                            payload.data(), static_cast<int>(payload.size()), &options, &err);
  if (s != NATS_OK) return NatsStatus(s, err, "cannot publish the erasure to the log");
  const uint64_t sequence = ack->Sequence;
  jsPubAck_Destroy(ack);
  if (!WaitForSequence(sequence, deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the erasure is in the log at sequence ", sequence,
        " but this replica has not applied it yet; every replica will"));
  }
  absl::MutexLock lock(&mu_);
  auto it = erasures_.find(sequence);
  if (it == erasures_.end()) {
    return absl::InternalError(absl::StrCat("the erasure at log sequence ", sequence,
                                            " was applied but its outcome is not known"));
  }
  v1::EraseUserResponse response = it->second;
  response.set_store_timeline(store_->TimelineId());
  // Every replica compacts the erased ranges itself, in the background:
  // compacted false without an error.
  response.set_compacted(false);
  return response;
}

}  // namespace healthwire
