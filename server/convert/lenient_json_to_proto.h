// Lenient JSON -> protobuf conversion of one Terra record (or user object).
//
// What it is for: Terra's schema drifts (a field changes type, an enum gains
// a value), and a record that only fails the typed schema must still be kept
// (raw) with whatever did convert and a list of what did not. Protobuf's JSON
// parser is all-or-nothing, so this wraps it:
//   1. the whole object through google::protobuf::util::JsonStringToMessage
//      (unknown keys ignored: raw_json keeps them);
//   2. if that refuses it, one top-level key at a time, so one bad field
//      loses only itself; a bad singular message field given as an object is
//      recursed into, so it keeps everything but its bad members;
//   3. enum drift that protobuf accepts silently is listed too: numbers the
//      enum does not define (proto3 enums are open) and names it does not
//      define (dropped without a word under ignore_unknown_fields).
// Every problem goes into `problems` as a v1::ConversionProblem whose
// field_path is dotted from `path` ("metadata.type", "samples[2]").
//
// Pure functions over their arguments; safe to call from any thread.
#ifndef HEALTHWIRE_SERVER_CONVERT_LENIENT_JSON_TO_PROTO_H_
#define HEALTHWIRE_SERVER_CONVERT_LENIENT_JSON_TO_PROTO_H_

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_field.h>
#include <simdjson.h>

#include "absl/strings/string_view.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

using ConversionProblems = ::google::protobuf::RepeatedPtrField<v1::ConversionProblem>;

// Converts the JSON object `json` into `target` (which must be empty) as
// described above; `parsed` is the same JSON already parsed by simdjson's DOM
// parser (it drives the per-field fallback and the enum-name check, so `json`
// is parsed by protobuf at most once per level). `path` prefixes every
// problem's field_path ("" for a record, "user" for the envelope's user).
// Returns whether step 1 (the strict conversion) succeeded; `target` then
// holds exactly what JsonStringToMessage made of `json`. On false, `target`
// holds what converted field by field (possibly nothing).
bool JsonToMessageLeniently(absl::string_view json, const simdjson::dom::element& parsed,
                            absl::string_view path, google::protobuf::Message* target,
                            ConversionProblems* problems);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_CONVERT_LENIENT_JSON_TO_PROTO_H_
