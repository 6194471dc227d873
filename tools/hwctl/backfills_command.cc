// hwctl backfills: backfills (GetBackfill / ListBackfills) and the
// s3_payload fetches (ListS3Fetches), from the store's gRPC API.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(bool, fetches, false, "hwctl backfills: list the s3_payload fetches instead");

namespace healthwire {
namespace hwctl {
namespace {

std::string Lower(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  return absl::AsciiStrToLower(name);
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
                          absl::UTCTimeZone());
}

std::string BackfillText(const v1::Backfill& b) {
  std::string text = absl::StrCat(
      "backfill ", b.reference(), "\n  state:    ",
      Lower(v1::Backfill::State_Name(b.state()), "STATE_"), "\n  user:     ",
      b.user_id().empty() ? "-" : b.user_id(), "\n  payloads: ", b.received_payloads(), " of ",
      b.expected_payloads() == 0 ? std::string("?") : absl::StrCat(b.expected_payloads()),
      b.redelivered_payloads() > 0 ? absl::StrCat(" (", b.redelivered_payloads(), " re-delivered)")
                                   : "",
      "\n  chunks:   ", b.chunks_size() == 0 ? "-" : absl::StrJoin(b.chunks(), ","), "\n");
  if (b.has_first_payload_at()) {
    absl::StrAppend(&text, "  arrived:  ", TimeText(b.first_payload_at()), " .. ",
                    TimeText(b.last_payload_at()), "\n");
  }
  if (b.first_revision() != 0) {
    absl::StrAppend(&text, "  revisions: ", b.first_revision(), "..", b.last_revision(), "\n");
  }
  if (b.complete_revision() != 0) {
    absl::StrAppend(&text, "  complete: ", TimeText(b.completed_at()), " (revision ",
                    b.complete_revision(), ")\n");
  }
  return text;
}

std::string FetchText(const v1::S3Fetch& f) {
  std::string text = absl::StrCat("ping ", f.ping_revision(), ": ",
                                  Lower(v1::S3Fetch::State_Name(f.state()), "STATE_"), " ",
                                  f.url(), " (", f.attempts(), " attempt(s)");
  if (f.state() == v1::S3Fetch::STATE_FETCHED && f.first_revision() != 0) {
    absl::StrAppend(&text, ", ", f.fetched_type(), " revisions ", f.first_revision(), "..",
                    f.last_revision());
  }
  absl::StrAppend(&text, ")");
  if (!f.last_error().empty()) absl::StrAppend(&text, ": ", f.last_error());
  return text + "\n";
}

int PrintJsonOr(const google::protobuf::Message& response, const std::string& text) {
  if (absl::GetFlag(FLAGS_json)) {
    absl::StatusOr<std::string> json = ToJsonLine(response);
    if (!json.ok()) return Fail(kExitServerError, json.status().message());
    std::printf("%s\n", json->c_str());
  } else {
    std::printf("%s", text.c_str());
  }
  return kExitOk;
}

int RunBackfills(const ParsedArguments& arguments) {
  const Subcommand& command = BackfillsCommand();
  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  SetUnaryDeadline(&context);
  if (absl::GetFlag(FLAGS_fetches)) {
    v1::ListS3FetchesRequest request;
    request.set_page_size(1000);
    v1::ListS3FetchesResponse response;
    const grpc::Status status = store.stub->ListS3Fetches(&context, request, &response);
    if (!status.ok()) return ReportRpcError(status, store.address);
    std::string text;
    for (const v1::S3Fetch& fetch : response.fetches()) text += FetchText(fetch);
    if (response.fetches_size() == 0) text = "no s3_payload pings\n";
    return PrintJsonOr(response, text);
  }
  if (arguments.positional.size() == 1) {  // one reference
    v1::GetBackfillRequest request;
    request.set_reference(arguments.positional[0]);
    v1::GetBackfillResponse response;
    const grpc::Status status = store.stub->GetBackfill(&context, request, &response);
    if (!status.ok()) return ReportRpcError(status, store.address);
    return PrintJsonOr(response, BackfillText(response.backfill()));
  }
  if (arguments.positional.size() > 1) return UsageError(command, "give one REFERENCE");
  const std::string user = absl::GetFlag(FLAGS_user);
  const std::string reference_id = absl::GetFlag(FLAGS_reference);
  if (user.empty() == reference_id.empty()) {
    return UsageError(command, "give a backfill REFERENCE, or exactly one of --user / --reference");
  }
  v1::ListBackfillsRequest request;
  if (!user.empty()) {
    request.mutable_subject()->set_user_id(user);
  } else {
    request.mutable_subject()->set_reference_id(reference_id);
  }
  v1::ListBackfillsResponse response;
  const grpc::Status status = store.stub->ListBackfills(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, store.address);
  std::string text;
  for (const v1::Backfill& backfill : response.backfills()) {
    if (!text.empty()) text += "\n";
    text += BackfillText(backfill);
  }
  if (response.backfills_size() == 0) text = "no backfills\n";
  return PrintJsonOr(response, text);
}

}  // namespace

const Subcommand& BackfillsCommand() {
  static const Subcommand* const command = new Subcommand{
      "backfills",
      "REFERENCE | --user ID | --reference REF | --fetches [--json]",
      "Show backfills (expected/received payloads, chunks, state) or s3_payload fetches.",
      "REFERENCE is a backfill's terra-reference (large_request_sending's reference).\n"
      "A backfill is complete when every expected payload was stored, stalled when\n"
      "nothing arrived for the store's --backfill_stall_after. --fetches lists every\n"
      "s3_payload ping with its fetch state (pending, fetched, failed and why).",
      {"user", "reference", "fetches", "json", "store", "tls_ca", "tls_cert", "tls_key",
       "token_file", "timeout"},
      &RunBackfills,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
