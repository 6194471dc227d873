// HTTPS for tests: one request over TLS to 127.0.0.1:<port>, verifying the
// server's certificate against a given CA (the tests' TestCertificates), and
// the start of a real //server:healthwire whose webhook port speaks HTTPS.
//
// HttpsRequest is bounded (30 s for the whole exchange) and reports failures
// in HttpResponse::error (status 0), never throws: a handshake refused
// because the server is not signed by `ca_file`, or a server that is not
// TLS at all, is a result the test checks.
//
// Thread-compatible: each call uses its own connection and context.
#ifndef HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_CLIENT_H_
#define HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/util/http_test_client.h"
#include "tests/util/server_process.h"
#include "tests/util/test_certificates.h"

namespace healthwire {
namespace testing {

// One request (Host and Content-Length set) over TLS, the server verified
// against `ca_file` with host name check for 127.0.0.1.
HttpResponse HttpsRequest(int port, const std::string& ca_file, const std::string& method,
                          const std::string& target, const std::string& body = "",
                          const HttpHeaders& headers = {});

// //server:healthwire on free ports, data in `data_dir`, signing with
// `signing_secret`, the webhook port on HTTPS with `certs`' server
// certificate; `extra_flags` appended.
absl::StatusOr<std::unique_ptr<ServerProcess>> StartHttpsServer(
    const TestCertificates& certs, const std::string& data_dir,
    const std::string& signing_secret, const std::vector<std::string>& extra_flags = {});

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_CLIENT_H_
