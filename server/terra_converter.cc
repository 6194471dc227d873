#include "server/terra_converter.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <simdjson.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/record_key.h"

namespace healthwire {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using Problems = ::google::protobuf::RepeatedPtrField<v1::ConversionProblem>;

// Debian's Abseil has its own string_view class, and protobuf 3.21 its own
// StringPiece; these convert between them and simdjson's std::string_view.
absl::string_view ToAbsl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}
absl::string_view ToAbsl(google::protobuf::StringPiece piece) {
  return absl::string_view(piece.data(), piece.size());
}
google::protobuf::StringPiece ToStringPiece(absl::string_view view) {
  return google::protobuf::StringPiece(view.data(), view.size());
}

// ---------------------------------------------------------------------------
// Exact byte slices of records.

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Moves `end` back over JSON whitespace, never before `begin`.
const char* TrimWhitespaceBefore(const char* begin, const char* end) {
  while (end > begin && IsJsonWhitespace(end[-1])) --end;
  return end;
}

// Moves `end` back over whitespace, then over `expected` (which must be
// there), then over whitespace again. nullptr when `expected` is not there.
const char* TrimSeparatorBefore(const char* begin, const char* end, char expected) {
  end = TrimWhitespaceBefore(begin, end);
  if (end == begin || end[-1] != expected) return nullptr;
  return TrimWhitespaceBefore(begin, end - 1);
}

absl::Status SliceError(absl::string_view what, simdjson::error_code error) {
  return absl::InternalError(
      absl::StrCat("cannot locate the bytes of ", what, ": ", simdjson::error_message(error)));
}

// The exact bytes of each element of the top-level `data` array, as views
// into `body` (`padded` must be a padded copy of `body`).
//
// Why by hand: an event's raw_json must be its record exactly as Terra sent
// it (re-serializing would change number spelling, escapes and key order),
// and simdjson 3.0.1 has no value::raw_json(). The on-demand parser gives
// each element's first byte (raw_json_token().data()). An element ends where
// the next one begins, minus the whitespace and the single comma between
// them; the last one ends before the whitespace, `]` and whitespace that
// precede the token after the array (document::current_location() once the
// array is iterated). This relies on the body having been validated by the
// DOM parser first: only JSON whitespace and one separator can be there.
absl::StatusOr<std::vector<absl::string_view>> DataElementSlices(simdjson::padded_string& padded,
                                                                 absl::string_view body) {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document;
  if (auto error = parser.iterate(padded).get(document)) {
    return SliceError("`data`", error);
  }
  simdjson::ondemand::array data;
  if (auto error = document["data"].get_array().get(data)) {
    return SliceError("`data`", error);
  }
  std::vector<const char*> starts;
  for (auto element : data) {
    simdjson::ondemand::value value;
    if (auto error = element.get(value)) return SliceError("`data`", error);
    starts.push_back(value.raw_json_token().data());
  }
  std::vector<absl::string_view> slices;
  if (starts.empty()) return slices;
  const char* after_array = nullptr;
  if (auto error = document.current_location().get(after_array)) {
    return SliceError("`data`", error);
  }

  const char* const base = padded.data();
  for (size_t i = 0; i < starts.size(); ++i) {
    const bool last = i + 1 == starts.size();
    const char* end = last ? TrimSeparatorBefore(starts[i], after_array, ']')
                           : TrimSeparatorBefore(starts[i], starts[i + 1], ',');
    if (end == nullptr || end == starts[i]) {
      return absl::InternalError(absl::StrCat("cannot locate the bytes of data[", i, "]"));
    }
    slices.push_back(body.substr(starts[i] - base, end - starts[i]));
  }
  return slices;
}

// The exact bytes of the object value of top-level field `key`, as a view
// into `body`; the same technique as DataElementSlices: the object starts at
// its first token and ends before the whitespace that precedes the token
// after it, which current_location() gives once its fields are iterated.
absl::StatusOr<absl::string_view> TopLevelObjectSlice(simdjson::padded_string& padded,
                                                      absl::string_view body,
                                                      std::string_view key) {
  const std::string what = absl::StrCat("`", ToAbsl(key), "`");
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document;
  if (auto error = parser.iterate(padded).get(document)) return SliceError(what, error);
  simdjson::ondemand::value value;
  if (auto error = document[key].get(value)) return SliceError(what, error);
  const std::string_view first_token = value.raw_json_token();
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return SliceError(what, error);
  for (auto field : object) {
    if (auto error = field.error()) return SliceError(what, error);
  }
  const char* after_object = nullptr;
  if (auto error = document.current_location().get(after_object)) {
    return SliceError(what, error);
  }
  const char* begin = first_token.data();
  const char* end = TrimWhitespaceBefore(begin, after_object);
  if (end == begin || end[-1] != '}') {
    return absl::InternalError(absl::StrCat("cannot locate the bytes of ", what));
  }
  return body.substr(begin - padded.data(), end - begin);
}

