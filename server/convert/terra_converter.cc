#include "server/convert/terra_converter.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/convert/dom_to_proto.h"
#include "server/convert/json_body_parser.h"
#include "server/convert/lenient_json_to_proto.h"
#include "server/convert/raw_json_slices.h"
#include "server/convert/record_key.h"
#include "storage/id_limits.h"

namespace healthwire {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// Debian's Abseil has its own string_view class; simdjson uses std's.
absl::string_view ToAbsl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// The Event payload field (a member of `oneof payload`) for `type`; nullptr
// when healthwire has no typed message for it (health_observation, unknown).
const FieldDescriptor* PayloadFieldOf(v1::EventType type) {
  int field_number = 0;
  switch (type) {
    case v1::EVENT_TYPE_ACTIVITY:
      field_number = v1::Event::kActivityFieldNumber;
      break;
    case v1::EVENT_TYPE_SLEEP:
      field_number = v1::Event::kSleepFieldNumber;
      break;
    case v1::EVENT_TYPE_BODY:
      field_number = v1::Event::kBodyFieldNumber;
      break;
    case v1::EVENT_TYPE_DAILY:
      field_number = v1::Event::kDailyFieldNumber;
      break;
    case v1::EVENT_TYPE_NUTRITION:
      field_number = v1::Event::kNutritionFieldNumber;
      break;
    case v1::EVENT_TYPE_MENSTRUATION:
      field_number = v1::Event::kMenstruationFieldNumber;
      break;
    case v1::EVENT_TYPE_ATHLETE:
      field_number = v1::Event::kAthleteFieldNumber;
      break;
    case v1::EVENT_TYPE_PLANNED_WORKOUT:
      field_number = v1::Event::kPlannedWorkoutFieldNumber;
      break;
    case v1::EVENT_TYPE_HORMONE:
      field_number = v1::Event::kHormoneFieldNumber;
      break;
    default:
      if (IsConnectionEventType(type)) field_number = v1::Event::kConnectionFieldNumber;
      break;
  }
  if (field_number == 0) return nullptr;
  return v1::Event::descriptor()->FindFieldByNumber(field_number);
}

// A raw_json slice to be filled from the caller's body buffer once the
// conversion is done (ConvertOwnedTerraWebhook).
struct RawJsonFromBody {
  bool pending = false;
  size_t event_index = 0;
  size_t begin = 0;
  size_t size = 0;
};

// One body's conversion: the parsed body and how records become messages.
struct Conversion {
  absl::string_view body;
  const ParsedJsonBody* parsed;
  RecordFiller filler;
  // Set when the caller gave up the body: see SetRawJson.
  RawJsonFromBody* raw_from_body = nullptr;
};

// Below this a raw_json slice is copied even from a body the caller gave up
// (taking the buffer costs a memmove of the whole body).
constexpr size_t kRawJsonFromBodyMinBytes = size_t{1} << 20;

// Sets events[event_index].raw_json to `slice` (bytes of the body). The one
// slice that holds most of a large body the caller gave up is not copied:
// it takes the body's buffer at the end of the conversion.
void SetRawJson(const Conversion& conversion, absl::string_view slice, size_t event_index,
                v1::Event* event) {
  RawJsonFromBody* from_body = conversion.raw_from_body;
  if (from_body != nullptr && !from_body->pending && slice.size() >= kRawJsonFromBodyMinBytes &&
      slice.size() * 2 > conversion.body.size()) {
    *from_body = RawJsonFromBody{true, event_index,
                                 static_cast<size_t>(slice.data() - conversion.body.data()),
                                 slice.size()};
    return;
  }
  event->set_raw_json(std::string(slice));
}

// Whether `json` may hold a member without a name (`""` then `:`). A false
// positive (the bytes inside a string) only costs the slower filler.
bool MayHoldNamelessMember(absl::string_view json) {
  for (size_t at = json.find("\"\""); at != absl::string_view::npos;
       at = json.find("\"\"", at + 2)) {
    size_t next = at + 2;
    while (next < json.size() && (json[next] == ' ' || json[next] == '\t' ||
                                  json[next] == '\n' || json[next] == '\r')) {
      ++next;
    }
    if (next < json.size() && json[next] == ':') return true;
  }
  return false;
}

// Converts one JSON object into `target` with the chosen filler; `json` is
// its exact bytes in the body (or, for the user object, empty: the reference
// then reads the DOM's minified text, as it always has). Returns whether the
// strict conversion succeeded.
bool FillMessage(const Conversion& conversion, absl::string_view json,
                 const simdjson::dom::element& parsed, absl::string_view path, Message* target,
                 ConversionProblems* problems) {
  // protobuf 3.21's JSON parser gives a member without a name inside an
  // element of a repeated message field the meaning of that repeated field
  // itself (ProtoWriter::Lookup: it writes array elements under an empty
  // name), elsewhere it refuses it. The walker does not copy that quirk: an
  // object holding an empty key (no Terra payload has one) takes the
  // reference, which defines the result (found by the differential fuzzer).
  if (conversion.filler == RecordFiller::kProtobufJsonReference ||
      (!json.empty() && MayHoldNamelessMember(json))) {
    if (json.empty()) return JsonToMessageLeniently(simdjson::minify(parsed), parsed, path,
                                                    target, problems);
    return JsonToMessageLeniently(json, parsed, path, target, problems);
  }
  DomToMessageOptions options;
  options.may_exceed_protobuf_depth = conversion.parsed->may_exceed_protobuf_depth;
  if (!json.empty()) {
    const size_t begin = static_cast<size_t>(json.data() - conversion.body.data());
    options.had_out_of_range_number =
        conversion.parsed->HasOutOfRangeNumberIn(begin, begin + json.size());
  }
  return DomToMessageLeniently(parsed, path, options, target, problems);
}

// Fills event's typed payload from one record. The payload stays unset only
// when the strict conversion failed and nothing converted field by field.
void ConvertPayload(const Conversion& conversion, absl::string_view json,
                    const simdjson::dom::element& parsed, v1::Event* event) {
  const FieldDescriptor* payload_field = PayloadFieldOf(event->type());
  if (payload_field == nullptr) return;
  const Reflection& reflection = *event->GetReflection();
  Message* payload = reflection.MutableMessage(event, payload_field);
  const bool converted =
      FillMessage(conversion, json, parsed, "", payload, event->mutable_conversion_problems());
  if (!converted && payload->ByteSizeLong() == 0) reflection.ClearField(event, payload_field);
}

// Sets event.user from `user` (a JSON object), leniently: a user whose
// optional fields drifted keeps its id; problems are listed under "user.".
void ConvertUser(const Conversion& conversion, const simdjson::dom::element& user,
                 v1::Event* event) {
  terra::TerraUser* typed_user = event->mutable_user();
  const bool converted = FillMessage(conversion, "", user, "user", typed_user,
                                     event->mutable_conversion_problems());
  if (!converted && typed_user->ByteSizeLong() == 0) event->clear_user();
}

// ---------------------------------------------------------------------------
// Envelope.

// The string at JSON pointer `pointer`, or empty when it is absent or not a
// string.
std::string StringAt(const simdjson::dom::element& element, std::string_view pointer) {
  std::string_view value;
  if (element.at_pointer(pointer).get_string().get(value) != simdjson::SUCCESS) return "";
  return std::string(value);
}

// Where each type keeps the time its record starts, for Event.start_time.
std::string_view StartTimePointer(v1::EventType type) {
  switch (type) {
    case v1::EVENT_TYPE_HORMONE:
      return "/timestamp";
    case v1::EVENT_TYPE_PLANNED_WORKOUT:
      return "/planned_date";
    default:
      return "/metadata/start_time";
  }
}

// Everything an event of this webhook shares with the others.
v1::Event EventTemplate(v1::EventType type, absl::string_view terra_type,
                        const DeliveryContext& context) {
  v1::Event event;
  event.set_type(type);
  event.set_terra_type(std::string(terra_type));
  const int64_t seconds = absl::ToUnixSeconds(context.received_at);
  event.mutable_received_at()->set_seconds(seconds);
  event.mutable_received_at()->set_nanos(static_cast<int32_t>(
      (context.received_at - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  if (context.ordering_timestamp_ms.has_value()) {
    event.set_ordering_timestamp_ms(*context.ordering_timestamp_ms);
  }
  event.set_trace_id(context.trace_id);
  event.set_terra_reference(context.terra_reference);
  event.set_s3_ping_revision(context.s3_ping_revision);
  return event;
}

// The `user` object of a data or athlete event, which must carry a non-empty
// user_id: records are stored per user.
absl::StatusOr<simdjson::dom::element> RequiredUser(const simdjson::dom::element& envelope,
                                                    absl::string_view event_kind) {
  simdjson::dom::element user;
  std::string_view user_id;
  if (absl::Status unique = CheckNoDuplicateAlong(envelope, "/user/user_id"); !unique.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(event_kind, " event has a ", unique.message()));
  }
  if (envelope["user"].get(user) != simdjson::SUCCESS ||
      user["user_id"].get_string().get(user_id) != simdjson::SUCCESS || user_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(event_kind, " event without user.user_id"));
  }
  return user;
}

absl::Status ConvertDataEvent(const Conversion& conversion, const simdjson::dom::element& root,
                              const simdjson::dom::object& envelope, const EnvelopeSlices& slices,
                              const v1::Event& event_template, std::vector<v1::Event>* events) {
  absl::StatusOr<simdjson::dom::element> user = RequiredUser(root, "data");
  if (!user.ok()) return user.status();
  simdjson::dom::element data_element;
  if (envelope["data"].get(data_element) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("data event without `data`");
  }
  simdjson::dom::array data;
  if (data_element.get_array().get(data) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("`data` is not an array");
  }

  // Keys first: a record without its key refuses the whole webhook, so no
  // work is spent converting the others.
  const v1::EventType type = event_template.type();
  std::vector<std::string> keys;
  size_t index = 0;
  for (simdjson::dom::element record : data) {
    if (!record.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data[", index, "]: record is not a JSON object"));
    }
    absl::StatusOr<std::string> key = RecordKeyOf(type, record);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data[", index, "]: ", key.status().message()));
    }
    // start_time is read with the DOM (first member) and typed by protobuf
    // (last member): a duplicate on its way would make them disagree.
    if (absl::Status unique = CheckNoDuplicateAlong(record, StartTimePointer(type));
        !unique.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("data[", index, "]: ", TerraTypeName(type),
                                                     " record has a ", unique.message()));
    }
    keys.push_back(*std::move(key));
    ++index;
  }
  if (keys.empty()) return absl::OkStatus();

