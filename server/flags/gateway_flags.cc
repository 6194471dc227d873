// Flags of the webhook gateway (HTTP).
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"
#include "server/webhook/signing_secrets.h"

ABSL_FLAG(std::string, http_address, "127.0.0.1",
          "Address the webhook HTTP server binds to (0.0.0.0 for all interfaces).");
ABSL_FLAG(int, http_port, 8080, "Webhook HTTP port; 0 picks a free one.");
ABSL_FLAG(std::string, http_tls_cert, "",
          "PEM certificate (chain): the webhook port speaks HTTPS (with --http_tls_key), for "
          "deployments without a TLS-terminating proxy.");
ABSL_FLAG(std::string, http_tls_key, "", "PEM private key of --http_tls_cert.");
ABSL_FLAG(std::string, webhook_path, "/webhooks/terra", "Path Terra posts webhooks to.");
ABSL_FLAG(std::string, signing_secret, "",
          "Terra signing secret(s), comma-separated (one per Terra environment; two during a "
          "rotation). Prefer --signing_secret_file: argv is visible to other users. When no "
          "secret is given, one is generated in the data folder.");
ABSL_FLAG(std::string, signing_secret_file, "",
          "File with one Terra signing secret per line ('#' comments allowed).");
ABSL_FLAG(absl::Duration, signature_tolerance, absl::Hours(36),
          "How far a signature's t= may be from now. Longer than Terra's ~24 h of retries, "
          "since t may not be re-stamped on a retry; replays cannot change stored data.");
ABSL_FLAG(uint64_t, max_body_mb, 64,
          "Largest webhook body accepted, in MiB (Terra does not retry a 413 smaller).");
ABSL_FLAG(absl::Duration, ingest_deadline, absl::Seconds(5),
          "Longest a webhook may wait for its durable commit before the answer is 503 (Terra "
          "gives up after about 8 s).");
ABSL_FLAG(int, http_threads, 2, "HTTP I/O threads.");
ABSL_FLAG(int, http_max_connections, 0,
          "Open HTTP connections at most; more get 503 at accept. 0 = the fd limit "
          "(RLIMIT_NOFILE, raised to its hard limit at start) minus max(256, limit/8) kept for "
          "RocksDB and gRPC, so HTTP can never starve them of file descriptors.");
ABSL_FLAG(bool, http_evict_at_cap, true,
          "At the connection cap, close the connection waiting longest for a request header, "
          "else the slowest body below --http_body_min_rate (each in that phase for 1 s or "
          "more), to admit the new one; without such a connection the new one gets 503.");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(30),
          "A connection that sends or receives nothing for this long is closed (stalled "
          "transfers, idle keep-alive connections).");
ABSL_FLAG(absl::Duration, http_header_timeout, absl::Seconds(20),
          "The whole request header must arrive within this (Apache mod_reqtimeout's header=20).");
ABSL_FLAG(absl::Duration, http_body_grace, absl::Seconds(20),
          "After this, a request body must arrive at --http_body_min_rate on average.");
ABSL_FLAG(uint64_t, http_body_min_rate, 500,
          "Minimum average body rate in bytes/s after --http_body_grace (each N bytes buy one "
          "more second; mod_reqtimeout's MinRate=500). 0 = no rate limit.");
ABSL_FLAG(uint64_t, http_buffer_budget_mb, 256,
          "Request body MiB held in memory at once across all connections; over it a request "
          "waits up to --http_buffer_wait, then gets 503 + Retry-After. At least --max_body_mb.");
ABSL_FLAG(absl::Duration, http_buffer_wait, absl::Seconds(1),
          "How long a request waits for room in the buffer budget before 503.");
ABSL_FLAG(int, webhook_workers, 2,
          "Threads that check and convert webhook bodies over 256 KiB (smaller ones are handled "
          "on the I/O threads in microseconds).");
ABSL_FLAG(int, webhook_queue, 64,
          "Large webhooks that may wait for a worker; beyond it 503 + Retry-After at once.");

namespace healthwire {

void ApplyGatewayFlags(HealthwireServer::Options* options) {
  WebhookGateway::Options& gateway = options->gateway;
  gateway.bind_address = absl::GetFlag(FLAGS_http_address);
  gateway.port = absl::GetFlag(FLAGS_http_port);
  gateway.webhook_path = absl::GetFlag(FLAGS_webhook_path);
  if (!absl::GetFlag(FLAGS_http_tls_cert).empty()) {
    gateway.tls_cert_file = ResolveUserPath(absl::GetFlag(FLAGS_http_tls_cert));
  }
  if (!absl::GetFlag(FLAGS_http_tls_key).empty()) {
    gateway.tls_key_file = ResolveUserPath(absl::GetFlag(FLAGS_http_tls_key));
  }
  gateway.max_body_bytes = absl::GetFlag(FLAGS_max_body_mb) << 20;
  gateway.ingest_deadline = absl::GetFlag(FLAGS_ingest_deadline);
  gateway.io_threads = absl::GetFlag(FLAGS_http_threads);
  gateway.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  gateway.evict_at_cap = absl::GetFlag(FLAGS_http_evict_at_cap);
  gateway.io_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
  gateway.header_timeout = absl::GetFlag(FLAGS_http_header_timeout);
  gateway.body_grace = absl::GetFlag(FLAGS_http_body_grace);
  gateway.body_min_rate = absl::GetFlag(FLAGS_http_body_min_rate);
  gateway.buffer_budget_bytes = absl::GetFlag(FLAGS_http_buffer_budget_mb) << 20;
  gateway.buffer_wait = absl::GetFlag(FLAGS_http_buffer_wait);
  gateway.webhook_workers = absl::GetFlag(FLAGS_webhook_workers);
  gateway.webhook_queue_limit = absl::GetFlag(FLAGS_webhook_queue);
  gateway.signature.timestamp_tolerance = absl::GetFlag(FLAGS_signature_tolerance);
  options->comma_separated_signing_secrets = absl::GetFlag(FLAGS_signing_secret);
  if (!absl::GetFlag(FLAGS_signing_secret_file).empty()) {
    options->signing_secret_file = ResolveUserPath(absl::GetFlag(FLAGS_signing_secret_file));
  }
}

}  // namespace healthwire
