#include "server/healthwire_server.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/metrics_text.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "server/fetch/log_fetch_recorder.h"
#include "server/ingest/local_ingestor.h"
#include "server/ingest/log_ingestor.h"
#include "server/ingest/remote_ingestor.h"
#include "server/metrics_http_server.h"
#include "server/process_util.h"
#include "server/security/audit_log.h"
#include "server/security/authorizer.h"
#include "server/security/listener_policy.h"
#include "server/service/event_store_service.h"
#include "server/store_metrics.h"
#include "server/webhook/signing_secrets.h"
#include "storage/replica/store_replica.h"

namespace healthwire {
namespace {

absl::Status WriteReadyFile(const std::string& path, const std::string& contents) {
  // Write then rename, so a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    if (!out.good()) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::Status CheckPort(absl::string_view flag, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", port, " is not a TCP port (0-65535; 0 picks a free one)"));
  }
  return absl::OkStatus();
}

// One clear line per misuse, before anything is opened or created. The
// messages name the flags, since that is where the values come from.
absl::Status ValidateOptions(const HealthwireServer::Options& options) {
  if (options.run_store) {
    if (absl::Status port = CheckPort("grpc_port", options.grpc_port); !port.ok()) return port;
    if (options.max_queued_erasures < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--erase_max_queued=", options.max_queued_erasures, " must be at least 1"));
    }
    if (options.store.max_open_files != 0 && options.store.max_open_files < 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--rocksdb_max_open_files=", options.store.max_open_files,
          " must be at least 16 (0 = sized from the fd limit)"));
    }
    if (absl::Status valid = ValidateGrpcServerSecurity(options.grpc_security); !valid.ok()) {
      return valid;
    }
    ListenerSecurity listener;
    listener.address_flag = "--grpc_address";
    listener.address = options.grpc_address;
    listener.tls = options.grpc_security.tls();
    listener.authenticates_clients = options.grpc_security.authenticates_clients();
    listener.how_to_fix =
        "--grpc_tls_cert/--grpc_tls_key and --grpc_client_ca or --grpc_tokens_file";
    if (absl::Status bind = CheckListenerSecurity(listener); !bind.ok()) return bind;
  }
  if (options.run_read_api) {
    if (absl::Status port = CheckPort("read_api_port", options.read_api.port); !port.ok()) {
      return port;
    }
    if (options.run_gateway && options.read_api.port != 0 &&
        options.read_api.port == options.gateway.port) {
      return absl::InvalidArgumentError(
          "--read_api_port must not be the webhook port: the webhook port faces the internet, "
          "the read API serves health data");
    }
    // The loopback rule, as for gRPC: off loopback the read API needs HTTPS
    // and a store that checks its bearer tokens. Only a process with its own
    // store knows that; a split gateway's read API stays on loopback (its
    // store's configuration is not visible from here).
    ListenerSecurity read_listener;
    read_listener.address_flag = "--read_api_address";
    read_listener.address = options.read_api.address;
    read_listener.tls = !options.read_api.tls_cert_file.empty();
    read_listener.authenticates_clients =
        options.run_store && !options.grpc_security.tokens_file.empty();
    read_listener.how_to_fix =
        options.run_store
            ? "--read_api_tls_cert/--read_api_tls_key and --grpc_tokens_file"
            : "the read API of healthwire_store (a split gateway's read API cannot tell whether "
              "its store checks tokens)";
    // (Only for IP literals: the read API refuses anything else by itself.)
    if (options.read_api.address.find_first_not_of("0123456789abcdefABCDEF.:[]") ==
        std::string::npos) {
      if (absl::Status bind = CheckListenerSecurity(read_listener); !bind.ok()) return bind;
    }
  }
  if (!options.run_gateway) return absl::OkStatus();
  const WebhookGateway::Options& gateway = options.gateway;
  if (absl::Status port = CheckPort("http_port", gateway.port); !port.ok()) return port;
  if (gateway.ingest_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ingest_deadline=", absl::FormatDuration(gateway.ingest_deadline),
                     " must be positive: with no time to commit every webhook would be 503"));
  }
  if (gateway.max_body_bytes == 0) {
    return absl::InvalidArgumentError("--max_body_mb must be at least 1");
  }
  if (gateway.io_threads < 1) return absl::InvalidArgumentError("--http_threads must be at least 1");
  if (gateway.webhook_workers < 1) {
    return absl::InvalidArgumentError("--webhook_workers must be at least 1");
  }
  if (gateway.webhook_queue_limit < 0) {
    return absl::InvalidArgumentError("--webhook_queue must not be negative");
  }
  if (gateway.max_connections < 0) {
    return absl::InvalidArgumentError("--http_max_connections must not be negative (0 = auto)");
  }
  if (gateway.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--http_idle_timeout must be positive");
  }
  if (gateway.header_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--http_header_timeout must be positive");
  }
  if (gateway.body_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--http_body_grace must not be negative");
  }
  if (gateway.buffer_budget_bytes < gateway.max_body_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_buffer_budget_mb=", gateway.buffer_budget_bytes >> 20,
        " is below --max_body_mb=", gateway.max_body_bytes >> 20,
        ": a body of the largest accepted size could never be read"));
  }
  return absl::OkStatus();
}

