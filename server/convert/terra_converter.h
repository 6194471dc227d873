// Turns one Terra webhook body into typed healthwire events.
//
// A pure function: bytes in, events or a Status out; no I/O, and no clock
// except the DeliveryContext it is given. Safe to call from any thread (each
// thread reuses its own simdjson parsers and buffers, json_body_parser.h).
//
// Two kinds of bad input get two different answers:
// - an envelope that cannot be understood (not JSON, not an object, no
//   `type`, a data event without `user.user_id`, `data` not an array, a data
//   record without its key, a user_id / reference_id / record key longer
//   than the store's kMaxIdBytes) is an InvalidArgument Status whose message says
//   what is wrong and where; nothing from that body is used;
// - a record whose envelope and key are fine but whose fields do not fit the
//   typed schema (Terra's schema drifts) is still an event: raw JSON kept, the
//   typed message holding whatever did convert, and the problems listed in
//   Event.conversion_problems. Refusing it would make Terra retry and finally
//   drop real data.
#ifndef HEALTHWIRE_SERVER_CONVERT_TERRA_CONVERTER_H_
#define HEALTHWIRE_SERVER_CONVERT_TERRA_CONVERTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// What the HTTP delivery says about a body, beside the body itself.
struct DeliveryContext {
  absl::Time received_at = absl::UnixEpoch();
  // `x-terra-ordering-timestamp` (unix ms), when present.
  std::optional<int64_t> ordering_timestamp_ms;
  // `X-Terra-Trace-Id`, when present.
  std::string trace_id;
  // `terra-reference` (shared by the chunks of one backfill), when present.
  std::string terra_reference;
  // Set when the body was fetched for an s3_payload ping: the ping's
  // revision (Event.s3_ping_revision).
  uint64_t s3_ping_revision = 0;
};

struct ConvertedWebhook {
  // The envelope's `type` as received.
  std::string terra_type;
  // One event per element of `data` (data events), one for `athlete`, one for
  // a connection or unknown event; none for `healthcheck`.
  std::vector<v1::Event> events;
  // How many of `events` carry conversion problems (schema drift).
  int events_with_problems = 0;
};

// Converts a webhook body. `body` is the raw bytes exactly as received.
absl::StatusOr<ConvertedWebhook> ConvertTerraWebhook(absl::string_view body,
                                                     const DeliveryContext& context);

// The same for a body the caller gives up (the webhook handler's): a body
// above kReusableBodyBytes (json_body_parser.h) whose buffer has
// simdjson::SIMDJSON_PADDING spare bytes of capacity is parsed in place, and
// a record holding most of a large body takes the body's buffer as its
// raw_json instead of a copy. A 60 MB webhook is then held once plus
// simdjson's DOM while it converts, not four times. `body` is consumed.
absl::StatusOr<ConvertedWebhook> ConvertOwnedTerraWebhook(std::string body,
                                                          const DeliveryContext& context);

// How records become typed messages: the one-pass DOM walker
// (dom_to_proto.h, what ConvertTerraWebhook uses), or protobuf's
// JsonStringToMessage with the per-field fallback (lenient_json_to_proto.h),
// kept as the reference the walker is proven equal to (differential test and
// fuzzer). Everything else is the same code.
enum class RecordFiller { kDomWalker, kProtobufJsonReference };
absl::StatusOr<ConvertedWebhook> ConvertTerraWebhook(absl::string_view body,
                                                     const DeliveryContext& context,
                                                     RecordFiller filler);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_TERRA_CONVERTER_H_
