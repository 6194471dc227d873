// Numbers out of the gateway's answers, for assertions: the flat JSON
// replies ({"status":"ok","stored":2,...}) and the Prometheus text of
// GET /metrics. Deliberately not JSON or Prometheus parsers: the tests check
// the exact answers elsewhere; these pull one number to compare.
//
// Pure functions, thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_TEXT_SCRAPERS_H_
#define HEALTHWIRE_TESTS_UTIL_TEXT_SCRAPERS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace healthwire {
namespace testing {

// The non-negative integer right after `"key":` in `json`; -1 when the key
// is absent or not followed by digits.
int64_t JsonInteger(absl::string_view json, absl::string_view key);

// The value of the metric line `name value` (a series without labels) in
// Prometheus text; -1 when there is no such line or it is not an integer.
int64_t MetricValue(absl::string_view metrics_text, absl::string_view name);

// The status code of a raw HTTP answer ("HTTP/1.1 413 Payload Too Large\r\n
// ..."); 0 when `answer` does not start with a status line.
int StatusOfRawAnswer(absl::string_view answer);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_TEXT_SCRAPERS_H_
