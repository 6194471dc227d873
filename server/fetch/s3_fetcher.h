// S3Fetcher: fetches the bodies of s3_payload pings ("ping mode") and
// ingests them exactly as if they had been posted (issue 13).
//
// Terra's ping carries a pre-signed `url` and `expires_in`; the gateway
// stores the ping and answers 2xx, and the store records a PENDING S3Fetch in
// the same commit (storage/fetch_tracker.h). This class, running beside the
// store, polls the store's pending fetches every Options::poll_interval (the
// pending set lives only in the store, so a restart resumes them) and, at
// most Options::concurrency at a time:
// - refuses at once (FAILED) a URL FetchUrlPolicy does not allow;
// - GETs it with HttpsGet (certificate verification, no redirects,
//   Options::timeout, Options::max_body_bytes); a body over the limit is
//   FAILED at once (it will not shrink);
// - converts a 200 body with ConvertTerraWebhook (the same converter and
//   rules as a posted body) with the ping's trace id, terra-reference and
//   ordering timestamp, and records its events together with the FETCHED
//   state (S3FetchRecorder::Record with Options::commit_timeout), so the
//   body and "fetched" are durable together. A fetched body that is itself an s3_payload is stored
//   but not followed (the fetch is FAILED, saying so); a body the converter
//   refuses is FAILED;
// - retries anything else (HTTP errors, TLS/connection failures, store
//   unavailable) with exponential backoff from Options::initial_backoff to
//   Options::max_backoff while the URL has not expired; each failed attempt
//   is recorded (attempts, last_error); once the next attempt would be after
//   expires_at the fetch is FAILED, with a log line and a metric.
//
// Where outcomes are recorded is an S3FetchRecorder: the store itself
// (embedded and split mode: every attempt's state, as above), or, on a
// cluster replica, the commit log (server/fetch/log_fetch_recorder.h: only the
// final FETCHED/FAILED outcome is published, attempts that leave a fetch
// PENDING are remembered in memory; no attempt starts while the recorder is
// not ReadyToFetch, i.e. while the replica is behind the log). A fetch whose
// final outcome was recorded is not tried again while the store still lists
// it PENDING (a replica lists it until it applies its own or another
// replica's outcome).
//
// Thread-safe. The destructor stops polling and waits for the attempts in
// progress (each bounded by Options::timeout).
#ifndef HEALTHWIRE_SERVER_FETCH_S3_FETCHER_H_
#define HEALTHWIRE_SERVER_FETCH_S3_FETCHER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/fetch/fetch_url_policy.h"
#include "server/fetch/https_get.h"
#include "server/fetch/s3_fetch_recorder.h"
#include "server/service/executor.h"
#include "storage/event_store.h"

namespace healthwire {

class S3Fetcher {
 public:
  struct Options {
    std::string allowed_hosts = kDefaultS3FetchAllowedHosts;
    // PEM CA certificates to trust instead of the system's (tests).
    std::string ca_file;
    uint64_t max_body_bytes = 64ull << 20;
    // One attempt, connect to last byte.
    absl::Duration timeout = absl::Seconds(60);
    // Fetches in progress at once.
    int concurrency = 4;
    absl::Duration initial_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Seconds(60);
    absl::Duration poll_interval = absl::Milliseconds(250);
    // How long a fetch's commit may wait for the store's writer before it
    // is refused (EventStore::CommitGate) and the fetch retried.
    absl::Duration commit_timeout = absl::Seconds(30);
    // Pending fetches looked at per poll (the oldest first).
    size_t max_pending_scanned = 10000;
  };

  // InvalidArgument naming the flag for bad options. `store` (read for
  // its pending fetches) is not owned and must outlive the fetcher. Without
  // a `recorder`, outcomes are recorded into `store`.
  static absl::StatusOr<std::unique_ptr<S3Fetcher>> Start(
      EventStore* store, Options options, std::unique_ptr<S3FetchRecorder> recorder = nullptr);
  ~S3Fetcher();

  S3Fetcher(const S3Fetcher&) = delete;
  S3Fetcher& operator=(const S3Fetcher&) = delete;

  // Prometheus text: healthwire_s3_fetch_* counters and gauges.
  std::string MetricsText() const;

 private:
  S3Fetcher(EventStore* store, Options options, FetchUrlPolicy policy,
            std::unique_ptr<S3FetchRecorder> recorder);

  void PollLoop();
  // One attempt at `fetch` on a worker; records its outcome.
  void Attempt(v1::S3Fetch fetch);
  // Records a failed attempt: retried later, or FAILED when the URL will
  // have expired by then.
  void RecordFailedAttempt(v1::S3Fetch fetch, const std::string& error, absl::Time now);
  // Records `events` with `outcome` (asynchronously; the attempt stays in
  // flight until the recorder answers); on an error or a refused late
  // record the fetch stays PENDING and is retried after a backoff. A
  // PENDING outcome the recorder does not record is only remembered.
  void Commit(std::vector<v1::Event> events, v1::S3Fetch outcome);
  absl::Duration BackoffAfter(int attempts) const;

  EventStore* const store_;
  const Options options_;
  const FetchUrlPolicy policy_;
  const std::unique_ptr<S3FetchRecorder> recorder_;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  // When a fetch may be tried again (in memory: after a restart every
  // pending fetch is tried at once).
  absl::flat_hash_map<uint64_t, absl::Time> not_before_ ABSL_GUARDED_BY(mu_);
  // Attempts and last error of fetches whose recorder does not record
  // attempts (cluster replicas); gone after a restart.
  absl::flat_hash_map<uint64_t, std::pair<int, std::string>> attempts_ ABSL_GUARDED_BY(mu_);
  // Fetches whose final outcome is recorded, while the store may still list
  // them PENDING (a replica, until it applies the outcome).
  absl::flat_hash_set<uint64_t> resolved_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  // Why the recorder does not let attempts start ("" when it does).
  std::string not_ready_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> bytes_{0};

  // Last: its threads are joined before the members they use go.
  std::unique_ptr<Executor> workers_;
  std::thread poller_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FETCH_S3_FETCHER_H_
