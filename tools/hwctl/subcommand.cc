#include "tools/hwctl/subcommand.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace hwctl {
namespace {

std::string Dashed(absl::string_view flag_name) {
  return absl::StrReplaceAll(flag_name, {{"_", "-"}});
}

bool Accepts(const Subcommand& subcommand, const std::string& flag_name) {
  return std::find(subcommand.flags.begin(), subcommand.flags.end(), flag_name) !=
         subcommand.flags.end();
}

}  // namespace

absl::StatusOr<ParsedArguments> ParseSubcommandArguments(const Subcommand& subcommand,
                                                         const std::vector<std::string>& args,
                                                         bool* help) {
  *help = false;
  ParsedArguments parsed;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      // "-" alone is a positional argument (stdin).
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      *help = true;
      continue;
    }
    absl::string_view text = arg;
    if (!absl::ConsumePrefix(&text, "--")) absl::ConsumePrefix(&text, "-");
    const size_t equals = text.find('=');
    const bool has_value = equals != absl::string_view::npos;
    std::string name = absl::StrReplaceAll(text.substr(0, equals), {{"-", "_"}});
    std::string value = has_value ? std::string(text.substr(equals + 1)) : "";

    absl::CommandLineFlag* flag =
        Accepts(subcommand, name) ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      // --noflag: a boolean set to false.
      const std::string negated = name.substr(2);
      absl::CommandLineFlag* candidate =
          Accepts(subcommand, negated) ? absl::FindCommandLineFlag(negated) : nullptr;
      if (candidate != nullptr && candidate->IsOfType<bool>()) {
        flag = candidate;
        name = negated;
        value = "false";
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", Dashed(name), " for 'hwctl ", subcommand.name, "'"));
    }
    if (!has_value && value.empty()) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", Dashed(name), " needs a value"));
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", value, "\" for --", Dashed(name), ": ", error));
    }
    parsed.specified_flags.insert(name);
  }
  return parsed;
}

std::string SubcommandUsage(const Subcommand& subcommand) {
  std::string usage = absl::StrCat("Usage: hwctl ", subcommand.name, " ", subcommand.arguments,
                                   "\n\n", subcommand.summary, "\n");
  if (!subcommand.details.empty()) absl::StrAppend(&usage, "\n", subcommand.details, "\n");
  if (!subcommand.flags.empty()) absl::StrAppend(&usage, "\nFlags:\n");
  for (const std::string& name : subcommand.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;  // a programming error; the flag list names a missing flag
    absl::StrAppend(&usage, "  --", Dashed(name), "\n      ", flag->Help());
    const std::string default_value = flag->DefaultValue();
    if (!default_value.empty() && !flag->IsOfType<bool>()) {
      absl::StrAppend(&usage, " (default: ", default_value, ")");
    }
    absl::StrAppend(&usage, "\n");
  }
  absl::StrAppend(&usage, "  --help\n      show this help\n");
  return usage;
}

int UsageError(const Subcommand& subcommand, absl::string_view message) {
  std::fprintf(stderr, "hwctl %s: %.*s\nRun 'hwctl %s --help' for usage.\n",
               subcommand.name.c_str(), static_cast<int>(message.size()), message.data(),
               subcommand.name.c_str());
  return kExitUsage;
}

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "hwctl: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

}  // namespace hwctl
}  // namespace healthwire