  const std::vector<absl::string_view>& record_bytes = slices.data_elements;
  if (record_bytes.size() != keys.size()) {
    return absl::InternalError(absl::StrCat("found ", record_bytes.size(), " bytes ranges for ",
                                            keys.size(), " records of `data`"));
  }

  v1::Event with_user = event_template;
  ConvertUser(conversion, *user, &with_user);
  index = 0;
  for (simdjson::dom::element record : data) {
    v1::Event& event = events->emplace_back(with_user);
    event.set_record_key(std::move(keys[index]));
    event.set_start_time(StringAt(record, StartTimePointer(type)));
    SetRawJson(conversion, record_bytes[index], events->size() - 1, &event);
    ConvertPayload(conversion, record_bytes[index], record, &event);
    ++index;
  }
  return absl::OkStatus();
}

absl::Status ConvertAthleteEvent(const Conversion& conversion,
                                 const simdjson::dom::element& root,
                                 const simdjson::dom::object& envelope,
                                 const EnvelopeSlices& slices, const v1::Event& event_template,
                                 std::vector<v1::Event>* events) {
  absl::StatusOr<simdjson::dom::element> user = RequiredUser(root, "athlete");
  if (!user.ok()) return user.status();
  simdjson::dom::element athlete;
  if (envelope["athlete"].get(athlete) != simdjson::SUCCESS || !athlete.is_object()) {
    return absl::InvalidArgumentError("athlete event without an `athlete` object");
  }
  if (!slices.athlete_object.has_value()) {
    return absl::InternalError("cannot locate the bytes of `athlete`");
  }
  const absl::string_view* slice = &*slices.athlete_object;

  v1::Event& event = events->emplace_back(event_template);
  ConvertUser(conversion, *user, &event);
  event.set_record_key(std::string(kAthleteRecordKey));
  SetRawJson(conversion, *slice, events->size() - 1, &event);
  ConvertPayload(conversion, *slice, athlete, &event);
  return absl::OkStatus();
}