// ---------------------------------------------------------------------------
// Typed conversion.

google::protobuf::util::JsonParseOptions TerraJsonParseOptions() {
  google::protobuf::util::JsonParseOptions options;
  // Terra adds fields over time; they are kept in raw_json, not refused.
  options.ignore_unknown_fields = true;
  return options;
}

std::string JoinPath(absl::string_view prefix, absl::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
}

void AddProblem(std::string field_path, absl::string_view reason, Problems* problems) {
  v1::ConversionProblem* problem = problems->Add();
  problem->set_field_path(std::move(field_path));
  problem->set_reason(std::string(reason));
}

// The JSON key Terra uses for `field`: its explicit json_name when it has
// one (a renamed field), else its name (terra.proto names fields after
// Terra's keys).
absl::string_view TerraKeyOf(const FieldDescriptor& field) {
  return field.has_json_name() ? field.json_name() : field.name();
}

// The field protobuf's JSON parser would fill for JSON key `key`: by proto
// name or by JSON name, as JsonStringToMessage accepts both.
const FieldDescriptor* FieldForJsonKey(const google::protobuf::Descriptor& descriptor,
                                       std::string_view key) {
  const std::string key_string(key);
  if (const FieldDescriptor* field = descriptor.FindFieldByName(key_string)) {
    return field;
  }
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == key_string) return descriptor.field(i);
  }
  return nullptr;
}

// Schema-drift fallback: converts `object` into `target` one key at a time,
// so one field that does not fit the schema loses only itself. A field that
// fails is recursed into when it is an object for a singular message field
// (so `metadata` keeps everything but its bad member); otherwise it is left
// out and listed in `problems` under its path.
void ConvertFieldsLeniently(const simdjson::dom::object& object, absl::string_view path,
                            Message* target, Problems* problems) {
  const google::protobuf::Descriptor& descriptor = *target->GetDescriptor();
  const Reflection& reflection = *target->GetReflection();
  for (simdjson::dom::key_value_pair member : object) {
    const FieldDescriptor* field = FieldForJsonKey(descriptor, member.key);
    // Keys the schema does not model are ignored here, as in the strict
    // path; raw_json keeps them.
    if (field == nullptr) continue;

    // The key matched a field name, so it is a plain identifier: no escaping.
    const std::string single_field_json =
        absl::StrCat("{\"", ToAbsl(member.key), "\":", simdjson::minify(member.value), "}");
    std::unique_ptr<Message> piece(target->New());
    const auto status = google::protobuf::util::JsonStringToMessage(single_field_json, piece.get(),
                                                                    TerraJsonParseOptions());
    if (status.ok()) {
      target->MergeFrom(*piece);
      continue;
    }

    const std::string field_path = JoinPath(path, ToAbsl(member.key));
    simdjson::dom::object nested;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated() &&
        member.value.get_object().get(nested) == simdjson::SUCCESS) {
      std::unique_ptr<Message> sub_message(reflection.GetMessage(*target, field).New());
      ConvertFieldsLeniently(nested, field_path, sub_message.get(), problems);
      if (sub_message->ByteSizeLong() > 0) {
        reflection.MutableMessage(target, field)->MergeFrom(*sub_message);
      }
      continue;
    }
    AddProblem(field_path, ToAbsl(status.message()), problems);
  }
}

// Converts a JSON object into `target`: `json` is its text, `parsed` the same
// object already parsed. Protobuf's JSON mapping first, all at once; if that
// refuses the object, the per-field fallback. Returns whether the strict
// conversion succeeded.
bool ConvertJsonObject(absl::string_view json, const simdjson::dom::element& parsed,
                       absl::string_view path, Message* target, Problems* problems) {
  const auto status = google::protobuf::util::JsonStringToMessage(ToStringPiece(json), target,
                                                                  TerraJsonParseOptions());
  if (status.ok()) return true;
  target->Clear();
  simdjson::dom::object object;
  if (parsed.get_object().get(object) != simdjson::SUCCESS) {
    AddProblem(std::string(path), ToAbsl(status.message()), problems);
    return false;
  }
  ConvertFieldsLeniently(object, path, target, problems);
  return false;
}