// The HTTP connection cap when --http_max_connections is 0: the fd limit
// minus a reserve for RocksDB (its files and WAL), gRPC (listener, clients,
// its own pipes) and the process itself, so that HTTP connections can never
// take the last fd (the gRPC listener that hits EMFILE never accepts again).
int AutoMaxConnections(uint64_t fd_limit) {
  const uint64_t reserve = std::max<uint64_t>(256, fd_limit / 8);
  const uint64_t cap = fd_limit > reserve + 16 ? fd_limit - reserve : 16;
  return static_cast<int>(std::min<uint64_t>(cap, 1'000'000));
}

// RocksDB's open-file bound when --rocksdb_max_open_files is 0: the fds HTTP
// is not allowed to take (AutoMaxConnections' reserve) minus room for gRPC
// (listener, client connections, its pipes), the WAL, MANIFEST, LOCK, info
// log and the process's own files.
int AutoMaxOpenFiles(uint64_t fd_limit) {
  const uint64_t reserve = std::max<uint64_t>(256, fd_limit / 8);
  const uint64_t files = reserve > 96 + 64 ? reserve - 96 : 64;
  return static_cast<int>(std::min<uint64_t>(files, 1'000'000));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HealthwireServer>> HealthwireServer::BuildAndStart(
    const Options& options) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  if (!options.run_store && !options.run_gateway) {
    return absl::InvalidArgumentError("nothing to run: neither the store nor the gateway");
  }
  if (!options.run_store && options.run_gateway && options.store_address.empty() &&
      options.log.servers.empty()) {
    return absl::InvalidArgumentError(
        "the gateway without a local store needs --store=host:port of a healthwire_store");
  }
  std::unique_ptr<HealthwireServer> server(new HealthwireServer());
  server->options_ = options;
  if (options.run_store) {
    if (absl::Status started = server->StartStore(); !started.ok()) return started;
  }
  if (options.run_read_api) {
    if (absl::Status started = server->StartReadApi(); !started.ok()) return started;
  }
  if (options.run_gateway) {
    if (absl::Status started = server->StartGateway(); !started.ok()) return started;
  }

  std::string where;
  if (server->gateway_ != nullptr) {
    absl::StrAppend(&where, options.gateway.tls_cert_file.empty() ? " http=" : " https=",
                    options.gateway.bind_address, ":", server->http_port(),
                    options.gateway.webhook_path,
                    " http_max_connections=", server->http_max_connections_,
                    " (RLIMIT_NOFILE ", FileDescriptorLimit(), ")");
  }
  if (server->grpc_port_ != 0) {
    absl::StrAppend(&where, " grpc=", options.grpc_address, ":", server->grpc_port_, " (",
                    DescribeGrpcServerSecurity(options.grpc_security), ")");
    if (!options.audit_log.empty()) absl::StrAppend(&where, " audit_log=", options.audit_log);
  }
  if (server->read_api_ != nullptr) {
    absl::StrAppend(&where, " read_api=", server->read_api_->tls() ? "https" : "http", "://",
                    options.read_api.address, ":",
                    server->read_api_port());
  }
  if (server->metrics_server_ != nullptr) {
    absl::StrAppend(&where, " metrics=http://", options.metrics_address, ":",
                    server->metrics_server_->port(), "/metrics");
  }
  if (!options.log.servers.empty()) {
    absl::StrAppend(&where, " log=", absl::StrJoin(options.log.servers, ","), " stream=",
                    options.log.stream);
  } else if (!options.run_store) {
    absl::StrAppend(&where, " store=", options.store_address);
  }
  if (options.run_store) {
    absl::StrAppend(&where, " rocksdb_max_open_files=", server->rocksdb_max_open_files_,
                    " data_dir=", options.data_dir);
  }
  logging::Info(absl::StrCat("healthwire ready:", where));

  if (!options.ready_file.empty()) {
    absl::Status written = WriteReadyFile(
        options.ready_file,
        absl::StrFormat("grpc_port=%d\nhttp_port=%d\nread_api_port=%d\nmetrics_port=%d\n"
                        "data_dir=%s\nsigning_secret_file=%s\n",
                        server->grpc_port_, server->http_port(), server->read_api_port(),
                        server->metrics_server_ != nullptr ? server->metrics_server_->port() : 0,
                        options.data_dir, server->generated_secret_path_));
    if (!written.ok()) return written;
  }
  return server;
}

