#include "tools/hwctl/store_client.h"

#include <chrono>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/subcommand.h"

namespace healthwire {
namespace hwctl {

StoreConnection ConnectToStore() {
  StoreConnection connection;
  connection.address = absl::GetFlag(FLAGS_store);
  connection.channel = grpc::CreateChannel(connection.address, grpc::InsecureChannelCredentials());
  connection.stub = v1::EventStore::NewStub(connection.channel);
  return connection;
}

void SetUnaryDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout)));
}

std::string ConnectionFailureReason(const grpc::Status& status) {
  const std::string message = absl::AsciiStrToLower(status.error_message());
  if (absl::StrContains(message, "connection refused")) return "connection refused";
  if (absl::StrContains(message, "dns resolution failed") ||
      absl::StrContains(message, "name resolution") ||
      absl::StrContains(message, "domain name not found")) {
    return "cannot resolve the host name";
  }
  if (absl::StrContains(message, "no route to host")) return "no route to host";
  if (absl::StrContains(message, "network is unreachable")) return "network is unreachable";
  if (absl::StrContains(message, "connection reset")) return "connection reset";
  if (absl::StrContains(message, "socket closed")) return "the connection was closed";
  return status.error_message();
}

int ReportRpcError(const grpc::Status& status, absl::string_view store_address) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Fail(kExitCannotConnect, absl::StrCat("cannot reach the store at ", store_address,
                                                   ": ", ConnectionFailureReason(status)));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Fail(kExitCannotConnect,
                  absl::StrCat("the store at ", store_address, " did not answer within ",
                               absl::FormatDuration(absl::GetFlag(FLAGS_timeout))));
    case grpc::StatusCode::NOT_FOUND:
      return Fail(kExitNotFound, status.error_message());
    default:
      return Fail(
          kExitServerError,
          absl::StrCat("the store refused the request (",
                       absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                       "): ", status.error_message()));
  }
}

}  // namespace hwctl
}  // namespace healthwire
