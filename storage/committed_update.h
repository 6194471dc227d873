// CommittedUpdate: one committed change as every stream subscriber sees it.
//
// Built by the store's writer thread after a durable commit and shared
// (read-only, through shared_ptr) by every subscriber that wants it. The
// StreamUpdatesResponse bytes are serialized at most once per form (with and
// without raw JSON), on first use, so a change fanned out to a thousand
// subscribers costs one serialization, and a store with no subscribers
// serializes nothing.
//
// Thread-safe: immutable after construction except the lazily filled bytes,
// which are guarded by once-flags.
#ifndef HEALTHWIRE_STORAGE_COMMITTED_UPDATE_H_
#define HEALTHWIRE_STORAGE_COMMITTED_UPDATE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/call_once.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

class CommittedUpdate {
 public:
  explicit CommittedUpdate(v1::Event event) : event_(std::move(event)) {}

  const v1::Event& event() const { return event_; }
  uint64_t revision() const { return event_.revision(); }

  // A serialized StreamUpdatesResponse whose `update` is this event, with or
  // without raw_json.
  const std::string& SerializedResponse(bool include_raw_json) const;

 private:
  const v1::Event event_;
  mutable absl::once_flag with_raw_once_;
  mutable absl::once_flag without_raw_once_;
  mutable std::string with_raw_;
  mutable std::string without_raw_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COMMITTED_UPDATE_H_
