// RemoteIngestor: the gateway's Ingestor in the split deployment; commits
// through a healthwire_store's Ingest RPC.
//
// Uses gRPC's callback stub, so no gateway thread waits on the network. Each
// call carries the gateway's ingest deadline; the channel reconnects on its
// own after the store restarts, and calls in between fail fast with
// Unavailable (the gateway answers 503, Terra retries).
//
// CheckReady is OK only while the channel is connected and the store answered
// its last gRPC health check (every second, 1 s deadline): a watcher thread
// keeps the channel connecting, probes and caches the result, so CheckReady
// never blocks and a hung store turns /readyz 503 within about 2 s.
//
// Thread-safe.
#ifndef HEALTHWIRE_SERVER_INGEST_REMOTE_INGESTOR_H_
#define HEALTHWIRE_SERVER_INGEST_REMOTE_INGESTOR_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/ingest/ingestor.h"
#include "server/security/grpc_client_channel.h"

namespace healthwire {

class RemoteIngestor final : public Ingestor {
 public:
  // `store_address` is host:port of a healthwire_store; `security` how to
  // reach it (TLS, client certificate, token: see grpc_client_channel.h).
  // InvalidArgument for unusable credentials (one line naming the flag).
  static absl::StatusOr<std::unique_ptr<RemoteIngestor>> Create(
      const std::string& store_address, const GrpcClientSecurity& security = {});
  ~RemoteIngestor() override;

  void Ingest(std::vector<v1::Event> events, absl::Time deadline, Callback done) override;
  absl::Status CheckReady() override;
  uint64_t CurrentRevision() override { return last_revision_.load(); }

 private:
  RemoteIngestor(const std::string& store_address, std::shared_ptr<grpc::Channel> channel);

  const std::string store_address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> stub_;
  std::atomic<uint64_t> last_revision_{0};
  // How long past the ingest deadline the answer of a commit that was sent
  // in time is awaited (below the gateway's own 2 s).
  static constexpr absl::Duration kCommitGrace = absl::Milliseconds(1500);
  static constexpr absl::Duration kHealthProbeInterval = absl::Seconds(1);
  static constexpr absl::Duration kHealthProbeDeadline = absl::Seconds(1);

  absl::Mutex health_mu_;
  absl::Status health_ ABSL_GUARDED_BY(health_mu_) =
      absl::UnavailableError("the store has not been reached yet");
  std::atomic<bool> stopping_{false};
  std::thread watcher_;

  void WatchConnectivity();
  absl::Status ProbeHealth();
  void SetHealth(absl::Status health);
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_INGEST_REMOTE_INGESTOR_H_
