// hwctl's subcommands: what each one is, which flags it takes, and the
// command-line parsing they share.
//
// Flags are ordinary Abseil flags (ABSL_FLAG, in the file that uses them);
// each Subcommand lists the names of the flags it accepts. hwctl parses the
// arguments after the subcommand name itself, against that list only, rather
// than with absl::ParseCommandLine, because:
//   - a flag of another subcommand (`hwctl latest --samples=3`) must be a
//     usage error, not silently accepted;
//   - usage errors must exit with code 2 (ParseCommandLine exits with 1);
//   - `--help` must show this subcommand's flags only.
// Flag names may be spelled with dashes or underscores (`--from-revision`,
// `--from_revision`); `--flag value` and `--flag=value` both work, and
// `--noflag` sets a boolean flag to false.
//
// Not thread-safe: parsing sets global flag values; call it once, from main.
#ifndef HEALTHWIRE_TOOLS_HWCTL_SUBCOMMAND_H_
#define HEALTHWIRE_TOOLS_HWCTL_SUBCOMMAND_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {
namespace hwctl {

// hwctl's exit codes (also listed by `hwctl --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,    // the store or the webhook server refused; its message is shown
  kExitUsage = 2,          // bad command line, or a local file/secret is missing
  kExitCannotConnect = 3,  // the store or the webhook URL cannot be reached
  kExitNotFound = 4,       // the store has no such record
};

// What the command line said besides the flags' values.
struct ParsedArguments {
  std::vector<std::string> positional;
  // Flags given on the command line, by their Abseil name (underscores).
  std::set<std::string> specified_flags;

  bool Specified(absl::string_view flag_name) const {
    return specified_flags.count(std::string(flag_name)) > 0;
  }
};

struct Subcommand {
  std::string name;
  // The arguments part of the usage line, e.g. "(--user ID | --reference REF) --type TYPE".
  std::string arguments;
  // One line for `hwctl --help`.
  std::string summary;
  // Paragraphs for `hwctl <name> --help`; may be empty.
  std::string details;
  // The Abseil flag names (underscores) this subcommand accepts, in the order
  // its --help lists them.
  std::vector<std::string> flags;
  // Runs with the flags already set; returns the exit code.
  int (*run)(const ParsedArguments& arguments) = nullptr;
};

// Parses `args` (everything after the subcommand name) for `subcommand`:
// sets the flags it names and returns the rest. InvalidArgument, with a
// message for the user, for an unknown flag, a missing or malformed value.
// `*help` is set when --help (or -h) is among the arguments; flags before it
// are still parsed.
absl::StatusOr<ParsedArguments> ParseSubcommandArguments(const Subcommand& subcommand,
                                                         const std::vector<std::string>& args,
                                                         bool* help);

// The text `hwctl <name> --help` prints: usage line, details, flags with
// their help and defaults.
std::string SubcommandUsage(const Subcommand& subcommand);

// Prints "hwctl <name>: <message>" and a pointer to --help to stderr; returns
// kExitUsage so callers can `return UsageError(...)`.
int UsageError(const Subcommand& subcommand, absl::string_view message);

// Prints "hwctl: <message>" to stderr; returns `code`.
int Fail(int code, absl::string_view message);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_SUBCOMMAND_H_
