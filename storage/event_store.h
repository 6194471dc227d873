// EventStore: the latest version of every Terra record, on RocksDB.
//
// Every change the store accepts gets the next store-wide revision (dense: 1,
// 2, 3, ...). One Ingest call is one atomic unit: its records, their indexes,
// their change-log entries and the new revision counter go into one RocksDB
// WriteBatch, written with a synced WAL by default, so a call that returned OK
// survives a crash. Concurrent Ingest calls are group-committed: one writer
// thread takes every pending call, applies them in order, and writes them with
// one synced write, so many small webhooks share one fsync.
//
// Per record (user_id, type, record_key):
// - ordering guard: when the stored and the incoming version both carry an
//   ordering timestamp and the incoming one is older, the incoming one is
//   acknowledged as STALE and changes nothing;
// - an identical re-delivery (same raw JSON, same reference_id) is IDENTICAL
//   and creates no revision;
// - `data_enrichment` scores that are absent in a new version keep the stored
//   value (Terra re-delivers some records with null scores);
// - an index by metadata.start_time (per user_id and per reference_id) serves
//   GetLatest and ListRecords.
//
// Reads use a RocksDB snapshot, so the store_revision they return is exactly
// the state they read. Queries and results are the store's own types
// (store_queries.h); the gRPC service adapts the wire messages to them.
//
// Thread-safe: every method may be called from any thread.
#ifndef HEALTHWIRE_STORAGE_EVENT_STORE_H_
#define HEALTHWIRE_STORAGE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"
#include "storage/store_queries.h"
#include "storage/subscription_hub.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace healthwire {

class EventStore {
 public:
  struct Options {
    // The RocksDB folder; created when missing.
    std::string path;
    // Sync the WAL before an Ingest returns. false trades the guarantee that
    // an acknowledged write survives a machine crash for throughput.
    bool sync_writes = true;
    // RocksDB block cache size.
    size_t block_cache_bytes = 256 << 20;
    // Table files RocksDB keeps open (rocksdb::Options::max_open_files).
    // Bounded, not RocksDB's -1 (unlimited): the process shares its fd limit
    // with HTTP connections and gRPC, and a store that takes fds as it grows
    // could starve them. The binaries size it from RLIMIT_NOFILE.
    int max_open_files = 256;
    // The RocksDB environment (file system) to use; null = the default. For
    // tests that inject I/O failures. Not owned; must outlive the store.
    rocksdb::Env* env = nullptr;

    // Change-log retention (what StreamUpdates can replay). Entries beyond
    // the newest `changelog_max_entries` (0 = no count limit) or received
    // longer than `changelog_max_age` ago (zero = no age limit) are removed
    // in the background; a stream asking for them gets OUT_OF_RANGE.
    uint64_t changelog_max_entries = 10'000'000;
    absl::Duration changelog_max_age = absl::Hours(24 * 7);
    // How often the age limit is applied.
    absl::Duration retention_interval = absl::Minutes(1);

    // Live changes buffered per stream subscriber before it falls back to
    // reading the change log (bounds a slow subscriber's memory).
    size_t max_buffered_updates_per_subscriber = 1024;

    // Where CreateCheckpoint puts checkpoints; empty = "<path>.checkpoints".
    std::string checkpoint_dir;
    // Names of files in the data folder that are not RocksDB's but belong
    // with its data (the generated webhook signing secret): CreateCheckpoint
    // copies each one present into the checkpoint (mode 0600), so a store
    // restored from it accepts the same signed webhooks. Missing ones are
    // skipped.
    std::vector<std::string> checkpoint_extra_files;

