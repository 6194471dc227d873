// Change-log retention: what StreamUpdates can replay. By count, after each
// commit on the feeder thread; by age, on the retention thread. Both end in
// TrimChangeLog: one range tombstone and the new oldest revision.
#include <algorithm>
#include <memory>

#include "absl/time/clock.h"
#include "common/logging.h"
#include "rocksdb/write_batch.h"
#include "storage/event_store_impl.h"
#include "storage/large_values.h"
#include "storage/keys.h"

namespace healthwire {

void EventStore::Impl::TrimChangeLog(uint64_t new_oldest) {
  std::lock_guard<std::mutex> lock(trim_mu_);
  const uint64_t oldest = oldest_retained_.load(std::memory_order_acquire);
  if (new_oldest <= oldest) return;
  // One range tombstone, not one delete per entry. Not synced: a trim lost
  // in a crash is redone by the next one.
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.DeleteRange(families_.changelog, keys::RevisionKey(oldest),
                                             keys::RevisionKey(new_oldest));
  if (status.ok()) {
    status = batch.Put(families_.meta, ToSlice(keys::kOldestRetainedMetaKey),
                       keys::EncodeRevision(new_oldest));
  }
  if (status.ok()) status = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) {
    logging::Warning("healthwire: change-log retention failed (will retry)",
                     {{"error", status.ToString()}});
    return;
  }
  oldest_retained_.store(new_oldest, std::memory_order_release);
  // The trimmed entries may have been the last references to large values:
  // the compaction thread collects them (not this thread, which may be the
  // commit writer).
  {
    std::lock_guard<std::mutex> wake(mu_);
    collect_large_values_ = true;
  }
  compact_wake_.notify_all();
}

void EventStore::Impl::ApplyCountRetention() {
  const uint64_t max_entries = options_.changelog_max_entries;
  if (max_entries == 0 || durable_revision_ < max_entries) return;
  const uint64_t keep_from = durable_revision_ - max_entries + 1;
  // Trim in steps of about 1% of the limit, so a busy store writes one range
  // tombstone per thousands of commits rather than one per commit.
  const uint64_t step = std::max<uint64_t>(1, max_entries / 100);
  if (keep_from >= OldestRetainedRevision() + step) TrimChangeLog(keep_from);
}

void EventStore::Impl::RetentionLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      retention_wake_.wait_for(lock, absl::ToChronoSeconds(options_.retention_interval),
                               [this] { return stopping_; });
      if (stopping_) return;
    }
    // Walk the oldest entries until one is young enough; everything before
    // it goes. Bounded per pass so a huge backlog is trimmed over several.
    const absl::Time cutoff = absl::Now() - options_.changelog_max_age;
    const ScopedSnapshot snapshot(db_.get());
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.Options(), families_.changelog));
    uint64_t keep_from = 0;
    size_t scanned = 0;
    for (it->Seek(keys::RevisionKey(OldestRetainedRevision())); it->Valid() && scanned < 100000;
         it->Next(), ++scanned) {
      v1::Event event;  // (received_at only: a large record's reference is not followed)
      if (!ParseStoredEvent(db_.get(), families_, snapshot.Options(), ToView(it->value()), false,
                            &event)
               .ok()) {
        break;
      }
      const absl::Time received = absl::FromUnixSeconds(event.received_at().seconds()) +
                                  absl::Nanoseconds(event.received_at().nanos());
      // Never trims the newest entry: the log always shows where it is.
      if (received >= cutoff || event.revision() >= CurrentRevision()) {
        keep_from = event.revision();
        break;
      }
      keep_from = event.revision() + 1;
    }
    if (keep_from > 0) TrimChangeLog(keep_from);
  }
}

}  // namespace healthwire
