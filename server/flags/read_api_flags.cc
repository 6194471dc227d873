// Flags of the HTTP/JSON read API (all three binaries; off by default).
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"

ABSL_FLAG(int, read_api_port, -1,
          "HTTP/JSON read API port (GET /v1/users/..., /v1/updates as server-sent events or "
          "NDJSON); 0 picks a free one; -1 (default) = off. Never the webhook port: it serves "
          "health data. With --grpc_tokens_file it takes the same bearer tokens and roles.");
ABSL_FLAG(std::string, read_api_address, "127.0.0.1",
          "Address the read API binds to. Loopback only unless it has TLS and the store "
          "authenticates clients.");
ABSL_FLAG(std::string, read_api_tls_cert, "",
          "PEM certificate (chain): the read API speaks HTTPS only (with --read_api_tls_key).");
ABSL_FLAG(std::string, read_api_tls_key, "", "PEM private key of --read_api_tls_cert.");
ABSL_FLAG(int, read_api_max_connections, 64,
          "Open read API connections at most (one thread each; streams included); more get 503.");
ABSL_FLAG(absl::Duration, read_api_idle_timeout, absl::Seconds(30),
          "A read API connection idle (or sending a request header) this long is closed.");
ABSL_FLAG(absl::Duration, read_api_write_timeout, absl::Seconds(30),
          "A read API client that takes no bytes of an answer or stream message for this long "
          "is cut (its stream's store call is cancelled).");
ABSL_FLAG(absl::Duration, read_api_heartbeat, absl::Seconds(15),
          "A stream with nothing matching for this long gets a progress event (a checkpoint "
          "to resume from, and how a client that went away is noticed).");
ABSL_FLAG(absl::Duration, read_api_call_deadline, absl::Seconds(10),
          "Deadline of each read API query to the store.");

namespace healthwire {

void ApplyReadApiFlags(HealthwireServer::Options* options) {
  const int port = absl::GetFlag(FLAGS_read_api_port);
  options->run_read_api = port != -1;
  options->read_api.port = port;
  options->read_api.address = absl::GetFlag(FLAGS_read_api_address);
  if (!absl::GetFlag(FLAGS_read_api_tls_cert).empty()) {
    options->read_api.tls_cert_file = ResolveUserPath(absl::GetFlag(FLAGS_read_api_tls_cert));
  }
  if (!absl::GetFlag(FLAGS_read_api_tls_key).empty()) {
    options->read_api.tls_key_file = ResolveUserPath(absl::GetFlag(FLAGS_read_api_tls_key));
  }
  options->read_api.max_connections = absl::GetFlag(FLAGS_read_api_max_connections);
  options->read_api.idle_timeout = absl::GetFlag(FLAGS_read_api_idle_timeout);
  options->read_api.write_timeout = absl::GetFlag(FLAGS_read_api_write_timeout);
  options->read_api_handler.heartbeat = absl::GetFlag(FLAGS_read_api_heartbeat);
  options->read_api_handler.call_deadline = absl::GetFlag(FLAGS_read_api_call_deadline);
}

}  // namespace healthwire
