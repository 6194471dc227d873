#include "server/json_body_parser.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace healthwire {
namespace {

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

absl::Status ParseJsonBody(absl::string_view body, ParsedJsonBody* parsed) {
  parsed->padded = simdjson::padded_string(body.data(), body.size());
  if (auto error = parsed->parser.parse(parsed->padded).get(parsed->root)) {
    std::optional<std::string> replaced;
    if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
      replaced = WithOutOfRangeNumbersReplaced(parsed->padded);
    }
    if (!replaced.has_value() ||
        parsed->parser.parse(*replaced).get(parsed->root) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("body is not valid JSON: ", simdjson::error_message(error)));
    }
  }
  return absl::OkStatus();
}

}  // namespace healthwire
