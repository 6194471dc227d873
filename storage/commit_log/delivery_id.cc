#include "storage/commit_log/delivery_id.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace healthwire {

std::string DeliveryId(const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string bytes;
  for (const v1::Event& event : events) {
    // A shallow copy would share submessages; the events are small next to
    // hashing them, and this keeps the caller's events untouched.
    v1::Event content = event;
    content.clear_received_at();
    content.clear_revision();
    bytes.clear();
    {
      google::protobuf::io::StringOutputStream stream(&bytes);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      content.SerializeToCodedStream(&coded);
    }
    const uint64_t size = bytes.size();
    EVP_DigestUpdate(ctx, &size, sizeof(size));  // framing: no two event lists collide
    EVP_DigestUpdate(ctx, bytes.data(), bytes.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string Sha256Bytes(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace healthwire
