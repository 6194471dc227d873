// hwctl watch: follow the store's change stream, one line per update, until
// Ctrl-C; then say where to resume.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/record_summary.h"
#include "tools/hwctl/store_client.h"

ABSL_FLAG(uint64_t, from_revision, 0,
          "replay every matching change from this revision (inclusive), then continue live; "
          "without it, only changes from now on");

namespace healthwire {
namespace hwctl {
namespace {

// How often the store reports its revision while nothing matching happens.
// The reports let a narrowly filtered watch still say exactly where to
// resume, and the first one tells the user the stream is live.
constexpr uint32_t kProgressIntervalMs = 1000;

std::vector<std::string> CommaList(const std::string& value) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

// Waits for SIGINT/SIGTERM on its own thread and cancels the stream, so the
// main thread can stay blocked in Read. The signals must be blocked in every
// thread (BlockTerminationSignals before gRPC starts any) for sigtimedwait to
// be the one that receives them.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(grpc::ClientContext* context) : context_(context) {
    thread_ = std::thread([this] { Run(); });
  }
  ~InterruptWatcher() { Stop(); }

  static void BlockTerminationSignals() {
    sigset_t signals = TerminationSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  }

  // Ends the watcher thread; idempotent.
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  bool interrupted() const { return interrupted_.load(); }

 private:
  static sigset_t TerminationSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    return signals;
  }

  void Run() {
    const sigset_t signals = TerminationSignals();
    // Polls so that Stop() is noticed without sending ourselves a signal.
    const timespec poll = {0, 200 * 1000 * 1000};
    while (!stop_.load()) {
      if (sigtimedwait(&signals, nullptr, &poll) > 0) {
        interrupted_.store(true);
        context_->TryCancel();
        return;
      }
    }
  }

  grpc::ClientContext* const context_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

void PrintResumeLine(std::optional<uint64_t> last_revision, std::optional<uint64_t> from_revision) {
  if (last_revision.has_value()) {
    std::fprintf(stderr, "last revision: %llu (resume with --from-revision %llu)\n",
                 static_cast<unsigned long long>(*last_revision),
                 static_cast<unsigned long long>(*last_revision + 1));
  } else if (from_revision.has_value()) {
    std::fprintf(stderr, "last revision: none seen (resume with --from-revision %llu)\n",
                 static_cast<unsigned long long>(*from_revision));
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
  v1::StreamUpdatesRequest request;
  for (const std::string& name : CommaList(absl::GetFlag(FLAGS_type))) {
    absl::StatusOr<v1::EventType> type = ParseEventType(name);
    if (!type.ok()) return UsageError(command, type.status().message());
    request.add_types(*type);
  }
  for (const std::string& user : CommaList(absl::GetFlag(FLAGS_user))) request.add_user_ids(user);
  for (const std::string& reference : CommaList(absl::GetFlag(FLAGS_reference))) {
    request.add_reference_ids(reference);
  }
  std::optional<uint64_t> from_revision;
  if (arguments.Specified("from_revision")) {
    from_revision = absl::GetFlag(FLAGS_from_revision);
    request.set_start_revision(*from_revision);
  }
  request.set_progress_interval_ms(kProgressIntervalMs);
  const bool json = absl::GetFlag(FLAGS_json);

  // Before gRPC starts its threads, so they inherit the blocked mask.
  InterruptWatcher::BlockTerminationSignals();
  StoreConnection store = ConnectToStore();
  grpc::ClientContext context;
  InterruptWatcher watcher(&context);

  // The highest revision the stream has accounted for: the last update, or a
  // progress report saying nothing matched up to there.
  std::optional<uint64_t> last_revision;
  bool announced_live = false;
  std::unique_ptr<grpc::ClientReader<v1::StreamUpdatesResponse>> reader =
      store.stub->StreamUpdates(&context, request);
  v1::StreamUpdatesResponse response;
  while (reader->Read(&response)) {
    if (response.has_update()) {
      const v1::Event& event = response.update();
      last_revision = std::max(last_revision.value_or(0), event.revision());
      if (json) {
        absl::StatusOr<std::string> line = ToJsonLine(event);
        std::printf("%s\n", line.ok() ? line->c_str() : UpdateLine(event).c_str());
      } else {
        std::printf("%s\n", UpdateLine(event).c_str());
      }
      std::fflush(stdout);
    } else if (response.kind_case() == v1::StreamUpdatesResponse::kProgressRevision) {
      last_revision = std::max(last_revision.value_or(0), response.progress_revision());
      if (!announced_live) {
        std::fprintf(stderr,
                     "hwctl: watching; up to date at store revision %llu (Ctrl-C to stop)\n",
                     static_cast<unsigned long long>(response.progress_revision()));
        announced_live = true;
      }
    }
  }
  const grpc::Status status = reader->Finish();
  watcher.Stop();

  if (watcher.interrupted()) {
    PrintResumeLine(last_revision, from_revision);
    return kExitOk;
  }
  const int code = status.ok() ? Fail(kExitServerError, "the store ended the stream")
                               : ReportRpcError(status, store.address);
  PrintResumeLine(last_revision, from_revision);
  return code;
}

}  // namespace

const Subcommand& WatchCommand() {
  static const Subcommand* const command = new Subcommand{
      "watch",
      "[--from-revision N] [--type T[,T...]] [--user ID[,ID...]] [--reference REF[,...]] [--json]",
      "Print every update the store commits, one line each, as it arrives.",
      "Each line: revision, type, user, record key and a short summary (--json: the event as\n"
      "one JSON object per line). Ctrl-C stops cleanly (exit 0) and prints the last revision\n"
      "seen, so the next run can resume without missing anything:\n"
      "  last revision: N (resume with --from-revision N+1)\n"
      "Status lines go to stderr; stdout carries only updates.",
      {"from_revision", "type", "user", "reference", "json", "store"},
      &RunWatch,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
