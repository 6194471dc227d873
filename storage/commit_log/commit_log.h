// CommitLog: cluster mode's replicated commit log, a NATS JetStream stream
// (nats-server 2.9, RAFT-replicated), reached through nats.c.
//
// One CommitLog is one client connection to the NATS cluster (it reconnects
// on its own, to any server of the list or any the cluster advertises) and
// one JetStream context. LogPublisher (gateways) and LogConsumer (store
// replicas) work on top of it.
//
// Subject layout, kept here in one place so that a later split into several
// streams (partitions) changes only this: every message is under
// `<subject_prefix>.`; commits (LogEntry) on `<subject_prefix>.d`, chunks of
// large deliveries on `<subject_prefix>.c`.
//
// Thread-safe: nats.c connections and JetStream contexts may be used from any
// thread.
#ifndef HEALTHWIRE_STORAGE_COMMIT_LOG_COMMIT_LOG_H_
#define HEALTHWIRE_STORAGE_COMMIT_LOG_COMMIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;
typedef struct jsPubAck jsPubAck;
typedef struct jsPubAckErr jsPubAckErr;
typedef struct __natsMsg natsMsg;
typedef struct jsStreamConfig jsStreamConfig;

namespace healthwire {

struct CommitLogOptions {
  // nats:// URLs of some of the cluster's servers (the client learns the
  // others from the cluster).
  std::vector<std::string> servers;
  // The JetStream stream and the prefix of its subjects.
  std::string stream = "HEALTHWIRE";
  std::string subject_prefix = "healthwire.log";
  // Copies of every message (RAFT group size); 3 survives one lost server.
  int replicas = 3;
  // Largest message written (chunks and inline deliveries); further bounded
  // by the server's max_payload. nats-server warns above 8 MiB and 2.9's
  // file store treats records of 32 MiB or more as corrupt.
  size_t max_message_bytes = 8 << 20;
  // The stream's duplicate window (Nats-Msg-Id de-duplication).
  absl::Duration duplicate_window = absl::Minutes(2);
  // Longest wait for one JetStream API call (stream info, get message).
  absl::Duration api_timeout = absl::Seconds(5);
  // Asynchronous publishes waiting for their PubAck; beyond this a publish is
  // refused with ResourceExhausted (the gateway answers 503).
  int max_pending_publishes = 4096;
  // How long an asynchronous publish waits for its PubAck before it fails
  // (DeadlineExceeded). One value for every publish, not each caller's
  // remaining time: nats.c 3.4 keeps its PubAck timeouts in a sorted linked
  // list and walks it from the head whenever a deadline is earlier than the
  // last one, which per-call deadlines (request arrival + --ingest_deadline,
  // published out of order by concurrent requests) made happen on a
  // sizeable share of publishes, with thousands of entries in the list under
  // its lock. A constant keeps every insertion at the tail. The gateway sets
  // it to --ingest_deadline.
  absl::Duration publish_ack_wait = absl::Seconds(5);
  // Chunked (large) deliveries being written at once; more are refused with
  // ResourceExhausted.
  int max_concurrent_chunked = 4;
  // Bytes the client buffers while reconnecting (then publishes fail fast).
  int reconnect_buffer_bytes = 64 << 20;
  // Shown in the server's connection list.
  std::string client_name = "healthwire";
};

// One line per misuse: a comma-separated --log value into server URLs.
absl::StatusOr<std::vector<std::string>> ParseLogUrls(absl::string_view urls);

// What a stream looks like right now.
struct StreamState {
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  std::string leader;  // server_name of the stream leader ("" when none)
  // When the stream was created (the server's clock); the same on every
  // server and every call, so it identifies this incarnation of the stream.
  absl::Time created;
};

class CommitLog {
 public:
  // Connects to the cluster. Fails with Unavailable when no server of the
  // list answers before options.api_timeout; after that, the connection
  // reconnects forever on its own.
  static absl::StatusOr<std::unique_ptr<CommitLog>> Connect(const CommitLogOptions& options);

  ~CommitLog();
  CommitLog(const CommitLog&) = delete;
  CommitLog& operator=(const CommitLog&) = delete;

  // Creates the stream when it does not exist; when it does, checks that its
  // settings are the ones this log needs (subjects, file storage, replicas,
  // limits retention, no DenyDelete, duplicate window), FailedPrecondition
  // naming the first that differs. Retries while JetStream is not ready (a
  // new cluster elects its metadata leader first) until `deadline`.
  absl::Status EnsureStream(absl::Time deadline);

  // `timeout` zero: options().api_timeout.
  absl::StatusOr<StreamState> GetStreamState(absl::Duration timeout = absl::ZeroDuration());

  // Whether the client is connected to a server right now.
  bool IsConnected() const;
  // The largest message this log writes: min(max_message_bytes, the server's
  // max_payload) less room for headers.
  size_t MessageLimit() const;

  const CommitLogOptions& options() const { return options_; }
  std::string deliveries_subject() const { return options_.subject_prefix + ".d"; }
  std::string chunks_subject() const { return options_.subject_prefix + ".c"; }

  // nats.c handles for LogPublisher / LogConsumer.
  natsConnection* connection() const { return connection_; }
  jsCtx* jetstream() const { return js_; }

  // Routes PubAcks of asynchronous publishes (one handler per JetStream
  // context, set at Connect). The LogPublisher registers here.
  using AckHandler = void (*)(natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure);
  // Setting null waits for a handler call in progress to return.
  void SetAckHandler(AckHandler handler, void* closure);

 private:
  explicit CommitLog(const CommitLogOptions& options) : options_(options) {}
  static void OnPubAck(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure);

  absl::Status CheckExistingStream(const jsStreamConfig& config) const;

  const CommitLogOptions options_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  mutable absl::Mutex ack_mu_;
  AckHandler ack_handler_ ABSL_GUARDED_BY(ack_mu_) = nullptr;
  void* ack_closure_ ABSL_GUARDED_BY(ack_mu_) = nullptr;
};

// nats.c's status (and JetStream error code, when there is one) as an
// absl::Status: timeouts are DeadlineExceeded; no responders, lost
// connections, JetStream not ready or without quorum are Unavailable.
absl::Status NatsStatus(int nats_status, int js_error_code, absl::string_view what);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COMMIT_LOG_COMMIT_LOG_H_
