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
#include "tools/hwctl/record_pager.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(int, limit, 20, "at most this many records");

namespace healthwire {
namespace hwctl {
namespace {

int RunList(const ParsedArguments& arguments) {
  const Subcommand& command = ListCommand();
  absl::StatusOr<v1::ListRecordsRequest> request = ListRequestFromFlags(arguments.positional);
  if (!request.ok()) return UsageError(command, request.status().message());
  request->set_omit_raw_json(true);
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 1) return UsageError(command, "--limit must be at least 1");

  StoreConnection store = ConnectToStore();
  const bool json = absl::GetFlag(FLAGS_json);
  std::string print_error;
  const PagedRead read = ForEachRecord(store, *request, limit, [&](const v1::Event& event) {
    if (!json) {
      std::printf("%s\n", RecordLine(event).c_str());
      return true;
    }
    absl::StatusOr<std::string> line = ToJsonLine(event);
    if (!line.ok()) {
      print_error = std::string(line.status().message());
      return false;
    }
    std::printf("%s\n", line->c_str());
    return true;
  });
  if (!print_error.empty()) return Fail(kExitServerError, print_error);
  if (!read.status.ok()) return ReportRpcError(read.status, store.address);

  if (read.records == 0) {
    std::fprintf(stderr, "hwctl: no %s records for %s\n", EventTypeName(request->type()).c_str(),
                 DescribeSubject(request->subject()).c_str());
  } else if (read.more) {
    std::fprintf(stderr, "hwctl: showing the newest %lld; there are more (raise --limit)\n",
                 static_cast<long long>(read.records));
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
      "--json one JSON object per line. An empty list is not an error (exit 0). Pages are\n"
      "sized to fit the receive limit (--max-receive-mb): records of tens of MB list too.\n" +
          std::string(kDataTypesHelp),
      {"user", "reference", "type", "from", "to", "limit", "json", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout",
       "max_receive_mb"},
      &RunList,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