void CheckEnumValue(const FieldDescriptor& field, int number, std::string field_path,
                    Problems* problems) {
  if (field.enum_type()->FindValueByNumber(number) != nullptr) return;
  AddProblem(std::move(field_path),
             absl::StrCat("unknown enum value ", number, " for ", field.enum_type()->name()),
             problems);
}

// Protobuf's JSON parser keeps enum numbers the proto does not define (proto3
// enums are open) without a word; Terra adding an activity type is exactly
// that kind of drift, so such values are kept and listed as problems.
void FlagUnknownEnumValues(const Message& message, absl::string_view path, Problems* problems) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->is_map()) continue;  // Terra's maps hold numbers only.
    const std::string field_path = JoinPath(path, TerraKeyOf(*field));
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          CheckEnumValue(*field, reflection.GetRepeatedEnumValue(message, field, i),
                         absl::StrCat(field_path, "[", i, "]"), problems);
        }
      } else {
        CheckEnumValue(*field, reflection.GetEnumValue(message, field), field_path, problems);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          FlagUnknownEnumValues(reflection.GetRepeatedMessage(message, field, i),
                                absl::StrCat(field_path, "[", i, "]"), problems);
        }
      } else {
        FlagUnknownEnumValues(reflection.GetMessage(message, field), field_path, problems);
      }
    }
  }
}

// The other half of enum drift: an enum sent as a name the proto does not
// define ("running" for metadata.type) is dropped by protobuf's parser under
// ignore_unknown_fields, with no error and no trace in the typed message. So
// the parsed JSON is walked beside the schema and such names are listed.
void FlagUnknownEnumNames(const simdjson::dom::element& json,
                          const google::protobuf::Descriptor& descriptor, absl::string_view path,
                          Problems* problems) {
  simdjson::dom::object object;
  if (json.get_object().get(object) != simdjson::SUCCESS) return;
  for (simdjson::dom::key_value_pair member : object) {
    const FieldDescriptor* field = FieldForJsonKey(descriptor, member.key);
    if (field == nullptr || field->is_map()) continue;
    const std::string field_path = JoinPath(path, ToAbsl(member.key));
    auto check = [&](const simdjson::dom::element& value, const std::string& value_path) {
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        std::string_view name;
        if (value.get_string().get(name) == simdjson::SUCCESS &&
            field->enum_type()->FindValueByName(std::string(name)) == nullptr) {
          AddProblem(value_path,
                     absl::StrCat("unknown enum name \"", ToAbsl(name), "\" for ",
                                  field->enum_type()->name()),
                     problems);
        }
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        FlagUnknownEnumNames(value, *field->message_type(), value_path, problems);
      }
    };
    simdjson::dom::array elements;
    if (field->is_repeated() && member.value.get_array().get(elements) == simdjson::SUCCESS) {
      size_t i = 0;
      for (simdjson::dom::element element : elements) {
        check(element, absl::StrCat(field_path, "[", i++, "]"));
      }
    } else {
      check(member.value, field_path);
    }
  }
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

// Fills event's typed payload from one record. The payload stays unset only
// when the strict conversion failed and nothing converted field by field.
void ConvertPayload(absl::string_view json, const simdjson::dom::element& parsed,
                    v1::Event* event) {
  const FieldDescriptor* payload_field = PayloadFieldOf(event->type());
  if (payload_field == nullptr) return;
  const Reflection& reflection = *event->GetReflection();
  std::unique_ptr<Message> payload(reflection.GetMessage(*event, payload_field).New());
  Problems* problems = event->mutable_conversion_problems();
  const bool converted = ConvertJsonObject(json, parsed, "", payload.get(), problems);
  FlagUnknownEnumValues(*payload, "", problems);
  FlagUnknownEnumNames(parsed, *payload->GetDescriptor(), "", problems);
  if (converted || payload->ByteSizeLong() > 0) {
    reflection.SetAllocatedMessage(event, payload.release(), payload_field);
  }
}

