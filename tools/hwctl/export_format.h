// The NDJSON format of `hwctl export` and `hwctl replay`: one stored event per
// line, as protobuf JSON (Terra's field names, enums as numbers) without its
// raw_json bytes, followed by one more key, "raw": the record's JSON exactly
// as healthwire received it (embedded as JSON, not base64):
//
//   {"revision":"12","type":2,"terra_type":"sleep",...,"raw":{"metadata":{...},...}}
//
// so `jq .raw` gives the record and a protobuf JSON parser that ignores
// unknown fields gives the event. Replay turns a line back into the webhook
// that carries that record (DeliveryFromExportLine).
//
// Pure functions; thread-safe.
#ifndef HEALTHWIRE_TOOLS_HWCTL_EXPORT_FORMAT_H_
#define HEALTHWIRE_TOOLS_HWCTL_EXPORT_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {
namespace hwctl {

// The export line of `event` (without the newline). InternalError when the
// event cannot be printed.
absl::StatusOr<std::string> ExportLine(const v1::Event& event);

// A webhook rebuilt from an export line.
struct ReplayDelivery {
  // The body to post: for data types {"type","user","data":[raw]}, for
  // athlete {"type","user","athlete":raw}, otherwise the raw body itself
  // (connection and unknown events keep the whole body).
  std::string body;
  std::string trace_id;
  std::optional<int64_t> ordering_timestamp_ms;
  uint64_t revision = 0;
  std::string record_key;
};

// InvalidArgument naming what is wrong when `line` is not an export line
// (not JSON, no "raw", no "terra_type").
absl::StatusOr<ReplayDelivery> DeliveryFromExportLine(absl::string_view line);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_EXPORT_FORMAT_H_
