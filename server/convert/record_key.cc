#include "server/convert/record_key.h"

#include <openssl/sha.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

struct TerraTypeEntry {
  absl::string_view terra_type;
  v1::EventType event_type;
};

// One row per EventType that has a Terra name; "auth" with status "error"
// shares EVENT_TYPE_AUTH_ERROR with "auth_cancelled" and is decided by the
// converter, so it is not a row of its own.
constexpr TerraTypeEntry kTerraTypes[] = {
    {"activity", v1::EVENT_TYPE_ACTIVITY},
    {"sleep", v1::EVENT_TYPE_SLEEP},
    {"body", v1::EVENT_TYPE_BODY},
    {"daily", v1::EVENT_TYPE_DAILY},
    {"nutrition", v1::EVENT_TYPE_NUTRITION},
    {"menstruation", v1::EVENT_TYPE_MENSTRUATION},
    {"athlete", v1::EVENT_TYPE_ATHLETE},
    {"planned_workout", v1::EVENT_TYPE_PLANNED_WORKOUT},
    {"hormone", v1::EVENT_TYPE_HORMONE},
    {"health_observation", v1::EVENT_TYPE_HEALTH_OBSERVATION},
    {"auth", v1::EVENT_TYPE_AUTH},
    {"auth_cancelled", v1::EVENT_TYPE_AUTH_ERROR},
    {"deauth", v1::EVENT_TYPE_DEAUTH},
    {"user_reauth", v1::EVENT_TYPE_USER_REAUTH},
    {"access_revoked", v1::EVENT_TYPE_ACCESS_REVOKED},
    {"connection_error", v1::EVENT_TYPE_CONNECTION_ERROR},
    {"permission_change", v1::EVENT_TYPE_PERMISSION_CHANGE},
    {"google_no_datasource", v1::EVENT_TYPE_GOOGLE_NO_DATASOURCE},
    {"large_request_processing", v1::EVENT_TYPE_LARGE_REQUEST_PROCESSING},
    {"large_request_sending", v1::EVENT_TYPE_LARGE_REQUEST_SENDING},
    {"rate_limit_hit", v1::EVENT_TYPE_RATE_LIMIT_HIT},
    {"processing", v1::EVENT_TYPE_PROCESSING},
    {"s3_payload", v1::EVENT_TYPE_S3_PAYLOAD},
};

constexpr absl::string_view kHealthcheck = "healthcheck";

// The string at JSON pointer `pointer` inside `record` when it is a non-empty
// string; nullopt when absent, null, another type or empty (an empty id
// identifies nothing, so it counts as missing).
std::optional<absl::string_view> NonEmptyStringAt(const simdjson::dom::element& record,
                                                  std::string_view pointer) {
  std::string_view value;
  if (record.at_pointer(pointer).get_string().get(value) != simdjson::SUCCESS || value.empty()) {
    return std::nullopt;
  }
  return absl::string_view(value.data(), value.size());
}

absl::Status MissingKeyError(v1::EventType type, absl::string_view fields) {
  return absl::InvalidArgumentError(absl::StrCat(TerraTypeName(type), " record without ", fields));
}

// First of `pointers` (JSON pointers, paired with their dotted names for the
// error message) that holds a non-empty string.
struct KeyField {
  std::string_view pointer;
  absl::string_view name;
};

template <size_t N>
absl::StatusOr<std::string> FirstPresentKey(v1::EventType type,
                                            const simdjson::dom::element& record,
                                            const KeyField (&fields)[N]) {
  for (const KeyField& field : fields) {
    if (absl::Status unique = CheckNoDuplicateAlong(record, field.pointer); !unique.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(TerraTypeName(type), " record has a ", unique.message()));
    }
  }
  for (const KeyField& field : fields) {
    if (std::optional<absl::string_view> value = NonEmptyStringAt(record, field.pointer)) {
      return std::string(*value);
    }
  }
  std::string names;
  for (size_t i = 0; i < N; ++i) {
    absl::StrAppend(&names, i == 0 ? "" : (i + 1 == N ? " or " : ", "), fields[i].name);
  }
  return MissingKeyError(type, names);
}

}  // namespace

v1::EventType EventTypeFromTerraType(absl::string_view terra_type) {
  for (const TerraTypeEntry& entry : kTerraTypes) {
    if (entry.terra_type == terra_type) return entry.event_type;
  }
  if (terra_type == kHealthcheck) return v1::EVENT_TYPE_UNSPECIFIED;
  return v1::EVENT_TYPE_UNKNOWN;
}

absl::string_view TerraTypeName(v1::EventType type) {
  for (const TerraTypeEntry& entry : kTerraTypes) {
    if (entry.event_type == type) return entry.terra_type;
  }
  return "";
}

bool IsDataRecordType(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_ACTIVITY:
    case v1::EVENT_TYPE_SLEEP:
    case v1::EVENT_TYPE_BODY:
    case v1::EVENT_TYPE_DAILY:
    case v1::EVENT_TYPE_NUTRITION:
    case v1::EVENT_TYPE_MENSTRUATION:
    case v1::EVENT_TYPE_PLANNED_WORKOUT:
    case v1::EVENT_TYPE_HORMONE:
    case v1::EVENT_TYPE_HEALTH_OBSERVATION:
      return true;
    default:
      return false;
  }
}

