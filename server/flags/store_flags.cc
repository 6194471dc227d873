// Flags of the store (RocksDB + gRPC EventStore service).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/flags/server_flags.h"
#include "server/process_util.h"

ABSL_FLAG(std::string, grpc_address, "127.0.0.1",
          "Address the gRPC EventStore service binds to (0.0.0.0 for all interfaces).");
ABSL_FLAG(int, grpc_port, 50051, "gRPC port; 0 picks a free one.");
ABSL_FLAG(bool, sync_writes, true,
          "Sync RocksDB's write-ahead log before acknowledging. false trades the guarantee that "
          "an acknowledged webhook survives a machine crash for throughput.");
ABSL_FLAG(uint64_t, changelog_max_entries, 10000000,
          "StreamUpdates can replay at most this many latest changes (0 = no count limit).");
ABSL_FLAG(absl::Duration, changelog_max_age, absl::Hours(24 * 7),
          "StreamUpdates can replay changes received at most this long ago (0 = no age limit).");
ABSL_FLAG(uint64_t, stream_buffer_updates, 1024,
          "Live changes buffered per stream subscriber before a slow subscriber switches to "
          "reading the change log.");
ABSL_FLAG(uint64_t, block_cache_mb, 256, "RocksDB block cache size in MiB.");
ABSL_FLAG(int, rocksdb_max_open_files, 0,
          "Table files RocksDB keeps open. 0 = sized from the fd limit: the fds HTTP may not "
          "use (max(256, RLIMIT_NOFILE/8)) minus 96 for gRPC and the process, at least 64.");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "Where CreateCheckpoint (hwctl backup) puts checkpoints; default <data_dir>.checkpoints. "
          "Relative paths resolve against the folder the command was run from.");
ABSL_FLAG(uint64_t, min_free_disk_mb, 32,
          "Disk reserve: webhooks and Ingest calls get 503/UNAVAILABLE (and /readyz names the "
          "disk) while the data folder's disk has less than this many MiB free beyond the "
          "commit's size, so RocksDB never writes into a full disk; writes resume by "
          "themselves once space is freed. 0 = no check.");
ABSL_FLAG(uint64_t, large_value_bytes, 1 << 20,
          "A record whose raw JSON is larger than this is stored once, in its own column "
          "family, written before and outside the group commit (no WAL), so small webhooks "
          "never wait for its bytes and it is not held twice in memory. 0 = every record "
          "inline.");
ABSL_FLAG(int, large_write_threads, 2,
          "Threads writing --large_value_bytes values (hash, SST file, sync, ingest) off the "
          "webhook workers; the call keeps its place in the commit queue meanwhile. 1..64.");
ABSL_FLAG(uint64_t, large_write_max_queued, 16,
          "Calls with a large record waiting for (or in) those threads; beyond this a webhook "
          "gets a fast 503 + Retry-After with nothing stored.");
ABSL_FLAG(bool, erase_on_deauth, false,
          "A deauth or access_revoked webhook also erases that user_id's data (records, "
          "connection record, change-log entries; a tombstone is streamed), as EraseUser "
          "would. Off by default: Terra keeps no copy, so the data is then gone for good.");
ABSL_FLAG(int, erase_max_queued, 16,
          "EraseUser calls waiting or running at once (they run one at a time: commit, then "
          "compaction); more are answered RESOURCE_EXHAUSTED.");

ABSL_FLAG(absl::Duration, read_wait_max, absl::Seconds(2),
          "Longest a read with min_log_sequence/min_revision waits for this store to get there "
          "(cluster replicas apply the log a little after the webhook's 2xx); then UNAVAILABLE "
          "saying how far behind. 0 = answer at once.");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1",
          "healthwire_store: address of the --metrics_port listener.");
ABSL_FLAG(int, metrics_port, -1,
          "healthwire_store: serve GET /metrics (Prometheus; in cluster mode the replica's "
          "applied sequence, lag and digest), /healthz and /readyz (503 while a replica cannot "
          "apply the log) on this port; 0 picks a free one, -1 = none. The embedded healthwire "
          "serves them on its webhook port.");
ABSL_FLAG(int, read_wait_max_waiting, 1024,
          "Reads waiting for min_log_sequence/min_revision at once; more get RESOURCE_EXHAUSTED.");

ABSL_FLAG(std::string, grpc_tls_cert, "",
          "PEM certificate (chain) of the gRPC port: turns on TLS (with --grpc_tls_key).");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert.");
