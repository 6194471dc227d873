// NatsCluster: real nats-servers (JetStream, clustered) on loopback for
// cluster-mode tests.
//
// Start writes one config per server into a fresh folder under TEST_TMPDIR
// (distinct client and route ports, picked free; distinct store folders;
// max_payload 8 MiB), starts `nats-server -c` for each and returns once
// every client port accepts connections. It does not wait for the JetStream
// metadata leader: a test does that by retrying stream creation
// (CommitLog::EnsureStream), never by sleeping.
//
// Kill sends a signal (SIGKILL by default) and reaps the process; Restart
// starts the same server again on the same ports and store, so it rejoins.
// The destructor kills every server still running and removes the folder.
//
// Not thread-safe: one test thread drives a NatsCluster.
#ifndef HEALTHWIRE_TESTS_CLUSTER_NATS_CLUSTER_H_
#define HEALTHWIRE_TESTS_CLUSTER_NATS_CLUSTER_H_

#include <sys/types.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace healthwire {
namespace testing {

// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
int PickFreePort();

class NatsCluster {
 public:
  // `nats-server` is $NATS_SERVER, else /usr/sbin/nats-server.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(int servers = 3);
  ~NatsCluster();

  int size() const { return static_cast<int>(servers_.size()); }
  // "nats://127.0.0.1:<port>" of server i, and all of them comma-separated.
  std::string Url(int i) const;
  std::vector<std::string> Urls() const;
  std::string UrlsJoined() const;
  // server_name of server i ("n1", "n2", ...) and its index by name (-1).
  std::string Name(int i) const;
  int IndexOf(const std::string& name) const;

  bool IsRunning(int i) const { return servers_[i].pid > 0; }
  absl::Status Kill(int i, int signal = SIGKILL);
  absl::Status Restart(int i);
  // What server i logged (its stderr) over all its runs.
  std::string Log(int i) const;

 private:
  struct Server {
    std::string name;
    int client_port = 0;
    int route_port = 0;
    std::string config_path;
    std::string log_path;
    pid_t pid = -1;
  };
  NatsCluster() = default;
  absl::Status Spawn(int i);
  absl::Status WaitForClientPort(int i, absl::Duration timeout);

  std::string dir_;
  std::vector<Server> servers_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_CLUSTER_NATS_CLUSTER_H_