absl::Status HealthwireServer::StartStore() {
  EventStore::Options store_options = options_.store;
  store_options.path = options_.data_dir;
  store_options.log_replica = !options_.log.servers.empty();
  // A checkpoint restored as a data folder keeps the generated signing secret
  // (when the gateway generated one there), so webhooks signed for the old
  // store are accepted by the restored one.
  store_options.checkpoint_extra_files.push_back(kGeneratedSecretFileName);
  if (store_options.max_open_files == 0) {
    store_options.max_open_files = AutoMaxOpenFiles(FileDescriptorLimit());
  }
  rocksdb_max_open_files_ = store_options.max_open_files;
  StoreReplica::Options replica_options;
  replica_options.log = options_.log;
  replica_options.replica_id = options_.replica_id;
  if (store_options.log_replica) {
    // Every replica of one log shares the log's timeline (same revisions),
    // so subscribers resume on any of them.
    absl::StatusOr<std::string> timeline = StoreReplica::LogTimeline(replica_options);
    if (!timeline.ok()) return timeline.status();
    store_options.timeline_id = *std::move(timeline);
  }
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(store_options);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  if (store_options.log_replica) {
    // Cluster mode: the store follows the log (creating the stream when it
    // does not exist) before it serves anything.
    absl::StatusOr<std::unique_ptr<StoreReplica>> replica =
        StoreReplica::Start(store_.get(), replica_options);
    if (!replica.ok()) return replica.status();
    replica_ = *std::move(replica);
  }
  if (options_.run_s3_fetcher) {
    std::unique_ptr<S3FetchRecorder> recorder;  // null: into the store
    if (replica_ != nullptr) {
      // Cluster mode: a replica publishes its fetches' outcomes to the log
      // (every replica records them when it applies them) and fetches only
      // while caught up with the log (README: Ping mode in cluster mode).
      StoreReplica* replica = replica_.get();
      CommitLogOptions log_options = options_.log;
      // An outcome's PubAck is waited for as long as a local commit may wait.
      log_options.publish_ack_wait = options_.s3_fetch.commit_timeout;
      absl::StatusOr<std::unique_ptr<LogFetchRecorder>> log_recorder = LogFetchRecorder::Create(
          log_options, [replica]() -> absl::Status {
            const StoreReplica::Status status = replica->GetStatus();
            if (!status.applying || !status.log_connected) {
              return absl::UnavailableError("the replica is not applying the commit log");
            }
            if (!status.caught_up) {
              return absl::UnavailableError("the replica has not caught up with the commit log");
            }
            return absl::OkStatus();
          });
      if (!log_recorder.ok()) return log_recorder.status();
      recorder = *std::move(log_recorder);
    }
    absl::StatusOr<std::unique_ptr<S3Fetcher>> fetcher =
        S3Fetcher::Start(store_.get(), options_.s3_fetch, std::move(recorder));
    if (!fetcher.ok()) return fetcher.status();
    s3_fetcher_ = *std::move(fetcher);
  }
  absl::StatusOr<std::unique_ptr<Authorizer>> authorizer =
      Authorizer::Create(options_.grpc_security);
  if (!authorizer.ok()) return authorizer.status();
  authorizer_ = *std::move(authorizer);
  if (!options_.audit_log.empty()) {
    AuditLog::Options audit_options;
    audit_options.path = options_.audit_log;
    audit_options.buffer_bytes = options_.audit_log_buffer_bytes;
    absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(audit_options);
    if (!audit.ok()) return audit.status();
    audit_ = *std::move(audit);
  }
  EventStoreService::Options service_options;
  service_options.replica = replica_.get();
  service_options.read_wait = options_.read_wait;
  service_options.max_queued_erasures = options_.max_queued_erasures;
  service_options.authorizer = authorizer_.get();
  service_options.audit = audit_.get();
  if (replica_ != nullptr) {
    // Cluster mode: an erasure is a log entry every replica applies.
    service_options.eraser = [replica = replica_.get()](const StoreSubject& subject) {
      return replica->EraseThroughLog(subject, absl::Now() + absl::Seconds(60));
    };
  }
  service_ = std::make_unique<EventStoreService>(store_.get(), std::move(service_options));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      BuildGrpcServerCredentials(options_.grpc_security);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options_.grpc_address, ":", options_.grpc_port);
  builder.AddListeningPort(address, *credentials, &grpc_port_);
  // gRPC turns SO_REUSEPORT on by default, which would let a second store
  // bind the same port and silently split traffic; fail clearly instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(service_.get());
  // Webhook bodies can be tens of MB; Ingest carries them whole.
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  builder.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address, " (port in use?)"));
  }
  // The health service knows only "" (the whole server) by itself and
  // answers NOT_FOUND for a service name; probes (grpc_health_probe
  // -service=healthwire.v1.EventStore, Kubernetes' grpc probe) ask by name.
  // gRPC sets every name NOT_SERVING on Shutdown.
  grpc_server_->GetHealthCheckService()->SetServingStatus(
      v1::EventStore::service_full_name(), true);
  if (replica_ != nullptr) replica_health_thread_ = std::thread([this] { WatchReplicaHealth(); });
  if (options_.metrics_port >= 0) {
    MetricsHttpServer::Options metrics_options;
    metrics_options.address = options_.metrics_address;
    metrics_options.port = options_.metrics_port;
    EventStore* store = store_.get();
    EventStoreService* service = service_.get();
    StoreReplica* replica = replica_.get();
    AuditLog* audit = audit_.get();
    const S3Fetcher* fetcher = s3_fetcher_.get();
    metrics_options.metrics = [store, service, audit, fetcher] {
      std::string text = StoreMetricsText(*store, *service, fetcher);
      if (audit != nullptr) absl::StrAppend(&text, audit->RenderPrometheusText());
      return text;
    };
    metrics_options.ready = [store, replica]() -> absl::Status {
      if (replica != nullptr) {
        const StoreReplica::Status status = replica->GetStatus();
        if (!status.applying) {
          return absl::UnavailableError(
              absl::StrCat("the replica is not applying the commit log: ", status.last_error));
        }
        if (!status.log_connected) {
          return absl::UnavailableError("the replica is not connected to the commit log");
        }
      }
      return store->Health();
    };
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> metrics =
        MetricsHttpServer::Start(std::move(metrics_options));
    if (!metrics.ok()) return metrics.status();
    metrics_server_ = *std::move(metrics);
  }
  return absl::OkStatus();
}