// Connection, service and unknown events: one event holding the whole body,
// keyed by its content. Never an error: Terra must get its acknowledgement.
void ConvertWholeBodyEvent(const Conversion& conversion, const simdjson::dom::element& root,
                           const simdjson::dom::object& envelope, absl::string_view body,
                           v1::Event event_template, std::vector<v1::Event>* events) {
  v1::Event& event = events->emplace_back(std::move(event_template));
  std::string_view status;
  if (event.type() == v1::EVENT_TYPE_AUTH &&
      envelope["status"].get_string().get(status) == simdjson::SUCCESS && status == "error") {
    event.set_type(v1::EVENT_TYPE_AUTH_ERROR);
  }
  // After a re-auth the connection lives on under new_user's id.
  simdjson::dom::element user;
  const bool has_user = (event.type() == v1::EVENT_TYPE_USER_REAUTH &&
                         envelope["new_user"].get(user) == simdjson::SUCCESS && user.is_object()) ||
                        (envelope["user"].get(user) == simdjson::SUCCESS && user.is_object());
  if (has_user) {
    ConvertUser(conversion, user, &event);
  }
  event.set_record_key(ContentHashKey(body));
  SetRawJson(conversion, body, events->size() - 1, &event);
  ConvertPayload(conversion, body, root, &event);
}

