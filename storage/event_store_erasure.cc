// Erasure through the commit path: EraseUser queues the erasure like an
// Ingest call, the writer thread applies it in order with the calls around it
// (ApplyBatch::ApplyErasure) and commits it in the same single WriteBatch as
// everything else of that group, and the caller then compacts the erased key
// ranges. Erasures nobody waits for (erase_on_deauth, the commit log's) are
// compacted by the compaction thread. Also here: the one-time user_changes
// backfill of stores written before that family existed.
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/connection_tracker.h"
#include "storage/event_store_impl.h"
#include "storage/large_values.h"
#include "storage/id_limits.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

google::protobuf::Timestamp NowTimestamp() {
  const absl::Time now = absl::Now();
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(now));
  timestamp.set_nanos(static_cast<int32_t>((now - absl::FromUnixSeconds(timestamp.seconds())) /
                                           absl::Nanoseconds(1)));
  return timestamp;
}

}  // namespace

absl::StatusOr<EventStore::EraseResult> EventStore::Impl::EraseUser(const StoreSubject& subject) {
  if (options_.log_replica) {
    return absl::FailedPreconditionError(
        "this store is a replica of the commit log: an erasure must go through the log so "
        "every replica applies it");
  }
  ApplyBatch::ErasureRequest request;
  switch (subject.kind) {
    case StoreSubject::Kind::kUserId:
      request.kind = ApplyBatch::ErasureRequest::Kind::kUserId;
      if (absl::Status valid = ValidateIdLength("subject.user_id", subject.id); !valid.ok()) {
        return valid;
      }
      break;
    case StoreSubject::Kind::kReferenceId:
      request.kind = ApplyBatch::ErasureRequest::Kind::kReferenceId;
      if (absl::Status valid = ValidateIdLength("subject.reference_id", subject.id);
          !valid.ok()) {
        return valid;
      }
      break;
    case StoreSubject::Kind::kUnset:
      return absl::InvalidArgumentError("subject: set user_id or reference_id");
  }
  if (subject.id.empty()) return absl::InvalidArgumentError("subject: set user_id or reference_id");
  request.id = subject.id;
  request.trigger = v1::Erasure::TRIGGER_ERASE_USER;
  request.received_at = NowTimestamp();
  request.compact_in_background = false;  // compacted below, before answering

  std::promise<absl::StatusOr<ApplyBatch::ErasureOutcome>> committed;
  std::future<absl::StatusOr<ApplyBatch::ErasureOutcome>> result = committed.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the event store is closing");
    PendingCall call;
    call.erasure = std::move(request);
    call.erase_done = [&committed](absl::StatusOr<ApplyBatch::ErasureOutcome> outcome) {
      committed.set_value(std::move(outcome));
    };
    QueueCallLocked(std::move(call));
  }
  absl::StatusOr<ApplyBatch::ErasureOutcome> outcome = result.get();
  if (!outcome.ok()) return outcome.status();

  EraseResult erased;
  erased.response = outcome->response;
  erased.response.set_store_timeline(timeline_id_);
  // Compacted even when nothing was left to erase: a second call finishes
  // what a failed compaction of the first left in the SST files.
  const absl::Status compacted = CompactErased(*outcome);
  erased.response.set_compacted(compacted.ok());
  if (!compacted.ok()) {
    compaction_failures_.fetch_add(1, std::memory_order_relaxed);
    erased.response.set_compaction_error(std::string(compacted.message()));
  }
  return erased;
}

absl::Status EventStore::Impl::CompactErased(const ApplyBatch::ErasureOutcome& outcome) {
  // Flush first: the erased values may still be in memtables (and so in the
  // WAL); after a flush of every family the WAL files holding them are
  // obsolete and RocksDB deletes them.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  flush.allow_write_stall = true;
  rocksdb::Status status = db_->Flush(flush, families_.All());
  if (!status.ok()) return FromRocksDb(status, "erasure: cannot flush the memtables");
  // The erased records' large values (and their commit keys, which name the
  // record) are no longer referenced: removed and compacted away here.
  if (absl::StatusOr<uint64_t> collected = CollectUnreferencedLargeValues(db_.get(), families_);
      collected.ok()) {
    large_values_collected_.fetch_add(*collected, std::memory_order_relaxed);
  } else {
    return collected.status();
  }

  struct Range {
    rocksdb::ColumnFamilyHandle* family;
    std::string begin, end;
  };
  std::vector<Range> ranges;
  auto prefix_range = [&ranges](rocksdb::ColumnFamilyHandle* family, std::string prefix) {
    std::string end = keys::PrefixSuccessor(prefix);
    ranges.push_back(Range{family, std::move(prefix), std::move(end)});
  };
  for (const std::string& user_id : outcome.user_ids) {
    prefix_range(families_.records, keys::RecordUserPrefix(user_id));
    prefix_range(families_.by_start,
                 keys::StartIndexSubjectPrefix(keys::SubjectKind::kUserId, user_id));
    prefix_range(families_.users, keys::UserKey(user_id));
    prefix_range(families_.user_changes, keys::UserChangePrefix(user_id));
  }
  for (const std::string& reference_id : outcome.reference_ids) {
    prefix_range(families_.by_start,
                 keys::StartIndexSubjectPrefix(keys::SubjectKind::kReferenceId, reference_id));
    prefix_range(families_.user_refs, keys::UserReferencePrefix(reference_id));
  }
  for (const std::string& reference : outcome.backfill_references) {
    prefix_range(families_.backfills, keys::BackfillKey(reference));
    prefix_range(families_.backfills, keys::OpenBackfillKey(reference));
  }
  for (const std::string& user_id : outcome.user_ids) {
    prefix_range(families_.backfills, keys::UserBackfillPrefix(user_id));
  }
  for (uint64_t ping : outcome.fetch_ping_revisions) {
    prefix_range(families_.fetches, keys::FetchKey(ping));
    prefix_range(families_.fetches, keys::PendingFetchKey(ping));
  }
  if (outcome.first_redacted_revision > 0) {
    ranges.push_back(Range{families_.changelog, keys::RevisionKey(outcome.first_redacted_revision),
                           keys::RevisionKey(outcome.last_redacted_revision + 1)});
  }

  rocksdb::CompactRangeOptions compact;
  // The erased values may sit in bottommost files already, where a plain
  // manual compaction would leave them: rewrite those too.
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  compact.exclusive_manual_compaction = false;  // background compactions go on
  for (const Range& range : ranges) {
    const rocksdb::Slice begin(range.begin), end(range.end);
    status = db_->CompactRange(compact, range.family, &begin, range.end.empty() ? nullptr : &end);
    if (!status.ok()) return FromRocksDb(status, "erasure: cannot compact the erased key range");
  }
  return absl::OkStatus();
}

