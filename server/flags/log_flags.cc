#include "server/flags/log_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/logging.h"

ABSL_FLAG(std::string, log, "",
          "Cluster mode: the commit log's NATS servers, nats://host:port[,nats://...]. A store "
          "becomes a replica applying the log; a gateway publishes to it (2xx after the quorum "
          "PubAck). Empty: not in cluster mode.");
ABSL_FLAG(std::string, log_stream, "HEALTHWIRE",
          "Cluster mode: the JetStream stream (created when missing, its settings checked).");
ABSL_FLAG(std::string, log_subject_prefix, "healthwire.log",
          "Cluster mode: the stream's subjects are <prefix>.>.");
ABSL_FLAG(int, log_replicas, 3, "Cluster mode: copies of every log message (1..5; 3 survives one lost server).");
ABSL_FLAG(uint64_t, log_max_message_mb, 8,
          "Cluster mode: largest log message in MiB (larger deliveries are written in chunks; "
          "also bounded by the servers' max_payload).");
ABSL_FLAG(int, log_max_pending, 4096,
          "Cluster mode (gateway): publishes awaiting their PubAck before webhooks get 503.");
ABSL_FLAG(absl::Duration, log_duplicate_window, absl::Minutes(2),
          "Cluster mode: the stream's Nats-Msg-Id duplicate window.");
ABSL_FLAG(std::string, replica_id, "",
          "Cluster mode (store): this replica's name in the log's replica registry (hwctl "
          "replicas); erased people's messages leave the stream once every registered replica "
          "applied the erasure. Empty: <host name>:<absolute --data_dir>. One per data folder.");

namespace healthwire {

void ApplyLogFlags(HealthwireServer::Options* options) {
  const std::string urls = absl::GetFlag(FLAGS_log);
  if (urls.empty()) return;
  absl::StatusOr<std::vector<std::string>> servers = ParseLogUrls(urls);
  if (!servers.ok()) {
    logging::Error(servers.status().message());
    logging::Shutdown();
    std::exit(2);
  }
  CommitLogOptions& log = options->log;
  log.servers = *servers;
  log.stream = absl::GetFlag(FLAGS_log_stream);
  log.subject_prefix = absl::GetFlag(FLAGS_log_subject_prefix);
  log.replicas = absl::GetFlag(FLAGS_log_replicas);
  log.max_message_bytes = absl::GetFlag(FLAGS_log_max_message_mb) << 20;
  log.max_pending_publishes = absl::GetFlag(FLAGS_log_max_pending);
  log.duplicate_window = absl::GetFlag(FLAGS_log_duplicate_window);
  options->replica_id = absl::GetFlag(FLAGS_replica_id);
}

}  // namespace healthwire
