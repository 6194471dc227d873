// LocalIngestor: the in-process Ingestor, committing into an EventStore that
// lives in the same process (the embedded default deployment).
//
// Deadlines: the deadline decides whether a commit starts. A call whose
// deadline has already passed is answered DeadlineExceeded (from a small timer
// thread) without committing; so is a call that waited in the store's queue
// (behind a slow commit) past it (EventStore::CommitGate). A commit handed to the store cannot be
// cancelled, so it is answered with its own result, even after the deadline:
// answering 503 for a commit that may still land would tell Terra "not
// stored" about a stored record. (The gateway bounds how long it waits; see
// WebhookGateway.) `done` is called exactly once either way.
//
// Readiness reflects the store's current health: Unavailable, saying why,
// while a commit has been in the store for longer than kStuckCommitAfter (a
// stalled disk), or while EventStore::Health() says the disk is at its
// reserve or writes stopped after a failed write; OK again as soon as the
// store can write.
//
// Thread-safe. The store must outlive the LocalIngestor; the destructor waits
// for every commit already handed to the store to report back.
#ifndef HEALTHWIRE_SERVER_INGEST_LOCAL_INGESTOR_H_
#define HEALTHWIRE_SERVER_INGEST_LOCAL_INGESTOR_H_

#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/ingest/ingestor.h"
#include "storage/event_store.h"

namespace healthwire {

class LocalIngestor : public Ingestor {
 public:
  // `store` is not owned and must outlive this object.
  explicit LocalIngestor(EventStore* store);
  ~LocalIngestor() override;

  LocalIngestor(const LocalIngestor&) = delete;
  LocalIngestor& operator=(const LocalIngestor&) = delete;

  void Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) override;
  absl::Status CheckReady() override;
  uint64_t CurrentRevision() override;

 private:
  struct Pending {
    Callback done;
    std::multimap<absl::Time, uint64_t>::iterator deadline_entry;
  };

  // Not ready while a commit has been in the store this long.
  static constexpr absl::Duration kStuckCommitAfter = absl::Seconds(3);

  // Called by the store's writer thread.
  void OnCommitted(uint64_t id, absl::StatusOr<v1::IngestResponse> result, Callback done);
  // The timer thread: answers DeadlineExceeded for pending calls past their
  // deadline.
  void RunDeadlineTimer();

  EventStore* const store_;

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Calls past their deadline before they started, waiting for the timer
  // thread to answer them, by id.
  std::map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
  // When each commit in the store was handed over, by id.
  std::map<uint64_t, absl::Time> in_store_since_ ABSL_GUARDED_BY(mu_);
  // The deadlines of `pending_`, earliest first.
  std::multimap<absl::Time, uint64_t> deadlines_ ABSL_GUARDED_BY(mu_);
  // Commits handed to the store that have not reported back (even when their
  // caller was already answered by the timer).
  int commits_in_store_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar timer_wakeup_;

  std::thread timer_thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_INGEST_LOCAL_INGESTOR_H_
