// hwctl watch: follow the store's change stream, one line per update, until
// Ctrl-C (or --max-messages, or --until-caught-up); then say where to resume.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/hwctl/change_follower.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/interrupt_watcher.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(std::optional<uint64_t>, from_revision, std::nullopt,
          "replay every matching change from this revision (inclusive, revisions start at 1), "
          "then continue live; without it, only changes from now on");
ABSL_FLAG(int64_t, max_messages, 0, "stop after this many updates (0: no limit)");
ABSL_FLAG(bool, until_caught_up, false,
          "stop once every change up to the store's revision at the start has been shown "
          "(with --from-revision: a replay that ends by itself)");
ABSL_FLAG(bool, reconnect, true,
          "after a disconnect or a store restart, reconnect and resume from the last revision "
          "(--noreconnect: exit instead)");

namespace healthwire {
namespace hwctl {
namespace {

void PrintResumeLine(const FollowResult& result) {
  if (!result.skipped.empty()) {
    std::fprintf(stderr, "skipped (too large to receive): revision %s\n",
                 absl::StrJoin(result.skipped, ", ").c_str());
  }
  if (result.last_revision.has_value()) {
    std::fprintf(stderr, "last revision: %llu (resume with --from-revision %llu)\n",
                 static_cast<unsigned long long>(*result.last_revision),
                 static_cast<unsigned long long>(result.resume_revision));
  } else if (result.resume_revision > 0) {
    std::fprintf(stderr, "last revision: none seen (resume with --from-revision %llu)\n",
                 static_cast<unsigned long long>(result.resume_revision));
  } else {
    std::fprintf(stderr, "last revision: none seen\n");
  }
}

int RunWatch(const ParsedArguments& arguments) {
  const Subcommand& command = WatchCommand();
  if (!arguments.positional.empty()) {
    return UsageError(command,
                      absl::StrCat("unexpected argument \"", arguments.positional[0], "\""));
  }
  FollowOptions options;
  if (absl::Status filters = StreamFiltersFromFlags(&options.request); !filters.ok()) {
    return UsageError(command, filters.message());
  }
  options.from_revision = absl::GetFlag(FLAGS_from_revision);
  if (options.from_revision.has_value() && *options.from_revision == 0) {
    return UsageError(command,
                      "--from-revision must be at least 1 (revisions start at 1); leave it out "
                      "to watch only new changes");
  }
  options.max_updates = absl::GetFlag(FLAGS_max_messages);
  if (options.max_updates < 0) return UsageError(command, "--max-messages must not be negative");
  options.until_caught_up = absl::GetFlag(FLAGS_until_caught_up);
  if (options.until_caught_up && !options.from_revision.has_value()) {
    return UsageError(command,
                      "--until-caught-up needs --from-revision (from now on there is nothing to "
                      "catch up on)");
  }
  options.reconnect = absl::GetFlag(FLAGS_reconnect);
  const bool json = absl::GetFlag(FLAGS_json);

  // Before gRPC starts its threads, so they inherit the blocked mask.
  InterruptWatcher::BlockTerminationSignals();
  StoreConnection store = ConnectToStore();
  ChangeFollower follower(&store, options, [](const std::string& notice) {
    std::fprintf(stderr, "hwctl: %s\n", notice.c_str());
  });
  InterruptWatcher watcher([&follower] { follower.Cancel(); });

  const FollowResult result = follower.Run(
      [json](const v1::Event& event) {
        if (json) {
          absl::StatusOr<std::string> line = ToJsonLine(event);
          std::printf("%s\n", line.ok() ? line->c_str() : UpdateLine(event).c_str());
        } else {
          std::printf("%s\n", UpdateLine(event).c_str());
        }
        std::fflush(stdout);
        return true;
      },
      [](uint64_t store_revision) {
        std::fprintf(stderr, "hwctl: watching; up to date at store revision %llu (Ctrl-C to stop)\n",
                     static_cast<unsigned long long>(store_revision));
      });
  watcher.Stop();

  int code = kExitOk;
  if (result.end == FollowEnd::kError) {
    code = result.status.ok() ? Fail(kExitServerError, "the store ended the stream")
                              : ReportRpcError(result.status, store.address);
  }
  PrintResumeLine(result);
  return code;
}

}  // namespace

const Subcommand& WatchCommand() {
  static const Subcommand* const command = new Subcommand{
      "watch",
      "[--from-revision N] [--type T[,T...]] [--user ID[,ID...]] [--reference REF[,...]] "
      "[--json] [--max-messages N] [--until-caught-up] [--noreconnect]",
      "Print every update the store commits, one line each, as it arrives.",
      "Each line: revision, type, user, record key, the record's date, when healthwire\n"
      "received it and a short summary (--json: the event as one JSON object per line).\n"
      "A lost connection or a store restart is resumed on its own from the last revision;\n"
      "an update larger than the receive limit is named and skipped. Ctrl-C stops cleanly\n"
      "(exit 0) and prints the last revision seen, so the next run can resume without\n"
      "missing anything:\n"
      "  last revision: N (resume with --from-revision N+1)\n"
      "Status lines go to stderr; stdout carries only updates.\n" +
          std::string(kDataTypesHelp) +
          "\n--type also takes event types (auth, deauth, user_reauth, ...), comma-separated.",
      {"from_revision", "type", "user", "reference", "json", "max_messages", "until_caught_up",
       "reconnect", "store", "tls_ca", "tls_cert", "tls_key", "token_file", "timeout", "max_receive_mb"},
      &RunWatch,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
