// Parses a webhook body into simdjson's DOM, tolerating valid JSON numbers the
// DOM cannot hold.
//
// What it is for: simdjson's DOM parser (like protobuf's) refuses numbers
// beyond 64-bit integers or doubles (1e400), though RFC 8259 gives numbers no
// range. Refusing the body would make Terra retry and finally drop every
// record in it, while only one field does not fit; so such numbers are
// replaced in a private copy that the DOM is built from (see ParseJsonBody),
// and the caller keeps using the original bytes for raw_json.
//
// A ParsedJsonBody is not thread-safe; use one per thread (or per call).
#ifndef HEALTHWIRE_SERVER_JSON_BODY_PARSER_H_
#define HEALTHWIRE_SERVER_JSON_BODY_PARSER_H_

#include <simdjson.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// One parsed body. `root` points into `parser`; `padded` is the body's
// original bytes, padded for simdjson (the on-demand slicer reads it).
struct ParsedJsonBody {
  simdjson::padded_string padded;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

// Parses `body` into `parsed`. Numbers the DOM cannot hold are replaced in the
// copy the DOM is built from: an integer beyond 64 bits by the same digits as
// a double ("…0.0", keeping its value), a number beyond a double by `{}` (so
// a typed field holding it is flagged as a conversion problem). InvalidArgument
// "body is not valid JSON: <simdjson's reason>" when it is not JSON.
absl::Status ParseJsonBody(absl::string_view body, ParsedJsonBody* parsed);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_JSON_BODY_PARSER_H_
