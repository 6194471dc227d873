// StreamFilter: which changes one StreamUpdates subscriber wants.
//
// An empty set means "any". Copyable value type; const methods are
// thread-safe.
#ifndef HEALTHWIRE_STORAGE_STREAM_FILTER_H_
#define HEALTHWIRE_STORAGE_STREAM_FILTER_H_

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

struct StreamFilter {
  absl::flat_hash_set<std::string> user_ids;
  absl::flat_hash_set<std::string> reference_ids;
  absl::flat_hash_set<int> types;  // v1::EventType numbers

  // From a request; InvalidArgument names a bad field (an unknown type).
  static absl::StatusOr<StreamFilter> FromRequest(const v1::StreamUpdatesRequest& request);

  bool Matches(const v1::Event& event) const;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_STREAM_FILTER_H_
