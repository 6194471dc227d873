#include "tests/cluster/cluster_deployment.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/message_limits.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"

namespace healthwire {
namespace testing {

ClusterDeployment::~ClusterDeployment() {
  // Gateways and replicas before the log they talk to.
  gateways_.clear();
  for (auto& replica : replicas_) replica->process.reset();
  replicas_.clear();
  nats_.reset();
}

absl::Status ClusterDeployment::Start(int replicas, int gateways,
                                      std::vector<std::string> gateway_flags,
                                      std::vector<std::string> store_flags) {
  absl::StatusOr<std::unique_ptr<NatsCluster>> nats = NatsCluster::Start(3);
  if (!nats.ok()) return nats.status();
  nats_ = *std::move(nats);
  store_flags_ = std::move(store_flags);
  for (int i = 0; i < replicas; ++i) {
    absl::StatusOr<int> added = AddReplica();
    if (!added.ok()) return added.status();
  }
  gateway_dir_ = std::make_unique<TempDir>("gateways");
  for (int i = 0; i < gateways; ++i) {
    std::vector<std::string> args = {
        absl::StrCat("--log=", nats_->UrlsJoined()),
        absl::StrCat("--data_dir=", gateway_dir_->File(absl::StrCat("g", i))),
        "--http_port=0",
        absl::StrCat("--signing_secret=", kSecret),
    };
    args.insert(args.end(), gateway_flags.begin(), gateway_flags.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> gateway =
        ServerProcess::Start("server/healthwire_gateway", std::move(args), absl::Seconds(90));
    if (!gateway.ok()) return gateway.status();
    gateways_.push_back(*std::move(gateway));
  }
  return absl::OkStatus();
}

absl::Status ClusterDeployment::StartReplicaProcess(Replica* replica) {
  std::vector<std::string> args = {
      absl::StrCat("--log=", nats_->UrlsJoined()),
      absl::StrCat("--data_dir=", replica->data_dir),
      "--grpc_port=0",
      "--metrics_port=0",
  };
  args.insert(args.end(), store_flags_.begin(), store_flags_.end());
  // A new cluster elects its JetStream leader first: generous.
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start("server/healthwire_store", std::move(args), absl::Seconds(90));
  if (!process.ok()) return process.status();
  replica->process = *std::move(process);
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  channel_args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  replica->channel = grpc::CreateCustomChannel(replica->process->grpc_target(),
                                               grpc::InsecureChannelCredentials(), channel_args);
  replica->stub = v1::EventStore::NewStub(replica->channel);
  return absl::OkStatus();
}

absl::StatusOr<int> ClusterDeployment::AddReplica(const std::string& data_dir) {
  auto replica = std::make_unique<Replica>();
  if (data_dir.empty()) {
    replica->data = std::make_unique<TempDir>(absl::StrCat("replica", replicas_.size()));
    replica->data_dir = replica->data->path();
  } else {
    replica->data_dir = data_dir;
  }
  if (absl::Status started = StartReplicaProcess(replica.get()); !started.ok()) return started;
  replicas_.push_back(std::move(replica));
  return replica_count() - 1;
}

absl::Status ClusterDeployment::KillReplica(int i, int signal) {
  Replica& replica = *replicas_[i];
  if (replica.process == nullptr) return absl::FailedPreconditionError("replica not running");
  absl::StatusOr<int> stopped = replica.process->Stop(signal);
  absl::StrAppend(&replica.last_log, replica.process->Stderr(), "\n--- (stopped) ---\n");
  replica.stub.reset();
  replica.channel.reset();
  replica.process.reset();
  return stopped.status();
}

absl::Status ClusterDeployment::RestartReplica(int i) {
  return StartReplicaProcess(replicas_[i].get());
}

v1::GetStatusResponse ClusterDeployment::Status(int i, grpc::Status* error) {
  v1::GetStatusResponse response;
  if (replicas_[i]->stub == nullptr) {
    if (error != nullptr) *error = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not running");
    return response;
  }
  std::unique_ptr<grpc::ClientContext> context = RpcContext(absl::Seconds(10));
  grpc::Status status = replicas_[i]->stub->GetStatus(context.get(), {}, &response);
  if (error != nullptr) *error = status;
  return response;
}

bool ClusterDeployment::WaitForSameDigest(uint64_t min_sequence, absl::Duration timeout) {
  return PollUntil(
      [&] {
        std::string digest;
        uint64_t sequence = 0;
        bool first = true;
        for (int i = 0; i < replica_count(); ++i) {
          if (!ReplicaRunning(i)) continue;
          grpc::Status error;
          const v1::GetStatusResponse status = Status(i, &error);
          if (!error.ok() || status.replica().applied_sequence() < min_sequence) return false;
          if (first) {
            digest = status.replica().digest();
            sequence = status.replica().applied_sequence();
            first = false;
          } else if (status.replica().digest() != digest ||
                     status.replica().applied_sequence() != sequence) {
            return false;
          }
        }
        return true;
      },
      timeout, absl::Milliseconds(100));
}

HttpTestClient ClusterDeployment::GatewayClient(int i, absl::Duration timeout) {
  HttpTestClient::Options options;
  options.signing_secret = kSecret;
  options.timeout = timeout;
  return HttpTestClient(http_port(i), options);
}

std::string ClusterDeployment::Logs() {
  std::string logs;
  if (nats_ != nullptr) {
    for (int i = 0; i < nats_->size(); ++i) {
      // The tail only: nats-servers are chatty.
      std::string log = nats_->Log(i);
      if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
      absl::StrAppend(&logs, "=== nats-server ", nats_->Name(i), " ===\n", log, "\n");
    }
  }
  for (int i = 0; i < replica_count(); ++i) {
    absl::StrAppend(&logs, "=== replica ", i, " ===\n", replicas_[i]->last_log,
                    replicas_[i]->process != nullptr ? replicas_[i]->process->Stderr() : "",
                    "\n");
  }
  for (int i = 0; i < gateway_count(); ++i) {
    absl::StrAppend(&logs, "=== gateway ", i, " ===\n", gateways_[i]->Stderr(), "\n");
  }
  return logs;
}

}  // namespace testing
}  // namespace healthwire
