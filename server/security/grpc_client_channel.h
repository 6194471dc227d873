// The one way every healthwire gRPC client (hwctl, the example subscriber,
// the split gateway's RemoteIngestor, the benchmarks, the tests) builds its
// channel to a store, so TLS, client certificates and bearer tokens work the
// same everywhere.
//
//   ca_file            PEM roots that signed the store's certificate: TLS
//                      (empty: plaintext)
//   cert_file/key_file this client's certificate and key (mutual TLS)
//   token_file         a file whose first line is a bearer token, sent as
//                      `authorization: Bearer <token>` on every call
//
// Pure functions: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_GRPC_CLIENT_CHANNEL_H_
#define HEALTHWIRE_SERVER_SECURITY_GRPC_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace healthwire {

struct GrpcClientSecurity {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token_file;
  // The flag names used in error lines (hwctl: "--tls_ca", the gateway:
  // "--store_tls_ca", ...).
  std::string flag_prefix = "--tls_";
  std::string token_flag = "--token_file";
};

// Channel credentials for `security` (the token is not part of them: it is
// added by the channel's interceptor, see CreateStoreChannel); InvalidArgument naming the flag for a
// missing or unreadable file, a certificate without its key, or a client
// certificate without a CA.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> BuildGrpcClientCredentials(
    const GrpcClientSecurity& security);

// A channel to `address` with those credentials and `args`, sending the
// token (if any) on every call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateStoreChannel(
    const std::string& address, const GrpcClientSecurity& security,
    const grpc::ChannelArguments& args);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_GRPC_CLIENT_CHANNEL_H_
