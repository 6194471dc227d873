#include "server/security/grpc_server_security.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "server/security/pem_files.h"

namespace healthwire {

absl::Status ValidateGrpcServerSecurity(const GrpcServerSecurity& security) {
  if (security.tls_cert_file.empty() != security.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--grpc_tls_cert and --grpc_tls_key go together: give both or neither");
  }
  if (security.mutual_tls() && !security.tls()) {
    return absl::InvalidArgumentError(
        "--grpc_client_ca needs --grpc_tls_cert and --grpc_tls_key (client certificates are "
        "checked in the TLS handshake)");
  }
  if (!security.tls()) return absl::OkStatus();
  absl::StatusOr<std::string> cert = ReadPemCertificates("--grpc_tls_cert", security.tls_cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemPrivateKey("--grpc_tls_key", security.tls_key_file);
  if (!key.ok()) return key.status();
  if (absl::Status match = CheckKeyMatchesCertificate("--grpc_tls_cert", *cert, "--grpc_tls_key", *key);
      !match.ok()) {
    return match;
  }
  if (security.mutual_tls()) {
    absl::StatusOr<std::string> ca = ReadPemCertificates("--grpc_client_ca", security.client_ca_file);
    if (!ca.ok()) return ca.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildGrpcServerCredentials(
    const GrpcServerSecurity& security) {
  if (absl::Status valid = ValidateGrpcServerSecurity(security); !valid.ok()) return valid;
  if (!security.tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.cert_chain = *ReadPemCertificates("--grpc_tls_cert", security.tls_cert_file);
  pair.private_key = *ReadPemPrivateKey("--grpc_tls_key", security.tls_key_file);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (security.mutual_tls()) {
    options.pem_root_certs = *ReadPemCertificates("--grpc_client_ca", security.client_ca_file);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    options.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(options);
}

std::string DescribeGrpcServerSecurity(const GrpcServerSecurity& security) {
  std::string text = security.mutual_tls() ? "mtls" : security.tls() ? "tls" : "plaintext";
  if (!security.tokens_file.empty()) absl::StrAppend(&text, "+tokens");
  return text;
}

}  // namespace healthwire
