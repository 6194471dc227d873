// hwctl user: a connection's status (provider, status, scopes, last webhook),
// from the store's GetUser RPC.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

namespace healthwire {
namespace hwctl {
namespace {

// "deauthorized" for STATUS_DEAUTHORIZED.
std::string StatusName(v1::Connection::Status status) {
  absl::string_view name = v1::Connection::Status_Name(status);
  if (name.empty()) return absl::StrCat("status ", static_cast<int>(status));
  absl::ConsumePrefix(&name, "STATUS_");
  return absl::AsciiStrToLower(name);
}

std::string TimeText(const google::protobuf::Timestamp& timestamp) {
  return absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ",
      absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos()),
      absl::UTCTimeZone());
}

std::string ConnectionText(const v1::Connection& connection) {
  std::vector<std::pair<std::string, std::string>> lines;
  if (!connection.provider().empty()) lines.emplace_back("provider", connection.provider());
  if (!connection.reference_id().empty())
    lines.emplace_back("reference", connection.reference_id());
  std::string status = StatusName(connection.status());
  if (!connection.status_message().empty())
    absl::StrAppend(&status, " (", connection.status_message(), ")");
  lines.emplace_back("status", status);
  lines.emplace_back("scopes", connection.scopes().empty() ? "-" : connection.scopes());
  if (connection.has_last_webhook_at()) {
    std::string last = TimeText(connection.last_webhook_at());
    if (!connection.last_event_type().empty())
      absl::StrAppend(&last, " (", connection.last_event_type(), ")");
    lines.emplace_back("last webhook", last);
  }
  if (connection.has_connected_at())
    lines.emplace_back("connected", TimeText(connection.connected_at()));
  if (!connection.replaced_by_user_id().empty()) {
    lines.emplace_back("replaced by", connection.replaced_by_user_id());
  }
  if (!connection.previous_user_id().empty())
    lines.emplace_back("previous user", connection.previous_user_id());
  lines.emplace_back("revision", absl::StrCat(connection.revision()));

  size_t width = 0;
  for (const auto& [label, value] : lines) width = std::max(width, label.size());
  std::string text = absl::StrCat("connection ", connection.user_id(), "\n");
  for (const auto& [label, value] : lines) {
    absl::StrAppend(&text, "  ", label, ":", std::string(width - label.size() + 1, ' '), value,
                    "\n");
  }
  return text;
}

int RunUser(const ParsedArguments& arguments) {
  const Subcommand& command = UserCommand();
  if (arguments.positional.size() > 1) {
    return UsageError(command, "give one user ID (or --reference REF)");
  }
  const std::string reference = absl::GetFlag(FLAGS_reference);
  if (arguments.positional.empty() == reference.empty()) {
    return UsageError(command, "give exactly one of a user ID or --reference REF");
  }
  v1::GetUserRequest request;
  if (!reference.empty()) {
    request.mutable_subject()->set_reference_id(reference);
  } else {
    request.mutable_subject()->set_user_id(arguments.positional[0]);
  }

  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  v1::GetUserResponse response;
  const grpc::Status status = store.stub->GetUser(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // A store older than the GetUser RPC.
    return Fail(kExitServerError,
                absl::StrCat("the store at ", store.address, " does not support GetUser yet"));
  }
  if (!status.ok()) return ReportRpcError(status, store.address);

  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonLine(response);
    if (!json.ok()) return Fail(kExitServerError, json.status().message());
    std::printf("%s\n", json->c_str());
    return kExitOk;
  }
  for (int i = 0; i < response.connections_size(); ++i) {
    if (i > 0) std::printf("\n");
    std::printf("%s", ConnectionText(response.connections(i)).c_str());
  }
  return kExitOk;
}

}  // namespace

const Subcommand& UserCommand() {
  static const Subcommand* const command = new Subcommand{
      "user",
      "ID | --reference REF [--json]",
      "Show a connection's status: provider, status, scopes, last webhook.",
      "With --reference, every connection of that person. A store without the GetUser RPC\n"
      "is reported as such (exit 1).",
      {"reference", "json", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout"},
      &RunUser,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
