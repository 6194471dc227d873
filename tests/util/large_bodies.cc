#include "tests/util/large_bodies.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace healthwire {
namespace testing {

LargeActivity LargeActivityRecord(size_t target_bytes, absl::string_view summary_id,
                                  int bpm_base) {
  LargeActivity activity;
  std::string& record = activity.json;
  record = absl::StrCat(
      R"({"metadata":{"summary_id":")", summary_id,
      R"(","name":"Ultra","type":8,"upload_type":1,)"
      R"("start_time":"2026-07-01T05:00:00.000000+01:00",)"
      R"("end_time":"2026-07-02T05:00:00.000000+01:00","timestamp_localization":0},)"
      R"("heart_rate_data":{"summary":{"avg_hr_bpm":131,"max_hr_bpm":181},)"
      R"("detailed":{"hr_samples":[)");
  record.reserve(target_bytes + 4096);
  const size_t hr_until = target_bytes / 2;
  int n = 0;
  while (record.size() < hr_until) {
    absl::StrAppend(&record, n == 0 ? "" : ",",
                    absl::StrFormat(R"({"timestamp":"2026-07-01T%02d:%02d:%02d.%06d+01:00",)"
                                    R"("bpm":%d,"timer_duration_seconds":%d,"context":1})",
                                    (n / 3600) % 24, (n / 60) % 60, n % 60, n % 1000000,
                                    bpm_base + n % 90, n));
    ++n;
  }
  activity.hr_samples = n;
  absl::StrAppend(&record, R"(]}},"distance_data":{"summary":{"distance_meters":80000.5},)",
                  R"("detailed":{"distance_samples":[)");
  int m = 0;
  while (record.size() + 64 < target_bytes) {
    absl::StrAppend(&record, m == 0 ? "" : ",",
                    absl::StrFormat(R"({"timestamp":"2026-07-01T%02d:%02d:%02d.%06d+01:00",)"
                                    R"("distance_meters":%d.5,"timer_duration_seconds":%d})",
                                    (m / 3600) % 24, (m / 60) % 60, m % 60, m % 1000000, m, m));
    ++m;
  }
  activity.distance_samples = m;
  record += "]}}}";
  return activity;
}

std::string ActivityWebhook(absl::string_view user_id, absl::string_view reference_id,
                            const std::vector<std::string>& records) {
  return absl::StrCat(
      R"({"type":"activity","version":"2022-03-16","user":{"user_id":")", user_id,
      R"(","provider":"GARMIN")",
      reference_id.empty() ? "" : absl::StrCat(R"(,"reference_id":")", reference_id, "\""),
      R"(},"data":[)", absl::StrJoin(records, ","), "]}");
}

}  // namespace testing
}  // namespace healthwire
