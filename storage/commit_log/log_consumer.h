// LogConsumer: reads committed deliveries from the commit log in stream
// sequence order (a store replica's half of cluster mode).
//
// An ordered push consumer (ephemeral, no acks, flow control, heartbeats):
// nats.c recreates it from the next expected sequence after any gap or lost
// server, so the sequence of deliveries it returns has no holes and no
// repeats. Only commit entries are delivered (the deliveries subject); a
// chunked delivery's chunks are fetched by sequence from the stream leader
// and checked (sizes, SHA-256) before it is returned whole. A chunk whose
// commit never arrived is never returned.
//
// Not thread-safe: one thread calls Next. The CommitLog must outlive it.
#ifndef HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_CONSUMER_H_
#define HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_CONSUMER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/commit_log.pb.h"

typedef struct __natsSubscription natsSubscription;

namespace healthwire {

struct ConsumedDelivery {
  // The stream sequence of the delivery's commit entry.
  uint64_t sequence = 0;
  // When the stream stored the commit entry (server clock; for lag metrics
  // only, never for apply decisions).
  absl::Time logged_at;
  // Commit entries after this one the server had when it sent this one.
  uint64_t pending = 0;
  log::v1::Delivery delivery;
  // A chunked delivery's chunk messages (their stream sequences, in order).
  std::vector<uint64_t> chunk_sequences;
  // Set for an erasure entry (then `delivery` is empty).
  std::optional<log::v1::Erasure> erasure;
  // Non-empty when the entry is not a delivery this version can read (not a
  // LogEntry, a chunk missing or not matching its digest). Every replica sees
  // the same bytes and so decides the same: skip it, and say so.
  std::string malformed;
};

class LogConsumer {
 public:
  struct Options {
    // The first stream sequence wanted (1 = from the beginning).
    uint64_t start_sequence = 1;
    // Bytes of delivered messages buffered in the client before nats.c
    // counts the consumer slow (then the ordered consumer is recreated).
    int max_buffered_bytes = 256 << 20;
    // How soon a silent server is noticed (the consumer's heartbeat).
    absl::Duration heartbeat = absl::Seconds(1);
  };

  static absl::StatusOr<std::unique_ptr<LogConsumer>> Start(CommitLog* log, const Options& options);
  ~LogConsumer();
  LogConsumer(const LogConsumer&) = delete;
  LogConsumer& operator=(const LogConsumer&) = delete;

  // The next delivery, waiting at most `timeout`; nullopt when none came.
  // Unavailable / DeadlineExceeded when a chunk could not be fetched yet:
  // call again, the same delivery is retried (nothing is skipped).
  absl::StatusOr<std::optional<ConsumedDelivery>> Next(absl::Duration timeout);

 private:
  LogConsumer(CommitLog* log, natsSubscription* subscription)
      : log_(log), subscription_(subscription) {}
  // Fills `held_->delivery` from its chunks.
  absl::Status FetchChunks();

  CommitLog* const log_;
  natsSubscription* subscription_;
  // A chunked commit entry whose chunks are not fetched yet.
  std::optional<ConsumedDelivery> held_;
  log::v1::ChunkedDelivery held_chunks_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COMMIT_LOG_LOG_CONSUMER_H_
