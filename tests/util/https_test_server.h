// HttpsTestServer: a tiny HTTPS server on 127.0.0.1 for tests of the
// s3_payload fetcher, standing in for S3's pre-signed URLs.
//
// Start generates a throwaway self-signed certificate for 127.0.0.1 with the
// openssl CLI in a TempDir; the fetcher trusts it through ca_file()
// (--s3_fetch_ca_file). Each path answers a scripted list of replies in
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
#include "tests/util/temp_dir.h"

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
  // The PEM certificate to trust (self-signed: it is its own CA).
  std::string ca_file() const { return dir_.path() + "/cert.pem"; }
  // "https://127.0.0.1:<port><path>".
  std::string Url(const std::string& path) const;

  void SetReplies(const std::string& path, std::vector<Reply> replies);
  // Requests received for `path` (query ignored).
  int RequestCount(const std::string& path);

  struct Impl;

 private:
  HttpsTestServer() = default;

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_HTTPS_TEST_SERVER_H_
