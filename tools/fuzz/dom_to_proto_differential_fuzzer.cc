// libFuzzer target: the one-pass DOM walker (server/convert/dom_to_proto.h) against
// protobuf's JsonStringToMessage with the per-field fallback
// (server/convert/lenient_json_to_proto.h) on arbitrary bytes.
//
// Property (any violation aborts, which libFuzzer reports as a crash): both
// give the same status, the same events, the same typed messages
// (MessageDifferencer) and the same conversion-problem paths; plus no crash
// or ASan/UBSan report in either.
//
// Build and run: tools/fuzz/run_fuzzers.sh (see tools/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "tests/converter/conversion_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string difference = healthwire::DiffFillers(body);
  if (!difference.empty()) {
    std::fprintf(stderr, "dom_to_proto_differential_fuzzer: walker differs: %s\n",
                 difference.substr(0, 4000).c_str());
    std::abort();
  }
  return 0;
}
