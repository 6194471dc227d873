// The exact bytes of the records inside a Terra webhook body.
//
// What it is for: an event's raw_json must be its record exactly as Terra
// sent it (re-serializing would change number spelling, escapes and key
// order), and simdjson 3.0.1's DOM keeps no source positions (and has no
// value::raw_json()). These locate records with simdjson's on-demand parser
// over bytes the DOM parser has already validated, and return views into the
// body.
//
// Pure functions; safe to call from any thread.
#ifndef HEALTHWIRE_SERVER_RAW_JSON_SLICES_H_
#define HEALTHWIRE_SERVER_RAW_JSON_SLICES_H_

#include <simdjson.h>

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// The exact bytes of each element of the top-level `data` array, as views
// into `body`. `padded` must be a padded copy of `body` that simdjson's DOM
// parser accepted. Internal error when they cannot be located.
absl::StatusOr<std::vector<absl::string_view>> DataElementSlices(simdjson::padded_string& padded,
                                                                 absl::string_view body);

// The exact bytes of the object value of top-level member `key`, as a view
// into `body`; the same preconditions as DataElementSlices.
absl::StatusOr<absl::string_view> TopLevelObjectSlice(simdjson::padded_string& padded,
                                                      absl::string_view body,
                                                      std::string_view key);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_RAW_JSON_SLICES_H_
