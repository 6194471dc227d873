// Terra event types and record keys: which healthwire EventType a Terra
// `type` string is, and which field identifies one record of that type (the
// store keeps the latest version per (user, type, record key)).
//
// The rules (see shared/notes/terra-webhooks.md):
//   activity            metadata.summary_id
//   sleep               metadata.summary_id, else metadata.start_time
//   body, daily,        the date part (first 10 characters, YYYY-MM-DD) of
//   nutrition,          metadata.start_time as received: no timezone
//   menstruation        conversion, the day is the user's local day
//   athlete             the constant "athlete" (one per user)
//   hormone             top-level `timestamp`
//   planned_workout     planned_workout_id, else metadata.id, else
//                       details.metadata.id
//   health_observation  metadata.summary_id, else metadata.id, else
//                       metadata.start_time
//   connection events   a hash of the whole body (ContentHashKey), so an
//   and unknown types   identical re-delivery maps to the same key
//
// A member on the way to a key given twice ({"metadata":{"summary_id":"A",
// "summary_id":"B"}}) has no single meaning, so it is refused rather than
// read one way here and another way by the typed conversion.
//
// All functions are pure and safe to call from any thread.
#ifndef HEALTHWIRE_SERVER_CONVERT_RECORD_KEY_H_
#define HEALTHWIRE_SERVER_CONVERT_RECORD_KEY_H_

#include <simdjson.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// The record key of athlete events: one athlete record per user.
inline constexpr absl::string_view kAthleteRecordKey = "athlete";

// Maps a Terra envelope `type` to its EventType. "auth" maps to
// EVENT_TYPE_AUTH whatever its status (a failed auth is refined by the
// converter, which sees the body); "healthcheck" maps to
// EVENT_TYPE_UNSPECIFIED (a known type that carries no event); any type
// healthwire does not know maps to EVENT_TYPE_UNKNOWN.
v1::EventType EventTypeFromTerraType(absl::string_view terra_type);

// The Terra `type` string of `type`, such that
// EventTypeFromTerraType(TerraTypeName(t)) == t. EVENT_TYPE_AUTH_ERROR is
// "auth_cancelled". Empty for EVENT_TYPE_UNSPECIFIED, EVENT_TYPE_UNKNOWN and
// numbers EventType does not define.
absl::string_view TerraTypeName(v1::EventType type);

// Whether events of `type` carry their records in a `data` array (activity,
// sleep, body, daily, nutrition, menstruation, planned_workout, hormone,
// health_observation). Athlete is keyed too but has no `data`.
bool IsDataRecordType(v1::EventType type);

// Whether `type` is a connection or service event (auth ... s3_payload):
// no records, keyed by content.
bool IsConnectionEventType(v1::EventType type);

// The key of one record of a data type or athlete. `record` is the record's
// parsed JSON object (an element of `data`; the `athlete` object for
// athlete). An InvalidArgument error names the missing or malformed field,
// e.g. "activity record without metadata.summary_id", or a member on the way
// to any of the type's key fields given twice, e.g. "activity record has a
// duplicate key `metadata.summary_id`". Any other `type` is keyed by content
// (ContentHashKey) and gives InvalidArgument.
absl::StatusOr<std::string> RecordKeyOf(v1::EventType type, const simdjson::dom::element& record);

// InvalidArgument "duplicate key `a.b`" when a member named along JSON
// pointer `pointer` ("/a/b"; no ~ escapes) occurs twice in its object
// (names compared unescaped, as simdjson's DOM gives them); OK otherwise,
// including when the path ends early.
absl::Status CheckNoDuplicateAlong(const simdjson::dom::element& root, std::string_view pointer);

// The date part "YYYY-MM-DD" of a Terra timestamp as received
// ("2026-07-01T23:30:00.000000-05:00" -> "2026-07-01"), or InvalidArgument
// when its first 10 characters do not have that shape.
absl::StatusOr<std::string> DateKeyFromTimestamp(absl::string_view timestamp);

// The key of an event that has no record key of its own: lowercase hex of
// the first 16 bytes of SHA-256 of the raw body (32 characters). Identical
// bodies get identical keys.
std::string ContentHashKey(absl::string_view raw_body);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_RECORD_KEY_H_
