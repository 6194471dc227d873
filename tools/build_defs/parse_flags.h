// The command-line start of every tool's main(): --version prints
// VersionLine(program), then Abseil parses the flags (--help included).
// The servers set more of the usage config themselves (server/run_server.cc).
// Call once, from main, before other threads start.
#ifndef HEALTHWIRE_TOOLS_BUILD_DEFS_PARSE_FLAGS_H_
#define HEALTHWIRE_TOOLS_BUILD_DEFS_PARSE_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage_config.h"
#include "tools/build_defs/version.h"

namespace healthwire {

// The positional arguments (argv[0] first), as absl::ParseCommandLine.
inline std::vector<char*> ParseFlagsWithVersion(int argc, char** argv,
                                                const std::string& program) {
  absl::FlagsUsageConfig usage_config;
  usage_config.version_string = [program] { return VersionLine(program); };
  absl::SetFlagsUsageConfig(usage_config);
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_BUILD_DEFS_PARSE_FLAGS_H_
