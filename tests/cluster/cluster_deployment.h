// ClusterDeployment: healthwire's cluster mode made of the real binaries on
// loopback, for end-to-end tests: a NatsCluster (3 nats-servers, one R3
// JetStream stream), any number of healthwire_store replicas (--log) and of
// healthwire_gateway processes publishing to the log, every one on free
// ports (--ready_file), each replica's data in its own TempDir that outlives
// its process (a restarted replica finds its data and resumes).
//
// Typical use:
//   ClusterDeployment cluster;
//   ASSERT_TRUE(cluster.Start(/*replicas=*/2, /*gateways=*/2).ok());
//   HttpTestClient client = cluster.GatewayClient(0);
//   cluster.stub(1)->GetLatest(...);
//   cluster.WaitForSameDigest(...);
//
// Not thread-safe to start or stop processes; stub() and GatewayClient() may
// be used from several threads while nothing is restarted (each thread its
// own HTTP client).
#ifndef HEALTHWIRE_TESTS_CLUSTER_CLUSTER_DEPLOYMENT_H_
#define HEALTHWIRE_TESTS_CLUSTER_CLUSTER_DEPLOYMENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/cluster/nats_cluster.h"
#include "tests/util/http_test_client.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace testing {

class ClusterDeployment {
 public:
  // The secret every gateway verifies webhooks with (GatewayClient signs).
  static constexpr char kSecret[] = "cluster-test-secret";

  ClusterDeployment() = default;
  ~ClusterDeployment();
  ClusterDeployment(const ClusterDeployment&) = delete;
  ClusterDeployment& operator=(const ClusterDeployment&) = delete;

  // The nats-servers, then `replicas` stores (with `store_flags`), then
  // `gateways` gateways (with `gateway_flags`).
  absl::Status Start(int replicas, int gateways, std::vector<std::string> gateway_flags = {},
                     std::vector<std::string> store_flags = {});

  NatsCluster* nats() { return nats_.get(); }

  // --- replicas ---
  int replica_count() const { return static_cast<int>(replicas_.size()); }
  // A new replica on a new, empty data folder (`data_dir` when given: a
  // folder the caller owns, e.g. on a small tmpfs); its index.
  absl::StatusOr<int> AddReplica(const std::string& data_dir = "");
  // kill -9 (or `signal`) replica i; its data stays.
  absl::Status KillReplica(int i, int signal = 9);
  // Starts replica i again on its data folder (new gRPC port).
  absl::Status RestartReplica(int i);
  bool ReplicaRunning(int i) const { return replicas_[i]->process != nullptr; }
  pid_t ReplicaPid(int i) const { return replicas_[i]->process->pid(); }
  // Whether replica i's process exited by itself (crashed); `*exit_code`.
  bool ReplicaExited(int i, int* exit_code) { return replicas_[i]->process->Exited(exit_code); }
  std::string grpc_target(int i) const { return replicas_[i]->process->grpc_target(); }
  // Replica i's --metrics_port (/metrics, /healthz, /readyz).
  int metrics_port(int i) const {
    return std::stoi(replicas_[i]->process->ReadyValue("metrics_port"));
  }
  v1::EventStore::Stub* stub(int i) { return replicas_[i]->stub.get(); }
  // GetStatus of replica i (what the replica says; check .ok() of the call
  // through `*error` when given).
  v1::GetStatusResponse Status(int i, grpc::Status* error = nullptr);

  // Waits until every running replica applied at least `min_sequence` and
  // all report the same applied sequence and digest; false after `timeout`.
  bool WaitForSameDigest(uint64_t min_sequence, absl::Duration timeout = absl::Seconds(60));

  // --- gateways ---
  int gateway_count() const { return static_cast<int>(gateways_.size()); }
  int http_port(int i) const { return gateways_[i]->http_port(); }
  // A new connection to gateway i, signing with kSecret.
  HttpTestClient GatewayClient(int i, absl::Duration timeout = absl::Seconds(60));

  // Every process's log so far (nats-servers, replicas, gateways).
  std::string Logs();

 private:
  struct Replica {
    std::unique_ptr<TempDir> data;  // null when the caller gave the folder
    std::string data_dir;
    std::unique_ptr<ServerProcess> process;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::EventStore::Stub> stub;
    std::string last_log;  // what earlier runs logged
  };
  absl::Status StartReplicaProcess(Replica* replica);

  std::unique_ptr<NatsCluster> nats_;
  std::vector<std::string> store_flags_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::unique_ptr<TempDir> gateway_dir_;
  std::vector<std::unique_ptr<ServerProcess>> gateways_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_CLUSTER_CLUSTER_DEPLOYMENT_H_
