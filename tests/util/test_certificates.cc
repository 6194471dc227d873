#include "tests/util/test_certificates.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace testing {
namespace {

// Runs an openssl command line (paths are the TempDir's, without spaces or
// quotes); its output goes to a log file shown on failure.
absl::Status Openssl(const std::string& dir, const std::string& arguments) {
  const std::string log = dir + "/openssl.log";
  const std::string command = absl::StrCat("openssl ", arguments, " >", log, " 2>&1");
  if (std::system(command.c_str()) != 0) {
    std::ifstream in(log);
    std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return absl::InternalError(absl::StrCat("openssl ", arguments, " failed: ", output));
  }
  return absl::OkStatus();
}

constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

absl::StatusOr<std::unique_ptr<TestCertificates>> TestCertificates::Create() {
  std::unique_ptr<TestCertificates> certificates(new TestCertificates());
  absl::StatusOr<CertificateFiles> ca = certificates->MakeCa("ca");
  if (!ca.ok()) return ca.status();
  certificates->ca_ = *ca;
  absl::StatusOr<CertificateFiles> other = certificates->MakeCa("other-ca");
  if (!other.ok()) return other.status();
  certificates->other_ca_ = *other;
  absl::StatusOr<CertificateFiles> server = certificates->Issue(
      certificates->ca_, "server", "healthwire-store",
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  if (!server.ok()) return server.status();
  certificates->server_ = *server;
  return certificates;
}

absl::StatusOr<CertificateFiles> TestCertificates::MakeCa(const std::string& name) {
  CertificateFiles files{absl::StrCat(dir(), "/", name, ".pem"),
                         absl::StrCat(dir(), "/", name, ".key")};
  absl::Status made =
      Openssl(dir(), absl::StrCat("req -x509 ", kNewKey, " -keyout ", files.key, " -out ",
                                  files.cert, " -days 2 -subj /CN=healthwire-test-", name,
                                  " -addext basicConstraints=critical,CA:TRUE"
                                  " -addext keyUsage=critical,keyCertSign,cRLSign"));
  if (!made.ok()) return made;
  return files;
}

absl::StatusOr<CertificateFiles> TestCertificates::Issue(const CertificateFiles& ca,
                                                         const std::string& file_name,
                                                         const std::string& common_name,
                                                         const std::string& extensions) {
  const std::string base = absl::StrCat(dir(), "/", file_name);
  CertificateFiles files{base + ".pem", base + ".key"};
  {
    std::ofstream ext(base + ".ext");
    ext << extensions;
  }
  absl::Status made = Openssl(dir(), absl::StrCat("req ", kNewKey, " -keyout ", files.key,
                                                  " -out ", base, ".csr -subj /CN=", common_name));
  if (!made.ok()) return made;
  made = Openssl(dir(), absl::StrCat("x509 -req -in ", base, ".csr -CA ", ca.cert, " -CAkey ",
                                     ca.key, " -CAcreateserial -days 2 -out ", files.cert,
                                     " -extfile ", base, ".ext"));
  if (!made.ok()) return made;
  return files;
}

absl::StatusOr<CertificateFiles> TestCertificates::IssueClient(const std::string& name) {
  return Issue(ca_, "client-" + name, name,
               absl::StrCat("subjectAltName=DNS:", name, "\nextendedKeyUsage=clientAuth\n"));
}

absl::StatusOr<CertificateFiles> TestCertificates::IssueClientOfOtherCa(const std::string& name) {
  return Issue(other_ca_, "other-client-" + name, name,
               absl::StrCat("subjectAltName=DNS:", name, "\nextendedKeyUsage=clientAuth\n"));
}

}  // namespace testing
}  // namespace healthwire
