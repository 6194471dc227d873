// Realistic, schema-valid Terra webhook bodies, for hwctl simulate, tests and
// benchmarks.
//
// Each generated record has plausible values for its type (a night's sleep
// with its stages adding up, a run whose distance fits its pace, a day's
// steps and calories, ...), every sample array filled with exactly
// `samples_per_array` samples spread over the record's time span, a unique
// summary_id where the type has one, and one record per day going back from
// `now`'s local day. Times are ISO-8601 with microseconds and the user's UTC
// offset, as Terra sends them (`2026-07-01T07:04:11.000000+01:00`); enums are
// integers.
//
// Bodies are printed by protobuf's JSON printer from the typed terra.proto
// messages (see terra_webhooks.proto), never concatenated by hand, so they
// parse with healthwire's converter without conversion problems.
//
// Deterministic: the same options (seed and `now` included) give the same
// bytes. Pure functions, safe to call from any thread.
#ifndef HEALTHWIRE_TOOLS_SIMULATOR_TERRA_PAYLOADS_H_
#define HEALTHWIRE_TOOLS_SIMULATOR_TERRA_PAYLOADS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {
namespace simulator {

// The webhook types the simulator can generate.
enum class PayloadType {
  kActivity,
  kSleep,
  kBody,
  kDaily,
  kNutrition,
  kMenstruation,
  kAthlete,
  kAuth,
  kDeauth,
};

// Every PayloadType, in declaration order.
const std::vector<PayloadType>& AllPayloadTypes();

// Terra's envelope `type` for `type` ("sleep", "auth", ...).
absl::string_view TerraTypeName(PayloadType type);

// The PayloadType whose TerraTypeName is `name`; InvalidArgument listing the
// accepted names otherwise.
absl::StatusOr<PayloadType> ParsePayloadType(absl::string_view name);

// Whether webhooks of `type` carry records in a `data` array (activity ...
// menstruation). Athlete carries one `athlete` object; auth and deauth none.
bool HasDataArray(PayloadType type);

struct SimulationOptions {
  PayloadType type = PayloadType::kSleep;

  // Terra's user_id (one wearable connection). Empty: a UUID derived from
  // the seed.
  std::string user_id;
  // The customer's own id for the person; empty: the user has none and the
  // field is left out, as Terra does.
  std::string reference_id;
  std::string provider = "GARMIN";

  // How many records (data types: one per day, going back from the day of
  // `now`) or events (athlete, auth, deauth) to generate.
  int record_count = 1;
  // Records per webhook for data types (Terra chunks backfills into at most
  // 10 per event); other types always send one per webhook.
  int records_per_webhook = 1;
  // The size of every sample array (heart rate, hypnogram, steps, ...).
  // 0 leaves sample arrays out.
  int samples_per_array = 12;

  uint64_t seed = 1;
  // "Now" for the generated data: the newest record is of this local day,
  // and user.last_webhook_update is this instant.
  absl::Time now = absl::FromUnixSeconds(1782889200);  // 2026-07-01T07:00:00Z
  // The user's offset from UTC, which every timestamp carries.
  int utc_offset_minutes = 60;
};

struct SimulatedWebhook {
  PayloadType type;
  // The webhook body exactly as it is to be sent.
  std::string body;
  // How many records it carries (1 for athlete, auth and deauth).
  int record_count = 0;
};

// Generates ceil(record_count / records_per_webhook) webhooks for data types,
// record_count webhooks otherwise. InvalidArgument when a count is negative,
// records_per_webhook < 1, or the offset is beyond +-18 hours.
absl::StatusOr<std::vector<SimulatedWebhook>> GenerateWebhooks(const SimulationOptions& options);

}  // namespace simulator
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_SIMULATOR_TERRA_PAYLOADS_H_
