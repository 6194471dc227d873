#include "tests/util/deployment.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace testing {
namespace {

constexpr char kEmbeddedBinary[] = "server/healthwire";
constexpr char kStoreBinary[] = "server/healthwire_store";
constexpr char kGatewayBinary[] = "server/healthwire_gateway";

}  // namespace

std::string DeploymentModeName(const ::testing::TestParamInfo<DeploymentMode>& info) {
  return info.param == DeploymentMode::kEmbedded ? "Embedded" : "Split";
}

Deployment::Deployment(DeploymentMode mode)
    : mode_(mode), data_dir_("store-data"), gateway_dir_("gw-data") {}

Deployment::~Deployment() {
  // Gateway first: it must not see its store vanish under a request.
  gateway_.reset();
  store_.reset();
}

absl::Status Deployment::Start(std::vector<std::string> flags) {
  gateway_flags_ = std::move(flags);
  if (mode_ == DeploymentMode::kEmbedded) {
    std::vector<std::string> args = {"--data_dir=" + data_dir(), "--grpc_port=0", "--http_port=0"};
    args.insert(args.end(), gateway_flags_.begin(), gateway_flags_.end());
    auto process = ServerProcess::Start(kEmbeddedBinary, args);
    if (!process.ok()) return process.status();
    store_ = *std::move(process);
    ConnectGrpc();
    return absl::OkStatus();
  }
  if (absl::Status started = StartStore(0); !started.ok()) return started;
  return StartGateway();
}

absl::Status Deployment::StartStore(int grpc_port) {
  auto process = ServerProcess::Start(
      kStoreBinary, {"--data_dir=" + data_dir(), absl::StrCat("--grpc_port=", grpc_port)});
  if (!process.ok()) return process.status();
  store_ = *std::move(process);
  ConnectGrpc();
  return absl::OkStatus();
}

absl::Status Deployment::StartGateway() {
  std::vector<std::string> args = {"--store=" + store_->grpc_target(),
                                   "--data_dir=" + gateway_dir(), "--http_port=0"};
  args.insert(args.end(), gateway_flags_.begin(), gateway_flags_.end());
  auto process = ServerProcess::Start(kGatewayBinary, args);
  if (!process.ok()) return process.status();
  gateway_ = *std::move(process);
  return absl::OkStatus();
}

void Deployment::ForgetStore() { store_.reset(); }

void Deployment::ForgetGateway() {
  if (mode_ == DeploymentMode::kEmbedded) store_.reset();
  gateway_.reset();
}

std::string Deployment::Logs() {
  std::string logs;
  if (store_ != nullptr) absl::StrAppend(&logs, "--- store/embedded stderr:\n", store_->Stderr());
  if (gateway_ != nullptr) absl::StrAppend(&logs, "--- gateway stderr:\n", gateway_->Stderr());
  return logs;
}

void Deployment::ConnectGrpc() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // GetLatest of a 30 MB record
  channel_ =
      grpc::CreateCustomChannel(store_->grpc_target(), grpc::InsecureChannelCredentials(), args);
  stub_ = v1::EventStore::NewStub(channel_);
}

}  // namespace testing
}  // namespace healthwire
