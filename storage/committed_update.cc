#include "storage/committed_update.h"

namespace healthwire {

const std::string& CommittedUpdate::SerializedResponse(bool include_raw_json) const {
  if (include_raw_json) {
    absl::call_once(with_raw_once_, [this] {
      v1::StreamUpdatesResponse response;
      *response.mutable_update() = event_;
      response.SerializeToString(&with_raw_);
    });
    return with_raw_;
  }
  absl::call_once(without_raw_once_, [this] {
    v1::StreamUpdatesResponse response;
    v1::Event* update = response.mutable_update();
    *update = event_;
    update->clear_raw_json();
    response.SerializeToString(&without_raw_);
  });
  return without_raw_;
}

}  // namespace healthwire
