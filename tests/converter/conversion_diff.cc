#include "tests/converter/conversion_diff.h"

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "server/convert/terra_converter.h"

namespace healthwire {
namespace {

std::vector<std::string> ProblemPaths(const v1::Event& event) {
  std::vector<std::string> paths;
  for (const v1::ConversionProblem& problem : event.conversion_problems()) {
    paths.push_back(problem.field_path());
  }
  return paths;
}

}  // namespace

std::string DiffFillers(absl::string_view body) {
  DeliveryContext context;
  context.received_at = absl::FromUnixSeconds(1782900000);
  const absl::StatusOr<ConvertedWebhook> reference =
      ConvertTerraWebhook(body, context, RecordFiller::kProtobufJsonReference);
  const absl::StatusOr<ConvertedWebhook> walker =
      ConvertTerraWebhook(body, context, RecordFiller::kDomWalker);
  if (reference.ok() != walker.ok() ||
      (!reference.ok() && reference.status() != walker.status())) {
    return absl::StrCat("status: reference ", reference.status().ToString(), ", walker ",
                        walker.status().ToString());
  }
  if (!reference.ok()) return "";
  if (reference->events.size() != walker->events.size()) {
    return absl::StrCat("events: reference ", reference->events.size(), ", walker ",
                        walker->events.size());
  }
  if (reference->events_with_problems != walker->events_with_problems) {
    return absl::StrCat("events_with_problems: reference ", reference->events_with_problems,
                        ", walker ", walker->events_with_problems);
  }
  for (size_t i = 0; i < reference->events.size(); ++i) {
    v1::Event expected = reference->events[i];
    v1::Event actual = walker->events[i];
    const std::vector<std::string> expected_paths = ProblemPaths(expected);
    const std::vector<std::string> actual_paths = ProblemPaths(actual);
    if (expected_paths != actual_paths) {
      std::string reasons;
      for (const auto& problem : expected.conversion_problems()) {
        absl::StrAppend(&reasons, "\n  reference: ", problem.field_path(), ": ",
                        problem.reason());
      }
      for (const auto& problem : actual.conversion_problems()) {
        absl::StrAppend(&reasons, "\n  walker: ", problem.field_path(), ": ", problem.reason());
      }
      return absl::StrCat("event ", i, " problems: reference [",
                          absl::StrJoin(expected_paths, ", "), "], walker [",
                          absl::StrJoin(actual_paths, ", "), "]", reasons);
    }
    expected.clear_conversion_problems();
    actual.clear_conversion_problems();
    google::protobuf::util::DefaultFieldComparator comparator;
    comparator.set_treat_nan_as_equal(true);
    google::protobuf::util::MessageDifferencer differencer;
    differencer.set_field_comparator(&comparator);
    std::string report;
    differencer.ReportDifferencesToString(&report);
    if (!differencer.Compare(expected, actual)) {
      return absl::StrCat("event ", i, " differs (reference -> walker):\n", report);
    }
  }
  return "";
}

}  // namespace healthwire
