// Flags and helpers several hwctl subcommands share: which store and webhook
// URL to talk to, whose records, which type, and where the default signing
// secret lives.
//
// The flags are defined in cli_common.cc; a subcommand accepts one by listing
// its name in its Subcommand::flags. Functions read the flags' current
// values; call them after the arguments are parsed. Thread-compatible.
#ifndef HEALTHWIRE_TOOLS_HWCTL_CLI_COMMON_H_
#define HEALTHWIRE_TOOLS_HWCTL_CLI_COMMON_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

ABSL_DECLARE_FLAG(std::string, store);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(std::string, user);
ABSL_DECLARE_FLAG(std::string, reference);
ABSL_DECLARE_FLAG(std::string, type);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, url);
ABSL_DECLARE_FLAG(std::string, secret);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(std::string, from);
ABSL_DECLARE_FLAG(std::string, to);

namespace healthwire {
namespace hwctl {

// The data types latest, list and export take, for their --help.
inline constexpr char kDataTypesHelp[] =
    "TYPE: sleep, activity, daily, body, nutrition, menstruation, athlete, planned_workout,\n"
    "hormone, health_observation.";

// The signing secret: --secret when given, else the first secret line of
// <--data_dir>/webhook-signing-secret. FailedPrecondition naming the file
// (and how to fix it) when neither is available. Never logs the secret.
absl::StatusOr<std::string> SigningSecret();

// The EventType a user's type name stands for: the Terra name ("sleep",
// "planned_workout", "auth_error", ...), case-insensitive. InvalidArgument
// listing the data types otherwise.
absl::StatusOr<v1::EventType> ParseEventType(absl::string_view name);

// The Terra-style name of `type` ("sleep"); "unknown" for EVENT_TYPE_UNKNOWN.
std::string EventTypeName(v1::EventType type);

// The Subject of --user / --reference; InvalidArgument unless exactly one is
// given.
absl::StatusOr<v1::Subject> SubjectFromFlags();

// A human description of `subject`: `user "abc"` or `reference "p-1"`.
std::string DescribeSubject(const v1::Subject& subject);

// `text` as a JSON string literal for --json output (quotes and backslashes
// escaped, control characters dropped).
std::string JsonString(absl::string_view text);

// --type as a data type (required). InvalidArgument when missing or unknown.
absl::StatusOr<v1::EventType> DataTypeFromFlags();

// What `latest` and `list` ask about: one person and one data type.
struct RecordQuery {
  v1::Subject subject;
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
};

// The RecordQuery of --user/--reference and --type, for a subcommand that
// takes no positional arguments. InvalidArgument (a usage message) otherwise.
absl::StatusOr<RecordQuery> RecordQueryFromFlags(const std::vector<std::string>& positional);

// The StreamUpdates filters of --type, --user and --reference, each a
// comma-separated list (empty: everything). InvalidArgument for an unknown
// type.
absl::Status StreamFiltersFromFlags(v1::StreamUpdatesRequest* request);

// A date (YYYY-MM-DD, UTC midnight) or an RFC 3339 time, as --from/--to take
// them. InvalidArgument naming `flag_name` otherwise.
absl::StatusOr<google::protobuf::Timestamp> ParseDateOrTime(const std::string& flag_name,
                                                            const std::string& text);

// The ListRecords request of --user/--reference, --type, --from and --to, for
// a subcommand that takes no positional arguments (page fields unset).
// InvalidArgument (a usage message) otherwise.
absl::StatusOr<v1::ListRecordsRequest> ListRequestFromFlags(
    const std::vector<std::string>& positional);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_CLI_COMMON_H_
