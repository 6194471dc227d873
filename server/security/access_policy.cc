#include "server/security/access_policy.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/convert/record_key.h"

namespace healthwire {
namespace {

// Short tokens can be guessed; 16 characters of a random alphabet are beyond
// any online guessing (`openssl rand -hex 32` gives 64).
constexpr size_t kMinTokenLength = 16;

std::string Digest(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::Status LineError(int line_number, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("tokens file line ", line_number, ": ", what));
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kIngest:
      return "ingest";
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

Principal Principal::Everything(std::string name, std::string authenticated_by) {
  Principal principal;
  principal.name = std::move(name);
  principal.authenticated_by = std::move(authenticated_by);
  principal.roles = static_cast<unsigned>(Role::kIngest) | static_cast<unsigned>(Role::kRead) |
                    static_cast<unsigned>(Role::kAdmin);
  return principal;
}

absl::StatusOr<AccessPolicy> AccessPolicy::Parse(absl::string_view contents) {
  AccessPolicy policy;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 3 || fields.size() > 4) {
      return LineError(line_number,
                       "expected `<token|cert:ID> <name> <roles> [types=a,b]` (the token "
                       "itself is not shown)");
    }
    Principal principal;
    principal.name = std::string(fields[1]);
    for (absl::string_view role : absl::StrSplit(fields[2], ',', absl::SkipEmpty())) {
      if (role == "ingest") {
        principal.roles |= static_cast<unsigned>(Role::kIngest);
      } else if (role == "read") {
        principal.roles |= static_cast<unsigned>(Role::kRead);
      } else if (role == "admin") {
        principal.roles |= static_cast<unsigned>(Role::kAdmin);
      } else {
        return LineError(line_number, absl::StrCat("unknown role \"", role, "\" for ",
                                                   principal.name,
                                                   " (roles: ingest, read, admin)"));
      }
    }
    if (principal.roles == 0) return LineError(line_number, "no roles");
    if (fields.size() == 4) {
      absl::string_view types = fields[3];
      if (!absl::ConsumePrefix(&types, "types=")) {
        return LineError(line_number, "the fourth field must be types=<type>,<type>...");
      }
      if (!principal.Has(Role::kRead)) {
        return LineError(line_number, "types= limits the read role, which is not given");
      }
      principal.read_types.emplace();
      for (absl::string_view name : absl::StrSplit(types, ',', absl::SkipEmpty())) {
        const v1::EventType type = EventTypeFromTerraType(name);
        if (type == v1::EVENT_TYPE_UNKNOWN || type == v1::EVENT_TYPE_UNSPECIFIED) {
          return LineError(line_number,
                           absl::StrCat("unknown type \"", name,
                                        "\" (Terra's names: sleep, activity, daily, ...)"));
        }
        principal.read_types->insert(type);
      }
      if (principal.read_types->empty()) return LineError(line_number, "types= lists no type");
    }
    absl::string_view credential = fields[0];
    if (absl::ConsumePrefix(&credential, "cert:")) {
      if (credential.empty()) return LineError(line_number, "cert: needs the certificate's id");
      principal.authenticated_by = "cert";
      if (!policy.by_certificate_.emplace(std::string(credential), principal).second) {
        return LineError(line_number, absl::StrCat("cert:", credential, " is listed twice"));
      }
    } else {
      if (credential.size() < kMinTokenLength) {
        return LineError(line_number, absl::StrCat("the token of ", principal.name,
                                                   " is shorter than ", kMinTokenLength,
                                                   " characters (try `openssl rand -hex 32`)"));
      }
      principal.authenticated_by = "token";
      if (!policy.by_token_digest_.emplace(Digest(credential), principal).second) {
        return LineError(line_number, absl::StrCat("the token of ", principal.name,
                                                   " is also another line's token"));
      }
    }
  }
  return policy;
}

absl::StatusOr<AccessPolicy> AccessPolicy::Load(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("--grpc_tokens_file ", path, " does not exist"));
  }
  if ((info.st_mode & S_IROTH) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "--grpc_tokens_file ", path, " is readable by every user; chmod 600 it (it holds tokens)"));
  }
  std::ifstream in(path);
  if (!in) return absl::PermissionDeniedError(absl::StrCat("cannot read --grpc_tokens_file ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  absl::StatusOr<AccessPolicy> policy = Parse(contents.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc_tokens_file ", path, ": ", policy.status().message()));
  }
  return policy;
}

const Principal* AccessPolicy::FindToken(absl::string_view token) const {
  auto it = by_token_digest_.find(Digest(token));
  return it == by_token_digest_.end() ? nullptr : &it->second;
}

const Principal* AccessPolicy::FindCertificate(absl::string_view id) const {
  auto it = by_certificate_.find(std::string(id));
  return it == by_certificate_.end() ? nullptr : &it->second;
}

}  // namespace healthwire
