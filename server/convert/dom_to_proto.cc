#include "server/convert/dom_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/strutil.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "server/convert/json_body_parser.h"

namespace healthwire {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::EnumValueDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::OneofDescriptor;
using ::google::protobuf::Reflection;
using ::simdjson::dom::element;
using ::simdjson::dom::element_type;

absl::string_view ToAbsl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

// ---------------------------------------------------------------------------
// Field lookup: a JSON key names a field by its proto name or its JSON name
// (as FieldForJsonKey in lenient_json_to_proto.cc: the proto name first).

class FieldTable {
 public:
  explicit FieldTable(const Descriptor& descriptor) {
    for (int i = 0; i < descriptor.field_count(); ++i) {
      const FieldDescriptor* field = descriptor.field(i);
      by_key_.emplace(field->json_name(), field);  // the first field wins
    }
    for (int i = 0; i < descriptor.field_count(); ++i) {
      by_key_[descriptor.field(i)->name()] = descriptor.field(i);
    }
  }
  const FieldDescriptor* Find(std::string_view key) const {
    auto it = by_key_.find(ToAbsl(key));
    return it == by_key_.end() ? nullptr : it->second;
  }

 private:
  absl::flat_hash_map<std::string, const FieldDescriptor*> by_key_;
};

const FieldTable& FieldTableOf(const Descriptor& descriptor) {
  static thread_local absl::flat_hash_map<const Descriptor*, std::unique_ptr<FieldTable>> tables;
  std::unique_ptr<FieldTable>& table = tables[&descriptor];
  if (table == nullptr) table = std::make_unique<FieldTable>(descriptor);
  return *table;
}

// The JSON key Terra uses for `field` (the enum-number problem paths use it,
// as FlagUnknownEnumValues does).
absl::string_view TerraKeyOf(const FieldDescriptor& field) {
  return field.has_json_name() ? field.json_name() : field.name();
}

// The depth of objects in `value` (an object counts itself; arrays do not).
int ObjectDepth(const element& value) {
  int deepest = 0;
  switch (value.type()) {
    case element_type::OBJECT:
      for (simdjson::dom::key_value_pair member : simdjson::dom::object(value)) {
        deepest = std::max(deepest, ObjectDepth(member.value));
      }
      return deepest + 1;
    case element_type::ARRAY:
      for (element item : simdjson::dom::array(value)) {
        deepest = std::max(deepest, ObjectDepth(item));
      }
      return deepest;
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------
// Scalars, with protobuf 3.21's DataPiece rules (see the header).

// Like DataPiece::StringToNumber: no leading or trailing space.
bool HasEdgeSpace(std::string_view text) {
  return !text.empty() && (text.front() == ' ' || text.back() == ' ');
}

bool StringToInt32(std::string_view text, int32_t* value) {
  return !HasEdgeSpace(text) && google::protobuf::safe_strto32(std::string(text), value);
}
bool StringToInt64(std::string_view text, int64_t* value) {
  return !HasEdgeSpace(text) && google::protobuf::safe_strto64(std::string(text), value);
}
bool StringToUint32(std::string_view text, uint32_t* value) {
  return !HasEdgeSpace(text) && google::protobuf::safe_strtou32(std::string(text), value);
}
bool StringToUint64(std::string_view text, uint64_t* value) {
  return !HasEdgeSpace(text) && google::protobuf::safe_strtou64(std::string(text), value);
}

// An integral double within [min, max] (max + 1 a power of two), without the
// undefined behaviour of casting one that is not.
template <typename Int>
bool DoubleToInt(double value, Int* out) {
  if (!(value == std::floor(value))) return false;  // fractions and NaN
  constexpr double kUpper = static_cast<double>(std::numeric_limits<Int>::max()) + 1.0;
  constexpr double kLower = static_cast<double>(std::numeric_limits<Int>::min());
  if (value >= kUpper || value < kLower) return false;
  *out = static_cast<Int>(value);
  return true;
}

template <typename Int>
bool NumberToInt(const element& value, Int* out) {
  switch (value.type()) {
    case element_type::INT64: {
      const int64_t number = int64_t(value);
      if (number < static_cast<int64_t>(std::numeric_limits<Int>::min())) return false;
      if (number > 0 &&
          static_cast<uint64_t>(number) > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
        return false;
      }
      *out = static_cast<Int>(number);
      return true;
    }
    case element_type::UINT64: {
      const uint64_t number = uint64_t(value);
      if (number > static_cast<uint64_t>(std::numeric_limits<Int>::max())) return false;
      *out = static_cast<Int>(number);
      return true;
    }
    case element_type::DOUBLE:
      return DoubleToInt(double(value), out);
    default:
      return false;
  }
}

bool ToDouble(const element& value, double* out) {
  switch (value.type()) {
    case element_type::INT64:
      *out = static_cast<double>(int64_t(value));
      return true;
    case element_type::UINT64:
      *out = static_cast<double>(uint64_t(value));
      return true;
    case element_type::DOUBLE:
      *out = double(value);
      return true;
    case element_type::STRING: {
      const std::string_view text = std::string_view(value);
      if (text == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
        return true;
      }
      if (text == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
        return true;
      }
      if (text == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
        return true;
      }
      if (HasEdgeSpace(text)) return false;
      // safe_strtod stops at a NUL; protobuf passes the same C string.
      return google::protobuf::safe_strtod(std::string(text).c_str(), out) &&
             std::isfinite(*out);
    }
    default:
      return false;
  }
}

bool ToFloat(const element& value, float* out) {
  double as_double = 0;
  if (value.type() == element_type::STRING) {
    const std::string_view text = std::string_view(value);
    if (text == "Infinity" || text == "-Infinity" || text == "NaN") {
      ToDouble(value, &as_double);
      *out = static_cast<float>(as_double);
      return true;
    }
    return !HasEdgeSpace(text) && google::protobuf::safe_strtof(std::string(text).c_str(), out) &&
           std::isfinite(*out);
  }
  if (!ToDouble(value, &as_double)) return false;
  if (std::isfinite(as_double) && std::fabs(as_double) > std::numeric_limits<float>::max()) {
    return false;
  }
  *out = static_cast<float>(as_double);
  return true;
}

template <typename Int>
bool ToInt(const element& value, Int* out, bool (*from_string)(std::string_view, Int*)) {
  if (value.type() == element_type::STRING) return from_string(std::string_view(value), out);
  return NumberToInt(value, out);
}

bool ToBool(const element& value, bool* out) {
  if (value.type() == element_type::BOOL) {
    *out = bool(value);
    return true;
  }
  if (value.type() == element_type::STRING) {
    const std::string_view text = std::string_view(value);
    return !HasEdgeSpace(text) &&
           google::protobuf::safe_strtob(google::protobuf::StringPiece(text.data(), text.size()),
                                         out);
  }
  return false;
}

std::string Describe(const element& value) {
  switch (value.type()) {
    case element_type::STRING:
      return absl::StrCat("\"", ToAbsl(std::string_view(value)).substr(0, 64), "\"");
    case element_type::OBJECT:
      return "an object";
    case element_type::ARRAY:
      return "an array";
    default:
      return simdjson::minify(value).substr(0, 64);
  }
}

// ---------------------------------------------------------------------------
// The walker.

// One step of the path to the value being filled.
struct PathStep {
  std::string_view json_key;  // the key as sent (unescaped)
  absl::string_view terra_key;
  int number = 0;        // the field's number
  int json_index = -1;   // index in the JSON array, when inside one
  int final_index = -1;  // index in the repeated field, when inside one
};

class Filler {
 public:
  Filler(absl::string_view base_path, const DomToMessageOptions& options,
         ConversionProblems* problems)
      : base_path_(base_path), options_(options), problems_(problems) {
    path_.reserve(16);
  }

  bool strict_ok() const { return strict_ok_; }

  // Reflection and field tables of the few message types one record uses,
  // without a virtual GetReflection() or a thread-local lookup per member
  // (both were visible in the profile).
  const Reflection& ReflectionOf(const Message& message, const Descriptor* type) {
    for (const auto& [known, reflection] : reflections_) {
      if (known == type) return *reflection;
    }
    const Reflection* reflection = message.GetReflection();
    reflections_.emplace_back(type, reflection);
    return *reflection;
  }
  const FieldDescriptor* FindField(const Descriptor& descriptor, std::string_view key) {
    for (const auto& [known, table] : tables_) {
      if (known == &descriptor) return table->Find(key);
    }
    const FieldTable* table = &FieldTableOf(descriptor);
    tables_.emplace_back(&descriptor, table);
    return table->Find(key);
  }

  // The per-field fallback over `object` into `message` (a level that
  // JsonToMessageLeniently reaches member by member).
  void FillLeniently(const simdjson::dom::object& object, const Descriptor& descriptor,
                     Message* message) {
    const Reflection& reflection = ReflectionOf(*message, &descriptor);
    OneofsSet oneofs;
    for (simdjson::dom::key_value_pair member : object) {
      const FieldDescriptor* field = FindField(descriptor, member.key);
      if (field == nullptr) {
        // protobuf refuses an empty key ("Proto fields must have a name")
        // and an unknown member nested too deep; the fallback skips both.
        if (member.key.empty() ||
            (options_.may_exceed_protobuf_depth &&
             ObjectDepth(member.value) > kProtobufJsonMaxObjectDepth - 1)) {
          strict_ok_ = false;
        }
        continue;
      }
      if (member.value.is_null()) continue;
      // Set twice: protobuf's strict parse refuses the object; the fallback
      // takes one member at a time, so the last one wins without a problem.
      if (!oneofs.Mark(field)) strict_ok_ = false;

      path_.push_back(PathStep{member.key, TerraKeyOf(*field), field->number()});
      std::string reason;
      if (options_.may_exceed_protobuf_depth &&
          ObjectDepth(member.value) > kProtobufJsonMaxObjectDepth - 1) {
        reason = "objects nested too deep";
      } else {
        const size_t enum_problems_before = enum_value_problems_.size();
        if (FillFieldAtomically(member.value, *field, message, kProtobufJsonMaxObjectDepth - 1,
                                /*flag_names=*/true, &reason)) {
          path_.pop_back();
          continue;
        }
        enum_value_problems_.resize(enum_problems_before);
      }
      strict_ok_ = false;
      path_.back().json_index = -1;
      path_.back().final_index = -1;
      simdjson::dom::object nested;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated() &&
          member.value.get_object().get(nested) == simdjson::SUCCESS) {
        const bool had = reflection.HasField(*message, field);
        Message* sub_message = reflection.MutableMessage(message, field);
        FillLeniently(nested, *field->message_type(), sub_message);
        if (!had && sub_message->ByteSizeLong() == 0) reflection.ClearField(message, field);
      } else {
        AddProblem(JsonPath(), reason, problems_);
        FlagEnumNames(member.value, *field, /*in_array=*/false);
      }
      path_.pop_back();
    }
  }

  // Appends the enum problems (numbers, then names), as the reference does
  // after its conversion problems.
  void Finish() {
    // The reference lists them walking the final message with ListFields:
    // by field number, then repeated index, at every level.
    std::stable_sort(enum_value_problems_.begin(), enum_value_problems_.end(),
                     [](const EnumValueProblem& a, const EnumValueProblem& b) {
                       return a.order < b.order;
                     });
    for (auto& problem : enum_value_problems_) *problems_->Add() = std::move(problem.problem);
    for (auto& problem : enum_name_problems_) *problems_->Add() = std::move(problem);
  }

 private:
  // The oneofs (proto3 `optional` fields are synthetic ones) set in one
  // object: a second member for one of them is an error to protobuf.
  class OneofsSet {
   public:
    // False when `field`'s oneof was set already in this object.
    bool Mark(const FieldDescriptor* field) {
      const OneofDescriptor* oneof = field->containing_oneof();
      if (oneof == nullptr) return true;
      for (const OneofDescriptor* seen : seen_) {
        if (seen == oneof) return false;
      }
      seen_.push_back(oneof);
      return true;
    }

   private:
    absl::InlinedVector<const OneofDescriptor*, 16> seen_;
  };

  static void AddProblem(std::string path, absl::string_view reason,
                         ConversionProblems* problems) {
    v1::ConversionProblem* problem = problems->Add();
    problem->set_field_path(std::move(path));
    problem->set_reason(std::string(reason));
  }

  // The path by JSON keys and JSON indexes (conversion problems, enum names).
  std::string JsonPath() const {
    std::string path(base_path_);
    for (const PathStep& step : path_) {
      if (step.json_key.data() != nullptr) {
        if (!path.empty()) path += '.';
        path.append(step.json_key.data(), step.json_key.size());
      }
      if (step.json_index >= 0) absl::StrAppend(&path, "[", step.json_index, "]");
    }
    return path;
  }
  // The path by Terra keys and final repeated indexes (enum numbers).
  std::string TerraPath() const {
    std::string path(base_path_);
    for (const PathStep& step : path_) {
      if (step.json_key.data() != nullptr) {
        if (!path.empty()) path += '.';
        path.append(step.terra_key.data(), step.terra_key.size());
      }
      if (step.final_index >= 0) absl::StrAppend(&path, "[", step.final_index, "]");
    }
    return path;
  }

  // Fills `field` of `message` from `value`; on failure `message` is as it
  // was before (what an all-or-nothing parse of this member leaves).
  bool FillFieldAtomically(const element& value, const FieldDescriptor& field, Message* message,
                           int depth_budget, bool flag_names, std::string* reason) {
    const Reflection& reflection = ReflectionOf(*message, field.containing_type());
    if (field.is_repeated()) {
      const int size_before = reflection.FieldSize(*message, &field);
      if (FillRepeated(value, field, message, depth_budget, flag_names, reason)) return true;
      while (reflection.FieldSize(*message, &field) > size_before) {
        reflection.RemoveLast(message, &field);
      }
      return false;
    }
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      simdjson::dom::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) {
        *reason = absl::StrCat("invalid value ", Describe(value), " for message field ",
                               field.name());
        return false;
      }
      if (!reflection.HasField(*message, &field)) {
        if (FillStrictly(object, *field.message_type(), reflection.MutableMessage(message, &field),
                         depth_budget, flag_names, reason)) {
          return true;
        }
        reflection.ClearField(message, &field);
        return false;
      }
      // A message field given twice merges; fill a copy so a failure leaves
      // the first one as it was.
      std::unique_ptr<Message> merged(reflection.GetMessage(*message, &field).New());
      merged->CopyFrom(reflection.GetMessage(*message, &field));
      if (!FillStrictly(object, *field.message_type(), merged.get(), depth_budget, flag_names,
                        reason)) {
        return false;
      }
      reflection.MutableMessage(message, &field)->CopyFrom(*merged);
      return true;
    }
    return SetScalar(value, field, message, /*repeated=*/false, flag_names, reason);
  }

