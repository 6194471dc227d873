#include "server/store_metrics.h"

#include "absl/strings/str_cat.h"
#include "common/metrics_text.h"

namespace healthwire {
namespace {

void Gauge(std::string* text, const char* name, const char* help, const std::string& value,
           const char* type = "gauge") {
  AppendMetricHeader(text, name, type, help);
  AppendSample(text, name, "", value);
}

}  // namespace

std::string StoreMetricsText(EventStore& store, const EventStoreService& service,
                             const S3Fetcher* fetcher) {
  const EventStore::Stats stats = store.GetStats();
  std::string text;
  Gauge(&text, "healthwire_store_commits_total", "Synced RocksDB writes (group commits).",
        absl::StrCat(stats.commits), "counter");
  Gauge(&text, "healthwire_store_changelog_oldest_revision",
        "Oldest revision StreamUpdates can replay.", absl::StrCat(store.OldestRetainedRevision()));
  Gauge(&text, "healthwire_stream_subscribers", "Open StreamUpdates calls.",
        absl::StrCat(store.subscription_hub()->subscriber_count()));
  Gauge(&text, "healthwire_store_erasures_total",
        "Erasures that wrote a tombstone (EraseUser, --erase_on_deauth).",
        absl::StrCat(stats.erasures), "counter");
  Gauge(&text, "healthwire_store_erasure_compaction_failures_total",
        "Compactions of erased key ranges that failed.",
        absl::StrCat(stats.erasure_compaction_failures), "counter");
  Gauge(&text, "healthwire_store_erasure_compactions_pending",
        "Erasures waiting for the compaction thread.",
        absl::StrCat(stats.erasure_compactions_pending));
  Gauge(&text, "healthwire_store_erasures_queued",
        "EraseUser calls waiting or running (limit --erase_max_queued).",
        absl::StrCat(service.queued_erasures()));
  Gauge(&text, "healthwire_store_refused_disk_full_total",
        "Commits refused at the --min_free_disk_mb reserve.",
        absl::StrCat(stats.refused_disk_full), "counter");
  Gauge(&text, "healthwire_store_write_failures_total", "Commits whose RocksDB write failed.",
        absl::StrCat(stats.write_failures), "counter");
  Gauge(&text, "healthwire_store_refused_late_total",
        "Commits refused because their caller's deadline passed before they could start.",
        absl::StrCat(stats.refused_late), "counter");
  Gauge(&text, "healthwire_store_large_values_written_total",
        "Raw JSON values over --large_value_bytes written once, outside the group commit.",
        absl::StrCat(stats.large_values_written), "counter");
  Gauge(&text, "healthwire_store_large_values_collected_total",
        "Large values removed again: unreferenced (overwrite + retention, erasure) or never "
        "committed (refused calls; at open, what a crash left).",
        absl::StrCat(stats.large_values_collected), "counter");
  Gauge(&text, "healthwire_store_large_writes_waiting",
        "Calls with a large record waiting for or in the large-value writer threads.",
        absl::StrCat(stats.large_writes_waiting));
  Gauge(&text, "healthwire_store_large_writes_refused_total",
        "Calls refused at once because --large_write_max_queued calls waited for the "
        "large-value writer.",
        absl::StrCat(stats.large_writes_refused), "counter");
  const ReadGate::Stats gate = service.read_gate_stats();
  Gauge(&text, "healthwire_read_waits", "Reads waiting now for min_log_sequence/min_revision.",
        absl::StrCat(gate.waiting));
  AppendMetricHeader(&text, "healthwire_read_waits_total", "counter",
                     "Reads that waited for min_log_sequence/min_revision, by outcome.");
  AppendSample(&text, "healthwire_read_waits_total", "outcome=\"reached\"", gate.waited);
  AppendSample(&text, "healthwire_read_waits_total", "outcome=\"timed_out\"", gate.timed_out);
  AppendSample(&text, "healthwire_read_waits_total", "outcome=\"refused_full\"",
               gate.refused_full);
  // Backfills: at most this many open ones are counted per scrape.
  constexpr size_t kMaxOpenBackfillsCounted = 100000;
  if (absl::StatusOr<OpenBackfillCounts> backfills =
          store.CountOpenBackfills(kMaxOpenBackfillsCounted);
      backfills.ok()) {
    Gauge(&text, "healthwire_backfills_open", "Backfills not complete yet.",
          absl::StrCat(backfills->open));
    Gauge(&text, "healthwire_backfills_stalled",
          "Open backfills with no payload for --backfill_stall_after.",
          absl::StrCat(backfills->stalled));
  }
  if (fetcher != nullptr) absl::StrAppend(&text, fetcher->MetricsText());
  const v1::GetStatusResponse status = service.Status();
  if (status.role() != v1::GetStatusResponse::ROLE_REPLICA) return text;
  // Cluster mode: a store that is not in the gateway's process has no
  // healthwire_store_revision line elsewhere.
  Gauge(&text, "healthwire_store_revision", "The store's revision.",
        absl::StrCat(status.store_revision()));
  const v1::ReplicaStatus& replica = status.replica();
  Gauge(&text, "healthwire_replica_applied_sequence",
        "Stream sequence of the last commit-log entry applied.",
        absl::StrCat(replica.applied_sequence()));
  Gauge(&text, "healthwire_replica_log_last_sequence",
        "The stream's last sequence when last asked (chunks included).",
        absl::StrCat(replica.log_last_sequence()));
  Gauge(&text, "healthwire_replica_behind_entries",
        "Commit entries in the log after the last applied one.", absl::StrCat(replica.behind()));
  Gauge(&text, "healthwire_replica_apply_lag_seconds",
        "Log storage time -> applied, of the last applied entry.",
        absl::StrCat(replica.last_apply_lag_ms() / 1000.0));
  Gauge(&text, "healthwire_replica_applying",
        "1 while the replica applies the log; 0 while its store cannot write.",
        status.health_problem().empty() && replica.last_error().empty() ? "1" : "0");
  Gauge(&text, "healthwire_replica_log_connected", "1 while connected to a NATS server.",
        replica.log_connected() ? "1" : "0");
  Gauge(&text, "healthwire_replica_deliveries_applied_total", "Deliveries applied since start.",
        absl::StrCat(replica.deliveries_applied()), "counter");
  Gauge(&text, "healthwire_replica_apply_errors_total", "Failed applies since start (retried).",
        absl::StrCat(replica.apply_errors()), "counter");
  Gauge(&text, "healthwire_erasure_stream_jobs_pending",
        "Erasures whose messages are not deleted from the stream yet (waiting for a replica "
        "behind them while healthwire_erasure_stream_blocked is 1).",
        absl::StrCat(replica.erasure_stream_jobs_pending()));
  Gauge(&text, "healthwire_erasure_stream_blocked",
        "1 while the oldest pending erasure waits for a registered replica that has not applied "
        "it (GetStatus names it; hwctl replicas).",
        replica.erasure_stream_blocked_by().empty() ? "0" : "1");
  Gauge(&text, "healthwire_erasure_stream_messages_deleted_total",
        "Erased people's messages deleted from the stream by this replica since start.",
        absl::StrCat(replica.erasure_stream_messages_deleted()), "counter");
  AppendMetricHeader(&text, "healthwire_replica_digest_info", "gauge",
                     "The running digest of what was applied, at the applied sequence (equal on "
                     "replicas in step).");
  AppendSample(&text, "healthwire_replica_digest_info",
               absl::StrCat("digest=\"", replica.digest(), "\",applied_sequence=\"",
                            replica.applied_sequence(), "\""),
               1);
  return text;
}

}  // namespace healthwire
