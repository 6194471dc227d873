// Fills a protobuf message from a JSON object already parsed by simdjson's
// DOM, with protobuf reflection, leniently: the one-pass replacement of
// lenient_json_to_proto.h for the converter's hot path.
//
// Why a hand-written walker here (and nowhere else): with simdjson's DOM
// already built for the envelope and the keys, running protobuf 3.21's
// JsonStringToMessage over each record parsed every byte a second time
// (util::converter::JsonStreamParser was 25% of the server's CPU, issue 14),
// then the enum checks walked it a third time. A newer protobuf (whose JSON
// parser is faster) is not available on this platform. So this walks the DOM
// once and sets fields through reflection.
//
// The contract is exact equality with JsonToMessageLeniently
// (lenient_json_to_proto.h) on the same record, which stays as the reference:
// the same typed message (google::protobuf::util::MessageDifferencer::Equals)
// and the same conversion-problem field paths (the reasons are worded here).
// That includes protobuf 3.21's JSON quirks, each probed against the library:
// - numbers: int32/int64 take integral doubles in range (1e1, 8.0) and
//   strings parsed with protobuf's own safe_strto32/64 (no spaces); doubles
//   take any integer, "NaN"/"Infinity"/"-Infinity" and strings parsed with
//   safe_strtod (out of range refused); bools take true/false and strings read
//   by safe_strtob ("yes", "1", "t");
// - enums: a defined name, a number (kept even when undefined: proto3 enums
//   are open; listed as a problem), or a numeric string naming a defined
//   value; an undefined name is dropped without error (listed as a problem);
// - null leaves a field unset (a null map value is an entry with 0); a
//   repeated field takes a lone value as one element, flattens nested arrays
//   and skips null elements;
// - a field set twice in one object (a proto3 `optional`, or its proto name and
//   JSON name both) and a map key twice in one map object are errors; a
//   message field twice merges, a repeated one appends;
// - an empty member name fails (in a message, not a map);
// - objects nested deeper than kProtobufJsonMaxObjectDepth fail, counting
//   from the piece protobuf parsed (the record, or one member of it in the
//   per-field fallback).
// Proof: tests/converter/dom_to_proto_differential_test (every fixture, every
// hostile body, the simulator's output, Terra's examples) and the libFuzzer
// target tools/fuzz/dom_to_proto_differential_fuzzer.
//
// Thread-safety: safe to call from any thread (a per-thread cache of field
// lookups is kept; descriptors are immutable).
#ifndef HEALTHWIRE_SERVER_CONVERT_DOM_TO_PROTO_H_
#define HEALTHWIRE_SERVER_CONVERT_DOM_TO_PROTO_H_

#include <google/protobuf/message.h>
#include <simdjson.h>

#include "absl/strings/string_view.h"
#include "server/convert/lenient_json_to_proto.h"

namespace healthwire {

struct DomToMessageOptions {
  // The object's raw bytes held a number the DOM could not hold (replaced by
  // a double or `{}` there): protobuf's strict parse of the raw bytes failed.
  bool had_out_of_range_number = false;
  // The body may nest objects beyond protobuf's limit
  // (ParsedJsonBody::may_exceed_protobuf_depth): depths are measured.
  bool may_exceed_protobuf_depth = false;
};

// Fills `target` (which must be empty) from `parsed` as JsonToMessageLeniently
// would from the same object's JSON text. Returns whether protobuf's strict
// conversion of the whole object would have succeeded.
bool DomToMessageLeniently(const simdjson::dom::element& parsed, absl::string_view path,
                           const DomToMessageOptions& options, google::protobuf::Message* target,
                           ConversionProblems* problems);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_DOM_TO_PROTO_H_
