#include "server/raw_json_slices.h"

#include <string>

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
}  // namespace

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

}  // namespace healthwire
