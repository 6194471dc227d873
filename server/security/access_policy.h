// AccessPolicy: who may do what on the store's gRPC service, as read from
// --grpc_tokens_file.
//
// The file has one principal per line ('#' comments and blank lines ignored):
//
//   <credential> <name> <roles> [types=<type>,<type>...]
//
//   credential  a bearer token (at least 16 characters, sent by clients as
//               `authorization: Bearer <token>`), or `cert:<id>` for a client
//               certificate (mTLS) whose subject CN or one of whose SANs is <id>
//   name        who this is in the audit log (no spaces)
//   roles       comma-separated: ingest (Ingest), read (GetLatest,
//               ListRecords, GetUser, StreamUpdates, GetStatus, GetBackfill,
//               ListBackfills, ListS3Fetches), admin
//               (CreateCheckpoint, EraseUser)
//   types=      limits `read` to these data types (Terra's names: sleep,
//               activity, daily, body, nutrition, menstruation, athlete, ...)
//
// Tokens are kept only as SHA-256 digests and looked up by digest, so lookup
// time says nothing about a token's bytes.
//
// Immutable after Parse/Load: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_ACCESS_POLICY_H_
#define HEALTHWIRE_SERVER_SECURITY_ACCESS_POLICY_H_

#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

enum class Role { kIngest = 1, kRead = 2, kAdmin = 4 };

// "ingest", "read", "admin".
absl::string_view RoleName(Role role);

// An authenticated caller and what it may do.
struct Principal {
  std::string name;
  // How the caller proved who it is: "token", "cert", or "none" (the open
  // loopback default, where every caller has every role).
  std::string authenticated_by;
  unsigned roles = 0;  // bit set of Role
  // When set, `read` covers only these types.
  std::optional<std::set<v1::EventType>> read_types;

  bool Has(Role role) const { return (roles & static_cast<unsigned>(role)) != 0; }
  static Principal Everything(std::string name, std::string authenticated_by);
};

class AccessPolicy {
 public:
  // Parses the file's contents; InvalidArgument naming the line on a bad one.
  static absl::StatusOr<AccessPolicy> Parse(absl::string_view contents);
  // Reads and parses `path`. Refuses a file others can read (mode o+r): it
  // holds credentials.
  static absl::StatusOr<AccessPolicy> Load(const std::string& path);

  // The principal holding `token`, if any.
  const Principal* FindToken(absl::string_view token) const;
  // The principal listed as `cert:<id>`, if any.
  const Principal* FindCertificate(absl::string_view id) const;

  size_t token_count() const { return by_token_digest_.size(); }
  size_t certificate_count() const { return by_certificate_.size(); }

 private:
  std::unordered_map<std::string, Principal> by_token_digest_;
  std::unordered_map<std::string, Principal> by_certificate_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_ACCESS_POLICY_H_
