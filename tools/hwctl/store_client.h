// hwctl's connection to the healthwire store (the EventStore gRPC service),
// and how a failed call becomes one line for the user plus an exit code.
//
// Thread-safe: the stub may be shared; ReportRpcError only writes to stderr.
#ifndef HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_
#define HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "proto/healthwire.grpc.pb.h"

namespace healthwire {
namespace hwctl {

struct StoreConnection {
  std::string address;  // as given by --store
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::EventStore::Stub> stub;
};

// A channel and stub for --store. Connecting is lazy: a store that is not
// there shows up as the first call's UNAVAILABLE.
StoreConnection ConnectToStore();

// A context for one unary call: deadline --timeout from now.
void SetUnaryDeadline(grpc::ClientContext* context);

// Why a connection failed, in a few words, from gRPC's long status message
// ("connection refused", "cannot resolve the host name", ...); the message
// itself when it names no known cause.
std::string ConnectionFailureReason(const grpc::Status& status);

// Prints one line for a failed call to stderr and returns the exit code:
//   UNAVAILABLE            "cannot reach the store at <address>: <reason>"   3
//   DEADLINE_EXCEEDED      "the store at <address> did not answer within <timeout>"   3
//   NOT_FOUND              the store's message                               4
//   anything else          "the store refused the request (<CODE>): <message>"   1
int ReportRpcError(const grpc::Status& status, absl::string_view store_address);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_
