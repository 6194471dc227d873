// WebhookGateway: the HTTP server Terra delivers webhooks to.
//
// Assembles three parts: the listener and io threads (here), one HttpSession
// per connection (HTTP/1.1 mechanics: keep-alive, 100-continue, timeouts,
// drain, linger) and one WebhookHandler that decides every answer (signature,
// conversion, ingest; the status-code table is in webhook_handler.h).
//
// Built on Boost.Beast/Asio: async accept, a small io thread pool with one
// strand per connection. No io thread ever waits for disk or network: Ingest
// is asynchronous and its answer posts back to the connection's strand.
//
// Thread-safe: port(), metrics() and Shutdown() may be called from any thread
// except the gateway's own io threads (Shutdown waits for them).
#ifndef HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_GATEWAY_H_
#define HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_GATEWAY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/ingest/ingestor.h"
#include "server/webhook/gateway_metrics.h"
#include "server/webhook/signature_verifier.h"

namespace healthwire {

class WebhookGateway {
 public:
  struct Options {
    std::string bind_address = "127.0.0.1";
    // 0 picks a free port; port() tells which.
    int port = 0;
    std::string webhook_path = "/webhooks/terra";
    // Both set: the port speaks HTTPS (PEM files), for deployments without a
    // TLS-terminating proxy; plaintext HTTP to it gets no answer.
    std::string tls_cert_file;
    std::string tls_key_file;
    // Terra does not retry a 413 with a smaller body, and an unchunked event
    // can be tens of MB: a small limit silently loses data.
    uint64_t max_body_bytes = 64ull << 20;
    // How long the ingestor may take to commit one webhook. Terra gives up on
    // a push after about 8 s and retries it later, so answer before that.
    absl::Duration ingest_deadline = absl::Seconds(5);
    // A connection that sends or receives nothing for this long is closed
    // (stalled senders, idle keep-alive connections).
    absl::Duration io_timeout = absl::Seconds(30);
    // The whole request header must arrive within this.
    absl::Duration header_timeout = absl::Seconds(20);
    // After body_grace, a body must average body_min_rate bytes/s (0 = off).
    absl::Duration body_grace = absl::Seconds(20);
    uint64_t body_min_rate = 500;
    // Open connections at most; more are answered 503 and closed at accept.
    // HealthwireServer sizes it from RLIMIT_NOFILE.
    int max_connections = 10000;
    // At the cap, close the worst open connection to admit the new one
    // instead of refusing it: the one waiting longest for a request header
    // (idle keep-alive, slowloris), else the slowest request body below
    // body_min_rate (500 bytes/s when the rate is off); only connections in
    // that phase for at least a second, never one whose request is being
    // answered. Without such a connection the new one gets 503.
    bool evict_at_cap = true;
    // Request body bytes held at once, gateway-wide; a request waits up to
    // buffer_wait for room, then 503. At least max_body_bytes.
    uint64_t buffer_budget_bytes = 256ull << 20;
    absl::Duration buffer_wait = absl::Seconds(1);
    // Threads converting bodies over 256 KiB, and how many may queue.
    int webhook_workers = 2;
    int webhook_queue_limit = 64;
    // Shutdown lets in-flight requests finish for at most this long before it
    // closes their connections.
    absl::Duration shutdown_grace = absl::Seconds(15);
    int io_threads = 2;
    // At least one secret is required; any of them may sign a delivery.
    std::vector<std::string> signing_secrets;
    SignatureVerifier::Options signature;
    // Appended to GET /metrics (Prometheus text of the parts behind the
    // gateway, e.g. the in-process store). Called on an io thread: cheap.
    std::function<std::string()> extra_metrics;
  };

  // Binds, listens and starts the io threads. `ingestor` is not owned and
  // must outlive the gateway. InvalidArgument for bad options (no secret,
  // unparseable address, ...); Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<WebhookGateway>> Start(Options options,
                                                               Ingestor* ingestor);

  // Shuts down (see Shutdown).
  ~WebhookGateway();

  WebhookGateway(const WebhookGateway&) = delete;
  WebhookGateway& operator=(const WebhookGateway&) = delete;

  // The port the gateway listens on.
  int port() const { return port_; }

  const GatewayMetrics& metrics() const;

  // Stops accepting connections, closes idle keep-alive connections, lets
  // requests in flight finish (answered with `Connection: close`), then stops
  // the io threads and returns. Requests still running after
  // Options::shutdown_grace have their connections closed; a request waiting
  // for the ingestor is released at the latest one second after its ingest
  // deadline. Idempotent.
  void Shutdown();

 private:
  class Server;

  explicit WebhookGateway(std::unique_ptr<Server> server, int port);

  std::unique_ptr<Server> server_;
  const int port_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_WEBHOOK_GATEWAY_H_