  // The strict conversion of one object (all of it or an error).
  bool FillStrictly(const simdjson::dom::object& object, const Descriptor& descriptor,
                    Message* message, int depth_budget, bool flag_names, std::string* reason) {
    if (depth_budget < 1) {
      *reason = "objects nested too deep";
      return false;
    }
    OneofsSet oneofs;
    for (simdjson::dom::key_value_pair member : object) {
      const FieldDescriptor* field = FindField(descriptor, member.key);
      if (field == nullptr) {
        if (member.key.empty()) {
          *reason = "a member without a name";
          return false;
        }
        if (options_.may_exceed_protobuf_depth && ObjectDepth(member.value) > depth_budget - 1) {
          *reason = "objects nested too deep";
          return false;
        }
        continue;
      }
      if (member.value.is_null()) continue;
      if (!oneofs.Mark(field)) {
        *reason = absl::StrCat("field ", field->name(), " is set twice");
        return false;
      }
      path_.push_back(PathStep{member.key, TerraKeyOf(*field), field->number()});
      const bool ok = field->is_repeated()
                          ? FillRepeated(member.value, *field, message, depth_budget - 1,
                                         flag_names, reason)
                          : FillSingular(member.value, *field, message, depth_budget - 1,
                                         flag_names, reason);
      path_.pop_back();
      if (!ok) return false;
    }
    return true;
  }