// Sets event.user from `user` (a JSON object), leniently: a user whose
// optional fields drifted keeps its id; problems are listed under "user.".
void ConvertUser(const simdjson::dom::element& user, v1::Event* event) {
  terra::TerraUser typed_user;
  const bool converted = ConvertJsonObject(simdjson::minify(user), user, "user", &typed_user,
                                           event->mutable_conversion_problems());
  if (converted || typed_user.ByteSizeLong() > 0) *event->mutable_user() = std::move(typed_user);
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
std::string StartTimeOf(v1::EventType type, const simdjson::dom::element& record) {
  switch (type) {
    case v1::EVENT_TYPE_HORMONE:
      return StringAt(record, "/timestamp");
    case v1::EVENT_TYPE_PLANNED_WORKOUT:
      return StringAt(record, "/planned_date");
    default:
      return StringAt(record, "/metadata/start_time");
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
  return event;
}

// The `user` object of a data or athlete event, which must carry a non-empty
// user_id: records are stored per user.
absl::StatusOr<simdjson::dom::element> RequiredUser(const simdjson::dom::object& envelope,
                                                    absl::string_view event_kind) {
  simdjson::dom::element user;
  std::string_view user_id;
  if (envelope["user"].get(user) != simdjson::SUCCESS ||
      user["user_id"].get_string().get(user_id) != simdjson::SUCCESS || user_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(event_kind, " event without user.user_id"));
  }
  return user;
}

absl::Status ConvertDataEvent(const simdjson::dom::object& envelope,
                              simdjson::padded_string& padded, absl::string_view body,
                              const v1::Event& event_template, std::vector<v1::Event>* events) {
  absl::StatusOr<simdjson::dom::element> user = RequiredUser(envelope, "data");
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
    keys.push_back(*std::move(key));
    ++index;
  }
  if (keys.empty()) return absl::OkStatus();

  absl::StatusOr<std::vector<absl::string_view>> slices = DataElementSlices(padded, body);
  if (!slices.ok()) return slices.status();
  if (slices->size() != keys.size()) {
    return absl::InternalError(absl::StrCat("found ", slices->size(), " bytes ranges for ",
                                            keys.size(), " records of `data`"));
  }

  v1::Event with_user = event_template;
  ConvertUser(*user, &with_user);
  index = 0;
  for (simdjson::dom::element record : data) {
    v1::Event& event = events->emplace_back(with_user);
    event.set_record_key(std::move(keys[index]));
    event.set_start_time(StartTimeOf(type, record));
    event.set_raw_json(std::string((*slices)[index]));
    ConvertPayload((*slices)[index], record, &event);
    ++index;
  }
  return absl::OkStatus();
}

absl::Status ConvertAthleteEvent(const simdjson::dom::object& envelope,
                                 simdjson::padded_string& padded, absl::string_view body,
                                 const v1::Event& event_template, std::vector<v1::Event>* events) {
  absl::StatusOr<simdjson::dom::element> user = RequiredUser(envelope, "athlete");
  if (!user.ok()) return user.status();
  simdjson::dom::element athlete;
  if (envelope["athlete"].get(athlete) != simdjson::SUCCESS || !athlete.is_object()) {
    return absl::InvalidArgumentError("athlete event without an `athlete` object");
  }
  absl::StatusOr<absl::string_view> slice = TopLevelObjectSlice(padded, body, "athlete");
  if (!slice.ok()) return slice.status();

  v1::Event& event = events->emplace_back(event_template);
  ConvertUser(*user, &event);
  event.set_record_key(std::string(kAthleteRecordKey));
  event.set_raw_json(std::string(*slice));
  ConvertPayload(*slice, athlete, &event);
  return absl::OkStatus();
}

// Connection, service and unknown events: one event holding the whole body,
// keyed by its content. Never an error: Terra must get its acknowledgement.
void ConvertWholeBodyEvent(const simdjson::dom::element& root,
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
    ConvertUser(user, &event);
  }
  event.set_record_key(ContentHashKey(body));
  event.set_raw_json(std::string(body));
  ConvertPayload(body, root, &event);
}