// Ids beyond the store's limit (storage/id_limits.h) could be stored but never
// queried, and the store refuses them: the body is refused here (400), before
// anything is committed or published, instead of a store error that the
// gateway would answer 503 and Terra would retry forever.
absl::Status CheckIdLengths(const std::vector<v1::Event>& events, bool data_records) {
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Event& event = events[i];
    if (i == 0 || event.user().user_id() != events[i - 1].user().user_id()) {
      if (absl::Status valid = ValidateIdLength("user.user_id", event.user().user_id());
          !valid.ok()) {
        return valid;
      }
      if (absl::Status valid =
              ValidateIdLength("user.reference_id", event.user().reference_id());
          !valid.ok()) {
        return valid;
      }
    }
    const std::string field =
        data_records ? absl::StrCat("data[", i, "]: record key") : std::string("record key");
    if (absl::Status valid = ValidateIdLength(field, event.record_key()); !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConvertedWebhook> ConvertTerraWebhook(absl::string_view body,
                                                     const DeliveryContext& context) {
  return ConvertTerraWebhook(body, context, RecordFiller::kDomWalker);
}

namespace {

// `owned_body`: the caller's buffer holding `body`, or nullptr.
absl::StatusOr<ConvertedWebhook> Convert(absl::string_view body, std::string* owned_body,
                                         const DeliveryContext& context, RecordFiller filler);

}  // namespace

absl::StatusOr<ConvertedWebhook> ConvertTerraWebhook(absl::string_view body,
                                                     const DeliveryContext& context,
                                                     RecordFiller filler) {
  return Convert(body, nullptr, context, filler);
}

absl::StatusOr<ConvertedWebhook> ConvertOwnedTerraWebhook(std::string body,
                                                          const DeliveryContext& context) {
  return Convert(body, &body, context, RecordFiller::kDomWalker);
}

namespace {

absl::StatusOr<ConvertedWebhook> Convert(absl::string_view body, std::string* owned_body,
                                         const DeliveryContext& context, RecordFiller filler) {
  // One padded buffer serves both parsers: the DOM parser validates the whole
  // body (JSON and UTF-8) and gives the values; the on-demand parser, run only
  // over validated bytes, locates each record's exact bytes. A large body the
  // caller gave up is parsed in its own buffer when that has room for the
  // padding.
  ParsedJsonBody parsed;
  if (absl::Status status =
          owned_body != nullptr ? ParseJsonBodyInPlace(body, owned_body->capacity(), &parsed)
                                : ParseJsonBody(body, &parsed);
      !status.ok()) {
    return status;
  }
  RawJsonFromBody raw_from_body;
  const simdjson::dom::element& root = parsed.root;
  simdjson::dom::object envelope;
  if (root.get_object().get(envelope) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("body is not a JSON object");
  }
  // Before any member is read: a member given twice has no single meaning.
  absl::StatusOr<EnvelopeSlices> slices = ScanEnvelope(OnDemandParserFor(parsed), parsed.padded, body);
  if (!slices.ok()) return slices.status();
  const Conversion conversion{body, &parsed, filler,
                              owned_body != nullptr ? &raw_from_body : nullptr};
  simdjson::dom::element type_element;
  if (envelope["type"].get(type_element) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("body has no `type`");
  }
  std::string_view terra_type;
  if (type_element.get_string().get(terra_type) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("`type` is not a string");
  }

  ConvertedWebhook result;
  result.terra_type = std::string(terra_type);
  const v1::EventType type = EventTypeFromTerraType(ToAbsl(terra_type));
  if (type == v1::EVENT_TYPE_UNSPECIFIED) return result;  // healthcheck

  v1::Event event_template = EventTemplate(type, ToAbsl(terra_type), context);
  if (IsDataRecordType(type)) {
    absl::Status status = ConvertDataEvent(conversion, root, envelope, *slices, event_template, &result.events);
    if (!status.ok()) return status;
  } else if (type == v1::EVENT_TYPE_ATHLETE) {
    absl::Status status =
        ConvertAthleteEvent(conversion, root, envelope, *slices, event_template, &result.events);
    if (!status.ok()) return status;
  } else {
    ConvertWholeBodyEvent(conversion, root, envelope, body, std::move(event_template), &result.events);
  }
  if (absl::Status ids = CheckIdLengths(result.events, IsDataRecordType(type)); !ids.ok()) {
    return ids;
  }
  for (const v1::Event& event : result.events) {
    if (event.conversion_problems_size() > 0) ++result.events_with_problems;
  }
  if (raw_from_body.pending) {
    // Nothing reads the body after this (the DOM holds its own copies of
    // strings): its buffer becomes the record's raw JSON, trimmed in place.
    std::string raw = std::move(*owned_body);
    raw.erase(raw_from_body.begin + raw_from_body.size);
    raw.erase(0, raw_from_body.begin);
    result.events[raw_from_body.event_index].set_raw_json(std::move(raw));
  }
  return result;
}

}  // namespace

}  // namespace healthwire
