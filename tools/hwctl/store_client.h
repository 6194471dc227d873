// hwctl's connection to the healthwire store (the EventStore gRPC service),
// and how a failed call becomes one line for the user plus an exit code.
//
// Thread-safe: the stub may be shared; ReportRpcError only writes to stderr.
#ifndef HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_
#define HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"

ABSL_DECLARE_FLAG(int64_t, max_receive_mb);

namespace healthwire {
namespace hwctl {

struct StoreConnection {
  std::string address;  // as given by --store
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::EventStore::Stub> stub;
};

// A channel and stub for --store (TLS, client certificate and bearer token
// from --tls_ca/--tls_cert/--tls_key/--token_file), receiving messages up to
// ReceiveLimitBytes() (by default the largest the store sends, so every
// record fits) and reconnecting within 2 s once the store is back.
// Connecting is lazy: a store that is not there shows up as the first call's
// UNAVAILABLE.
StoreConnection ConnectToStore();

// InvalidArgument (a usage message naming the flag) unless --tls_ca,
// --tls_cert, --tls_key and --token_file make usable credentials.
absl::Status CheckStoreSecurityFlags();

// --max-receive-mb in bytes: the largest message hwctl accepts from the store.
int ReceiveLimitBytes();

// InvalidArgument (a usage message) unless --max-receive-mb is within
// 1..kMaxGrpcMessageBytes in MiB.
absl::Status CheckReceiveLimitFlag();

// Whether `status` says a message was larger than a gRPC size limit (this
// client's receive limit, or the store's send limit): RESOURCE_EXHAUSTED
// with gRPC's "larger than max" message.
bool IsMessageTooLarge(const grpc::Status& status);

// The store's current revision, from an empty ListRecords (the store has no
// status RPC; every read reports the revision it read at).
absl::StatusOr<uint64_t> CurrentStoreRevision(StoreConnection& store);

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
//   RESOURCE_EXHAUSTED     "... larger than the receive limit (N MiB) ..."   1
//     (a message over a size limit)
//   anything else          "the store refused the request (<CODE>): <message>"   1
int ReportRpcError(const grpc::Status& status, absl::string_view store_address);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_STORE_CLIENT_H_