  bool FillSingular(const element& value, const FieldDescriptor& field, Message* message,
                    int depth_budget, bool flag_names, std::string* reason) {
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      simdjson::dom::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) {
        *reason = absl::StrCat("invalid value ", Describe(value), " for message field ",
                               field.name());
        return false;
      }
      return FillStrictly(
          object, *field.message_type(),
          ReflectionOf(*message, field.containing_type()).MutableMessage(message, &field),
          depth_budget, flag_names, reason);
    }
    return SetScalar(value, field, message, /*repeated=*/false, flag_names, reason);
  }

  bool FillRepeated(const element& value, const FieldDescriptor& field, Message* message,
                    int depth_budget, bool flag_names, std::string* reason) {
    if (field.is_map()) return FillMap(value, field, message, depth_budget, reason);
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      // A lone value is one element (its path has no index).
      return AddElement(value, field, message, depth_budget, flag_names, reason);
    }
    int index = 0;
    for (element item : array) {
      path_.back().json_index = index++;
      if (!FillElements(item, field, message, depth_budget, flag_names, reason)) return false;
    }
    path_.back().json_index = -1;
    return true;
  }

  // One element of a JSON array for a repeated field: null is skipped, a
  // nested array is flattened (and not looked into for enum names, as the
  // reference's name check does not).
  bool FillElements(const element& item, const FieldDescriptor& field, Message* message,
                    int depth_budget, bool flag_names, std::string* reason) {
    if (item.is_null()) return true;
    simdjson::dom::array nested;
    if (item.get_array().get(nested) == simdjson::SUCCESS) {
      for (element inner : nested) {
        if (!FillElements(inner, field, message, depth_budget, /*flag_names=*/false, reason)) {
          return false;
        }
      }
      return true;
    }
    return AddElement(item, field, message, depth_budget, flag_names, reason);
  }

  bool AddElement(const element& item, const FieldDescriptor& field, Message* message,
                  int depth_budget, bool flag_names, std::string* reason) {
    const Reflection& reflection = ReflectionOf(*message, field.containing_type());
    PathStep& step = path_.back();
    step.final_index = reflection.FieldSize(*message, &field);
    bool ok;
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) {
        *reason = absl::StrCat("invalid value ", Describe(item), " for repeated message field ",
                               field.name());
        ok = false;
      } else {
        ok = FillStrictly(object, *field.message_type(), reflection.AddMessage(message, &field),
                          depth_budget, flag_names, reason);
      }
    } else {
      ok = SetScalar(item, field, message, /*repeated=*/true, flag_names, reason);
    }
    path_.back().final_index = -1;
    return ok;
  }

  bool FillMap(const element& value, const FieldDescriptor& field, Message* message,
               int depth_budget, std::string* reason) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      *reason = absl::StrCat("invalid value ", Describe(value), " for map field ", field.name());
      return false;
    }
    if (depth_budget < 1) {
      *reason = "objects nested too deep";
      return false;
    }
    const Reflection& reflection = ReflectionOf(*message, field.containing_type());
    const FieldDescriptor& key_field = *field.message_type()->map_key();
    const FieldDescriptor& value_field = *field.message_type()->map_value();
    const int size_before = reflection.FieldSize(*message, &field);
    absl::flat_hash_set<std::string_view> keys;
    for (simdjson::dom::key_value_pair member : object) {
      if (!keys.insert(member.key).second) {
        *reason = absl::StrCat("repeated map key \"", ToAbsl(member.key).substr(0, 64), "\"");
        return false;
      }
      if (key_field.cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
          value_field.is_repeated() ||
          value_field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ||
          value_field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        // terra.proto has only map<string, double>; others are not modelled.
        *reason = absl::StrCat("map field ", field.name(), " of an unsupported kind");
        return false;
      }
      // A map given twice: the later entry replaces the earlier one.
      Message* entry = nullptr;
      for (int i = 0; size_before > 0 && i < size_before; ++i) {
        Message* existing = reflection.MutableRepeatedMessage(message, &field, i);
        if (existing->GetReflection()->GetString(*existing, &key_field) ==
            std::string(member.key)) {
          entry = existing;
          break;
        }
      }
      const bool added = entry == nullptr;
      if (added) entry = reflection.AddMessage(message, &field);
      entry->GetReflection()->SetString(entry, &key_field, std::string(member.key));
      if (member.value.is_null()) {
        // protobuf 3.21 makes a null map value an entry holding the default.
        entry->GetReflection()->ClearField(entry, &value_field);
        if (added) entry->GetReflection()->SetDouble(entry, &value_field, 0);
        continue;
      }
      if (!SetScalar(member.value, value_field, entry, /*repeated=*/false,
                     /*flag_names=*/false, reason)) {
        return false;
      }
    }
    return true;
  }

  // Sets (or, for a repeated field, adds) one scalar.
  bool SetScalar(const element& value, const FieldDescriptor& field, Message* message,
                 bool repeated, bool flag_names, std::string* reason) {
    const Reflection& reflection = ReflectionOf(*message, field.containing_type());
    auto fail = [&](absl::string_view type) {
      *reason = absl::StrCat("invalid value ", Describe(value), " for ", type, " field ",
                             field.name());
      return false;
    };
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        if (value.type() != element_type::STRING) return fail("string");
        if (field.type() == FieldDescriptor::TYPE_BYTES) return fail("bytes");
        std::string text = std::string(std::string_view(value));
        repeated ? reflection.AddString(message, &field, std::move(text))
                 : reflection.SetString(message, &field, std::move(text));
        return true;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double number;
        if (!ToDouble(value, &number)) return fail("double");
        repeated ? reflection.AddDouble(message, &field, number)
                 : reflection.SetDouble(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        float number;
        if (!ToFloat(value, &number)) return fail("float");
        repeated ? reflection.AddFloat(message, &field, number)
                 : reflection.SetFloat(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t number;
        if (!ToInt<int32_t>(value, &number, StringToInt32)) return fail("int32");
        repeated ? reflection.AddInt32(message, &field, number)
                 : reflection.SetInt32(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t number;
        if (!ToInt<int64_t>(value, &number, StringToInt64)) return fail("int64");
        repeated ? reflection.AddInt64(message, &field, number)
                 : reflection.SetInt64(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t number;
        if (!ToInt<uint32_t>(value, &number, StringToUint32)) return fail("uint32");
        repeated ? reflection.AddUInt32(message, &field, number)
                 : reflection.SetUInt32(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t number;
        if (!ToInt<uint64_t>(value, &number, StringToUint64)) return fail("uint64");
        repeated ? reflection.AddUInt64(message, &field, number)
                 : reflection.SetUInt64(message, &field, number);
        return true;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool flag;
        if (!ToBool(value, &flag)) return fail("bool");
        repeated ? reflection.AddBool(message, &field, flag)
                 : reflection.SetBool(message, &field, flag);
        return true;
      }
      case FieldDescriptor::CPPTYPE_ENUM:
        return SetEnum(value, field, message, repeated, flag_names, reason);
      default:
        return fail("message");
    }
  }

  bool SetEnum(const element& value, const FieldDescriptor& field, Message* message,
               bool repeated, bool flag_names, std::string* reason) {
    const Reflection& reflection = ReflectionOf(*message, field.containing_type());
    int number = 0;
    if (value.type() == element_type::STRING) {
      const std::string_view name = std::string_view(value);
      const EnumValueDescriptor* named = field.enum_type()->FindValueByName(std::string(name));
      if (named != nullptr) {
        number = named->number();
      } else {
        if (flag_names) FlagEnumName(value, field);
        int32_t as_number;
        const EnumValueDescriptor* numbered =
            StringToInt32(name, &as_number) ? field.enum_type()->FindValueByNumber(as_number)
                                            : nullptr;
        if (numbered == nullptr) return true;  // dropped, as protobuf does
        number = numbered->number();
      }
    } else {
      int32_t as_number;
      if (value.type() == element_type::BOOL || !NumberToInt(value, &as_number)) {
        *reason = absl::StrCat("invalid value ", Describe(value), " for enum ",
                               field.enum_type()->name());
        return false;
      }
      number = as_number;
    }
    if (field.enum_type()->FindValueByNumber(number) == nullptr) {
      EnumValueProblem problem;
      for (const PathStep& step : path_) problem.order.emplace_back(step.number, step.final_index);
      problem.problem.set_field_path(TerraPath());
      problem.problem.set_reason(
          absl::StrCat("unknown enum value ", number, " for ", field.enum_type()->name()));
      enum_value_problems_.push_back(std::move(problem));
    }
    repeated ? reflection.AddEnumValue(message, &field, number)
             : reflection.SetEnumValue(message, &field, number);
    return true;
  }

  // A string enum value that is no name of the enum (flagged once per JSON
  // value, however often the walk passes it).
  void FlagEnumName(const element& value, const FieldDescriptor& field) {
    const std::string_view name = std::string_view(value);
    if (!flagged_names_.insert(name.data()).second) return;
    v1::ConversionProblem problem;
    problem.set_field_path(JsonPath());
    problem.set_reason(absl::StrCat("unknown enum name \"", ToAbsl(name), "\" for ",
                                    field.enum_type()->name()));
    enum_name_problems_.push_back(std::move(problem));
  }

  // The reference's enum-name check over a member that was not converted
  // (FlagUnknownEnumNames in lenient_json_to_proto.cc).
  void FlagEnumNames(const element& value, const FieldDescriptor& field, bool in_array) {
    if (field.is_map()) return;
    simdjson::dom::array elements;
    if (!in_array && field.is_repeated() && value.get_array().get(elements) == simdjson::SUCCESS) {
      int index = 0;
      for (element item : elements) {
        path_.back().json_index = index++;
        FlagEnumNames(item, field, /*in_array=*/true);
      }
      path_.back().json_index = -1;
      return;
    }
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      if (value.type() == element_type::STRING &&
          field.enum_type()->FindValueByName(std::string(std::string_view(value))) == nullptr) {
        FlagEnumName(value, field);
      }
    } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      simdjson::dom::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return;
      for (simdjson::dom::key_value_pair member : object) {
        const FieldDescriptor* inner = FindField(*field.message_type(), member.key);
        if (inner == nullptr) continue;
        path_.push_back(PathStep{member.key, TerraKeyOf(*inner), inner->number()});
        FlagEnumNames(member.value, *inner, /*in_array=*/false);
        path_.pop_back();
      }
    }
  }

  absl::InlinedVector<std::pair<const Descriptor*, const Reflection*>, 16> reflections_;
  absl::InlinedVector<std::pair<const Descriptor*, const FieldTable*>, 16> tables_;
  const absl::string_view base_path_;
  const DomToMessageOptions& options_;
  ConversionProblems* const problems_;
  bool strict_ok_ = true;
  std::vector<PathStep> path_;
  struct EnumValueProblem {
    std::vector<std::pair<int, int>> order;  // (field number, final index) per step
    v1::ConversionProblem problem;
  };
  std::vector<EnumValueProblem> enum_value_problems_;
  std::vector<v1::ConversionProblem> enum_name_problems_;
  absl::flat_hash_set<const char*> flagged_names_;
};

}  // namespace

bool DomToMessageLeniently(const simdjson::dom::element& parsed, absl::string_view path,
                           const DomToMessageOptions& options, Message* target,
                           ConversionProblems* problems) {
  simdjson::dom::object object;
  if (parsed.get_object().get(object) != simdjson::SUCCESS) {
    v1::ConversionProblem* problem = problems->Add();
    problem->set_field_path(std::string(path));
    problem->set_reason(absl::StrCat("expected a JSON object, got ", Describe(parsed)));
    return false;
  }
  Filler filler(path, options, problems);
  filler.FillLeniently(object, *target->GetDescriptor(), target);
  filler.Finish();
  return filler.strict_ok() && !options.had_out_of_range_number;
}

}  // namespace healthwire
