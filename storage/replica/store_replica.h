// StoreReplica: keeps an EventStore equal to the commit log (cluster mode).
//
// One thread consumes the log in stream-sequence order (LogConsumer) and
// applies the deliveries in batches through EventStore::ApplyLogCalls: the
// embedded store's rules, deterministic, with the last applied sequence and
// the running digest in the same WriteBatch. Every replica of one log
// therefore has the same records under the same dense revisions, and the
// same digest at the same sequence.
//
// A second thread asks the stream for its last sequence every
// log_state_interval (Status::log_last_sequence, for status and metrics).
//
// After a failed apply (disk full, I/O error) nothing of the batch is
// durable; the replica drops its consumer and reads the log again from the
// last applied sequence, so nothing is skipped. On restart it resumes from
// the stored position; an empty store replays the stream from the start.
//
// Disk reserve: before reading a batch and after a failed apply, the replica
// waits (applying nothing, reading nothing) while the store's Health() says
// it cannot write, with that reason in Status::last_error; it resumes by
// itself once space is freed. Nothing is lost: the log still holds it all.
//
// Erased people's messages: the replica registers in the log's
// ReplicaRegistry (its durable applied sequence, every log_state_interval)
// and its StreamEraser deletes the messages of an erasure once every
// registered replica has applied it. Start refuses a store that is behind
// the registry's erased_through: messages it would need are gone (seed it
// from a replica's checkpoint instead).
//
// Thread-safe: GetStatus and the Wait calls may be used from any thread. The
// store (opened with log_replica) must outlive the replica.
#ifndef HEALTHWIRE_STORAGE_REPLICA_STORE_REPLICA_H_
#define HEALTHWIRE_STORAGE_REPLICA_STORE_REPLICA_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/commit_log/commit_log.h"
#include "storage/event_store.h"
#include "storage/replica/replica_registry.h"
#include "storage/replica/stream_eraser.h"

namespace healthwire {

class StoreReplica {
 public:
  struct Options {
    CommitLogOptions log;
    // Create the stream when missing / check its settings when present.
    bool ensure_stream = true;
    // How long Start waits for JetStream (a new cluster elects a leader).
    absl::Duration ready_timeout = absl::Seconds(60);
    // Deliveries and bytes applied in one WriteBatch (one commit).
    size_t max_batch_deliveries = 512;
    size_t max_batch_bytes = 64 << 20;
    // How often the stream's last sequence is asked for (GetStatus's
    // log_last_sequence); one JetStream API call each time, off the apply
    // thread.
    absl::Duration log_state_interval = absl::Seconds(1);
    // While the store cannot write (disk at its reserve, writes stopped),
    // how often the replica checks whether it can again.
    absl::Duration health_retry_interval = absl::Milliseconds(250);
    // This replica's name in the registry; empty: "<host name>:<data folder>".
    // Unique per data folder: a folder copied from a checkpoint is another
    // replica.
    std::string replica_id;
    // Delete erased people's messages from the stream (StreamEraser). Off:
    // this replica still registers (so others wait for it) but deletes
    // nothing itself.
    bool delete_erased_messages = true;
    StreamEraser::Options eraser;
  };

  struct Status {
    uint64_t applied_sequence = 0;  // last log entry applied
    // Commit entries in the log after the last applied one, as the server
    // said when it sent that one (0 = caught up).
    uint64_t behind = 0;
    std::string digest_hex;  // EventStore::LogPosition::digest, hex
    uint64_t store_revision = 0;
    bool log_connected = false;
    uint64_t deliveries_applied = 0;  // since start
    uint64_t batches_applied = 0;
    uint64_t malformed_skipped = 0;
    uint64_t apply_errors = 0;
    // Log storage time -> applied, of the last applied entry.
    absl::Duration last_apply_lag;
    std::string last_error;  // empty while healthy
    // The stream's last sequence (chunks included) when last asked, and when.
    uint64_t log_last_sequence = 0;
    absl::Time log_checked_at;
    // Whether this replica has applied everything the log held when it
    // last looked (false from start until then, and while a batch left
    // entries behind it). The s3_payload fetcher waits for it: a pending
    // fetch may be resolved by an entry not applied yet.
    bool caught_up = false;
    // Whether the replica is applying: false while its store cannot write
    // (last_error says why) or the log is unreachable.
    bool applying = true;
    std::string replica_id;
    // Its StreamEraser (zero when off).
    StreamEraser::Status eraser;
  };

  static absl::StatusOr<std::unique_ptr<StoreReplica>> Start(EventStore* store,
                                                             const Options& options);
  ~StoreReplica();
  StoreReplica(const StoreReplica&) = delete;
  StoreReplica& operator=(const StoreReplica&) = delete;

  // The default replica id of a store in `data_dir` on this host.
  static std::string DefaultReplicaId(const std::string& data_dir);

  // The timeline every replica of the log `options.log` shares (see
  // EventStore::Options::timeline_id): derived from the stream's name and
  // creation time, so a stream deleted and created again is a new timeline.
  // Connects, creates/checks the stream as Start does, and disconnects.
  static absl::StatusOr<std::string> LogTimeline(const Options& options);

  Status GetStatus() const;
  // GetStatus().applied_sequence without asking the log connection (cheap).
  uint64_t applied_sequence() const;
  const std::string& stream() const { return options_.log.stream; }
  // Wait until the replica applied at least `sequence` (or its store reached
  // `revision`); false when `deadline` came first.
  bool WaitForSequence(uint64_t sequence, absl::Time deadline) const;
  bool WaitForRevision(uint64_t revision, absl::Time deadline) const;

  // Cluster-mode EraseUser: publishes an erasure entry to the log, waits
  // until this replica applied it (every replica applies it at the same
  // place, with the same result), and answers what it erased. The person's
  // own messages leave the stream once every registered replica applied the
  // erasure (StreamEraser; README "Erasure").
  // DeadlineExceeded when this replica did not get there in time (the
  // erasure still happens everywhere).
  absl::StatusOr<v1::EraseUserResponse> EraseThroughLog(const StoreSubject& subject,
                                                        absl::Time deadline);

 private:
  StoreReplica(EventStore* store, const Options& options) : store_(store), options_(options) {}
  void Run();
  void WatchLogState();
  // Reports the durable applied sequence to the registry when it moved.
  void ReportProgress();
  // Blocks while the store cannot write, recording why; false when stopping.
  bool WaitUntilStoreWritable();

  EventStore* const store_;
  const Options options_;
  std::unique_ptr<CommitLog> log_;
  std::string replica_id_;
  std::unique_ptr<ReplicaRegistry> registry_;
  std::unique_ptr<StreamEraser> eraser_;
  uint64_t reported_sequence_ = 0;  // WatchLogState's thread only
  absl::Time reported_at_;

  mutable absl::Mutex mu_;
  Status status_ ABSL_GUARDED_BY(mu_);
  // What the latest erasure entries erased, by log sequence (for
  // EraseThroughLog); the oldest are forgotten beyond kRememberedErasures.
  static constexpr size_t kRememberedErasures = 256;
  std::map<uint64_t, v1::EraseUserResponse> erasures_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Removed from the registry while running: applies nothing more.
  bool forgotten_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::thread log_state_thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_REPLICA_STORE_REPLICA_H_
