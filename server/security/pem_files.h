// Reading and checking the PEM files the TLS flags name, with OpenSSL, so a
// wrong path or a mismatched key is one clear line at start instead of a
// failed handshake later.
//
// Pure functions: thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_PEM_FILES_H_
#define HEALTHWIRE_SERVER_SECURITY_PEM_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// The file's contents; InvalidArgument naming `flag` when it cannot be read
// or holds no PEM certificate.
absl::StatusOr<std::string> ReadPemCertificates(absl::string_view flag, const std::string& path);

// The file's contents; InvalidArgument naming `flag` when it cannot be read
// or holds no PEM private key.
absl::StatusOr<std::string> ReadPemPrivateKey(absl::string_view flag, const std::string& path);

// InvalidArgument unless the first certificate of `cert_pem` belongs to
// `key_pem`.
absl::Status CheckKeyMatchesCertificate(absl::string_view cert_flag, const std::string& cert_pem,
                                        absl::string_view key_flag, const std::string& key_pem);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_PEM_FILES_H_
