// HealthwireServer: assembles healthwire's parts into one running process.
//
// The same class serves the three binaries, which differ only in Options:
// - healthwire (embedded default): EventStore on a local RocksDB folder, the
//   gRPC EventStore service, and the HTTP webhook gateway committing
//   in-process (LocalIngestor);
// - healthwire_store: EventStore + gRPC service;
// - healthwire_gateway: HTTP gateway committing through a remote store's
//   Ingest RPC (RemoteIngestor).
//
// BuildAndStart returns once every part listens; Shutdown stops accepting,
// lets in-flight requests finish and closes the store cleanly. Thread-safe.
#ifndef HEALTHWIRE_SERVER_HEALTHWIRE_SERVER_H_
#define HEALTHWIRE_SERVER_HEALTHWIRE_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/fetch/s3_fetcher.h"
#include "server/readapi/read_api_handler.h"
#include "server/readapi/read_api_server.h"
#include "server/security/grpc_client_channel.h"
#include "server/security/grpc_server_security.h"
#include "server/service/read_gate.h"
#include "server/webhook/webhook_gateway.h"
#include "storage/commit_log/commit_log.h"
#include "storage/event_store.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace healthwire {

class AuditLog;
class Authorizer;
class EventStoreService;
class MetricsHttpServer;
class Ingestor;
class StoreReplica;

class HealthwireServer {
 public:
  struct Options {
    // RocksDB folder (store), and where a generated signing secret lives
    // (gateway); an absolute path (the binaries resolve relative flags).
    std::string data_dir = "healthwire-data";

    // --- store: RocksDB + the gRPC EventStore service ---
    bool run_store = true;
    EventStore::Options store;  // path is set from data_dir
    std::string grpc_address = "127.0.0.1";
    int grpc_port = 50051;  // 0 = pick a free port
    // EraseUser calls waiting or running at once (more: RESOURCE_EXHAUSTED).
    int max_queued_erasures = 16;
    // TLS, mutual TLS and the tokens file of the gRPC port; none of them:
    // plaintext, loopback only, everyone may do everything.
    GrpcServerSecurity grpc_security;
    // When non-empty, one JSON line per data access (AuditLog).
    std::string audit_log;
    uint64_t audit_log_buffer_bytes = 4 << 20;

    // --- s3_payload fetcher (beside the store; on a cluster replica it publishes to the log) ---
    bool run_s3_fetcher = true;
    S3Fetcher::Options s3_fetch;

    // --- gateway: HTTP webhooks ---
    bool run_gateway = true;
    // Without run_store: host:port of the healthwire_store to commit to.
    std::string store_address;
    // How the gateway reaches that store (TLS, client certificate, token).
    GrpcClientSecurity store_security;
    // signing_secrets resolved from below; max_connections 0 = sized from
    // RLIMIT_NOFILE (see --http_max_connections).
    WebhookGateway::Options gateway;
    // Where the signing secrets come from: a comma-separated list (as
    // --signing_secret takes them) and/or a file of them; neither: a secret
    // generated in data_dir (see ResolveSigningSecrets).
    std::string comma_separated_signing_secrets;
    std::string signing_secret_file;

    // When non-empty, written once everything listens: one `key=value` per
    // line (grpc_port, http_port, data_dir, signing_secret_file) so scripts
    // and tests learn the ports picked for port 0.
    std::string ready_file;

    // --- the HTTP/JSON read API: its own listener, never the webhook port ---
    // Off unless asked for (--read_api_port): it serves health data without
    // authentication. Talks to the store through gRPC: this process's own
    // service in-process, or store_address in a gateway-only process.
    bool run_read_api = false;
    ReadApiServer::Options read_api;
    ReadApiHandler::Options read_api_handler;

    // --- cluster mode (--log): empty log.servers = not in cluster mode ---
    // With a store: the store is a replica of the log (StoreReplica). With a
    // gateway and no store: the gateway publishes to the log (LogIngestor).
    CommitLogOptions log;
    // Cluster mode (store): StoreReplica::Options::replica_id.
    std::string replica_id;
    // Reads with min_log_sequence / min_revision (--read_wait_max,
    // --read_wait_max_waiting).
    ReadGate::Options read_wait;
    // healthwire_store: its own /metrics, /healthz, /readyz port
    // (--metrics_port; -1 = none, 0 = a free one). The embedded binary
    // serves them on the webhook port instead.
    std::string metrics_address = "127.0.0.1";
    int metrics_port = -1;
  };

  static absl::StatusOr<std::unique_ptr<HealthwireServer>> BuildAndStart(const Options& options);

  ~HealthwireServer();

  // Bound ports (0 for a part this process does not run).
  int grpc_port() const { return grpc_port_; }
  int http_port() const;
  int read_api_port() const { return read_api_ != nullptr ? read_api_->port() : 0; }

  // Graceful: the gateway stops accepting and finishes in-flight requests,
  // then gRPC calls get `grace` to finish (open StreamUpdates calls are
  // cancelled after it; clients resume from their last revision), then the
  // store closes.
  // Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(2));

 private:
  HealthwireServer() = default;

  absl::Status StartStore();
  absl::Status StartGateway();
  absl::Status StartReadApi();
  // Cluster mode: the gRPC health service says NOT_SERVING while the
  // replica cannot apply the log (its disk at the reserve, writes stopped).
  void WatchReplicaHealth();

  Options options_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<StoreReplica> replica_;  // cluster mode
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<S3Fetcher> s3_fetcher_;
  std::unique_ptr<EventStoreService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<MetricsHttpServer> metrics_server_;
  int grpc_port_ = 0;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<WebhookGateway> gateway_;
  std::unique_ptr<ReadApiServer> read_api_;
  std::string generated_secret_path_;
  int http_max_connections_ = 0;
  int rocksdb_max_open_files_ = 0;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  std::thread replica_health_thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_HEALTHWIRE_SERVER_H_
