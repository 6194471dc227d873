// hwctl latest: the newest record of one type for one person.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(bool, raw, false,
          "print the record's JSON exactly as Terra sent it (the bytes healthwire stored)");

namespace healthwire {
namespace hwctl {
namespace {

int RunLatest(const ParsedArguments& arguments) {
  const Subcommand& command = LatestCommand();
  absl::StatusOr<RecordQuery> query = RecordQueryFromFlags(arguments.positional);
  if (!query.ok()) return UsageError(command, query.status().message());
  const bool raw = absl::GetFlag(FLAGS_raw);
  if (raw && absl::GetFlag(FLAGS_json))
    return UsageError(command, "give --json or --raw, not both");

  v1::GetLatestRequest request;
  *request.mutable_subject() = query->subject;
  request.set_type(query->type);
  request.set_omit_raw_json(!raw);

  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  v1::GetLatestResponse response;
  const grpc::Status status = store.stub->GetLatest(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, store.address);

  if (raw) {
    std::fwrite(response.event().raw_json().data(), 1, response.event().raw_json().size(), stdout);
    std::fputc('\n', stdout);
  } else if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonLine(response.event());
    if (!json.ok()) return Fail(kExitServerError, json.status().message());
    std::printf("%s\n", json->c_str());
  } else {
    std::printf("%s", DetailedSummary(response.event(), response.store_revision()).c_str());
  }
  return kExitOk;
}

}  // namespace

const Subcommand& LatestCommand() {
  static const Subcommand* const command = new Subcommand{
      "latest",
      "(--user ID | --reference REF) --type TYPE [--json | --raw]",
      "Show the newest record of one type (the greatest start time, not the last received).",
      "Without --json: a readable summary (the type's key fields, revision, when it was\n"
      "received). --json: the stored event as one line of JSON, Terra's field names.\n" +
          std::string(kDataTypesHelp),
      {"user", "reference", "type", "json", "raw", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout"},
      &RunLatest,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
