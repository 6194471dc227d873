// The crash test's cluster mode (crash_test --cluster): kill -9 random
// nats-servers and store replicas of a running cluster while webhooks are
// posted, restart them, and check that every acknowledged webhook is on
// every replica with its exact bytes, under the same revisions and digest.
//
// Every round: post unique signed sleep webhooks from several connections
// through 2 gateways (3 nats-servers, R3 stream, 2 replicas), kill -9 one of
// the 3 nats-servers or 2 replicas at a random moment, keep posting through
// the failure, stop, restart what was killed, then verify on every replica:
// the change log is dense (1..N) with every record key once, every 2xx
// delivery is in it with its exact raw bytes, and the replicas report the
// same applied sequence and digest. Prints per-round lines and the totals
// (posted, acknowledged, verified on every replica, lost); returns 0 when
// nothing was lost and nothing was inconsistent.
#ifndef HEALTHWIRE_TOOLS_CRASH_TEST_CLUSTER_CRASH_H_
#define HEALTHWIRE_TOOLS_CRASH_TEST_CLUSTER_CRASH_H_

#include <cstdint>
#include <string>

namespace healthwire {
namespace bench {

struct ClusterCrashOptions {
  std::string store_binary;    // healthwire_store
  std::string gateway_binary;  // healthwire_gateway
  std::string work;            // folder for data, logs, ready files
  int rounds = 20;
  int connections = 6;
  uint64_t seed = 1;
  size_t body_bytes = 1100;
  int min_kill_ms = 150;
  int max_kill_ms = 1500;
};

int RunClusterCrashTest(const ClusterCrashOptions& options);

}  // namespace bench
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_CRASH_TEST_CLUSTER_CRASH_H_
