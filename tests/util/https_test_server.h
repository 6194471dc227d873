// HttpsTestServer: a tiny HTTPS server on 127.0.0.1 for tests of the
// s3_payload fetcher, standing in for S3's pre-signed URLs.
//
// Start makes a throwaway CA and a server certificate for 127.0.0.1 signed
// by it (TestCertificates, the openssl CLI); the fetcher trusts the CA
// through ca_file() (--s3_fetch_ca_file). Each path answers a scripted list of replies in
// order (the last one repeats); unknown paths are 404. Boost.Beast over
// Boost.Asio's OpenSSL stream, one connection at a time on its own thread
// (each read and write bounded by 10 s).
//
// Thread-safe: SetReplies and RequestCount may be called while it serves.
#ifndef HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_SERVER_H_
#define HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_SERVER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tests/util/test_certificates.h"

namespace healthwire {
namespace testing {

class HttpsTestServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
  };

  static absl::StatusOr<std::unique_ptr<HttpsTestServer>> Start();
  ~HttpsTestServer();

  int port() const { return port_; }
  // The PEM CA certificate to trust.
  const std::string& ca_file() const { return certificates_->ca_cert(); }
  // "https://127.0.0.1:<port><path>".
  std::string Url(const std::string& path) const;

  void SetReplies(const std::string& path, std::vector<Reply> replies);
  // Requests received for `path` (query ignored).
  int RequestCount(const std::string& path);

  struct Impl;

 private:
  HttpsTestServer() = default;

  std::unique_ptr<TestCertificates> certificates_;
  int port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_SERVER_H_
