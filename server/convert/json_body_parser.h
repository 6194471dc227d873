// Parses a webhook body into simdjson's DOM with per-thread parsers and
// buffers, tolerating valid JSON numbers the DOM cannot hold.
//
// What it is for:
// - speed: a simdjson parser allocates buffers sized to the document; built
//   fresh per body that was 7% of server CPU (operator new[]). Each thread
//   keeps one DOM parser, one on-demand parser and one padded input buffer and
//   reuses them for bodies up to kReusableBodyBytes (256 KiB: a few MB of
//   parser memory per thread; Terra bodies are mostly 1-20 KB; larger get
//   call-local ones, so a thread does not keep a huge body's memory).
// - numbers: simdjson's DOM parser (like protobuf's) refuses numbers beyond
//   64-bit integers or doubles (1e400, 400 digits), though RFC 8259 gives
//   numbers no range. Refusing the body would make Terra retry and finally
//   drop every record in it, while only one field does not fit; so such
//   numbers are replaced in the copy the DOM is built from, and their spans
//   are reported so the converter can tell which records held one.
//
// Thread-safety: ParseJsonBody may be called from any thread; what it returns
// points into that thread's parser and stays valid until the next
// ParseJsonBody call on the same thread (or, for large bodies, as long as the
// ParsedJsonBody lives). Not reentrant within one thread.
#ifndef HEALTHWIRE_SERVER_CONVERT_JSON_BODY_PARSER_H_
#define HEALTHWIRE_SERVER_CONVERT_JSON_BODY_PARSER_H_

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// Bodies up to this size are parsed with the thread's reusable parsers.
inline constexpr size_t kReusableBodyBytes = size_t{256} << 10;

// Protobuf 3.21's JSON parser refuses objects nested deeper than this
// (counting the outermost); arrays do not count.
inline constexpr int kProtobufJsonMaxObjectDepth = 100;

struct ParsedJsonBody {
  // The body's original bytes, padded for simdjson (the on-demand envelope
  // scan reads them).
  simdjson::padded_string_view padded;
  simdjson::dom::element root;
  // False when the whole body nests (arrays and objects together) less deep
  // than kProtobufJsonMaxObjectDepth: no part of it can hit protobuf's depth
  // limit, so converters need not measure depths.
  bool may_exceed_protobuf_depth = false;
  // [offset, offset + length) of each number the DOM could not hold, in body
  // order; the DOM has a double (integers a double holds) or `{}` there.
  std::vector<std::pair<size_t, size_t>> out_of_range_numbers;

  // Whether a number the DOM could not hold lies within body[begin, end).
  bool HasOutOfRangeNumberIn(size_t begin, size_t end) const;

  // Call-local storage for bodies above kReusableBodyBytes.
  struct Storage;
  std::shared_ptr<Storage> storage;
};

// Parses `body` into `parsed`. InvalidArgument "body is not valid JSON:
// <simdjson's reason>" when it is not JSON.
absl::Status ParseJsonBody(absl::string_view body, ParsedJsonBody* parsed);

// The same, for a body above kReusableBodyBytes whose buffer holds at least
// simdjson::SIMDJSON_PADDING readable bytes past its end (`capacity` counts
// them): it is parsed in place, without the padded copy (a 60 MB webhook is
// not held twice). `body` must outlive `parsed`. With less room (or a small
// body) this is ParseJsonBody above.
absl::Status ParseJsonBodyInPlace(absl::string_view body, size_t capacity,
                                  ParsedJsonBody* parsed);

// The thread's on-demand parser (for scans over ParsedJsonBody::padded); a
// fresh one is returned for bodies above kReusableBodyBytes.
simdjson::ondemand::parser& OnDemandParserFor(const ParsedJsonBody& parsed);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_JSON_BODY_PARSER_H_
