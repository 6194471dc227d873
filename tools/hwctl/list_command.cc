// hwctl list: the records of one type for one person, newest first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(std::string, from, "",
          "only records starting at or after this date (YYYY-MM-DD, UTC midnight) or time "
          "(RFC 3339, e.g. 2026-07-01T06:00:00+01:00)");
ABSL_FLAG(std::string, to, "",
          "only records starting before this date or time (exclusive; same formats as --from)");
ABSL_FLAG(int, limit, 20, "at most this many records");

namespace healthwire {
namespace hwctl {
namespace {

// The store pages at most this many records per call.
constexpr int kMaxPageSize = 1000;

absl::StatusOr<google::protobuf::Timestamp> ParseDateOrTime(const std::string& flag_name,
                                                            const std::string& text) {
  absl::Time time;
  std::string error;
  absl::CivilDay day;
  if (absl::ParseCivilTime(text, &day)) {
    time = absl::FromCivil(day, absl::UTCTimeZone());
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag_name, ": \"", text, "\" is neither a date (YYYY-MM-DD) nor an RFC 3339 time"));
  }
  google::protobuf::Timestamp timestamp;
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(
      static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return timestamp;
}

int RunList(const ParsedArguments& arguments) {
  const Subcommand& command = ListCommand();
  absl::StatusOr<RecordQuery> query = RecordQueryFromFlags(arguments.positional);
  if (!query.ok()) return UsageError(command, query.status().message());
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 1) return UsageError(command, "--limit must be at least 1");

  v1::ListRecordsRequest request;
  *request.mutable_subject() = query->subject;
  request.set_type(query->type);
  request.set_omit_raw_json(true);
  if (!absl::GetFlag(FLAGS_from).empty()) {
    absl::StatusOr<google::protobuf::Timestamp> from =
        ParseDateOrTime("from", absl::GetFlag(FLAGS_from));
    if (!from.ok()) return UsageError(command, from.status().message());
    *request.mutable_start_time_from() = *from;
  }
  if (!absl::GetFlag(FLAGS_to).empty()) {
    absl::StatusOr<google::protobuf::Timestamp> to = ParseDateOrTime("to", absl::GetFlag(FLAGS_to));
    if (!to.ok()) return UsageError(command, to.status().message());
    *request.mutable_start_time_to() = *to;
  }

  StoreConnection store = ConnectToStore();
  const bool json = absl::GetFlag(FLAGS_json);
  int printed = 0;
  bool more = false;
  do {
    request.set_page_size(std::min(limit - printed, kMaxPageSize));
    grpc::ClientContext context;
    SetUnaryDeadline(&context);
    v1::ListRecordsResponse response;
    const grpc::Status status = store.stub->ListRecords(&context, request, &response);
    if (!status.ok()) return ReportRpcError(status, store.address);
    for (const v1::Event& event : response.events()) {
      if (json) {
        absl::StatusOr<std::string> line = ToJsonLine(event);
        if (!line.ok()) return Fail(kExitServerError, line.status().message());
        std::printf("%s\n", line->c_str());
      } else {
        std::printf("%s\n", RecordLine(event).c_str());
      }
      ++printed;
    }
    request.set_page_token(response.next_page_token());
    more = !response.next_page_token().empty();
  } while (more && printed < limit);

  if (printed == 0) {
    std::fprintf(stderr, "hwctl: no %s records for %s\n", EventTypeName(query->type).c_str(),
                 DescribeSubject(query->subject).c_str());
  } else if (more) {
    std::fprintf(stderr, "hwctl: showing the newest %d; there are more (raise --limit)\n", printed);
  }
  return kExitOk;
}

}  // namespace

const Subcommand& ListCommand() {
  static const Subcommand* const command = new Subcommand{
      "list",
      "(--user ID | --reference REF) --type TYPE [--from DATE] [--to DATE] [--limit N] [--json]",
      "List records of one type, newest start time first.",
      "One line per record: start time, key, revision and the type's key fields; with\n"
      "--json one JSON object per line. An empty list is not an error (exit 0).",
      {"user", "reference", "type", "from", "to", "limit", "json", "store", "timeout"},
      &RunList,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
