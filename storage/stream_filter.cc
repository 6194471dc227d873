#include "storage/stream_filter.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

// A tombstone names the erased people only by SHA-256 of their ids: it
// matches a filter that lists one of them. (Erasures are rare, so hashing
// the filter's ids here costs nothing that matters.)
bool TombstoneMatches(const StreamFilter& filter, const v1::Erasure& erasure) {
  for (const std::string& user_id : filter.user_ids) {
    const std::string hash = Sha256Hex(user_id);
    for (const std::string& erased : erasure.user_id_sha256()) {
      if (erased == hash) return true;
    }
  }
  if (erasure.subject_kind() == v1::Erasure::SUBJECT_KIND_REFERENCE_ID) {
    for (const std::string& reference_id : filter.reference_ids) {
      if (Sha256Hex(reference_id) == erasure.subject_sha256()) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<StreamFilter> StreamFilter::FromRequest(const v1::StreamUpdatesRequest& request) {
  StreamFilter filter;
  for (int i = 0; i < request.types_size(); ++i) {
    const int type = request.types(i);
    if (type == v1::EVENT_TYPE_UNSPECIFIED || !v1::EventType_IsValid(type)) {
      return absl::InvalidArgumentError(
          absl::StrCat("types[", i, "]: ", type, " is not a known EventType"));
    }
    filter.types.insert(type);
  }
  for (int i = 0; i < request.user_ids_size(); ++i) {
    if (request.user_ids(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("user_ids[", i, "] is empty"));
    }
    filter.user_ids.insert(request.user_ids(i));
  }
  for (int i = 0; i < request.reference_ids_size(); ++i) {
    if (request.reference_ids(i).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("reference_ids[", i, "] is empty"));
    }
    filter.reference_ids.insert(request.reference_ids(i));
  }
  return filter;
}

bool StreamFilter::Matches(const v1::Event& event) const {
  if (!types.empty() && !types.contains(static_cast<int>(event.type()))) return false;
  // user_ids and reference_ids both name people: either may match.
  if (user_ids.empty() && reference_ids.empty()) return true;
  if (event.type() == v1::EVENT_TYPE_ERASURE) return TombstoneMatches(*this, event.erasure());
  if (!user_ids.empty() && user_ids.contains(event.user().user_id())) return true;
  if (!reference_ids.empty() && event.user().has_reference_id() &&
      reference_ids.contains(event.user().reference_id())) {
    return true;
  }
  return false;
}

}  // namespace healthwire