    // Disk reserve. A commit is refused (Unavailable, nothing written, the
    // revision does not advance) while the data folder's file system has
    // less free space than this plus the commit's size, so RocksDB never
    // writes into a full disk (a failed WAL write stops RocksDB's writes and
    // needs a recovery) and has room left to flush memtables and to reopen
    // after a restart. 0 = no check. Writes resume by themselves once space
    // is freed; Health() says how much is free meanwhile.
    uint64_t min_free_disk_bytes = 32 << 20;
    // How often a store whose writes stopped after a failed write retries
    // its recovery (RocksDB's DB::Resume) while no commit asks for it.
    absl::Duration write_recovery_interval = absl::Seconds(1);
    // A record whose raw JSON is larger than this is stored once, outside
    // the group commit (storage/large_values.h): its bytes never go through
    // the WAL small commits sync, nor twice into the memtables. 0 = every
    // record inline.
    uint64_t large_value_bytes = 1 << 20;
    // Threads that write those values (the large-value writer): the caller
    // of IngestAsync never blocks on them, and the call keeps its place in
    // the commit queue meanwhile. Two: a 60 MB value takes ~0.3-0.5 s to
    // hash, write and sync, and on a small machine two writes in parallel
    // overlap one's fsync with the other's hashing.
    int large_write_threads = 2;
    // Calls waiting for (or in) the large-value writer; beyond this a call is
    // refused at once (Unavailable, nothing written), so a burst of large
    // webhooks gets a fast 503 rather than a 503 after its deadline. Each
    // waiting call holds its body in memory (bounded before this by the
    // webhook port's body budget).
    size_t large_write_max_queued = 16;

    // Cluster mode: this store is a replica of the commit log; its only
    // writer is ApplyLogCalls (storage/replica), and IngestAsync answers
    // FailedPrecondition (a write that bypassed the log would make the
    // replicas diverge).
    bool log_replica = false;

    // A stored deauth or access_revoked event also erases that user_id's
    // data (as EraseUser does, in the same commit as the event).
    bool erase_on_deauth = false;
    // Cluster mode: the timeline of the commit log this replica applies
    // (StoreReplica::LogTimeline). Every replica of one log computes the same
    // revisions, so they share one timeline and a subscriber can resume on
    // any of them; opening a checkpoint keeps it (the log is the history).
    // Empty: the store's own timeline (see TimelineId).
    std::string timeline_id;
    // A backfill that is not complete and got nothing for this long is
    // reported STALLED (zero: never).
    absl::Duration backfill_stall_after = absl::Minutes(30);
  };

  // Counts since the store was opened.
  struct Stats {
    uint64_t stored = 0;
    uint64_t identical = 0;
    uint64_t stale = 0;
    uint64_t commits = 0;  // synced writes (group commits)
    // Commits refused because the disk reserve (min_free_disk_bytes) was
    // reached, and commits whose RocksDB write failed.
    uint64_t refused_disk_full = 0;
    uint64_t write_failures = 0;
    // Erasures that wrote a tombstone (EraseUser and erase_on_deauth), and
    // compactions of erased ranges that failed (they are also retried by
    // RocksDB's own compactions).
    uint64_t erasures = 0;
    uint64_t erasure_compaction_failures = 0;
    // Erasures waiting for the compaction thread (at most 1024; beyond,
    // it compacts the families whole).
    uint64_t erasure_compactions_pending = 0;
    // Calls refused by their CommitGate (their caller's deadline passed
    // while they waited for the writer).
    uint64_t refused_late = 0;
    // Raw JSON values written on the large-value path, and those removed
    // again (unreferenced after overwrite + retention or erasure, or never
    // committed: refused calls, and at open what a crash left).
    uint64_t large_values_written = 0;
    uint64_t large_values_collected = 0;
    // Calls waiting for or in the large-value writer now, and calls refused
    // because large_write_max_queued were waiting.
    uint64_t large_writes_waiting = 0;
    uint64_t large_writes_refused = 0;
  };

