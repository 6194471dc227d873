#include "server/convert/lenient_json_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using Problems = ConversionProblems;

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

}  // namespace

bool JsonToMessageLeniently(absl::string_view json, const simdjson::dom::element& parsed,
                            absl::string_view path, Message* target, Problems* problems) {
  const bool converted = ConvertJsonObject(json, parsed, path, target, problems);
  FlagUnknownEnumValues(*target, path, problems);
  FlagUnknownEnumNames(parsed, *target->GetDescriptor(), path, problems);
  return converted;
}

}  // namespace healthwire