// Whether `token` is a JSON number by the grammar of RFC 8259.
bool IsJsonNumberToken(absl::string_view token) {
  static const std::regex* const kNumber =
      new std::regex(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  return std::regex_match(token.begin(), token.end(), *kNumber);
}

// Whether simdjson's DOM parser can hold the number `token`: integers must
// fit 64 bits, other numbers a finite double.
bool FitsDomNumber(absl::string_view token) {
  if (token.find_first_of(".eE") == absl::string_view::npos) {
    int64_t as_signed;
    uint64_t as_unsigned;
    return absl::SimpleAtoi(token, &as_signed) || absl::SimpleAtoi(token, &as_unsigned);
  }
  errno = 0;
  const std::string text(token);
  const double value = std::strtod(text.c_str(), nullptr);
  return errno != ERANGE && std::isfinite(value);
}

// Collects the spans of valid JSON numbers the DOM parser cannot hold. False
// when the walk finds anything else wrong (the body really is not JSON).
bool CollectOutOfRangeNumbers(simdjson::ondemand::value value, const char* base, int depth,
                              std::vector<std::pair<size_t, size_t>>* spans) {
  if (depth > 1024) return false;
  simdjson::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return false;
      for (auto field : object) {
        simdjson::ondemand::value member;
        if (field.value().get(member) != simdjson::SUCCESS ||
            !CollectOutOfRangeNumbers(member, base, depth + 1, spans)) {
          return false;
        }
      }
      return true;
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return false;
      for (auto element : array) {
        simdjson::ondemand::value item;
        if (element.get(item) != simdjson::SUCCESS ||
            !CollectOutOfRangeNumbers(item, base, depth + 1, spans)) {
          return false;
        }
      }
      return true;
    }
    case simdjson::ondemand::json_type::number: {
      const std::string_view token = value.raw_json_token();
      const absl::string_view number =
          absl::StripTrailingAsciiWhitespace(absl::string_view(token.data(), token.size()));
      if (!IsJsonNumberToken(number)) return false;
      if (!FitsDomNumber(number)) spans->emplace_back(number.data() - base, number.size());
      return true;
    }
    default:
      return true;  // strings, booleans, null: the DOM parse checked them
  }
}

// simdjson's DOM parser (like protobuf's) refuses numbers beyond 64-bit
// integers or doubles (1e400), though they are valid JSON. Refusing the body
// would make Terra retry and finally drop every record in it, while only one
// field does not fit: so, in a copy used for the envelope and the lenient
// conversion, such integers become doubles and numbers beyond a double
// become `{}` (the field is then flagged as a conversion problem); every
// record keeps its exact original bytes.
// nullopt when the body has no such number, or is broken in another way.
std::optional<std::string> WithOutOfRangeNumbersReplaced(simdjson::padded_string& padded) {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::value root;
  if (document.get_value().get(root) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::pair<size_t, size_t>> spans;
  if (!CollectOutOfRangeNumbers(root, padded.data(), 0, &spans) || spans.empty()) {
    return std::nullopt;
  }
  std::string replaced;
  size_t copied = 0;
  for (const auto& [offset, length] : spans) {
    replaced.append(padded.data() + copied, offset - copied);
    const absl::string_view number(padded.data() + offset, length);
    if (number.find_first_of(".eE") == absl::string_view::npos) {
      // An integer beyond 64 bits still fits a double: keep its value.
      absl::StrAppend(&replaced, number, ".0");
    } else {
      replaced.append("{}");
    }
    copied = offset + length;
  }
  replaced.append(padded.data() + copied, padded.size() - copied);
  return replaced;
}

}  // namespace

absl::StatusOr<ConvertedWebhook> ConvertTerraWebhook(absl::string_view body,
                                                     const DeliveryContext& context) {
  // One padded copy serves both parsers: the DOM parser validates the whole
  // body (JSON and UTF-8) and gives the values; the on-demand parser, run only
  // over validated bytes, locates each record's exact bytes.
  simdjson::padded_string padded(body.data(), body.size());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    std::optional<std::string> replaced;
    if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
      replaced = WithOutOfRangeNumbersReplaced(padded);
    }
    if (!replaced.has_value() || parser.parse(*replaced).get(root) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("body is not valid JSON: ", simdjson::error_message(error)));
    }
  }
  simdjson::dom::object envelope;
  if (root.get_object().get(envelope) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("body is not a JSON object");
  }
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
    absl::Status status = ConvertDataEvent(envelope, padded, body, event_template, &result.events);
    if (!status.ok()) return status;
  } else if (type == v1::EVENT_TYPE_ATHLETE) {
    absl::Status status =
        ConvertAthleteEvent(envelope, padded, body, event_template, &result.events);
    if (!status.ok()) return status;
  } else {
    ConvertWholeBodyEvent(root, envelope, body, std::move(event_template), &result.events);
  }
  for (const v1::Event& event : result.events) {
    if (event.conversion_problems_size() > 0) ++result.events_with_problems;
  }
  return result;
}

}  // namespace healthwire
