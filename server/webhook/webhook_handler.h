// WebhookHandler: decides the answer to one HTTP request to the gateway,
// without a socket.
//
// Given the method, target, headers, body and arrival time of a request it
// checks the signature, converts the body into typed events
// (ConvertTerraWebhook), hands them to an Ingestor and produces the reply.
// The status-code table lives here, once, above the Ingestor interface:
//
//   200  committed (stored / identical / stale: the body says which; in
//        cluster mode the body carries the log_sequence instead), unknown
//        types, schema-drift records (stored raw and flagged), and bodies that
//        carry no events (healthcheck; the ingestor is not called)
//   400  an envelope the converter cannot understand (its message is the
//        error), or events the store refused as InvalidArgument (an id over
//        storage/id_limits.h's limit, a missing field: a retry cannot succeed)
//   401  missing / malformed / non-matching signature, or expired timestamp
//   404  unknown path; 405 (with Allow) wrong method
//   413  body over Options::max_body_bytes (the HTTP session stops reading
//        such a body early; the handler checks again for callers without one)
//   503  the store failed or did not answer in time, every webhook worker is
//        busy and the queue is full, or the signature could not be checked
//        (OpenSSL failed); always with Retry-After, never with anything stored
//
// Every answer is JSON with a "status" member; errors carry "error" with a
// clear reason and never internal details (those go to HttpReply::log_detail
// for the log line; secrets and bodies are never logged).
//
// Also answers GET /healthz (liveness), GET /readyz (Ingestor::CheckReady;
// 503 once draining) and GET /metrics (Prometheus text, see GatewayMetrics).
//
// The HTTP mechanics (reading, 100-continue, keep-alive, timeouts, closing)
// are HttpSession's; this class never touches a connection, so every row of
// the table is unit-tested without one (tests/gateway/webhook_handler_test).
// The model is TensorFlow Serving's HttpRestApiHandler::ProcessRequest.
//
// Where the work runs: a body up to Options::inline_body_bytes is checked and
// converted on the calling thread (microseconds; small webhooks never queue
// behind large ones); a larger body goes to a bounded pool of
// Options::workers threads, so the HTTP io threads keep serving while a
// 60 MB webhook converts. A large webhook that waited for a worker past its
// ingest deadline is answered 503 without being stored; a full queue is a
// fast 503. The commit itself runs on the store's writer thread.
//
// Thread-safe: Handle may be called from any thread, concurrently. Handle
// never blocks on disk or network: the ingest is asynchronous and `done` is
// called exactly once, before Handle returns or later from a worker or the
// ingestor's thread. Created as a shared_ptr: a pending ingest keeps it alive.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_HANDLER_H_
#define HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_HANDLER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/convert/terra_converter.h"
#include "server/ingest/ingestor.h"
#include "server/service/executor.h"
#include "server/webhook/gateway_metrics.h"
#include "server/webhook/http_reply.h"
#include "server/webhook/signature_verifier.h"

namespace healthwire {

// One request as the handler sees it: parsed, complete, no socket.
struct WebhookRequest {
  std::string method;  // "POST", "GET", ...
  std::string target;  // path with an optional ?query
  // In arrival order; names compared case-insensitively.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Time received_at;

  // The first header called `name` (any case), or "".
  absl::string_view Header(absl::string_view name) const;
};

class WebhookHandler : public std::enable_shared_from_this<WebhookHandler> {
 public:
  struct Options {
    std::string webhook_path = "/webhooks/terra";
    uint64_t max_body_bytes = 64ull << 20;
    // How long the ingestor may take to commit one webhook (from
    // WebhookRequest::received_at).
    absl::Duration ingest_deadline = absl::Seconds(5);
    // At least one secret is required; any of them may sign a delivery.
    std::vector<std::string> signing_secrets;
    SignatureVerifier::Options signature;
    // Appended to GET /metrics (Prometheus text of the parts behind the
    // gateway, e.g. the in-process store). Must be cheap and thread-safe.
    std::function<std::string()> extra_metrics;
    // Bodies larger than this are checked and converted on the worker pool.
    uint64_t inline_body_bytes = 256 << 10;
    // Worker threads for large bodies, and how many large webhooks may wait
    // for one (each waiting body is already buffered and counted against the
    // gateway's request buffer budget).
    int workers = 2;
    int worker_queue_limit = 64;
  };

  using ReplyCallback = std::function<void(HttpReply)>;

  // `ingestor` is not owned and must outlive the handler and every pending
  // ingest. InvalidArgument for bad options (no usable secret, a path that
  // does not start with '/', a non-positive deadline or body limit).
  static absl::StatusOr<std::shared_ptr<WebhookHandler>> Create(Options options,
                                                                Ingestor* ingestor);

  ~WebhookHandler();

  WebhookHandler(const WebhookHandler&) = delete;
  WebhookHandler& operator=(const WebhookHandler&) = delete;

  // Answers `request` through `done` (exactly once; see the class comment).
  void Handle(WebhookRequest request, ReplyCallback done);

  // Shutdown has begun: /readyz answers 503 from now on.
  void StartDraining() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  const Options& options() const { return options_; }
  GatewayMetrics& metrics() { return metrics_; }
  const GatewayMetrics& metrics() const { return metrics_; }

 private:
  WebhookHandler(Options options, SignatureVerifier verifier, Ingestor* ingestor);

  HttpReply Probe(absl::string_view path);
  void HandleWebhook(WebhookRequest request, ReplyCallback done);
  // Signature, conversion, ingest: on the caller's thread or a worker.
  void VerifyConvertIngest(WebhookRequest request, ReplyCallback done);
  void RunOnWorker(WebhookRequest request, ReplyCallback done);
  void OnIngested(std::vector<v1::EventType> event_types, int events_with_problems,
                  WebhookSummary summary, absl::StatusOr<v1::IngestResponse> result,
                  const ReplyCallback& done);
  // A warning line for unknown types and records with conversion problems.
  void WarnAboutSchema(const ConvertedWebhook& converted, absl::string_view trace_id) const;

  const Options options_;
  const SignatureVerifier verifier_;
  Ingestor* const ingestor_;
  GatewayMetrics metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<int> workers_busy_{0};
  std::atomic<int> worker_queue_depth_{0};
  // Last: destroyed (its threads joined) before everything they use.
  std::unique_ptr<Executor> workers_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_HANDLER_H_
