#include "common/metrics_text.h"

namespace healthwire {

void AppendMetricHeader(std::string* text, absl::string_view name, absl::string_view type,
                        absl::string_view help) {
  absl::StrAppend(text, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void AppendSample(std::string* text, absl::string_view name, absl::string_view labels,
                  const absl::AlphaNum& value) {
  if (labels.empty()) {
    absl::StrAppend(text, name, " ", value, "\n");
  } else {
    absl::StrAppend(text, name, "{", labels, "} ", value, "\n");
  }
}

void AppendCounter(std::string* text, absl::string_view name, absl::string_view help,
                   const absl::AlphaNum& value) {
  AppendMetricHeader(text, name, "counter", help);
  AppendSample(text, name, "", value);
}

void AppendGauge(std::string* text, absl::string_view name, absl::string_view help,
                 const absl::AlphaNum& value) {
  AppendMetricHeader(text, name, "gauge", help);
  AppendSample(text, name, "", value);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      escaped.push_back('\\');
      escaped.push_back(c);
    } else if (c == '\n') {
      escaped.append("\\n");
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

}  // namespace healthwire
