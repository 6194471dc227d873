#include "server/convert/raw_json_slices.h"

#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

absl::string_view ToAbsl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

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

// An element of an array ends where the next one begins, minus the
// whitespace and the single comma between them; the last one ends before the
// whitespace, `]` and whitespace that precede the token after the array
// (current_location() once the array is iterated). This relies on the body
// having been validated by the DOM parser: only JSON whitespace and one
// separator can be there.
absl::Status SliceArrayElements(simdjson::ondemand::document& document,
                                simdjson::ondemand::value value, const char* base,
                                absl::string_view body, std::vector<absl::string_view>* slices) {
  simdjson::ondemand::array array;
  if (auto error = value.get_array().get(array)) return SliceError("`data`", error);
  std::vector<const char*> starts;
  for (auto element : array) {
    simdjson::ondemand::value item;
    if (auto error = element.get(item)) return SliceError("`data`", error);
    starts.push_back(item.raw_json_token().data());
  }
  if (starts.empty()) return absl::OkStatus();
  const char* after_array = nullptr;
  if (auto error = document.current_location().get(after_array)) {
    return SliceError("`data`", error);
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    const bool last = i + 1 == starts.size();
    const char* end = last ? TrimSeparatorBefore(starts[i], after_array, ']')
                           : TrimSeparatorBefore(starts[i], starts[i + 1], ',');
    if (end == nullptr || end == starts[i]) {
      return absl::InternalError(absl::StrCat("cannot locate the bytes of data[", i, "]"));
    }
    slices->push_back(body.substr(starts[i] - base, end - starts[i]));
  }
  return absl::OkStatus();
}

// An object ends before the whitespace that precedes the token after it,
// which current_location() gives once its members are iterated.
absl::StatusOr<absl::string_view> SliceObject(simdjson::ondemand::document& document,
                                              simdjson::ondemand::value value, const char* base,
                                              absl::string_view body) {
  const char* begin = value.raw_json_token().data();
  simdjson::ondemand::object object;
  if (auto error = value.get_object().get(object)) return SliceError("`athlete`", error);
  for (auto field : object) {
    if (auto error = field.error()) return SliceError("`athlete`", error);
  }
  const char* after_object = nullptr;
  if (auto error = document.current_location().get(after_object)) {
    return SliceError("`athlete`", error);
  }
  const char* end = TrimWhitespaceBefore(begin, after_object);
  if (end == begin || end[-1] != '}') {
    return absl::InternalError("cannot locate the bytes of `athlete`");
  }
  return body.substr(begin - base, end - begin);
}

}  // namespace

absl::StatusOr<EnvelopeSlices> ScanEnvelope(simdjson::ondemand::parser& parser,
                                            simdjson::padded_string_view padded,
                                            absl::string_view body) {
  simdjson::ondemand::document document;
  if (auto error = parser.iterate(padded).get(document)) return SliceError("the envelope", error);
  simdjson::ondemand::object envelope;
  if (auto error = document.get_object().get(envelope)) return SliceError("the envelope", error);

  EnvelopeSlices slices;
  // Unescaped names live in the parser's string buffer until it is reused.
  absl::flat_hash_set<absl::string_view> names;
  for (auto field : envelope) {
    std::string_view name;
    if (auto error = field.unescaped_key().get(name)) return SliceError("the envelope", error);
    if (!names.insert(ToAbsl(name)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duplicate key `", ToAbsl(name).substr(0, 64), "` in the envelope"));
    }
    if (name != "data" && name != "athlete") continue;  // on-demand skips its value
    simdjson::ondemand::value value;
    if (auto error = field.value().get(value)) return SliceError("the envelope", error);
    simdjson::ondemand::json_type type;
    if (auto error = value.type().get(type)) return SliceError("the envelope", error);
    if (name == "data" && type == simdjson::ondemand::json_type::array) {
      if (absl::Status status =
              SliceArrayElements(document, value, padded.data(), body, &slices.data_elements);
          !status.ok()) {
        return status;
      }
    } else if (name == "athlete" && type == simdjson::ondemand::json_type::object) {
      absl::StatusOr<absl::string_view> object = SliceObject(document, value, padded.data(), body);
      if (!object.ok()) return object.status();
      slices.athlete_object = *object;
    }
  }
  return slices;
}

}  // namespace healthwire
