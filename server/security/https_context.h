// The OpenSSL context of an HTTP listener that speaks HTTPS (the webhook
// port: --http_tls_cert/--http_tls_key; the read API:
// --read_api_tls_cert/--read_api_tls_key): TLS 1.2 and newer, the
// certificate chain and key checked at start so a wrong file is one clear
// line naming the flag.
//
// Pure function; the returned context is shared read-only by every session.
#ifndef HEALTHWIRE_SERVER_SECURITY_HTTPS_CONTEXT_H_
#define HEALTHWIRE_SERVER_SECURITY_HTTPS_CONTEXT_H_

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"

namespace healthwire {

// `cert_flag`/`key_flag` name the flags in error lines.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeHttpsContext(
    const std::string& cert_flag, const std::string& cert_file, const std::string& key_flag,
    const std::string& key_file);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_HTTPS_CONTEXT_H_