  using IngestCallback = std::function<void(absl::StatusOr<v1::IngestResponse>)>;
  // Asked on the writer thread right before a call's commit starts (after it
  // waited behind other commits), and for a call with large values also on a
  // large-value writer thread before they are written (so a caller that gave
  // up costs no 60 MB write): a non-OK answer is the call's result and
  // nothing of it is written. Callers whose client gives up at a deadline
  // refuse there, so a caller answered "not stored" is never stored later.
  // Must be quick and must not call into the store.
  using CommitGate = std::function<absl::Status()>;

  static absl::StatusOr<std::unique_ptr<EventStore>> Open(const Options& options);

  // Flushes nothing that is not already durable; stops the writer thread
  // after it finishes the calls already queued.
  ~EventStore();

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Commits `events` (revision fields are ignored and assigned here) and calls
  // `done` from the writer thread once the commit is durable, or with the
  // error (a call refused before it reached the writer: from the calling
  // thread, or from a large-value writer thread when its value's write
  // failed). Never blocks on I/O: raw JSON over large_value_bytes is written
  // by the store's large-value writer threads. `done` must not block (and so must not call Ingest). Calls of one
  // user are committed, and their callbacks run, in the order IngestAsync
  // received them; a small call may overtake a large one (over 1 MiB of raw
  // JSON) of another user, so that small webhooks do not wait behind several
  // large commits. A call whose commit failed wrote nothing; the store revision does
  // not advance, so revisions stay dense.
  // `may_start` (optional) is asked right before the commit starts; see
  // CommitGate.
  void IngestAsync(std::vector<v1::Event> events, IngestCallback done,
                   CommitGate may_start = nullptr);

  // Blocking form of IngestAsync. Not from inside an IngestAsync callback.
  absl::StatusOr<v1::IngestResponse> Ingest(std::vector<v1::Event> events);

  // ---- s3_payload fetches (issue 13; the fetcher is server/fetch/s3_fetcher.h) ----

  // Like IngestAsync, and records `outcome` (the new state of the fetch of
  // ping outcome.ping_revision) in the same commit: FETCHED with the fetched
  // body's events, or an attempt / FAILED with no events. `may_start` as
  // for IngestAsync: the fetcher refuses a commit that waited past its
  // deadline, like a webhook's, so it never waits on the store unbounded.
  void IngestFetchedAsync(std::vector<v1::Event> events, v1::S3Fetch outcome,
                          IngestCallback done, CommitGate may_start = nullptr);
  // Blocking form.
  absl::StatusOr<v1::IngestResponse> IngestFetched(std::vector<v1::Event> events,
                                                   v1::S3Fetch outcome);

  // The PENDING fetches (full URLs), oldest ping first, at most `limit`.
  absl::StatusOr<std::vector<v1::S3Fetch>> PendingFetches(size_t limit) const;

  // Fetches for the API (URLs without their query). InvalidArgument for a
  // negative page size.
  absl::StatusOr<FetchListResult> ListS3Fetches(const FetchListQuery& query) const;

  // ---- backfills (issue 13; rules in backfill_tracker.h) ----

  // The backfill of `reference` (one element). NotFound when none;
  // InvalidArgument when empty.
  absl::StatusOr<BackfillResult> GetBackfill(const std::string& reference) const;
  // Every backfill of a user_id, or of every connection of a reference_id
  // (empty when none).
  absl::StatusOr<BackfillResult> ListBackfills(const StoreSubject& subject) const;
  // How many backfills are open and how many of those are stalled now (at
  // most `limit` open ones are looked at).
  absl::StatusOr<OpenBackfillCounts> CountOpenBackfills(size_t limit) const;

  // The record of query.type with the greatest metadata.start_time.
  // InvalidArgument names a missing/invalid field; NotFound says what was
  // looked for.
  absl::StatusOr<LatestResult> GetLatest(const LatestQuery& query) const;
  // The same read with the record left serialized (see SerializedLatestResult):
  // the stored bytes are not parsed, except to drop raw_json when asked.
  absl::StatusOr<SerializedLatestResult> GetLatestSerialized(const LatestQuery& query) const;

