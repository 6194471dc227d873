// EventStore::Impl: the store's state and the declarations its parts share.
// Private to storage/. The parts, one file each (etcd's mvcc layout):
//   event_store_open.cc        open (options, column families, counters), close
//   apply_batch.{h,cc}         the apply rules: prior state + events -> WriteBatch
//   event_store_commit.cc      CommitApplied: write an applied batch, advance
//                              the revision, publish; shared by every feeder
//   event_store_group_commit.cc  feeder 1: IngestAsync -> queue -> writer thread
//   event_store_large_write.cc   feeder 1's large-value writer threads
//   event_store_retention.cc   change-log trimming by count and age
//   event_store_read.cc        GetLatest, ListRecords, GetUser, ReadChangeLog
//   event_store_checkpoint.cc  CreateCheckpoint
//   event_store_health.cc      disk reserve, write recovery, Health()
//   event_store_log_feeder.cc  feeder 2 (cluster replicas): ApplyLogCalls
//   event_store_erasure.cc     EraseUser through the commit path, then
//                              compaction of the erased key ranges
//   event_store.cc             the public EventStore, forwarding here
//
// Thread-safety as in event_store.h; which thread owns which member is said
// beside it.
#ifndef HEALTHWIRE_STORAGE_EVENT_STORE_IMPL_H_
#define HEALTHWIRE_STORAGE_EVENT_STORE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "storage/apply_batch.h"
#include "storage/event_store.h"
#include "storage/store_db.h"
#include "storage/subscription_hub.h"

namespace healthwire {

class EventStore::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Open(const Options& options);
  ~Impl();

  // ---- group commit (event_store_group_commit.cc) ----
  void IngestAsync(std::vector<v1::Event> events, IngestCallback done, CommitGate may_start);

  void IngestFetchedAsync(std::vector<v1::Event> events, v1::S3Fetch outcome,
                          IngestCallback done, CommitGate may_start);

  // ---- issue 13 reads (event_store_tracking_read.cc) ----
  absl::StatusOr<std::vector<v1::S3Fetch>> PendingFetches(size_t limit) const;
  absl::StatusOr<FetchListResult> ListS3Fetches(const FetchListQuery& query) const;
  absl::StatusOr<BackfillResult> GetBackfill(const std::string& reference) const;
  absl::StatusOr<BackfillResult> ListBackfills(const StoreSubject& subject) const;
  absl::StatusOr<OpenBackfillCounts> CountOpenBackfills(size_t limit) const;
  // The user_ids of a subject (itself, or a reference_id's connections).
  absl::StatusOr<std::vector<std::string>> UserIdsOf(const rocksdb::ReadOptions& read,
                                                     const StoreSubject& subject) const;

