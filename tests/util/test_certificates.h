// TestCertificates: a throwaway PKI for TLS tests, made with the openssl
// command line at test time (no key is ever committed): a CA, a server
// certificate for 127.0.0.1/localhost signed by it, client certificates on
// demand, and a second, unrelated CA whose client certificates the first one
// must refuse. EC P-256 keys (fast to make). Everything lives in a TempDir
// removed with the object.
//
// Not thread-safe: one test thread issues certificates.
#ifndef HEALTHWIRE_TESTS_UTIL_TEST_CERTIFICATES_H_
#define HEALTHWIRE_TESTS_UTIL_TEST_CERTIFICATES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace testing {

struct CertificateFiles {
  std::string cert;  // PEM certificate path
  std::string key;   // PEM private key path
};

class TestCertificates {
 public:
  // The CA, the other CA and the server certificate.
  static absl::StatusOr<std::unique_ptr<TestCertificates>> Create();

  const std::string& ca_cert() const { return ca_.cert; }
  const std::string& other_ca_cert() const { return other_ca_.cert; }
  // For 127.0.0.1 and localhost, signed by the CA.
  const CertificateFiles& server() const { return server_; }

  // A client certificate with CN and SAN `name`, signed by the CA (or by the
  // other CA).
  absl::StatusOr<CertificateFiles> IssueClient(const std::string& name);
  absl::StatusOr<CertificateFiles> IssueClientOfOtherCa(const std::string& name);

  const std::string& dir() const { return dir_.path(); }

 private:
  TestCertificates() : dir_("certs") {}
  absl::StatusOr<CertificateFiles> MakeCa(const std::string& name);
  absl::StatusOr<CertificateFiles> Issue(const CertificateFiles& ca, const std::string& file_name,
                                         const std::string& common_name,
                                         const std::string& extensions);

  TempDir dir_;
  CertificateFiles ca_;
  CertificateFiles other_ca_;
  CertificateFiles server_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_TEST_CERTIFICATES_H_
