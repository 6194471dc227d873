// GrpcServerSecurity: how the store's gRPC port is protected, from the
// --grpc_tls_cert/--grpc_tls_key/--grpc_client_ca/--grpc_tokens_file flags,
// and the server credentials gRPC listens with.
//
//   none of them        plaintext; only allowed on loopback (listener_policy.h)
//   cert + key          TLS: clients verify the store, traffic is encrypted
//   + client CA         mutual TLS: the handshake refuses clients without a
//                       certificate from that CA
//   tokens file         bearer tokens and roles (access_policy.h)
//
// Pure functions: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_GRPC_SERVER_SECURITY_H_
#define HEALTHWIRE_SERVER_SECURITY_GRPC_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace healthwire {

struct GrpcServerSecurity {
  std::string tls_cert_file;  // PEM certificate chain
  std::string tls_key_file;   // PEM private key
  std::string client_ca_file;  // PEM CA certificates clients' certificates must chain to
  std::string tokens_file;

  bool tls() const { return !tls_cert_file.empty(); }
  bool mutual_tls() const { return !client_ca_file.empty(); }
  bool authenticates_clients() const { return mutual_tls() || !tokens_file.empty(); }
  // No credentials of any kind: the loopback default, every caller may do
  // everything.
  bool open() const { return !authenticates_clients(); }
};

// InvalidArgument for a half configuration (a cert without its key, a client
// CA without TLS), unreadable or unparsable PEM, or a key that does not
// belong to the certificate; one line naming the flag.
absl::Status ValidateGrpcServerSecurity(const GrpcServerSecurity& security);

// Insecure credentials without TLS; SslServerCredentials otherwise (requiring
// and verifying a client certificate under mutual TLS).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildGrpcServerCredentials(
    const GrpcServerSecurity& security);

// A one-line summary for the start line: "plaintext", "tls", "mtls",
// with "+tokens".
std::string DescribeGrpcServerSecurity(const GrpcServerSecurity& security);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_GRPC_SERVER_SECURITY_H_
