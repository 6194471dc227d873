// Prometheus' text exposition format (version 0.0.4), as every /metrics page
// of healthwire writes it: a family's `# HELP` and `# TYPE` lines, then its
// samples. One place for the format, so a page cannot drift from it
// (tests/tools:metrics_exposition_test checks every page with promtool).
//
// Pure functions over the caller's string; thread-safe.
#ifndef HEALTHWIRE_COMMON_METRICS_TEXT_H_
#define HEALTHWIRE_COMMON_METRICS_TEXT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// A family's header: "# HELP <name> <help>\n# TYPE <name> <type>\n". `type`
// is "counter", "gauge" or "histogram"; samples follow with AppendSample.
void AppendMetricHeader(std::string* text, absl::string_view name, absl::string_view type,
                        absl::string_view help);

// One sample: "<name>{<labels>} <value>\n", or "<name> <value>\n" when
// `labels` is empty. `labels` is `key="value",...` with values escaped
// (EscapeLabelValue).
void AppendSample(std::string* text, absl::string_view name, absl::string_view labels,
                  const absl::AlphaNum& value);

// A family of one unlabelled sample.
void AppendCounter(std::string* text, absl::string_view name, absl::string_view help,
                   const absl::AlphaNum& value);
void AppendGauge(std::string* text, absl::string_view name, absl::string_view help,
                 const absl::AlphaNum& value);

// A label value with backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view value);

}  // namespace healthwire

#endif  // HEALTHWIRE_COMMON_METRICS_TEXT_H_
