// Authorizer: the one place that decides whether a gRPC call may proceed.
// Every EventStore handler calls Authorize first, with the role its RPC needs
// and the data types the request asks for.
//
// Who the caller is (Authenticate), in this order:
//   - no client authentication configured (the loopback default): everyone
//     may do everything, as "anonymous";
//   - an `authorization: Bearer <token>` header: the token's principal from
//     the tokens file; an unknown token is UNAUTHENTICATED (never falls back
//     to the certificate, so a bad token is noticed);
//   - a verified client certificate (mutual TLS): with a tokens file, the
//     `cert:<id>` line matching its CN or a SAN (no line: no roles); without
//     one, every certificate of the client CA has every role (the CA is the
//     access list);
//   - nothing: UNAUTHENTICATED.
// A call marked as made on behalf of someone else (delegated_call.h: the
// read API's calls) is authenticated by its bearer token only, never by the
// certificate of the connection it came over.
//
// What it may do (Permit): PERMISSION_DENIED naming the role (and the type
// for a type-limited read), never anything stored. A read limited to some
// types may ask only for those: GetLatest/ListRecords of another type are
// denied, and StreamUpdates must list its types, all within the limit (a
// stream without a type filter would carry every type, so it is denied rather
// than silently filtered: the caller learns at once what it may not see).
// GetUser (connection status), GetStatus (store positions), GetBackfill,
// ListBackfills (backfill progress) and ListS3Fetches (ping fetch states),
// holding no health records, need `read` of any scope.
//
// Immutable after Create: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_AUTHORIZER_H_
#define HEALTHWIRE_SERVER_SECURITY_AUTHORIZER_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "healthwire/v1/healthwire.pb.h"
#include "server/security/access_policy.h"
#include "server/security/grpc_server_security.h"

namespace healthwire {

class Authorizer {
 public:
  // Loads the tokens file, if any.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(const GrpcServerSecurity& security);

  // The caller of `context`'s call; UNAUTHENTICATED when it proves nothing.
  absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& context) const;

  // OK when `principal` has `role` (and, for a type-limited read, every type
  // asked for; `types` empty means "every type"); PERMISSION_DENIED otherwise.
  static absl::Status Permit(const Principal& principal, Role role, absl::string_view rpc,
                             const std::vector<v1::EventType>& types);

  // Authenticate, then Permit. On success, the principal.
  absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& context, Role role,
                                      absl::string_view rpc,
                                      const std::vector<v1::EventType>& types) const;

 private:
  Authorizer(const GrpcServerSecurity& security, std::optional<AccessPolicy> policy)
      : security_(security), policy_(std::move(policy)) {}

  const GrpcServerSecurity security_;
  const std::optional<AccessPolicy> policy_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_AUTHORIZER_H_