  // ---- reads (event_store_read.cc) ----
  absl::StatusOr<LatestResult> GetLatest(const LatestQuery& query) const;
  absl::StatusOr<SerializedLatestResult> GetLatestSerialized(const LatestQuery& query) const;
  absl::StatusOr<ListResult> ListRecords(const ListQuery& query) const;
  absl::StatusOr<UserResult> GetUser(const StoreSubject& subject) const;
  absl::Status ReadChangeLog(uint64_t from_revision, size_t max_events,
                             std::vector<v1::Event>* out) const;
  absl::Status ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                  std::vector<std::string>* out) const;

  // ---- checkpoints (event_store_checkpoint.cc) ----
  absl::StatusOr<CheckpointResult> CreateCheckpoint(const std::string& name);

  const std::string& TimelineId() const { return timeline_id_; }
  uint64_t CurrentRevision() const {
    return current_revision_.load(std::memory_order_acquire);
  }
  uint64_t OldestRetainedRevision() const {
    return oldest_retained_.load(std::memory_order_acquire);
  }
  SubscriptionHub* subscription_hub() { return &hub_; }
  Stats GetStats() const;

  // ---- health (event_store_health.cc) ----
  absl::Status Health() const;
  // ---- cluster mode: the log feeder (event_store_log_feeder.cc) ----
  absl::StatusOr<LogApplyResult> ApplyLogCalls(std::vector<LogCall> calls);
  absl::StatusOr<LogPosition> ReadLogPosition() const;
  absl::StatusOr<LogPosition> ReadDurableLogPosition();
  absl::StatusOr<std::vector<StreamDeletionJob>> ListStreamDeletionJobs(size_t max_jobs) const;
  absl::Status FinishStreamDeletionJob(uint64_t erasure_sequence);
  const std::string& path() const { return options_.path; }

  // ---- erasure (event_store_erasure.cc) ----
  absl::StatusOr<EraseResult> EraseUser(const StoreSubject& subject);

 private:
  using EraseCallback = std::function<void(absl::StatusOr<ApplyBatch::ErasureOutcome>)>;
  // One IngestAsync call (or one EraseUser) waiting for the writer.
  // Scratch folder for the SST files of large values being written.
  static std::string LargeValueIngestDir(const std::string& path) {
    return path + "/large_value_ingest";
  }

  struct PendingCall {
    std::vector<v1::Event> events;
    IngestCallback done;
    // Set for an erasure: applied in queue order like any call.
    std::optional<ApplyBatch::ErasureRequest> erasure;
    EraseCallback erase_done;
    CommitGate may_start;
    // IngestFetchedAsync: the fetch state recorded with the events.
    std::optional<v1::S3Fetch> fetch_outcome;
    // Parallel to `events`: raw JSON written on the large-value path before
    // the call was queued (storage/large_values.h).
    std::vector<std::optional<LargeValueRef>> large_values;
    // Non-zero while a large-value writer thread holds this call's events
    // (writing their raw JSON): the call keeps its place in the queue, so
    // calls of its users stay behind it, but the writer does not take it.
    uint64_t large_write = 0;
    std::vector<std::string> writing_users;  // the held events' user_ids
  };

  // A call's events while a large-value writer thread writes their raw JSON
  // (event_store_large_write.cc).
  struct LargeWrite {
    uint64_t id = 0;  // PendingCall::large_write of its place in queue_
    std::vector<v1::Event> events;
    CommitGate may_start;  // a copy: asked before writing
  };

  // ---- the large-value writer (event_store_large_write.cc) ----
  // Queues a call with raw JSON over large_value_bytes: a place in queue_
  // and a job for the large-value writer threads, or an immediate refusal
  // (closing, or large_write_max_queued calls waiting).
  void QueueLargeWrite(std::vector<v1::Event> events, v1::S3Fetch outcome, IngestCallback done,
                       CommitGate may_start);
  void LargeWriteLoop();
  // Large-value writer thread: hands the written values to the call's place
  // in queue_ (now the commit writer may take it), or on failure removes that
  // place and answers the call with `status`.
  void FinishLargeWrite(LargeWrite job, std::vector<std::optional<LargeValueRef>> values,
                        absl::Status status);
  // Removes large values written for a call that will not be committed.
  void DiscardLargeValues(const std::vector<std::optional<LargeValueRef>>& large_values);

  // Erasures committed by a feeder whose compaction nobody waits for
  // (erase_on_deauth, and erasures applied from the commit log) queue here
  // for the compaction thread; beyond this many it compacts every family
  // whole instead of remembering more ranges.
  static constexpr size_t kMaxPendingCompactions = 1024;

  // ---- erasure: compaction (event_store_erasure.cc) ----
  // Flushes every family (so the WAL files holding the erased data become
  // obsolete) and compacts the key ranges `outcome` touched, bottommost
  // level included, so the erased values leave the SST files.
  absl::Status CompactErased(const ApplyBatch::ErasureOutcome& outcome);
  // Feeder thread, after a commit: hands the batch's background erasures to
  // the compaction thread.
  void ScheduleCompactions(const ApplyBatch& batch);
  void CompactionLoop();
  // Opens: indexes a change log written before user_changes existed.
  static absl::Status BackfillUserChanges(rocksdb::DB* db, const StoreFamilies& families,
                                          uint64_t last_revision);

  Impl(const Options& options, std::unique_ptr<rocksdb::DB> db,
       std::vector<rocksdb::ColumnFamilyHandle*> handles, StoreFamilies families,
       uint64_t last_revision, uint64_t oldest_retained, std::string timeline_id);

  // ---- the commit path (event_store_commit.cc) ----
  // A batch for the next commit, on top of the last durable one. Feeder
  // thread only (there is one feeder thread at a time).
  // `reserved_bytes`: see ApplyBatch's constructor.
  ApplyBatch NewApplyBatch(size_t reserved_bytes = 0) const;
  // Seals and writes `batch` (synced when Options::sync_writes) when it has
  // changes; on success advances the revision, counts, publishes the stored
  // versions to the subscription hub (before the feeder answers anyone) and
  // applies count retention. On failure nothing of it is durable and the
  // revision does not advance, so the next batch reuses its revisions.
  // Returns the store revision after the commit, or the error.
  absl::StatusOr<uint64_t> CommitApplied(ApplyBatch& batch);

  // ---- health: disk reserve and write recovery (event_store_health.cc) ----
  // OK when the data folder's disk has room for `bytes_to_write` above the
  // reserve (or its free space cannot be told); Unavailable naming the disk
  // otherwise.
  absl::Status CheckDiskRoom(uint64_t bytes_to_write) const;
  // Feeder thread, before a write: recovers a store whose writes stopped
  // (when the disk has room), then checks the disk room. OK = go ahead.
  absl::Status PrepareWrite(uint64_t bytes_to_write);
  // Feeder thread: a RocksDB write failed; writes stop until recovery.
  void RecordWriteFailure(const absl::Status& failure);
  // Feeder thread: DB::Resume when writes stopped and the disk has room.
  absl::Status TryRecoverWrites();
  bool writes_stopped() const { return writes_stopped_.load(std::memory_order_acquire); }

  // ---- group commit: feeder 1 (event_store_group_commit.cc) ----
  // Appends `call` to queue_ and wakes the writer when it may take it (not a
  // call whose large values are being written). mu_ held. Every append goes
  // through here: the writer sleeps until queue_changed_flag_ is set.
  void QueueCallLocked(PendingCall call);
  void WriterLoop();
  // The next group to commit, taken from queue_ (mu_ held).
  std::vector<PendingCall> TakeGroup();
  void CommitGroup(std::vector<PendingCall> calls);

  // ---- change-log retention (event_store_retention.cc) ----
  // Removes change-log entries below `new_oldest` (one range tombstone) and
  // records the new oldest revision.
  void TrimChangeLog(uint64_t new_oldest);
  // Feeder thread, after a commit: keeps at most changelog_max_entries.
  void ApplyCountRetention();
  // Retention thread: drops entries older than changelog_max_age.
  void RetentionLoop();

  // ---- read helpers (event_store_read.cc) ----
  absl::StatusOr<uint64_t> ReadLastRevision(const rocksdb::ReadOptions& read) const;
  // The serialized record an index entry points at, as stored.
  absl::StatusOr<std::string> LoadIndexedRecordBytes(const rocksdb::ReadOptions& read,
                                                     absl::string_view index_key) const;
  // The same record parsed.
  absl::StatusOr<v1::Event> LoadIndexedRecord(const rocksdb::ReadOptions& read,
                                              absl::string_view index_key,
                                              bool omit_raw_json) const;
  // GetLatest's read at one snapshot: the record decoded into `parsed`, or,
  // with `parsed` null, serialized (the stored bytes unless raw_json is
  // omitted) in the result's serialized_event.
  absl::StatusOr<SerializedLatestResult> ReadLatest(const LatestQuery& query,
                                                    v1::Event* parsed) const;

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; closed in ~Impl
  const StoreFamilies families_;
  const std::string timeline_id_;

  // The revision of the last durable commit. Written by the feeder thread
  // after each successful write, read by anyone.
  std::atomic<uint64_t> current_revision_;
  // The oldest change-log revision still kept. Only TrimChangeLog raises it.
  std::atomic<uint64_t> oldest_retained_;
  std::mutex trim_mu_;  // serializes TrimChangeLog (feeder and retention threads)

  SubscriptionHub hub_;
  // Feeder-thread state: the revision the next batch builds on. Equal to
  // current_revision_ between commits; a failed write leaves it unchanged, so
  // the revisions the failed batch had assigned are handed out again.
  uint64_t durable_revision_;

  std::atomic<uint64_t> stored_{0};
  std::atomic<uint64_t> identical_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> refused_disk_full_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> refused_late_{0};
  std::atomic<uint64_t> large_values_written_{0};
  std::atomic<uint64_t> large_values_collected_{0};

  // Set by the feeder when a RocksDB write failed, cleared when it recovered.
  std::atomic<bool> writes_stopped_{false};
  // The size of the last commit refused for disk room; 0 after a commit.
  std::atomic<uint64_t> refused_bytes_{0};
  mutable std::mutex health_mu_;
  absl::Status write_failure_;  // guarded by health_mu_

  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it even
  // when Abseil is built without TSan annotations (Debian's is).
  std::mutex mu_;
  std::condition_variable queue_changed_;
  std::vector<PendingCall> queue_;  // guarded by mu_
  // Set when queue_ may hold a call the writer can take (a call arrived, a
  // large write finished); cleared by the writer when it found none. So the
  // writer sleeps while every queued call waits for a large write.
  bool queue_changed_flag_ = false;  // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  std::thread writer_;

  // The large-value writer (guarded by mu_): jobs not yet picked up, ids for
  // PendingCall::large_write.
  std::deque<LargeWrite> large_writes_;
  uint64_t next_large_write_ = 0;
  bool large_writers_stopping_ = false;  // set first when closing
  std::condition_variable large_write_wake_;  // with mu_
  std::vector<std::thread> large_writers_;
  // Calls waiting for or in the large-value writer (changed under mu_,
  // atomic for GetStats).
  std::atomic<uint64_t> large_writes_waiting_{0};
  std::atomic<uint64_t> large_writes_refused_{0};
  std::condition_variable retention_wake_;  // with mu_; signalled when stopping
  std::thread retention_;

  // Background compactions of erased ranges (guarded by mu_).
  std::vector<ApplyBatch::ErasureOutcome> compact_queue_;
  bool compact_everything_ = false;
  bool collect_large_values_ = false;  // the change log was trimmed
  std::condition_variable compact_wake_;  // with mu_
  std::thread compactor_;
  std::atomic<uint64_t> erasures_{0};
  std::atomic<uint64_t> compaction_failures_{0};
  std::atomic<uint64_t> compactions_pending_{0};
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_EVENT_STORE_IMPL_H_
