#include "server/security/listener_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace healthwire {

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  absl::ConsumePrefix(&address, "[");
  absl::ConsumeSuffix(&address, "]");
  const std::string lower = absl::AsciiStrToLower(address);
  if (lower == "localhost" || lower == "::1" || lower == "ip6-localhost") return true;
  // 127.0.0.0/8, written as a dotted quad (not "127" alone, which resolvers
  // read as 0.0.0.127).
  if (absl::StartsWith(lower, "127.") && lower.find_first_not_of("0123456789.") == std::string::npos) {
    return true;
  }
  // IPv4-mapped loopback.
  return absl::StartsWith(lower, "::ffff:127.");
}

absl::Status CheckListenerSecurity(const ListenerSecurity& listener) {
  if (IsLoopbackAddress(listener.address)) return absl::OkStatus();
  if (listener.tls && listener.authenticates_clients) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      listener.address_flag, "=", listener.address, " is not loopback, so it needs ",
      listener.tls ? "" : "TLS and ", "client authentication: set ", listener.how_to_fix,
      " (or bind to 127.0.0.1)"));
}

}  // namespace healthwire
