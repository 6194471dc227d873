// Ingestor: where the gateway hands converted events to be committed.
//
// Three implementations: LocalIngestor calls an in-process EventStore (the
// embedded default); RemoteIngestor calls the store's Ingest RPC (the split
// deployment); LogIngestor publishes to the commit log (cluster mode). The
// gateway's status-code logic is written once, above this interface.
//
// Implementations are thread-safe.
#ifndef HEALTHWIRE_SERVER_INGEST_INGESTOR_H_
#define HEALTHWIRE_SERVER_INGEST_INGESTOR_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

class Ingestor {
 public:
  using Callback = std::function<void(absl::StatusOr<v1::IngestResponse>)>;

  virtual ~Ingestor() = default;

  // Commits `events` as one atomic unit. `done` is called exactly once, from
  // any thread, with the response only after the commit is durable; with
  // DeadlineExceeded when `deadline` passed first (the commit may still
  // happen: re-delivery is idempotent), Unavailable when the store cannot be
  // reached. `done` must not block.
  virtual void Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) = 0;

  // OK when the store is reachable and accepts writes.
  virtual absl::Status CheckReady() = 0;

  // The store's current revision, when known (0 otherwise).
  virtual uint64_t CurrentRevision() = 0;

  // Whether Ingest's response says what the store did: per-event outcomes
  // (stored / identical / stale) and the store revision. False in cluster
  // mode, where the replicas decide them after the PubAck and the response
  // carries only the log_sequence; the gateway then leaves them out of its
  // answers instead of reporting zeros.
  virtual bool KnowsStoreOutcomes() const { return true; }
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_INGEST_INGESTOR_H_
