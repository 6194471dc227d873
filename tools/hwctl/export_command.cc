// hwctl export: records, or the change log, as NDJSON with the raw JSON
// (export_format.h), for backups a person can read, diffs, and `hwctl replay`.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "server/process_util.h"
#include "tools/hwctl/change_follower.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/export_format.h"
#include "tools/hwctl/interrupt_watcher.h"
#include "tools/hwctl/record_pager.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(std::string, output, "", "write the NDJSON to this file instead of standard output");
ABSL_DECLARE_FLAG(std::optional<uint64_t>, from_revision);

namespace healthwire {
namespace hwctl {
namespace {

// Where the lines go: stdout or --output.
class LineSink {
 public:
  absl::Status Open() {
    const std::string path = absl::GetFlag(FLAGS_output);
    if (path.empty()) return absl::OkStatus();
    file_ = std::fopen(ResolveUserPath(path).c_str(), "wb");
    if (file_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  ~LineSink() {
    if (file_ != nullptr) std::fclose(file_);
  }
  // False when the line could not be written (disk full, closed pipe).
  bool Write(const std::string& line) {
    std::FILE* out = file_ != nullptr ? file_ : stdout;
    return std::fwrite(line.data(), 1, line.size(), out) == line.size() &&
           std::fputc('\n', out) != EOF;
  }
  bool Close() {
    std::FILE* out = file_ != nullptr ? file_ : stdout;
    const bool ok = std::fflush(out) == 0 && !std::ferror(out);
    if (file_ != nullptr) {
      const bool closed = std::fclose(file_) == 0;
      file_ = nullptr;
      return ok && closed;
    }
    return ok;
  }

 private:
  std::FILE* file_ = nullptr;
};

// Writes `event` to `sink` as one NDJSON line. False, with the reason in
// `*error`, stops the read that called it.
bool WriteExportLine(const v1::Event& event, LineSink& sink, std::string* error) {
  absl::StatusOr<std::string> line = ExportLine(event);
  if (!line.ok()) {
    *error = std::string(line.status().message());
    return false;
  }
  if (!sink.Write(*line)) {
    *error = "cannot write the output";
    return false;
  }
  return true;
}

int ExportRecords(const Subcommand& command, const ParsedArguments& arguments) {
  std::vector<std::string> rest(arguments.positional.begin() + 1, arguments.positional.end());
  absl::StatusOr<v1::ListRecordsRequest> request = ListRequestFromFlags(rest);
  if (!request.ok()) return UsageError(command, request.status().message());
  LineSink sink;
  if (absl::Status opened = sink.Open(); !opened.ok()) return UsageError(command, opened.message());

  StoreConnection store = ConnectToStore();
  std::string error;
  const PagedRead read = ForEachRecord(store, *request, INT64_MAX, [&](const v1::Event& event) {
    return WriteExportLine(event, sink, &error);
  });
  if (!error.empty()) return Fail(kExitServerError, error);
  if (!read.status.ok()) return ReportRpcError(read.status, store.address);
  if (!sink.Close()) return Fail(kExitServerError, "cannot write the output");
  std::fprintf(stderr, "hwctl: exported %lld %s record(s) of %s (store revision %llu)\n",
               static_cast<long long>(read.records), EventTypeName(request->type()).c_str(),
               DescribeSubject(request->subject()).c_str(),
               static_cast<unsigned long long>(read.store_revision));
  return kExitOk;
}

int ExportChanges(const Subcommand& command, const ParsedArguments& arguments) {
  if (arguments.positional.size() > 1) {
    return UsageError(command, absl::StrCat("unexpected argument \"", arguments.positional[1],
                                            "\""));
  }
  FollowOptions options;
  if (absl::Status filters = StreamFiltersFromFlags(&options.request); !filters.ok()) {
    return UsageError(command, filters.message());
  }
  options.request.set_include_raw_json(true);
  options.from_revision = absl::GetFlag(FLAGS_from_revision).value_or(1);
  if (*options.from_revision == 0) {
    return UsageError(command, "--from-revision must be at least 1 (revisions start at 1)");
  }
  options.until_caught_up = true;
  options.progress_interval_ms = 200;
  LineSink sink;
  if (absl::Status opened = sink.Open(); !opened.ok()) return UsageError(command, opened.message());

  InterruptWatcher::BlockTerminationSignals();
  StoreConnection store = ConnectToStore();
  ChangeFollower follower(&store, options, [](const std::string& notice) {
    std::fprintf(stderr, "hwctl: %s\n", notice.c_str());
  });
  InterruptWatcher watcher([&follower] { follower.Cancel(); });
  std::string error;
  const FollowResult result = follower.Run([&](const v1::Event& event) {
    return WriteExportLine(event, sink, &error);
  });
  watcher.Stop();
  if (!error.empty()) return Fail(kExitServerError, error);
  if (result.end == FollowEnd::kError) {
    return result.status.ok() ? Fail(kExitServerError, "the store ended the stream")
                              : ReportRpcError(result.status, store.address);
  }
  if (!sink.Close()) return Fail(kExitServerError, "cannot write the output");
  if (result.end == FollowEnd::kInterrupted) {
    std::fprintf(stderr, "hwctl: interrupted after %lld change(s); resume with --from-revision %llu\n",
                 static_cast<long long>(result.updates),
                 static_cast<unsigned long long>(result.resume_revision));
    return kExitOk;
  }
  std::fprintf(stderr,
               "hwctl: exported %lld change(s), revisions %llu..%llu (the store's revision at the "
               "start)%s\n",
               static_cast<long long>(result.updates),
               static_cast<unsigned long long>(*options.from_revision),
               static_cast<unsigned long long>(result.start_store_revision),
               result.skipped.empty()
                   ? ""
                   : absl::StrCat("; skipped ", result.skipped.size(), " too large").c_str());
  return kExitOk;
}

int RunExport(const ParsedArguments& arguments) {
  const Subcommand& command = ExportCommand();
  if (arguments.positional.empty()) return UsageError(command, "give records or changes");
  if (arguments.positional[0] == "records") return ExportRecords(command, arguments);
  if (arguments.positional[0] == "changes") {
    if (!absl::GetFlag(FLAGS_from).empty() || !absl::GetFlag(FLAGS_to).empty()) {
      return UsageError(command, "--from/--to select records; changes take --from-revision");
    }
    return ExportChanges(command, arguments);
  }
  return UsageError(command, absl::StrCat("unknown kind \"", arguments.positional[0],
                                          "\" (give records or changes)"));
}

}  // namespace

const Subcommand& ExportCommand() {
  static const Subcommand* const command = new Subcommand{
      "export",
      "records (--user ID | --reference REF) --type TYPE [--from D] [--to D] | "
      "changes [--from-revision N] [--type T,...] [--user ID,...] [--reference REF,...] "
      "[--output FILE]",
      "Write records, or the change log, as NDJSON with each record's raw JSON.",
      "records: every record of one type of one person, newest first (paged to fit the\n"
      "receive limit). changes: every change from --from-revision (default 1) up to the\n"
      "store's revision at the start, in revision order, then exit.\n"
      "Each line is the event as protobuf JSON (Terra's field names, enums as numbers)\n"
      "plus \"raw\": the record exactly as received, embedded as JSON (jq .raw). `hwctl\n"
      "replay FILE --url URL` posts the lines again, signed, e.g. to a staging instance.\n" +
          std::string(kDataTypesHelp),
      {"user", "reference", "type", "from", "to", "from_revision", "output", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout",
       "max_receive_mb"},
      &RunExport,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