bool IsConnectionEventType(v1::EventType type) {
  return type >= v1::EVENT_TYPE_AUTH && type <= v1::EVENT_TYPE_S3_PAYLOAD;
}

absl::Status CheckNoDuplicateAlong(const simdjson::dom::element& root, std::string_view pointer) {
  simdjson::dom::element current = root;
  size_t begin = 1;  // after the leading '/'
  while (begin <= pointer.size()) {
    size_t end = pointer.find('/', begin);
    if (end == std::string_view::npos) end = pointer.size();
    const std::string_view name = pointer.substr(begin, end - begin);
    simdjson::dom::object object;
    if (current.get_object().get(object) != simdjson::SUCCESS) return absl::OkStatus();
    int count = 0;
    simdjson::dom::element first;
    for (simdjson::dom::key_value_pair member : object) {
      if (member.key == name && count++ == 0) first = member.value;
    }
    if (count == 0) return absl::OkStatus();
    if (count > 1) {
      const std::string_view dotted = pointer.substr(1, end - 1);
      std::string path(dotted.data(), dotted.size());
      for (char& c : path) c = c == '/' ? '.' : c;
      return absl::InvalidArgumentError(absl::StrCat("duplicate key `", path, "`"));
    }
    current = first;
    begin = end + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DateKeyFromTimestamp(absl::string_view timestamp) {
  // Only the shape is checked: the key must sort and group by day, and the
  // date is taken as Terra wrote it (the user's local day), never converted.
  bool looks_like_date = timestamp.size() >= 10;
  for (size_t i = 0; looks_like_date && i < 10; ++i) {
    looks_like_date = (i == 4 || i == 7) ? timestamp[i] == '-' : absl::ascii_isdigit(timestamp[i]);
  }
  if (!looks_like_date) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp \"", timestamp.substr(0, 40), "\" does not start with YYYY-MM-DD"));
  }
  return std::string(timestamp.substr(0, 10));
}

absl::StatusOr<std::string> RecordKeyOf(v1::EventType type, const simdjson::dom::element& record) {
  switch (type) {
    case v1::EVENT_TYPE_ACTIVITY: {
      static constexpr KeyField kFields[] = {{"/metadata/summary_id", "metadata.summary_id"}};
      return FirstPresentKey(type, record, kFields);
    }
    case v1::EVENT_TYPE_SLEEP: {
      // summary_id is optional in Terra's sleep schema; the start time still
      // identifies one night of one user.
      static constexpr KeyField kFields[] = {{"/metadata/summary_id", "metadata.summary_id"},
                                             {"/metadata/start_time", "metadata.start_time"}};
      return FirstPresentKey(type, record, kFields);
    }
    case v1::EVENT_TYPE_BODY:
    case v1::EVENT_TYPE_DAILY:
    case v1::EVENT_TYPE_NUTRITION:
    case v1::EVENT_TYPE_MENSTRUATION: {
      if (absl::Status unique = CheckNoDuplicateAlong(record, "/metadata/start_time");
          !unique.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(TerraTypeName(type), " record has a ", unique.message()));
      }
      std::optional<absl::string_view> start_time =
          NonEmptyStringAt(record, "/metadata/start_time");
      if (!start_time) return MissingKeyError(type, "metadata.start_time");
      absl::StatusOr<std::string> date = DateKeyFromTimestamp(*start_time);
      if (!date.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(TerraTypeName(type),
                         " record has a bad metadata.start_time: ", date.status().message()));
      }
      return date;
    }
    case v1::EVENT_TYPE_ATHLETE:
      return std::string(kAthleteRecordKey);
    case v1::EVENT_TYPE_HORMONE: {
      static constexpr KeyField kFields[] = {{"/timestamp", "timestamp"}};
      return FirstPresentKey(type, record, kFields);
    }
    case v1::EVENT_TYPE_PLANNED_WORKOUT: {
      // Terra's sources disagree on which id a planned workout carries.
      static constexpr KeyField kFields[] = {{"/planned_workout_id", "planned_workout_id"},
                                             {"/metadata/id", "metadata.id"},
                                             {"/details/metadata/id", "details.metadata.id"}};
      return FirstPresentKey(type, record, kFields);
    }
    case v1::EVENT_TYPE_HEALTH_OBSERVATION: {
      static constexpr KeyField kFields[] = {{"/metadata/summary_id", "metadata.summary_id"},
                                             {"/metadata/id", "metadata.id"},
                                             {"/metadata/start_time", "metadata.start_time"}};
      return FirstPresentKey(type, record, kFields);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("event type ", v1::EventType_Name(type),
                                                     " has no record key; it is keyed by content"));
  }
}

std::string ContentHashKey(absl::string_view raw_body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw_body.data()), raw_body.size(), digest);
  // 128 bits are plenty to tell deliveries apart and keep keys short.
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace healthwire
