#include "storage/commit_log/delivery_id.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace healthwire {

namespace {

// SHA-256 over each event's deterministic serialization, framed by its size;
// `serialize(event, &bytes)` writes the event without received_at/revision.
template <typename Events, typename Serialize>
std::string HashEvents(Events& events, Serialize serialize) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string bytes;
  for (auto& event : events) {
    bytes.clear();
    serialize(event, &bytes);
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

void SerializeDeterministic(const v1::Event& event, std::string* bytes) {
  google::protobuf::io::StringOutputStream stream(bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  event.SerializeToCodedStream(&coded);
}

}  // namespace

std::string DeliveryId(const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  return HashEvents(events, [](const v1::Event& event, std::string* bytes) {
    // A shallow copy would share submessages; this keeps the caller's
    // events untouched (DeliveryIdInPlace avoids the copy).
    v1::Event content = event;
    content.clear_received_at();
    content.clear_revision();
    SerializeDeterministic(content, bytes);
  });
}

std::string DeliveryIdInPlace(google::protobuf::RepeatedPtrField<v1::Event>* events) {
  return HashEvents(*events, [](v1::Event& event, std::string* bytes) {
    google::protobuf::Timestamp* received_at =
        event.has_received_at() ? event.release_received_at() : nullptr;
    const uint64_t revision = event.revision();
    event.clear_revision();
    SerializeDeterministic(event, bytes);
    if (received_at != nullptr) event.set_allocated_received_at(received_at);
    event.set_revision(revision);
  });
}

std::string FetchOutcomeDeliveryId(uint64_t ping_revision) {
  // Not a hex SHA-256 like a webhook's id, so it can never equal one.
  return absl::StrCat("s3-fetch-outcome-", ping_revision);
}

std::string Sha256Bytes(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace healthwire
