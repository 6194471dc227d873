// How hwctl shows a stored event to a person: the few fields of its type that
// matter (hours asleep, distance run, steps, weight, ...), one line or one
// field per line, and as JSON for scripts.
//
// Only fields the record actually carries are shown: Terra leaves many out,
// and a made-up zero would mislead. Pure functions; thread-safe.
#ifndef HEALTHWIRE_TOOLS_HWCTL_RECORD_SUMMARY_H_
#define HEALTHWIRE_TOOLS_HWCTL_RECORD_SUMMARY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {
namespace hwctl {

// The key fields of `event`'s type as (label, value) pairs, e.g.
// {"asleep", "7h 02m"}, {"efficiency", "89%"}. Empty when the record has
// none of them (or no typed payload).
std::vector<std::pair<std::string, std::string>> KeyFields(const v1::Event& event);

// KeyFields joined into one line: "asleep 7h 02m, efficiency 89%, ...".
std::string OneLineSummary(const v1::Event& event);

// The full readable form `hwctl latest` prints: who, which record, its key
// fields one per line, revision, when it was received.
std::string DetailedSummary(const v1::Event& event, uint64_t store_revision);

// One line per record, as `hwctl list` prints them:
// "<start time>  <key>  rev <n>  <summary>".
std::string RecordLine(const v1::Event& event);

// One line per update, as `hwctl watch` prints them:
// "rev <n>  <type>  user <id>  key <key>  date <YYYY-MM-DD>  received <UTC time>  <summary>"
// (the date is the record's, from its start time; "-" when it has none).
std::string UpdateLine(const v1::Event& event);

// `message` as one line of protobuf JSON with Terra's field names
// (preserve_proto_field_names) and enums as numbers, as Terra sends them.
absl::StatusOr<std::string> ToJsonLine(const google::protobuf::Message& message);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_RECORD_SUMMARY_H_
