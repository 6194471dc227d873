#include "tools/hwctl/export_format.h"

#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"
#include "tools/hwctl/record_summary.h"

namespace healthwire {
namespace hwctl {
namespace {

// Terra's API version, which its webhooks carry; healthwire does not keep
// the envelope's, so replayed data webhooks say this one.
constexpr char kTerraApiVersion[] = "2022-03-16";

// raw_json is the element of `data` for these types (see healthwire.proto).
bool IsDataRecord(int type) {
  return type >= v1::EVENT_TYPE_ACTIVITY && type <= v1::EVENT_TYPE_HEALTH_OBSERVATION &&
         type != v1::EVENT_TYPE_ATHLETE;
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("not a hwctl export line: ", what));
}

}  // namespace

absl::StatusOr<std::string> ExportLine(const v1::Event& event) {
  v1::Event without_raw = event;
  without_raw.clear_raw_json();
  absl::StatusOr<std::string> json = ToJsonLine(without_raw);
  if (!json.ok()) return json.status();
  if (json->size() < 2 || json->back() != '}') return absl::InternalError("unexpected JSON");
  json->pop_back();
  absl::StrAppend(&*json, json->size() > 1 ? "," : "", "\"raw\":",
                  event.raw_json().empty() ? "null" : event.raw_json(), "}");
  return json;
}

absl::StatusOr<ReplayDelivery> DeliveryFromExportLine(absl::string_view line) {
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(line.data(), line.size());
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return Invalid("not JSON");
  simdjson::ondemand::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) return Invalid("not an object");

  ReplayDelivery delivery;
  int64_t type = 0;
  std::string terra_type, user, raw;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return Invalid("not JSON");
    }
    simdjson::ondemand::value value = field.value();
    std::string_view text;
    const absl::string_view name(key.data(), key.size());
    if (key == "type") {
      if (value.get_int64().get(type) != simdjson::SUCCESS) return Invalid("\"type\" not a number");
    } else if (key == "terra_type" || key == "trace_id" || key == "record_key" ||
               key == "revision" || key == "ordering_timestamp_ms") {
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return Invalid(absl::StrCat("\"", name, "\" is not a string"));
      }
      if (key == "terra_type") terra_type = std::string(text);
      if (key == "trace_id") delivery.trace_id = std::string(text);
      if (key == "record_key") delivery.record_key = std::string(text);
      const absl::string_view digits(text.data(), text.size());
      if (key == "revision" && !absl::SimpleAtoi(digits, &delivery.revision)) {
        return Invalid("\"revision\" is not a number");
      }
      if (key == "ordering_timestamp_ms") {
        int64_t ms = 0;
        if (!absl::SimpleAtoi(digits, &ms)) return Invalid("\"ordering_timestamp_ms\" not a number");
        delivery.ordering_timestamp_ms = ms;
      }
    } else if (key == "user" || key == "raw") {
      // The exact bytes of the object (or array) as they appear in the line.
      simdjson::ondemand::json_type json_type;
      simdjson::error_code error = value.type().get(json_type);
      if (!error && json_type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object inner;
        error = value.get_object().get(inner);
        if (!error) error = inner.raw_json().get(text);
      } else if (!error && json_type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array inner;
        error = value.get_array().get(inner);
        if (!error) error = inner.raw_json().get(text);
      } else if (!error && json_type == simdjson::ondemand::json_type::null) {
        text = "null";
        error = value.is_null().error();
      } else if (!error) {
        error = simdjson::INCORRECT_TYPE;
      }
      if (error) return Invalid(absl::StrCat("\"", name, "\" is not a JSON object"));
      (key == "user" ? user : raw) = std::string(text);
    }
  }
  if (type == v1::EVENT_TYPE_ERASURE || type == v1::EVENT_TYPE_ERASED) {
    delivery.erasure = true;  // no record: the data it was about is gone
    return delivery;
  }
  if (raw.empty() || raw == "null") return Invalid("no \"raw\" record");
  if (terra_type.empty()) return Invalid("no \"terra_type\"");
  // raw_json() of a value keeps the whitespace after it; the record's bytes
  // end at its last non-space character.
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                          raw.back() == '\t')) {
    raw.pop_back();
  }
  while (!user.empty() && (user.back() == ' ' || user.back() == '\n' || user.back() == '\t')) {
    user.pop_back();
  }
  const std::string type_json = absl::StrCat("\"type\":\"", terra_type, "\"");
  const std::string user_json = user.empty() ? "" : absl::StrCat(",\"user\":", user);
  if (IsDataRecord(static_cast<int>(type))) {
    delivery.body = absl::StrCat("{", type_json, user_json, ",\"data\":[", raw,
                                 "],\"version\":\"", kTerraApiVersion, "\"}");
  } else if (type == v1::EVENT_TYPE_ATHLETE) {
    delivery.body = absl::StrCat("{", type_json, user_json, ",\"athlete\":", raw,
                                 ",\"version\":\"", kTerraApiVersion, "\"}");
  } else {
    delivery.body = std::move(raw);
  }
  return delivery;
}

}  // namespace hwctl
}  // namespace healthwire
