// Deployment: one healthwire deployment made of the real binaries on
// loopback, for end-to-end tests, in either shape README's Deployment section
// describes:
//   kEmbedded  //server:healthwire (gateway + store in one process)
//   kSplit     //server:healthwire_store, and //server:healthwire_gateway
//              --store=<its gRPC address>
// Every process listens on free ports (port 0, learned from --ready_file),
// keeps its data in a TempDir the Deployment owns (reused across restarts, so
// a restarted store finds its data), and is killed when the Deployment is
// destroyed. The Deployment hands out what a test talks to: an
// HttpTestClient for the gateway and a gRPC EventStore stub for the store.
//
// Typical use:
//   Deployment deployment(DeploymentMode::kSplit);
//   ASSERT_TRUE(deployment.Start({"--signing_secret=s"}).ok());
//   HttpTestClient client = deployment.Client(...);
//   deployment.stub()->GetLatest(...);
//
// Not thread-safe to start or stop; stub() and Client() may be used from
// several threads once started (each thread its own client).
#ifndef HEALTHWIRE_TESTS_UTIL_DEPLOYMENT_H_
#define HEALTHWIRE_TESTS_UTIL_DEPLOYMENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/http_test_client.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace testing {

enum class DeploymentMode { kEmbedded, kSplit };

// "Embedded" / "Split": the name suffix for INSTANTIATE_TEST_SUITE_P.
std::string DeploymentModeName(const ::testing::TestParamInfo<DeploymentMode>& info);

class Deployment {
 public:
  explicit Deployment(DeploymentMode mode);
  ~Deployment();

  DeploymentMode mode() const { return mode_; }
  // The store's --data_dir (embedded: the only process's).
  const std::string& data_dir() const { return data_dir_.path(); }
  // The split gateway's --data_dir (its generated secret); unused embedded.
  const std::string& gateway_dir() const { return gateway_dir_.path(); }

  // Starts everything on free ports. `flags` are the gateway's
  // (--signing_secret, --max_body_mb, ...); embedded, the one process gets
  // them. Remembered for StartGateway.
  absl::Status Start(std::vector<std::string> flags = {});

  // Split mode: the store alone, on `grpc_port` (0: a free one).
  absl::Status StartStore(int grpc_port);
  // Split mode: the gateway (with Start's flags) in front of the running store.
  absl::Status StartGateway();

  // The process holding the store (embedded: the only one).
  ServerProcess* store() { return store_.get(); }
  // The process serving HTTP (embedded: the only one).
  ServerProcess* gateway() {
    return mode_ == DeploymentMode::kEmbedded ? store_.get() : gateway_.get();
  }
  // Drops a process the test stopped itself (kills it if it still runs).
  void ForgetStore();
  void ForgetGateway();

  int http_port() { return gateway()->http_port(); }
  // A stub on the store's gRPC port; any message size (records can be 30 MB).
  v1::EventStore::Stub* stub() { return stub_.get(); }
  // A new connection to the gateway's HTTP port.
  HttpTestClient Client(HttpTestClient::Options options = {}) {
    return HttpTestClient(http_port(), std::move(options));
  }

  // Everything the processes logged so far (for failure messages).
  std::string Logs();

 private:
  void ConnectGrpc();

  const DeploymentMode mode_;
  // Declared before the processes: removed only after they are gone.
  const TempDir data_dir_;
  const TempDir gateway_dir_;
  std::vector<std::string> gateway_flags_;
  std::unique_ptr<ServerProcess> store_;
  std::unique_ptr<ServerProcess> gateway_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_DEPLOYMENT_H_