void HealthwireServer::WatchReplicaHealth() {
  bool serving = true;
  while (true) {
    {
      absl::MutexLock lock(&shutdown_mu_);
      if (shutdown_mu_.AwaitWithTimeout(absl::Condition(&shut_down_), absl::Seconds(1))) return;
    }
    const bool applying = replica_->GetStatus().applying;
    if (applying != serving) {
      grpc_server_->GetHealthCheckService()->SetServingStatus(applying);
      serving = applying;
    }
  }
}

absl::Status HealthwireServer::StartGateway() {
  WebhookGateway::Options gateway_options = options_.gateway;
  if (gateway_options.max_connections == 0) {
    gateway_options.max_connections = AutoMaxConnections(FileDescriptorLimit());
  }
  http_max_connections_ = gateway_options.max_connections;
  absl::StatusOr<ResolvedSigningSecrets> secrets = ResolveSigningSecrets(
      {options_.comma_separated_signing_secrets, options_.signing_secret_file, options_.data_dir});
  if (!secrets.ok()) return secrets.status();
  gateway_options.signing_secrets = std::move(secrets->secrets);
  if (secrets->generated.has_value()) {
    // Signatures are always checked. With no secret configured, a generated
    // one (kept in the data folder) makes the embedded default run out of the
    // box without ever accepting unsigned webhooks.
    generated_secret_path_ = secrets->generated->path;
    logging::Warning(absl::StrCat(
        "healthwire: no signing secret configured; ",
        secrets->generated->created ? "generated a" : "using the generated",
        " webhook signing secret in ", secrets->generated->path,
        " (mode 0600). Production needs Terra's secret: --signing_secret or "
        "--signing_secret_file."));
  }

  EventStore* store = store_.get();
  ReadApiServer* read_api = read_api_.get();
  const EventStoreService* service = service_.get();
  AuditLog* audit = audit_.get();
  const S3Fetcher* fetcher = s3_fetcher_.get();
  gateway_options.extra_metrics = [store, service, read_api, audit, fetcher] {
    std::string text = store != nullptr && service != nullptr
                           ? StoreMetricsText(*store, *service, fetcher)
                           : std::string();
    if (read_api != nullptr) absl::StrAppend(&text, read_api->MetricsText());
    if (audit != nullptr) absl::StrAppend(&text, audit->RenderPrometheusText());
    AppendCounter(&text, "healthwire_log_dropped_lines_total",
                  "Log lines dropped because the log queue (--log_queue_lines) was full.",
                  logging::DroppedLines());
    return text;
  };
  if (store_ != nullptr) {
    ingestor_ = std::make_unique<LocalIngestor>(store_.get());
  } else if (!options_.log.servers.empty()) {
    CommitLogOptions log_options = options_.log;
    // A webhook's PubAck is waited for as long as its commit may start.
    log_options.publish_ack_wait = options_.gateway.ingest_deadline;
    absl::StatusOr<std::unique_ptr<LogIngestor>> ingestor =
        LogIngestor::Create(log_options, /*ensure_stream=*/true, absl::Seconds(60));
    if (!ingestor.ok()) return ingestor.status();
    ingestor_ = *std::move(ingestor);
  } else {
    absl::StatusOr<std::unique_ptr<RemoteIngestor>> remote =
        RemoteIngestor::Create(options_.store_address, options_.store_security);
    if (!remote.ok()) return remote.status();
    ingestor_ = *std::move(remote);
  }
  absl::StatusOr<std::unique_ptr<WebhookGateway>> gateway =
      WebhookGateway::Start(std::move(gateway_options), ingestor_.get());
  if (!gateway.ok()) return gateway.status();
  gateway_ = *std::move(gateway);
  return absl::OkStatus();
}

