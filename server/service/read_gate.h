// ReadGate: "read at least this far" for the gRPC reads (GetLatest,
// ListRecords, GetUser with min_log_sequence / min_revision), so a caller can
// read its own write on any replica of a cluster.
//
// A read whose store already reached both minimums runs at once, on the
// calling (gRPC) thread. Otherwise it is parked: one gate thread checks the
// parked reads every millisecond and runs each as soon as its store gets
// there, or refuses it with UNAVAILABLE ("applied log sequence A of the
// wanted W, B entries behind") when its wait (--read_wait_max) runs out.
// At most max_waiting reads are parked (--read_wait_max_waiting); more are
// refused at once with RESOURCE_EXHAUSTED. No gRPC thread ever blocks.
//
// min_log_sequence needs a replica (FAILED_PRECONDITION otherwise).
//
// Thread-safe. The store and the replica must outlive the gate.
#ifndef HEALTHWIRE_SERVER_SERVICE_READ_GATE_H_
#define HEALTHWIRE_SERVER_SERVICE_READ_GATE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "storage/event_store.h"
#include "storage/replica/store_replica.h"

namespace healthwire {

class ReadGate {
 public:
  struct Options {
    // Longest a read waits for its minimums; 0 = never wait (answer at once).
    absl::Duration max_wait = absl::Seconds(2);
    // Reads parked at once.
    int max_waiting = 1024;
  };
  struct Stats {
    int64_t waiting = 0;    // parked now
    uint64_t waited = 0;    // parked, then ran
    uint64_t timed_out = 0; // parked, then refused (still behind)
    uint64_t refused_full = 0;
  };

  // `replica` is null when the store is not a replica of a commit log.
  ReadGate(const EventStore* store, const StoreReplica* replica, const Options& options);
  ~ReadGate();
  ReadGate(const ReadGate&) = delete;
  ReadGate& operator=(const ReadGate&) = delete;

  // Calls `read` once the store reached both minimums (0 = none), or
  // `refuse` with why not; exactly one of them, exactly once, from this
  // thread or the gate thread. Neither may block.
  void Run(uint64_t min_log_sequence, uint64_t min_revision, std::function<void()> read,
           std::function<void(grpc::Status)> refuse);

  Stats GetStats() const;

 private:
  struct Parked {
    uint64_t min_log_sequence;
    uint64_t min_revision;
    absl::Time deadline;
    std::function<void()> read;
    std::function<void(grpc::Status)> refuse;
  };

  bool Reached(uint64_t min_log_sequence, uint64_t min_revision) const;
  grpc::Status Behind(uint64_t min_log_sequence, uint64_t min_revision) const;
  void Loop();

  const EventStore* const store_;
  const StoreReplica* const replica_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::list<Parked> parked_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_READ_GATE_H_
