#include "tests/util/text_scrapers.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace testing {

int64_t JsonInteger(absl::string_view json, absl::string_view key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  const size_t at = json.find(needle);
  if (at == absl::string_view::npos) return -1;
  absl::string_view rest = json.substr(at + needle.size());
  const size_t end = rest.find_first_not_of("0123456789");
  int64_t value = -1;
  if (!absl::SimpleAtoi(rest.substr(0, end), &value)) return -1;
  return value;
}

int64_t MetricValue(absl::string_view metrics_text, absl::string_view name) {
  const std::string prefix = absl::StrCat(name, " ");
  for (absl::string_view line : absl::StrSplit(metrics_text, '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) {
      int64_t value = -1;
      if (absl::SimpleAtoi(line, &value)) return value;
    }
  }
  return -1;
}

int StatusOfRawAnswer(absl::string_view answer) {
  int status = 0;
  if (answer.size() >= 12 && absl::StartsWith(answer, "HTTP/1.")) {
    if (!absl::SimpleAtoi(answer.substr(9, 3), &status)) status = 0;
  }
  return status;
}

}  // namespace testing
}  // namespace healthwire
