// StreamEraser: deletes erased people's messages from the commit log's
// JetStream stream (cluster mode's half of EraseUser that is not in the
// store).
//
// Every replica applies an erasure at log sequence E alike and leaves, in the
// same commit, a job naming the stream sequences that held only that
// person's data (EventStore::ListStreamDeletionJobs; storage/stream_index.h).
// The eraser of each replica takes its jobs in order and, for job E:
//   1. raises the registry's erased_through to E (ReplicaRegistry);
//   2. reads the registry: while a registered replica has applied less than
//      E, the job waits (jobs_pending, blocked_by name it; a replica gone for
//      good is forgotten with `hwctl replicas --forget`);
//   3. erases each message (nats.c js_EraseMsg: deleted and its bytes
//      overwritten in the servers' files; one already gone counts as done,
//      since every replica's eraser does the same job);
//   4. removes the job (EventStore::FinishStreamDeletionJob).
// A crash anywhere redoes the job's remaining steps after restart. The
// erasure entry itself (the subject's id, no health data) stays: a replica
// behind E needs it. Deliveries with several people's events stay too
// (README "Erasure").
//
// Thread-safe: one background thread; Status from any thread.
#ifndef HEALTHWIRE_STORAGE_REPLICA_STREAM_ERASER_H_
#define HEALTHWIRE_STORAGE_REPLICA_STREAM_ERASER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/commit_log/commit_log.h"
#include "storage/event_store.h"
#include "storage/replica/replica_registry.h"

namespace healthwire {

class StreamEraser {
 public:
  struct Options {
    // How often pending jobs are looked at (and blocked ones retried).
    absl::Duration interval = absl::Seconds(1);
  };
  struct Status {
    uint64_t jobs_pending = 0;       // when last looked
    uint64_t messages_deleted = 0;   // since start (already gone ones included)
    uint64_t jobs_finished = 0;      // since start
    // The replicas the oldest pending job waits for ("id (applied N)"), or
    // empty.
    std::string blocked_by;
    std::string last_error;  // empty while healthy
  };

  // `store`, `log` and `registry` must outlive the eraser.
  StreamEraser(EventStore* store, CommitLog* log, ReplicaRegistry* registry,
               const Options& options);
  ~StreamEraser();
  StreamEraser(const StreamEraser&) = delete;
  StreamEraser& operator=(const StreamEraser&) = delete;

  Status GetStatus() const;
  // Looks at the jobs now instead of at the next interval.
  void Wake();

 private:
  void Run();
  // One pass over the pending jobs, oldest first; stops at a blocked job
  // (later ones are behind it too).
  void Pass();
  // Deletes one message; OK when it is gone (also when it was before).
  absl::Status DeleteMessage(uint64_t sequence);

  EventStore* const store_;
  CommitLog* const log_;
  ReplicaRegistry* const registry_;
  const Options options_;

  mutable absl::Mutex mu_;
  Status status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_blocked_log_ ABSL_GUARDED_BY(mu_);
  // The job waiting for replicas behind it, and since when (0: none).
  uint64_t blocked_job_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time blocked_since_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_REPLICA_STREAM_ERASER_H_
