// LogPublisher: commits webhook deliveries to the commit log (a gateway's
// half of cluster mode).
//
// A delivery is committed when the stream leader has its commit entry on a
// quorum of the stream's replicas and answered with a PubAck; only then is
// the callback called with the entry's stream sequence. Publish errors,
// timeouts and a stream without quorum are errors (Unavailable,
// DeadlineExceeded, ResourceExhausted), never a success: the gateway answers
// 503 and Terra retries.
//
// Small deliveries (a serialized LogEntry within CommitLog::MessageLimit) are
// one message, published asynchronously (no thread waits for the PubAck);
// the PubAck wait is CommitLogOptions::publish_ack_wait for all of them (the
// caller's deadline only decides whether the publish starts).
// Larger ones are written as chunk messages first and then committed by one
// entry listing them (see commit_log.proto), by a small pool of workers
// publishing synchronously; at most max_concurrent_chunked at once.
//
// Every commit entry carries Nats-Msg-Id = the delivery id (delivery_id.h),
// so a retry within the duplicate window is acknowledged with the first
// attempt's sequence (PublishResult::duplicate).
//
// Thread-safe. The CommitLog must outlive the publisher; the destructor
// answers every publish still waiting (Unavailable when its PubAck did not
// arrive in time).
#ifndef HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_PUBLISHER_H_
#define HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_PUBLISHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/commit_log.pb.h"

namespace healthwire {

struct PublishResult {
  // The stream sequence of the delivery's commit entry.
  uint64_t sequence = 0;
  // The server already had this delivery id within the duplicate window;
  // `sequence` is the first attempt's.
  bool duplicate = false;
  // Messages written (1, or chunks + 1).
  int messages = 1;
};

class LogPublisher {
 public:
  using Callback = std::function<void(absl::StatusOr<PublishResult>)>;

  struct Stats {
    uint64_t committed = 0;
    uint64_t duplicates = 0;
    uint64_t failed = 0;
    uint64_t chunked = 0;    // deliveries written in chunks
    int64_t pending = 0;     // asynchronous publishes awaiting their PubAck
    int64_t chunked_in_flight = 0;
  };

  // `log` is not owned.
  explicit LogPublisher(CommitLog* log);
  ~LogPublisher();
  LogPublisher(const LogPublisher&) = delete;
  LogPublisher& operator=(const LogPublisher&) = delete;

  // Commits `delivery` (its delivery_id is computed when empty). `done` is
  // called exactly once: from a nats.c or worker thread, or from this thread
  // when the publish is refused at once (too many pending, not connected).
  // `done` must not block.
  void Publish(log::v1::Delivery delivery, absl::Time deadline, Callback done);

  // Blocking form of Publish.
  absl::StatusOr<PublishResult> PublishAndWait(log::v1::Delivery delivery, absl::Time deadline);

  // The two steps of a chunked delivery, public for tools and for tests that
  // prove a half-written delivery is never applied. WriteChunks writes
  // `serialized_delivery` as chunk messages and returns the commit entry
  // that would make them a delivery; CommitChunks publishes that entry.
  absl::StatusOr<log::v1::ChunkedDelivery> WriteChunks(const std::string& delivery_id,
                                                       const std::string& serialized_delivery,
                                                       absl::Time deadline);
  absl::StatusOr<PublishResult> CommitChunks(const log::v1::ChunkedDelivery& chunked,
                                             absl::Time deadline);

  Stats GetStats() const;

 private:
  struct ChunkedJob {
    log::v1::Delivery delivery;
    absl::Time deadline;
    Callback done;
  };

  static void OnAck(natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure);
  void RunChunkWorker();
  absl::StatusOr<PublishResult> PublishChunked(log::v1::Delivery delivery, absl::Time deadline);
  // One synchronous publish (chunks, chunk commits).
  absl::StatusOr<PublishResult> PublishOne(const std::string& subject, const std::string& msg_id,
                                           const std::string& data, absl::Time deadline);
  void Count(const absl::StatusOr<PublishResult>& result);

  CommitLog* const log_;
  const std::string stream_;
  const std::string deliveries_subject_;
  const std::string chunks_subject_;

  absl::Mutex mu_;
  // Asynchronous publishes awaiting their PubAck, by their message (the
  // pointer nats.c hands back to the ack handler).
  absl::flat_hash_map<natsMsg*, Callback> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<ChunkedJob> chunked_queue_ ABSL_GUARDED_BY(mu_);
  int chunked_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> chunk_workers_;

  std::atomic<uint64_t> committed_{0}, duplicates_{0}, failed_{0}, chunked_{0};
  std::atomic<uint64_t> attempt_counter_{0};
  const uint64_t attempt_salt_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_PUBLISHER_H_
