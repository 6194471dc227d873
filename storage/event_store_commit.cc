// The commit path's shared step: an applied batch (apply_batch.h) becomes
// durable and visible. Every feeder ends here, so the revision counter, the
// stats, the subscription hub and count retention move the same way whoever
// fed the batch.
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/options.h"
#include "storage/committed_update.h"
#include "storage/event_store_impl.h"

namespace healthwire {

ApplyBatch EventStore::Impl::NewApplyBatch(size_t reserved_bytes) const {
  return ApplyBatch(db_.get(), families_, durable_revision_, hub_.subscriber_count() > 0,
                    options_.erase_on_deauth, reserved_bytes);
}

absl::StatusOr<uint64_t> EventStore::Impl::CommitApplied(ApplyBatch& batch) {
  const ApplyBatch::Tally& tally = batch.tally();
  if (!batch.HasChanges()) {
    // Nothing new: identical/stale re-deliveries and empty calls.
    identical_.fetch_add(tally.identical, std::memory_order_relaxed);
    stale_.fetch_add(tally.stale, std::memory_order_relaxed);
    return durable_revision_;
  }
  absl::Status written = batch.Seal();
  if (written.ok()) {
    written = PrepareWrite(batch.batch()->GetDataSize());
    if (!written.ok()) {
      // Not written at all (disk reserve, or writes stopped): durable_revision_
      // is unchanged, so the next batch reuses the revisions.
      return written;
    }
    batch.ReleaseLookupState();
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync_writes;
    written = FromRocksDb(db_->Write(write_options, batch.batch()),
                          absl::StrCat("cannot commit to the event store at \"",
                                       options_.path, "\""));
    if (!written.ok()) RecordWriteFailure(written);
  }
  if (!written.ok()) {
    // The whole batch is one write: none of it is durable. durable_revision_
    // is unchanged, so the next batch reuses the revisions.
    return written;
  }
  durable_revision_ = batch.last_revision();
  current_revision_.store(durable_revision_, std::memory_order_release);
  stored_.fetch_add(tally.stored, std::memory_order_relaxed);
  identical_.fetch_add(tally.identical, std::memory_order_relaxed);
  stale_.fetch_add(tally.stale, std::memory_order_relaxed);
  commits_.fetch_add(1, std::memory_order_relaxed);
  for (const ApplyBatch::ErasureOutcome& erasure : batch.erasures()) {
    if (erasure.response.tombstone_revision() > 0) {
      erasures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Subscribers hear of the commit before the feeder answers anyone.
  std::vector<std::shared_ptr<const CommittedUpdate>> updates;
  for (v1::Event& event : batch.TakeCommitted()) {
    updates.push_back(std::make_shared<const CommittedUpdate>(std::move(event)));
  }
  hub_.Publish(updates, durable_revision_, batch.collects_committed());
  ScheduleCompactions(batch);
  ApplyCountRetention();
  return durable_revision_;
}

}  // namespace healthwire
