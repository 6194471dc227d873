// healthwire's release version, defined once for every binary's --version
// (the servers, hwctl, the example subscriber, the benchmarks).
//
// Bump kVersion with every release that changes behaviour a user can see
// (flags, API, status codes); the git revision is what identifies a build in
// between. A header of constants only.
#ifndef HEALTHWIRE_TOOLS_BUILD_DEFS_VERSION_H_
#define HEALTHWIRE_TOOLS_BUILD_DEFS_VERSION_H_

#include <string>

namespace healthwire {

inline constexpr char kVersion[] = "0.3.0";

// "<program> 0.3.0\n": what --version prints.
inline std::string VersionLine(const std::string& program) {
  return program + " " + kVersion + "\n";
}

}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_BUILD_DEFS_VERSION_H_
