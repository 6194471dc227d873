// One pass over a webhook body's envelope (its top-level object): refuses
// duplicate member names, and finds the exact bytes of the records.
//
// What it is for: an event's raw_json must be its record exactly as Terra
// sent it (re-serializing would change number spelling, escapes and key
// order), and simdjson 3.0.1's DOM keeps no source positions (and has no
// value::raw_json()). So the records are located with simdjson's on-demand
// parser, over bytes the DOM parser has already validated, as views into the
// body. Member names are compared unescaped ("d\u0061ta" is `data`), exactly
// as the DOM and protobuf's JSON parser read them, so the record whose key was
// taken, the record typed and the record stored are one and the same; and a
// name given twice has no single meaning, so it is refused.
//
// Safe to call from any thread with a parser of its own.
#ifndef HEALTHWIRE_SERVER_CONVERT_RAW_JSON_SLICES_H_
#define HEALTHWIRE_SERVER_CONVERT_RAW_JSON_SLICES_H_

#include <simdjson.h>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {

struct EnvelopeSlices {
  // The exact bytes of each element of `data`, when `data` is an array.
  std::vector<absl::string_view> data_elements;
  // The exact bytes of `athlete`, when it is an object.
  std::optional<absl::string_view> athlete_object;
};

// Scans the top-level object of `body`. `padded` must be a padded copy of
// `body` that simdjson's DOM parser accepted and whose root is an object.
// InvalidArgument "duplicate key `<name>` in the envelope" when a member name
// occurs twice; Internal when the bytes cannot be located (a bug).
// `parser` is used for the scan (the views it returns point into `body`, not
// into the parser).
absl::StatusOr<EnvelopeSlices> ScanEnvelope(simdjson::ondemand::parser& parser,
                                            simdjson::padded_string_view padded,
                                            absl::string_view body);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_RAW_JSON_SLICES_H_
