// Large activity records and webhooks, as a day-long recording produces
// them: long heart-rate and distance sample arrays, written as text so a test
// can ask for tens of megabytes quickly (the simulator prints through
// protobuf's JSON printer, which is too slow at that size).
//
// Deterministic: the same arguments give the same bytes. Pure functions,
// thread-safe.
#ifndef HEALTHWIRE_TESTS_UTIL_LARGE_BODIES_H_
#define HEALTHWIRE_TESTS_UTIL_LARGE_BODIES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace healthwire {
namespace testing {

struct LargeActivity {
  // The record (one element of `data`), about the asked size.
  std::string json;
  int hr_samples = 0;
  int distance_samples = 0;
};

// One activity record of about `target_bytes` with metadata.summary_id
// `summary_id`; `bpm_base` shifts every heart-rate sample, so two calls that
// differ only in it give two versions of one record (same key, other bytes).
LargeActivity LargeActivityRecord(size_t target_bytes,
                                  absl::string_view summary_id = "big-activity-1",
                                  int bpm_base = 90);

// An activity webhook of `user_id` (reference `reference_id` unless empty)
// carrying `records` in its `data` array, in order.
std::string ActivityWebhook(absl::string_view user_id, absl::string_view reference_id,
                            const std::vector<std::string>& records);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_LARGE_BODIES_H_
