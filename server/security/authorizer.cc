#include "server/security/authorizer.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpcpp/security/auth_context.h"
#include "server/convert/record_key.h"
#include "server/security/delegated_call.h"

namespace healthwire {
namespace {

std::string TypeList(const std::set<v1::EventType>& types) {
  std::vector<std::string> names;
  for (v1::EventType type : types) names.emplace_back(TerraTypeName(type));
  return absl::StrJoin(names, ",");
}

// The verified certificate's ids: its SANs, then its CN.
std::vector<std::string> CertificateIds(const grpc::AuthContext& auth) {
  std::vector<std::string> ids;
  if (!auth.IsPeerAuthenticated()) return ids;
  for (const char* property : {"x509_subject_alternative_name", "x509_common_name"}) {
    for (const grpc::string_ref& value : auth.FindPropertyValues(property)) {
      ids.emplace_back(value.data(), value.size());
    }
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(
    const GrpcServerSecurity& security) {
  std::optional<AccessPolicy> policy;
  if (!security.tokens_file.empty()) {
    absl::StatusOr<AccessPolicy> loaded = AccessPolicy::Load(security.tokens_file);
    if (!loaded.ok()) return loaded.status();
    policy = *std::move(loaded);
  }
  return std::unique_ptr<Authorizer>(new Authorizer(security, std::move(policy)));
}

absl::StatusOr<Principal> Authorizer::Authenticate(const grpc::ServerContextBase& context) const {
  if (security_.open()) return Principal::Everything("anonymous", "none");

  const auto& metadata = context.client_metadata();
  auto header = metadata.find("authorization");
  if (header != metadata.end() && policy_.has_value()) {
    absl::string_view value(header->second.data(), header->second.size());
    absl::string_view token = value;
    // RFC 6750: the scheme is case-insensitive.
    if (token.size() < 7 || !absl::EqualsIgnoreCase(token.substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError(
          "the authorization header must be `Bearer <token>`");
    }
    token = absl::StripAsciiWhitespace(token.substr(7));
    const Principal* principal = policy_->FindToken(token);
    if (principal == nullptr) return absl::UnauthenticatedError("unknown bearer token");
    return *principal;
  }

  // A call made for someone else (the read API's HTTP client) proves who
  // that is with the forwarded token or not at all: the transport's
  // certificate is the front end's own.
  if (metadata.find(kOnBehalfOfMetadataKey) != metadata.end()) {
    return absl::UnauthenticatedError(
        policy_.has_value()
            ? "no credentials: send `Authorization: Bearer <token>` (a token of "
              "--grpc_tokens_file)"
            : "the store authenticates clients by certificate only (no --grpc_tokens_file), "
              "and a read API client has no certificate: the store needs --grpc_tokens_file");
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  const std::vector<std::string> ids =
      auth != nullptr ? CertificateIds(*auth) : std::vector<std::string>();
  if (!ids.empty()) {
    if (!policy_.has_value()) return Principal::Everything(ids.front(), "cert");
    for (const std::string& id : ids) {
      if (const Principal* principal = policy_->FindCertificate(id)) return *principal;
    }
    // Authenticated, but listed nowhere: no roles, so Permit names the one
    // that is missing.
    Principal unlisted;
    unlisted.name = ids.front();
    unlisted.authenticated_by = "cert";
    return unlisted;
  }
  return absl::UnauthenticatedError(
      security_.tokens_file.empty()
          ? "no client certificate"
          : "no credentials: send `authorization: Bearer <token>` (a token of --grpc_tokens_file)");
}

absl::Status Authorizer::Permit(const Principal& principal, Role role, absl::string_view rpc,
                                const std::vector<v1::EventType>& types) {
  if (!principal.Has(role)) {
    return absl::PermissionDeniedError(absl::StrCat(rpc, " needs the ", RoleName(role),
                                                    " role, which ", principal.name,
                                                    " does not have"));
  }
  if (role != Role::kRead || !principal.read_types.has_value()) return absl::OkStatus();
  const std::set<v1::EventType>& allowed = *principal.read_types;
  if (types.empty()) {
    // Connection status, store positions, backfill progress and s3_payload
    // fetch states hold no health record of any type, so any read scope
    // covers them.
    if (rpc == "GetUser" || rpc == "GetStatus" || rpc == "GetBackfill" ||
        rpc == "ListBackfills" || rpc == "ListS3Fetches") {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(absl::StrCat(
        rpc, " of every type needs the read role for every type; ", principal.name,
        "'s covers only ", TypeList(allowed), " (ask for those types)"));
  }
  for (v1::EventType type : types) {
    if (allowed.count(type) == 0) {
      const absl::string_view name = TerraTypeName(type);
      return absl::PermissionDeniedError(absl::StrCat(
          rpc, " of ", name.empty() ? v1::EventType_Name(type) : std::string(name),
          " needs the read role for that type; ", principal.name, "'s covers only ",
          TypeList(allowed)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Principal> Authorizer::Authorize(const grpc::ServerContextBase& context, Role role,
                                                absl::string_view rpc,
                                                const std::vector<v1::EventType>& types) const {
  absl::StatusOr<Principal> principal = Authenticate(context);
  if (!principal.ok()) return principal;
  if (absl::Status permitted = Permit(*principal, role, rpc, types); !permitted.ok()) {
    return permitted;
  }
  return principal;
}

}  // namespace healthwire
