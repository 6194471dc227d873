#include "tools/hwctl/cli_common.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/process_util.h"
#include "server/webhook/signing_secrets.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50051", "the healthwire store's gRPC address, host:port");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "how long to wait for the store or the webhook server to answer");
ABSL_FLAG(std::string, user, "", "Terra user_id (one wearable connection)");
ABSL_FLAG(std::string, reference, "",
          "the customer's reference_id (all connections of one person); instead of --user");
ABSL_FLAG(std::string, type, "",
          "the type, by Terra's name (the description above lists the types this command "
          "takes)");
ABSL_FLAG(bool, json, false,
          "print JSON (protobuf JSON with Terra's field names, enums as numbers), one object "
          "per line");
ABSL_FLAG(std::string, url, "http://127.0.0.1:8080/webhooks/terra",
          "the webhook endpoint to post to");
ABSL_FLAG(std::string, secret, "",
          "the Terra signing secret; default: the one healthwire generated in "
          "<data_dir>/webhook-signing-secret");
ABSL_FLAG(std::string, from, "",
          "only records starting at or after this date (YYYY-MM-DD, UTC midnight) or time "
          "(RFC 3339, e.g. 2026-07-01T06:00:00+01:00)");
ABSL_FLAG(std::string, to, "",
          "only records starting before this date or time (exclusive; same formats as --from)");
ABSL_FLAG(std::string, data_dir, "./healthwire-data",
          "healthwire's data folder, where the generated signing secret is read from");

namespace healthwire {
namespace hwctl {

absl::StatusOr<std::string> SigningSecret() {
  if (!absl::GetFlag(FLAGS_secret).empty()) return absl::GetFlag(FLAGS_secret);
  // The file and its format are healthwire's own (server/webhook/signing_secrets.h).
  const std::string path =
      absl::StrCat(ResolveUserPath(absl::GetFlag(FLAGS_data_dir)), "/", kGeneratedSecretFileName);
  absl::StatusOr<std::vector<std::string>> secrets = LoadSecretsFromFile(path);
  if (!secrets.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no --secret given and ", secrets.status().message(),
        " (start healthwire with --data_dir pointing there, pass --data_dir, or pass --secret)"));
  }
  if (secrets->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds no secret"));
  }
  return secrets->front();
}

absl::StatusOr<google::protobuf::Timestamp> ParseDateOrTime(const std::string& flag_name,
                                                            const std::string& text) {
  absl::Time time;
  std::string error;
  absl::CivilDay day;
  if (absl::ParseCivilTime(text, &day)) {
    time = absl::FromCivil(day, absl::UTCTimeZone());
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag_name, ": \"", text, "\" is neither a date (YYYY-MM-DD) nor an RFC 3339 time"));
  }
  google::protobuf::Timestamp timestamp;
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(
      static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return timestamp;
}

namespace {

std::vector<std::string> CommaList(const std::string& value) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.emplace_back(item);
  }
  return items;
}

}  // namespace

absl::Status StreamFiltersFromFlags(v1::StreamUpdatesRequest* request) {
  for (const std::string& name : CommaList(absl::GetFlag(FLAGS_type))) {
    absl::StatusOr<v1::EventType> type = ParseEventType(name);
    if (!type.ok()) return type.status();
    request->add_types(*type);
  }
  for (const std::string& user : CommaList(absl::GetFlag(FLAGS_user))) {
    request->add_user_ids(user);
  }
  for (const std::string& reference : CommaList(absl::GetFlag(FLAGS_reference))) {
    request->add_reference_ids(reference);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListRecordsRequest> ListRequestFromFlags(
    const std::vector<std::string>& positional) {
  absl::StatusOr<RecordQuery> query = RecordQueryFromFlags(positional);
  if (!query.ok()) return query.status();
  v1::ListRecordsRequest request;
  *request.mutable_subject() = query->subject;
  request.set_type(query->type);
  if (!absl::GetFlag(FLAGS_from).empty()) {
    absl::StatusOr<google::protobuf::Timestamp> from =
        ParseDateOrTime("from", absl::GetFlag(FLAGS_from));
    if (!from.ok()) return from.status();
    *request.mutable_start_time_from() = *from;
  }
  if (!absl::GetFlag(FLAGS_to).empty()) {
    absl::StatusOr<google::protobuf::Timestamp> to = ParseDateOrTime("to", absl::GetFlag(FLAGS_to));
    if (!to.ok()) return to.status();
    *request.mutable_start_time_to() = *to;
  }
  return request;
}

absl::StatusOr<v1::EventType> ParseEventType(absl::string_view name) {
  const std::string wanted = absl::StrCat("EVENT_TYPE_", absl::AsciiStrToUpper(name));
  v1::EventType type = v1::EVENT_TYPE_UNSPECIFIED;
  if (!name.empty() && v1::EventType_Parse(wanted, &type) && type != v1::EVENT_TYPE_UNSPECIFIED) {
    return type;
  }
  std::vector<std::string> data_types;
  for (int number = v1::EVENT_TYPE_ACTIVITY; number <= v1::EVENT_TYPE_HEALTH_OBSERVATION;
       ++number) {
    if (v1::EventType_IsValid(number)) {
      data_types.push_back(EventTypeName(static_cast<v1::EventType>(number)));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown type \"", name, "\" (expected one of ",
                                                 absl::StrJoin(data_types, ", "), ")"));
}

std::string EventTypeName(v1::EventType type) {
  absl::string_view name = v1::EventType_Name(type);
  if (!absl::ConsumePrefix(&name, "EVENT_TYPE_")) return absl::StrCat(static_cast<int>(type));
  return absl::AsciiStrToLower(name);
}

absl::StatusOr<v1::Subject> SubjectFromFlags() {
  const std::string user = absl::GetFlag(FLAGS_user);
  const std::string reference = absl::GetFlag(FLAGS_reference);
  if (user.empty() == reference.empty()) {
    return absl::InvalidArgumentError("give exactly one of --user ID or --reference REF");
  }
  v1::Subject subject;
  if (!user.empty()) {
    subject.set_user_id(user);
  } else {
    subject.set_reference_id(reference);
  }
  return subject;
}

std::string DescribeSubject(const v1::Subject& subject) {
  if (subject.has_reference_id()) return absl::StrCat("reference \"", subject.reference_id(), "\"");
  return absl::StrCat("user \"", subject.user_id(), "\"");
}

absl::StatusOr<v1::EventType> DataTypeFromFlags() {
  const std::string name = absl::GetFlag(FLAGS_type);
  if (name.empty()) return absl::InvalidArgumentError("--type is required (e.g. --type sleep)");
  return ParseEventType(name);
}

absl::StatusOr<RecordQuery> RecordQueryFromFlags(const std::vector<std::string>& positional) {
  if (!positional.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", positional[0], "\""));
  }
  absl::StatusOr<v1::Subject> subject = SubjectFromFlags();
  if (!subject.ok()) return subject.status();
  absl::StatusOr<v1::EventType> type = DataTypeFromFlags();
  if (!type.ok()) return type.status();
  return RecordQuery{*std::move(subject), *type};
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out + "\"";
}

}  // namespace hwctl
}  // namespace healthwire
