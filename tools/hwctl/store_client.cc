#include "tools/hwctl/store_client.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "proto/message_limits.h"
#include "server/process_util.h"
#include "server/security/grpc_client_channel.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/subcommand.h"

ABSL_FLAG(int64_t, max_receive_mb, healthwire::kMaxGrpcMessageBytes >> 20,
          "the largest message hwctl accepts from the store, in MiB (1 up to the default, "
          "which is the largest message the store sends, so every record fits)");

ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA of the store's certificate: talk TLS to the store (its --grpc_tls_cert)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for a store with --grpc_client_ca (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, token_file, "",
          "file whose first line is a bearer token of the store's --grpc_tokens_file");

namespace healthwire {
namespace hwctl {
namespace {

GrpcClientSecurity SecurityFromFlags() {
  auto path = [](const std::string& value) {
    return value.empty() ? value : ResolveUserPath(value);
  };
  GrpcClientSecurity security;
  security.ca_file = path(absl::GetFlag(FLAGS_tls_ca));
  security.cert_file = path(absl::GetFlag(FLAGS_tls_cert));
  security.key_file = path(absl::GetFlag(FLAGS_tls_key));
  security.token_file = path(absl::GetFlag(FLAGS_token_file));
  return security;
}

}  // namespace

absl::Status CheckStoreSecurityFlags() {
  return BuildGrpcClientCredentials(SecurityFromFlags()).status();
}

StoreConnection ConnectToStore() {
  StoreConnection connection;
  connection.address = absl::GetFlag(FLAGS_store);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(ReceiveLimitBytes());
  // A watch reconnects on its own after a store restart: within seconds, not
  // after gRPC's default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // CheckStoreSecurityFlags ran first (main), so the credentials build.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateStoreChannel(connection.address, SecurityFromFlags(), args);
  connection.channel = channel.ok() ? *std::move(channel)
                                    : grpc::CreateCustomChannel(
                                          connection.address, grpc::InsecureChannelCredentials(),
                                          args);
  connection.stub = v1::EventStore::NewStub(connection.channel);
  return connection;
}

int ReceiveLimitBytes() {
  const int64_t mib = absl::GetFlag(FLAGS_max_receive_mb);
  // Checked by CheckReceiveLimitFlag; clamped anyway so gRPC never gets <= 0.
  return static_cast<int>(std::clamp<int64_t>(mib, 1, kMaxGrpcMessageBytes >> 20) << 20);
}

absl::Status CheckReceiveLimitFlag() {
  const int64_t mib = absl::GetFlag(FLAGS_max_receive_mb);
  if (mib < 1 || mib > (kMaxGrpcMessageBytes >> 20)) {
    return absl::InvalidArgumentError(absl::StrCat("--max-receive-mb must be within 1..",
                                                   kMaxGrpcMessageBytes >> 20, " (got ", mib,
                                                   ")"));
  }
  return absl::OkStatus();
}

bool IsMessageTooLarge(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         absl::StrContains(absl::AsciiStrToLower(status.error_message()), "larger than max");
}

absl::StatusOr<uint64_t> CurrentStoreRevision(StoreConnection& store) {
  v1::ListRecordsRequest request;
  // No real user has this id (Terra's are UUIDs): the answer is empty and
  // cheap, and still carries the revision the store read at.
  request.mutable_subject()->set_user_id("~hwctl-revision-probe");
  request.set_type(v1::EVENT_TYPE_SLEEP);
  request.set_page_size(1);
  request.set_omit_raw_json(true);
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  v1::ListRecordsResponse response;
  const grpc::Status status = store.stub->ListRecords(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response.store_revision();
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
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      if (IsMessageTooLarge(status)) {
        return Fail(kExitServerError,
                    absl::StrCat("a message from the store at ", store_address,
                                 " is larger than the receive limit (--max-receive-mb ",
                                 ReceiveLimitBytes() >> 20, "): ", status.error_message()));
      }
      [[fallthrough]];
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