ABSL_FLAG(std::string, grpc_client_ca, "",
          "PEM CA certificate(s): mutual TLS, every gRPC client must present a certificate "
          "signed by it (its CN/SAN is the client's identity). Needs --grpc_tls_cert.");
ABSL_FLAG(std::string, grpc_tokens_file, "",
          "Bearer tokens and roles, one per line: `<token> <name> <roles>[ types=sleep,...]` "
          "(roles: ingest, read, admin; `cert:<id>` instead of a token gives a client "
          "certificate its roles). Mode 600. Without it and without --grpc_client_ca every "
          "caller may do everything, which is allowed only on a loopback --grpc_address.");
ABSL_FLAG(std::string, audit_log, "",
          "Append one JSON line per data access (who, RPC, subject, types, record count, "
          "result; never health data) to this file.");
ABSL_FLAG(uint64_t, audit_log_buffer_kb, 4096,
          "Audit lines held in memory before the writer appends them; when full, reads are "
          "refused (UNAVAILABLE) rather than served without their line.");
ABSL_FLAG(absl::Duration, backfill_stall_after, absl::Minutes(30),
          "A backfill (large_request_sending) that is not complete and got no payload for this "
          "long is reported stalled (GetBackfill, hwctl backfills, "
          "healthwire_backfills_stalled). 0 = never.");

namespace healthwire {

void ApplyStoreFlags(HealthwireServer::Options* options) {
  options->grpc_address = absl::GetFlag(FLAGS_grpc_address);
  options->grpc_port = absl::GetFlag(FLAGS_grpc_port);
  auto path_flag = [](const std::string& value) {
    return value.empty() ? value : ResolveUserPath(value);
  };
  options->grpc_security.tls_cert_file = path_flag(absl::GetFlag(FLAGS_grpc_tls_cert));
  options->grpc_security.tls_key_file = path_flag(absl::GetFlag(FLAGS_grpc_tls_key));
  options->grpc_security.client_ca_file = path_flag(absl::GetFlag(FLAGS_grpc_client_ca));
  options->grpc_security.tokens_file = path_flag(absl::GetFlag(FLAGS_grpc_tokens_file));
  options->audit_log = path_flag(absl::GetFlag(FLAGS_audit_log));
  options->audit_log_buffer_bytes = absl::GetFlag(FLAGS_audit_log_buffer_kb) << 10;
  options->store.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options->store.changelog_max_entries = absl::GetFlag(FLAGS_changelog_max_entries);
  options->store.changelog_max_age = absl::GetFlag(FLAGS_changelog_max_age);
  options->store.max_buffered_updates_per_subscriber = absl::GetFlag(FLAGS_stream_buffer_updates);
  options->store.block_cache_bytes = absl::GetFlag(FLAGS_block_cache_mb) << 20;
  options->store.max_open_files = absl::GetFlag(FLAGS_rocksdb_max_open_files);  // 0 = auto
  options->store.min_free_disk_bytes = absl::GetFlag(FLAGS_min_free_disk_mb) << 20;
  options->store.erase_on_deauth = absl::GetFlag(FLAGS_erase_on_deauth);
  options->store.large_value_bytes = absl::GetFlag(FLAGS_large_value_bytes);
  options->store.large_write_threads = absl::GetFlag(FLAGS_large_write_threads);
  options->store.large_write_max_queued = absl::GetFlag(FLAGS_large_write_max_queued);
  options->max_queued_erasures = absl::GetFlag(FLAGS_erase_max_queued);
  options->metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options->metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (options->metrics_port < -1 || options->metrics_port > 65535) {
    std::fprintf(stderr, "--metrics_port=%d is not a TCP port (0-65535; 0 picks a free one, -1 "
                         "= none)\n", options->metrics_port);
    std::exit(2);
  }
  options->read_wait.max_wait = absl::GetFlag(FLAGS_read_wait_max);
  options->read_wait.max_waiting = absl::GetFlag(FLAGS_read_wait_max_waiting);
  if (options->read_wait.max_wait < absl::ZeroDuration() || options->read_wait.max_waiting < 1) {
    std::fprintf(stderr, "--read_wait_max must not be negative and --read_wait_max_waiting must "
                         "be at least 1\n");
    std::exit(2);
  }
  options->store.backfill_stall_after = absl::GetFlag(FLAGS_backfill_stall_after);
  if (!absl::GetFlag(FLAGS_checkpoint_dir).empty()) {
    options->store.checkpoint_dir = ResolveUserPath(absl::GetFlag(FLAGS_checkpoint_dir));
  }
}

}  // namespace healthwire
