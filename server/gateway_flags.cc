// Flags of the webhook gateway (HTTP).
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/process_util.h"
#include "server/server_flags.h"
#include "server/signing_secrets.h"

ABSL_FLAG(std::string, http_address, "127.0.0.1",
          "Address the webhook HTTP server binds to (0.0.0.0 for all interfaces).");
ABSL_FLAG(int, http_port, 8080, "Webhook HTTP port; 0 picks a free one.");
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

namespace healthwire {

void ApplyGatewayFlags(HealthwireServer::Options* options) {
  WebhookGateway::Options& gateway = options->gateway;
  gateway.bind_address = absl::GetFlag(FLAGS_http_address);
  gateway.port = absl::GetFlag(FLAGS_http_port);
  gateway.webhook_path = absl::GetFlag(FLAGS_webhook_path);
  gateway.max_body_bytes = absl::GetFlag(FLAGS_max_body_mb) << 20;
  gateway.ingest_deadline = absl::GetFlag(FLAGS_ingest_deadline);
  gateway.io_threads = absl::GetFlag(FLAGS_http_threads);
  gateway.signature.timestamp_tolerance = absl::GetFlag(FLAGS_signature_tolerance);
  options->comma_separated_signing_secrets = absl::GetFlag(FLAGS_signing_secret);
  if (!absl::GetFlag(FLAGS_signing_secret_file).empty()) {
    options->signing_secret_file = ResolveUserPath(absl::GetFlag(FLAGS_signing_secret_file));
  }
}

}  // namespace healthwire