void EventStore::Impl::ScheduleCompactions(const ApplyBatch& batch) {
  bool scheduled = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ApplyBatch::ErasureOutcome& outcome : batch.erasures()) {
      if (!outcome.compact_in_background) continue;
      scheduled = true;
      if (compact_everything_) continue;
      if (compact_queue_.size() >= kMaxPendingCompactions) {
        compact_queue_.clear();
        compact_everything_ = true;
        continue;
      }
      compact_queue_.push_back(outcome);
    }
    compactions_pending_.store(compact_everything_ ? kMaxPendingCompactions : compact_queue_.size(),
                               std::memory_order_relaxed);
  }
  if (scheduled) compact_wake_.notify_one();
}

void EventStore::Impl::CompactionLoop() {
  for (;;) {
    std::vector<ApplyBatch::ErasureOutcome> outcomes;
    bool everything = false;
    bool collect = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      compact_wake_.wait(lock, [this] {
        return stopping_ || compact_everything_ || !compact_queue_.empty() ||
               collect_large_values_;
      });
      if (stopping_) return;
      collect = collect_large_values_;
      collect_large_values_ = false;
      outcomes.swap(compact_queue_);
      everything = compact_everything_;
      compact_everything_ = false;
      compactions_pending_.store(0, std::memory_order_relaxed);
    }
    if (collect) {
      if (absl::StatusOr<uint64_t> collected = CollectUnreferencedLargeValues(db_.get(), families_);
          collected.ok()) {
        large_values_collected_.fetch_add(*collected, std::memory_order_relaxed);
      } else {
        logging::Warning("healthwire: collecting unreferenced large values failed (will retry)",
                         {{"error", collected.status().ToString()}});
      }
    }
    if (outcomes.empty() && !everything) continue;
    absl::Status compacted;
    if (everything) {
      ApplyBatch::ErasureOutcome all;  // no ranges: flush, then whole families
      compacted = CompactErased(all);
      rocksdb::CompactRangeOptions compact;
      compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      for (rocksdb::ColumnFamilyHandle* family : families_.All()) {
        if (!compacted.ok()) break;
        compacted = FromRocksDb(db_->CompactRange(compact, family, nullptr, nullptr),
                                "erasure: cannot compact the store");
      }
    } else {
      for (const ApplyBatch::ErasureOutcome& outcome : outcomes) {
        compacted = CompactErased(outcome);
        if (!compacted.ok()) break;
      }
    }
    if (!compacted.ok()) {
      compaction_failures_.fetch_add(1, std::memory_order_relaxed);
      logging::Error(absl::StrCat("compaction after an erasure failed: ", compacted.ToString()));
    }
  }
}

absl::Status EventStore::Impl::BackfillUserChanges(rocksdb::DB* db, const StoreFamilies& families,
                                                   uint64_t last_revision) {
  std::string marker;
  const rocksdb::Status read = db->Get(rocksdb::ReadOptions(), families.meta,
                                       ToSlice(keys::kUserChangesIndexedMetaKey), &marker);
  if (read.ok()) return absl::OkStatus();
  if (!read.IsNotFound()) return FromRocksDb(read, "cannot read the user_changes marker");
  // A store from before user_changes: index its change log once. New stores
  // (last_revision 0) only write the marker.
  constexpr size_t kEntriesPerBatch = 10000;
  rocksdb::WriteBatch batch;
  size_t in_batch = 0;
  uint64_t indexed = 0;
  if (last_revision > 0) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), families.changelog));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::Event event;
      if (absl::Status parsed = ParseStoredEvent(db, families, rocksdb::ReadOptions(),
                                                 ToView(it->value()), false, &event);
          !parsed.ok()) {
        return parsed;
      }
      for (const std::string& user_id : ConnectionsTouchedBy(event)) {
        batch.Put(families.user_changes, keys::UserChangeKey(user_id, event.revision()),
                  rocksdb::Slice());
      }
      ++indexed;
      if (++in_batch == kEntriesPerBatch) {
        rocksdb::Status written = db->Write(rocksdb::WriteOptions(), &batch);
        if (!written.ok()) return FromRocksDb(written, "cannot index the change log by user");
        batch.Clear();
        in_batch = 0;
      }
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the change log");
  }
  batch.Put(families.meta, ToSlice(keys::kUserChangesIndexedMetaKey), "1");
  rocksdb::WriteOptions synced;
  synced.sync = true;
  const rocksdb::Status written = db->Write(synced, &batch);
  if (!written.ok()) return FromRocksDb(written, "cannot index the change log by user");
  if (indexed > 0) {
    logging::Info(absl::StrCat("indexed ", indexed, " change-log entries by user (for erasure)"));
  }
  return absl::OkStatus();
}

}  // namespace healthwire
