#include "server/convert/json_body_parser.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
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

// Whether the number `token` is within a finite double's range (underflow
// to zero or a denormal is fine: that is still the number's value).
bool FitsDouble(absl::string_view token) {
  const std::string text(token);
  const double value = std::strtod(text.c_str(), nullptr);
  return std::isfinite(value);
}

// Whether simdjson's DOM parser can hold the number `token`: integers must
// fit 64 bits, other numbers a finite double.
bool FitsDomNumber(absl::string_view token) {
  if (token.find_first_of(".eE") == absl::string_view::npos) {
    int64_t as_signed;
    uint64_t as_unsigned;
    return absl::SimpleAtoi(token, &as_signed) || absl::SimpleAtoi(token, &as_unsigned);
  }
  // simdjson rounds what underflows to zero or a denormal, as strtod does.
  return FitsDouble(token);
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

// The spans of the numbers the DOM cannot hold, and a copy of the body where
// they are replaced: integers a double holds by the same digits + ".0" (their
// value, as protobuf's JSON parser reads them), anything beyond a double by
// `{}` (a typed field holding it is then a conversion problem). False when
// the body is broken in another way.
bool ReplaceOutOfRangeNumbers(simdjson::ondemand::parser& parser,
                              simdjson::padded_string_view padded,
                              std::vector<std::pair<size_t, size_t>>* spans,
                              std::string* replaced) {
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return false;
  simdjson::ondemand::value root;
  if (document.get_value().get(root) != simdjson::SUCCESS) return false;
  if (!CollectOutOfRangeNumbers(root, padded.data(), 0, spans) || spans->empty()) return false;
  size_t copied = 0;
  for (const auto& [offset, length] : *spans) {
    replaced->append(padded.data() + copied, offset - copied);
    const absl::string_view number(padded.data() + offset, length);
    if (number.find_first_of(".eE") == absl::string_view::npos && FitsDouble(number)) {
      absl::StrAppend(replaced, number, ".0");
    } else {
      replaced->append("{}");
    }
    copied = offset + length;
  }
  replaced->append(padded.data() + copied, padded.size() - copied);
  return true;
}

// A depth below protobuf's object limit, so a body that parses with it cannot
// reach that limit anywhere (simdjson counts arrays too: stricter).
constexpr size_t kShallowDepth = kProtobufJsonMaxObjectDepth - 4;

// Parsers and a padded input buffer, kept per thread for small bodies.
struct Parsers {
  simdjson::dom::parser shallow{};
  std::unique_ptr<simdjson::dom::parser> deep;  // made on first need
  simdjson::ondemand::parser on_demand{};
  std::unique_ptr<char[]> input;
  size_t input_capacity = 0;
  bool shallow_allocated = false;

  // A padded copy of `body` in `input`.
  simdjson::padded_string_view Pad(absl::string_view body) {
    const size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
    if (needed > input_capacity) {
      input_capacity = std::max(needed, input_capacity * 2);
      input.reset(new char[input_capacity]);
    }
    std::memcpy(input.get(), body.data(), body.size());
    std::memset(input.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(input.get(), body.size(), input_capacity);
  }
  simdjson::dom::parser& Shallow(size_t body_size) {
    if (!shallow_allocated || shallow.capacity() < body_size) {
      if (shallow.allocate(std::max<size_t>(body_size, 4096), kShallowDepth) !=
          simdjson::SUCCESS) {
        std::abort();  // out of memory
      }
      shallow_allocated = true;
    }
    return shallow;
  }
  simdjson::dom::parser& Deep() {
    if (deep == nullptr) deep = std::make_unique<simdjson::dom::parser>();
    return *deep;
  }
};

Parsers& ThreadParsers() {
  static thread_local Parsers parsers;
  return parsers;
}

}  // namespace

struct ParsedJsonBody::Storage {
  Parsers parsers;
  std::string replaced;
};

bool ParsedJsonBody::HasOutOfRangeNumberIn(size_t begin, size_t end) const {
  for (const auto& [offset, length] : out_of_range_numbers) {
    if (offset >= begin && offset + length <= end) return true;
  }
  return false;
}

simdjson::ondemand::parser& OnDemandParserFor(const ParsedJsonBody& parsed) {
  return parsed.storage != nullptr ? parsed.storage->parsers.on_demand
                                   : ThreadParsers().on_demand;
}

absl::Status ParseJsonBody(absl::string_view body, ParsedJsonBody* parsed) {
  return ParseJsonBodyInPlace(body, 0, parsed);
}

absl::Status ParseJsonBodyInPlace(absl::string_view body, size_t capacity,
                                  ParsedJsonBody* parsed) {
  parsed->out_of_range_numbers.clear();
  parsed->may_exceed_protobuf_depth = false;
  Parsers* parsers = &ThreadParsers();
  if (body.size() > kReusableBodyBytes) {
    parsed->storage = std::make_shared<ParsedJsonBody::Storage>();
    parsers = &parsed->storage->parsers;
  } else {
    parsed->storage.reset();
  }
  if (body.size() > kReusableBodyBytes &&
      capacity >= body.size() + simdjson::SIMDJSON_PADDING) {
    parsed->padded = simdjson::padded_string_view(body.data(), body.size(), capacity);
  } else {
    parsed->padded = parsers->Pad(body);
  }

  simdjson::dom::parser* dom = &parsers->Shallow(body.size());
  simdjson::error_code error = dom->parse(parsed->padded.data(), body.size(), false)
                                   .get(parsed->root);
  if (error == simdjson::DEPTH_ERROR) {
    parsed->may_exceed_protobuf_depth = true;
    dom = &parsers->Deep();
    error = dom->parse(parsed->padded.data(), body.size(), false).get(parsed->root);
  }
  if (error == simdjson::SUCCESS) return absl::OkStatus();

  std::string local_replaced;
  std::string* replaced =
      parsed->storage != nullptr ? &parsed->storage->replaced : &local_replaced;
  if ((error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) &&
      ReplaceOutOfRangeNumbers(parsers->on_demand, parsed->padded, &parsed->out_of_range_numbers,
                               replaced)) {
    // The replaced copy is parsed with copying (realloc_if_needed), so the
    // DOM does not point into `replaced`.
    simdjson::error_code replaced_error = dom->parse(*replaced).get(parsed->root);
    if (replaced_error == simdjson::DEPTH_ERROR && !parsed->may_exceed_protobuf_depth) {
      parsed->may_exceed_protobuf_depth = true;
      dom = &parsers->Deep();
      replaced_error = dom->parse(*replaced).get(parsed->root);
    }
    if (replaced_error == simdjson::SUCCESS) return absl::OkStatus();
  }
  parsed->out_of_range_numbers.clear();
  return absl::InvalidArgumentError(
      absl::StrCat("body is not valid JSON: ", simdjson::error_message(error)));
}

}  // namespace healthwire