absl::Status HealthwireServer::StartReadApi() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  std::shared_ptr<grpc::Channel> channel;
  if (grpc_server_ != nullptr) {
    // This process's own EventStoreService, without a socket.
    channel = grpc_server_->InProcessChannel(args);
  } else if (!options_.store_address.empty()) {
    // The gateway's TLS settings to the store (--store_tls_*: its client
    // certificate only gets the handshake through), but not its token: each
    // call carries its HTTP client's token, and the store authenticates read
    // API calls by that token alone (server/security/delegated_call.h).
    GrpcClientSecurity security = options_.store_security;
    security.token_file.clear();
    absl::StatusOr<std::shared_ptr<grpc::Channel>> remote =
        CreateStoreChannel(options_.store_address, security, args);
    if (!remote.ok()) return remote.status();
    channel = *std::move(remote);
  } else {
    return absl::InvalidArgumentError(
        "--read_api_port needs a store to read from: run it in healthwire or healthwire_store, "
        "or give the gateway --store=host:port");
  }
  auto handler = std::make_shared<ReadApiHandler>(std::move(channel), options_.read_api_handler);
  absl::StatusOr<std::unique_ptr<ReadApiServer>> server =
      ReadApiServer::Start(options_.read_api, std::move(handler));
  if (!server.ok()) return server.status();
  read_api_ = *std::move(server);
  return absl::OkStatus();
}

int HealthwireServer::http_port() const { return gateway_ != nullptr ? gateway_->port() : 0; }

HealthwireServer::~HealthwireServer() { Shutdown(); }

void HealthwireServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (replica_health_thread_.joinable()) replica_health_thread_.join();
  // Readers first: their streams are cancelled (clients resume with
  // Last-Event-ID), their unary calls finish.
  if (read_api_ != nullptr) read_api_->Shutdown();
  // Front door next: no new webhooks, in-flight ones finish and are answered.
  if (gateway_ != nullptr) gateway_->Shutdown();
  gateway_.reset();
  ingestor_.reset();
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
    grpc_server_->Wait();
  }
  metrics_server_.reset();
  service_.reset();
  // Every call is over: the last lines are in; write them out and fsync.
  if (audit_ != nullptr) audit_->Close();
  s3_fetcher_.reset();  // finishes its attempts while the store is open
  replica_.reset();  // stops applying before the store closes
  store_.reset();  // drains queued commits, closes RocksDB
}

}  // namespace healthwire
