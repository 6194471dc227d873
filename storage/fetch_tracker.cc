#include "storage/fetch_tracker.h"

#include <string>

namespace healthwire {

std::optional<v1::S3Fetch> FetchStartedBy(const v1::Event& ping) {
  if (ping.type() != v1::EVENT_TYPE_S3_PAYLOAD || ping.s3_ping_revision() != 0) {
    return std::nullopt;
  }
  v1::S3Fetch fetch;
  fetch.set_ping_revision(ping.revision());
  fetch.set_url(ping.connection().url());
  *fetch.mutable_received_at() = ping.received_at();
  const int64_t expires_in = ping.connection().has_expires_in()
                                 ? ping.connection().expires_in()
                                 : kDefaultS3PayloadExpiresInSeconds;
  *fetch.mutable_expires_at() = ping.received_at();
  fetch.mutable_expires_at()->set_seconds(ping.received_at().seconds() +
                                          (expires_in > 0 ? expires_in : 0));
  fetch.set_trace_id(ping.trace_id());
  fetch.set_terra_reference(ping.terra_reference());
  if (ping.has_ordering_timestamp_ms()) {
    fetch.set_ordering_timestamp_ms(ping.ordering_timestamp_ms());
  }
  fetch.set_user_id(ping.user().user_id());
  if (fetch.url().empty()) {
    fetch.set_state(v1::S3Fetch::STATE_FAILED);
    fetch.set_last_error("the s3_payload ping has no url");
  } else {
    fetch.set_state(v1::S3Fetch::STATE_PENDING);
  }
  return fetch;
}

v1::S3Fetch RedactedFetch(const v1::S3Fetch& fetch) {
  v1::S3Fetch redacted = fetch;
  const size_t query = redacted.url().find('?');
  if (query != std::string::npos) redacted.mutable_url()->resize(query);
  return redacted;
}

}  // namespace healthwire
