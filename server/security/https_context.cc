#include "server/security/https_context.h"

#include <boost/asio/buffer.hpp>

#include "absl/strings/str_cat.h"
#include "server/security/pem_files.h"

namespace healthwire {

absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeHttpsContext(
    const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
    const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, " and ", key_flag, " go together: give both or neither"));
  }
  absl::StatusOr<std::string> cert = ReadPemCertificates(cert_flag, cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemPrivateKey(key_flag, key_file);
  if (!key.ok()) return key.status();
  if (absl::Status match = CheckKeyMatchesCertificate(cert_flag, *cert, key_flag, *key);
      !match.ok()) {
    return match;
  }
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  context->use_certificate_chain(boost::asio::buffer(*cert), ec);
  if (!ec) context->use_private_key(boost::asio::buffer(*key), ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, "/", key_flag, ": OpenSSL refused them: ", ec.message()));
  }
  return context;
}

}  // namespace healthwire
