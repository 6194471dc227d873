#include "storage/stream_filter.h"

#include "absl/strings/str_cat.h"

namespace healthwire {

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
  if (!user_ids.empty() && user_ids.contains(event.user().user_id())) return true;
  if (!reference_ids.empty() && event.user().has_reference_id() &&
      reference_ids.contains(event.user().reference_id())) {
    return true;
  }
  return false;
}

}  // namespace healthwire
