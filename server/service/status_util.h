// Conversions between absl::Status (used inside healthwire) and grpc::Status
// (on the wire). The canonical codes are the same numbers in both.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_SERVER_SERVICE_STATUS_UTIL_H_
#define HEALTHWIRE_SERVER_SERVICE_STATUS_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace healthwire {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SERVICE_STATUS_UTIL_H_
