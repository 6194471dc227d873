// Prometheus text of the store's own state (what a gateway cannot see): group
// commits, retention, subscribers, reads waiting for min_log_sequence /
// min_revision, and in cluster mode the replica's position in the commit log
// (applied sequence, log's last sequence, entries behind, apply lag, whether
// it applies, and its digest as a label). Served on the embedded /metrics and
// on healthwire_store's --metrics_port.
//
// Stateless; thread-safe as the service it reads.
#ifndef HEALTHWIRE_SERVER_STORE_METRICS_H_
#define HEALTHWIRE_SERVER_STORE_METRICS_H_

#include <string>

#include "server/event_store_service.h"
#include "storage/event_store.h"

namespace healthwire {

std::string StoreMetricsText(EventStore& store, const EventStoreService& service);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_STORE_METRICS_H_
