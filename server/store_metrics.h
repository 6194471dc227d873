// Prometheus text of the store's own state (what a gateway cannot see): group
// commits, retention, subscribers, reads waiting for min_log_sequence /
// min_revision, and in cluster mode the replica's position in the commit log
// (applied sequence, log's last sequence, entries behind, apply lag, whether
// it applies, and its digest as a label), open and stalled backfills, and
// the s3_payload fetcher's counters when one runs. Served on the embedded /metrics and
// on healthwire_store's --metrics_port.
//
// Stateless; thread-safe as the service it reads.
#ifndef HEALTHWIRE_SERVER_STORE_METRICS_H_
#define HEALTHWIRE_SERVER_STORE_METRICS_H_

#include <string>

#include "server/fetch/s3_fetcher.h"
#include "server/service/event_store_service.h"
#include "storage/event_store.h"

namespace healthwire {

// `fetcher`: the s3_payload fetcher beside the store, when one runs.
std::string StoreMetricsText(EventStore& store, const EventStoreService& service,
                             const S3Fetcher* fetcher = nullptr);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_STORE_METRICS_H_
