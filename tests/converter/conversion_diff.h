// Compares what ConvertTerraWebhook makes of one body with the one-pass DOM
// walker and with protobuf's JsonStringToMessage (the reference): status,
// events (google::protobuf::util::MessageDifferencer, NaN equal to NaN), and
// each event's conversion-problem field paths, in order.
//
// Used by tests/converter/dom_to_proto_differential_test and by the libFuzzer
// target tools/fuzz/dom_to_proto_differential_fuzzer. Thread-compatible.
#ifndef HEALTHWIRE_TESTS_CONVERTER_CONVERSION_DIFF_H_
#define HEALTHWIRE_TESTS_CONVERTER_CONVERSION_DIFF_H_

#include <string>

#include "absl/strings/string_view.h"

namespace healthwire {

// Empty when both fillers give the same conversion of `body`; otherwise the
// first difference, in words.
std::string DiffFillers(absl::string_view body);

}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_CONVERTER_CONVERSION_DIFF_H_