  // Records of one type, newest start_time first, paged (see ListQuery). A
  // page_token not issued for this (subject, type) is InvalidArgument
  // ("page_token is not valid"). Records whose start_time does not parse are
  // listed last and are outside any start_time range. Nothing found is an
  // empty page, not NotFound.
  absl::StatusOr<ListResult> ListRecords(const ListQuery& query) const;

  // The change log: every committed version in revision order, starting at
  // `from_revision` (0 reads from the first), at most `max_events` of them,
  // each the full v1::Event exactly as committed (revision set). Reads at one
  // snapshot, so the sequence has no gaps. Replaces `*out`'s contents; fewer
  // than `max_events` means the log ended (at that snapshot).
  // StreamUpdates replays from here.
  absl::Status ReadChangeLog(uint64_t from_revision, size_t max_events,
                             std::vector<v1::Event>* out) const;

  // The same entries as ReadChangeLog, as the serialized v1::Event bytes the
  // store keeps (for streams that forward them without decoding).
  absl::Status ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                  std::vector<std::string>* out) const;

  // The connection record of a user_id, or of every connection of a
  // reference_id (see connection_tracker.h). NotFound when there is none;
  // InvalidArgument when the subject is missing.
  absl::StatusOr<UserResult> GetUser(const StoreSubject& subject) const;

  // ---- Erasure (event_store_erasure.cc; rules in apply_batch.h) ----

  // What EraseUser did.
  struct EraseResult {
    v1::EraseUserResponse response;  // counts, tombstone_revision, store_revision
  };
  // Erases every record, index entry, connection record and change-log
  // entry holding the subject's data (a user_id, or every connection of a
  // reference_id) in one atomic commit through the commit path, ordered with
  // the Ingest calls around it; the tombstone (EVENT_TYPE_ERASURE) is a new
  // revision and is published to subscribers. Then flushes and compacts the
  // affected key ranges of every family (CompactRange), so the bytes leave
  // the SST files and the WAL. Blocks for both; not from the writer thread
  // or an IngestAsync callback. Idempotent: nothing left to erase answers
  // zero counts and writes nothing. InvalidArgument for a missing/too long
  // id; FailedPrecondition on a log replica (erase through the log there).
  absl::StatusOr<EraseResult> EraseUser(const StoreSubject& subject);

  // The revision of the last durable commit (0 for an empty store).
  uint64_t CurrentRevision() const;

  // The store's timeline: 32 hex digits, new when the store is created and
  // when a checkpoint of it is opened for the first time, so equal revision
  // numbers on different timelines are known to be different histories.
  // Returned by every read; StreamUpdates refuses a resume from another one.
  const std::string& TimelineId() const;

  // A RocksDB checkpoint of the whole store in Options::checkpoint_dir/<name>.
  // `name` is a plain folder name (letters, digits, '-', '_', '.'); empty
  // picks "revision-<N>-<unix seconds>". InvalidArgument for a bad name,
  // AlreadyExists when that checkpoint exists.
  absl::StatusOr<CheckpointResult> CreateCheckpoint(const std::string& name);

  // The oldest revision ReadChangeLog can still return (1 until retention
  // removed something).
  uint64_t OldestRetainedRevision() const;

  // Where StreamUpdates subscribes: every durable commit is published here,
  // in revision order, before its Ingest callbacks run.
  SubscriptionHub* subscription_hub();

  Stats GetStats() const;

  // Whether the store can take writes now: OK, or Unavailable saying why in
  // one line an operator can act on: the data folder's disk is at its
  // reserve, or would be with the last refused commit (naming the folder,
  // the free and the reserved MiB), or RocksDB
  // stopped writing after a failed write (with its error) and the store is
  // retrying its recovery. Cheap (one statvfs); for readiness probes.
  absl::Status Health() const;

  // ---- Cluster mode: the log feeder (storage/replica; event_store_log_feeder.cc) ----

  // What a replica has applied of the commit log; durable in the same
  // WriteBatch as the changes it made.
  struct LogPosition {
    // The stream sequence of the last log entry applied (0: none).
    uint64_t applied_sequence = 0;
    // SHA-256 chain over every stored version in revision order:
    // digest = SHA-256(digest || revision || user_id || type || record_key ||
    // SHA-256(raw_json)). Empty before the first stored version. Equal on two
    // replicas exactly when they stored the same versions under the same
    // revisions.
    std::string digest;
  };
  // One log entry to apply: a delivery's events, or an erasure.
  struct LogCall {
    uint64_t sequence = 0;
    std::vector<v1::Event> events;
    // Set for an erasure entry (events then empty). `received_at` travels
    // in the entry, so every replica writes the same tombstone.
    std::optional<StoreSubject> erase_subject;
    google::protobuf::Timestamp erase_received_at;
    // Set for a replica's s3_payload fetch outcome (Delivery.fetch_outcome):
    // recorded with `events` (the fetched body's) as IngestFetched does,
    // only while that fetch is PENDING; otherwise the whole call is skipped
    // (FailedPrecondition in its result), the same on every replica.
    std::optional<v1::S3Fetch> fetch_outcome;
    // The stream sequences of a chunked delivery's chunk messages (deleted
    // with its commit entry when the delivery's person is erased).
    std::vector<uint64_t> chunk_sequences;
  };
  struct LogApplyResult {
    // One per call, as IngestAsync would have answered it (InvalidArgument
    // for a call the rules refuse; nothing of it is applied).
    std::vector<absl::StatusOr<v1::IngestResponse>> results;
    // One per call: what an erasure call erased (store_revision set), nullopt
    // for deliveries. An erasure call's `results` entry is an empty response.
    std::vector<std::optional<v1::EraseUserResponse>> erasures;
    LogPosition position;  // after the calls
    uint64_t store_revision = 0;
    // Stream deletion jobs the calls' erasures left (ListStreamDeletionJobs).
    size_t stream_deletion_jobs = 0;
  };
  // Applies `calls` (in increasing sequence order, all after the stored
  // position; erasure calls with EraseUser's rules, compacted afterwards by
  // the store's compaction thread) with IngestAsync's rules into one WriteBatch together with the
  // new LogPosition, and commits it. A pure function of the prior state and
  // the calls. An error writes nothing (retry the same calls). Only for a
  // store opened with log_replica, from one thread.
  absl::StatusOr<LogApplyResult> ApplyLogCalls(std::vector<LogCall> calls);
  // The durable LogPosition (zero/empty for a store that applied nothing).
  absl::StatusOr<LogPosition> ReadLogPosition() const;
  // ReadLogPosition after syncing the WAL: a position that survives a crash
  // also with sync_writes false (what a replica reports to the registry).
  absl::StatusOr<LogPosition> ReadDurableLogPosition();

  // Erasure of a person's messages from the commit log. ApplyLogCalls
  // records, for every delivery whose events all have one user_id, which
  // stream sequences hold it (the commit entry and its chunks). An erasure
  // in the log at sequence E (an EraseUser entry, or a deauth with
  // erase_on_deauth) takes the erased users' sequences out of that index and
  // leaves a job in the same WriteBatch: the messages to delete from the
  // stream once every replica has applied E (storage/replica). Deliveries
  // with events of several users are not indexed (their messages stay).
  struct StreamDeletionJob {
    uint64_t erasure_sequence = 0;  // E
    std::vector<uint64_t> sequences;  // ascending; never E itself
  };
  // The pending jobs, oldest first (at most `max_jobs`).
  absl::StatusOr<std::vector<StreamDeletionJob>> ListStreamDeletionJobs(size_t max_jobs) const;
  // Removes job E once its messages are deleted (no job: OK).
  absl::Status FinishStreamDeletionJob(uint64_t erasure_sequence);

  // The store's data folder (Options::path).
  const std::string& path() const;

 private:
  class Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_EVENT_STORE_H_
