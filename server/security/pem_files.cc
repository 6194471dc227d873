#include "server/security/pem_files.h"

#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

absl::StatusOr<std::string> ReadWhole(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, "=", path, ": cannot read it"));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::unique_ptr<X509, X509Free> FirstCertificate(const std::string& pem) {
  auto bio = MemoryBio(pem);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::unique_ptr<EVP_PKEY, KeyFree> PrivateKey(const std::string& pem) {
  auto bio = MemoryBio(pem);
  return std::unique_ptr<EVP_PKEY, KeyFree>(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::StatusOr<std::string> ReadPemCertificates(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadWhole(flag, path);
  if (!pem.ok()) return pem;
  if (FirstCertificate(*pem) == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, ": holds no PEM certificate"));
  }
  return pem;
}

absl::StatusOr<std::string> ReadPemPrivateKey(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadWhole(flag, path);
  if (!pem.ok()) return pem;
  if (PrivateKey(*pem) == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, ": holds no PEM private key (an unencrypted one)"));
  }
  return pem;
}

absl::Status CheckKeyMatchesCertificate(absl::string_view cert_flag, const std::string& cert_pem,
                                        absl::string_view key_flag, const std::string& key_pem) {
  auto cert = FirstCertificate(cert_pem);
  auto key = PrivateKey(key_pem);
  if (cert == nullptr || key == nullptr || X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(key_flag, " is not the private key of ", cert_flag, "'s certificate"));
  }
  return absl::OkStatus();
}

}  // namespace healthwire
