// hwctl: healthwire's command-line client. It uses only healthwire's public
// interfaces, like any user: the EventStore gRPC API and the webhook URL.
//
//   hwctl <command> [flags]      hwctl <command> --help
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/build_defs/version.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/store_client.h"
#include "tools/hwctl/subcommand.h"

namespace healthwire {
namespace hwctl {
namespace {

const std::vector<const Subcommand*>& AllCommands() {
  static const std::vector<const Subcommand*>* const commands =
      new std::vector<const Subcommand*>{&LatestCommand(), &ListCommand(), &WatchCommand(),
                                         &UserCommand(),   &SendCommand(), &SimulateCommand(),
                                         &BackupCommand(), &ExportCommand(), &ReplayCommand(),
                                         &StatusCommand(), &EraseCommand(),
                                         &BackfillsCommand(), &ReplicasCommand()};
  return *commands;
}

std::string MainUsage() {
  std::string usage =
      "hwctl: query and feed a healthwire store.\n"
      "\n"
      "Usage: hwctl <command> [flags]\n"
      "       hwctl <command> --help\n"
      "       hwctl --version\n"
      "\n"
      "Commands:\n";
  for (const Subcommand* command : AllCommands()) {
    absl::StrAppend(&usage, "  ", command->name, std::string(10 - command->name.size(), ' '),
                    command->summary, "\n");
  }
  absl::StrAppend(
      &usage,
      "\n"
      "The store is --store (default 127.0.0.1:50051); webhooks go to --url (default\n"
      "http://127.0.0.1:8080/webhooks/terra), signed with --secret or the secret\n"
      "healthwire generated in --data-dir (default ./healthwire-data).\n"
      "\n"
      "Exit codes:\n"
      "  0  ok\n"
      "  1  the store or the webhook server answered with an error (its message is shown)\n"
      "  2  usage error (bad flags or arguments, missing file or secret)\n"
      "  3  cannot connect to the store or the webhook URL (or no answer in --timeout)\n"
      "  4  not found (the store has no such record)\n");
  return usage;
}

const Subcommand* FindCommand(const std::string& name) {
  for (const Subcommand* command : AllCommands()) {
    if (command->name == name) return command;
  }
  return nullptr;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "%s", MainUsage().c_str());
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "--version" || first == "version") {
    std::printf("%s", VersionLine("hwctl").c_str());
    return kExitOk;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && argc > 2) {
      const Subcommand* command = FindCommand(argv[2]);
      if (command != nullptr) {
        std::printf("%s", SubcommandUsage(*command).c_str());
        return kExitOk;
      }
    }
    std::printf("%s", MainUsage().c_str());
    return kExitOk;
  }
  const Subcommand* command = FindCommand(first);
  if (command == nullptr) {
    std::fprintf(stderr, "hwctl: unknown command \"%s\"\n\n%s", first.c_str(), MainUsage().c_str());
    return kExitUsage;
  }
  bool help = false;
  absl::StatusOr<ParsedArguments> arguments =
      ParseSubcommandArguments(*command, std::vector<std::string>(argv + 2, argv + argc), &help);
  if (help) {
    std::printf("%s", SubcommandUsage(*command).c_str());
    return kExitOk;
  }
  if (!arguments.ok()) return UsageError(*command, arguments.status().message());
  if (absl::Status limit = CheckReceiveLimitFlag(); !limit.ok()) {
    return UsageError(*command, limit.message());
  }
  if (absl::Status security = CheckStoreSecurityFlags(); !security.ok()) {
    return UsageError(*command, security.message());
  }
  return command->run(*arguments);
}

}  // namespace
}  // namespace hwctl
}  // namespace healthwire

int main(int argc, char** argv) { return healthwire::hwctl::Main(argc, argv); }
