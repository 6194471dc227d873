// S3FetchRecorder: where an S3Fetcher's outcomes go (issue 13, ping mode).
//
// Embedded and split mode record into the local store
// (StoreFetchRecorder: the fetched body's records and the fetch's new state
// in one commit). A cluster replica must not write into its own store (every
// replica's state is a function of the commit log), so it publishes the
// outcome to the log instead (LogFetchRecorder, server/fetch/log_fetch_recorder.h)
// and every replica records it when it applies that entry.
//
// Implementations are thread-safe; Record's `done` is called exactly once,
// from any thread, and must not block.
#ifndef HEALTHWIRE_SERVER_FETCH_S3_FETCH_RECORDER_H_
#define HEALTHWIRE_SERVER_FETCH_S3_FETCH_RECORDER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"
#include "storage/event_store.h"

namespace healthwire {

class S3FetchRecorder {
 public:
  using Done = std::function<void(absl::Status)>;
  virtual ~S3FetchRecorder() = default;

  // Records `outcome` (the fetch of ping outcome.ping_revision) together
  // with `events` (the fetched body's; empty for a failure). `timeout`
  // bounds how long the record may wait to start (store writer, PubAck).
  // OK means durable (in the store, or on a quorum of the log).
  virtual void Record(std::vector<v1::Event> events, v1::S3Fetch outcome, absl::Duration timeout,
                      Done done) = 0;
  // Whether attempts that leave a fetch PENDING are recorded too (the
  // store's attempts/last_error), or only the final outcome (the log: one
  // entry per ping, the fetcher remembers attempts in memory).
  virtual bool RecordsAttempts() const = 0;
  // OK when the fetcher may start attempts now; an error says why not (a
  // replica behind the log: a later entry may already resolve its pending
  // fetches).
  virtual absl::Status ReadyToFetch() const = 0;
  // Prometheus text of the recorder's own metrics ("" when none).
  virtual std::string MetricsText() const { return ""; }
};

// Records into `store` (not owned; must outlive the recorder) through
// EventStore::IngestFetchedAsync with a CommitGate of `timeout`.
std::unique_ptr<S3FetchRecorder> MakeStoreFetchRecorder(EventStore* store);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FETCH_S3_FETCH_RECORDER_H_
