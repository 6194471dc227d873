// libFuzzer target: ConvertTerraWebhook on arbitrary bytes.
//
// Properties checked (any violation aborts, which libFuzzer reports as a crash):
// - it never crashes, hangs or trips ASan/UBSan, whatever the bytes;
// - a failure is InvalidArgument (an envelope it cannot understand) or
//   Internal (record bytes it could not locate), never another code;
// - on OK, every event has a non-empty record_key and a raw_json that is a
//   substring of the input (raw_json is the record exactly as received), and
//   events_with_problems counts exactly the events carrying problems.
//
// Build and run: tools/fuzz/run_fuzzers.sh (see tools/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/convert/terra_converter.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "terra_converter_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  healthwire::DeliveryContext context;
  context.received_at = absl::FromUnixSeconds(1782900000);
  context.ordering_timestamp_ms = 1782900000000;
  context.trace_id = "fuzz-trace";

  absl::StatusOr<healthwire::ConvertedWebhook> converted =
      healthwire::ConvertTerraWebhook(body, context);
  if (!converted.ok()) {
    const absl::StatusCode code = converted.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kInternal) {
      Fail("unexpected status code", converted.status().ToString());
    }
    if (converted.status().message().empty()) Fail("empty error message", "");
    return 0;
  }

  int with_problems = 0;
  for (const healthwire::v1::Event& event : converted->events) {
    if (event.record_key().empty()) Fail("event without record_key", event.terra_type());
    if (body.find(event.raw_json()) == absl::string_view::npos) {
      Fail("raw_json is not a substring of the input", event.raw_json().substr(0, 200));
    }
    if (event.terra_type() != converted->terra_type) {
      Fail("event terra_type differs from the envelope's", event.terra_type());
    }
    if (event.conversion_problems_size() > 0) ++with_problems;
  }
  if (with_problems != converted->events_with_problems) {
    Fail("events_with_problems miscounted", std::to_string(converted->events_with_problems));
  }
  return 0;
}
