#include "server/security/grpc_client_channel.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_interceptor.h"
#include <vector>
#include "server/security/pem_files.h"

namespace healthwire {
namespace {

// Adds the bearer token to every call's initial metadata. An interceptor
// rather than call credentials: gRPC refuses call credentials on a plaintext
// channel, and a token over loopback (or a tunnel) is legitimate; the store
// decides what it accepts.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;
};

class BearerTokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;
};

absl::StatusOr<std::string> ReadToken(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, "=", path, ": cannot read it"));
  std::string line;
  std::getline(in, line);
  const std::string token(absl::StripAsciiWhitespace(line));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, "=", path, ": its first line is empty"));
  }
  return token;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> BuildGrpcClientCredentials(
    const GrpcClientSecurity& security) {
  const std::string ca_flag = security.flag_prefix + "ca";
  const std::string cert_flag = security.flag_prefix + "cert";
  const std::string key_flag = security.flag_prefix + "key";
  if (security.cert_file.empty() != security.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, " and ", key_flag, " go together: give both or neither"));
  }
  if (!security.cert_file.empty() && security.ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        cert_flag, " needs ", ca_flag, " (the CA of the store's certificate): a client "
        "certificate is only sent over TLS"));
  }
  std::shared_ptr<grpc::ChannelCredentials> channel;
  if (security.ca_file.empty()) {
    channel = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    absl::StatusOr<std::string> ca = ReadPemCertificates(ca_flag, security.ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    if (!security.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadPemCertificates(cert_flag, security.cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPemPrivateKey(key_flag, security.key_file);
      if (!key.ok()) return key.status();
      if (absl::Status match = CheckKeyMatchesCertificate(cert_flag, *cert, key_flag, *key);
          !match.ok()) {
        return match;
      }
      options.pem_cert_chain = *std::move(cert);
      options.pem_private_key = *std::move(key);
    }
    channel = grpc::SslCredentials(options);
  }
  if (!security.token_file.empty()) {
    // Checked here so a bad token file is a usage error before any call.
    absl::StatusOr<std::string> token = ReadToken(security.token_flag, security.token_file);
    if (!token.ok()) return token.status();
  }
  return channel;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateStoreChannel(
    const std::string& address, const GrpcClientSecurity& security,
    const grpc::ChannelArguments& args) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      BuildGrpcClientCredentials(security);
  if (!credentials.ok()) return credentials.status();
  if (security.token_file.empty()) return grpc::CreateCustomChannel(address, *credentials, args);
  absl::StatusOr<std::string> token = ReadToken(security.token_flag, security.token_file);
  if (!token.ok()) return token.status();
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(*token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, *credentials, args,
                                                                 std::move(interceptors));
}

}  // namespace healthwire
