// Limits on the ids the store is asked about or given (user_id, reference_id,
// record_key), and how error messages quote them. Ids come from the internet
// (Terra bodies) and from gRPC callers: a message that echoed a whole 8 KB id
// into gRPC metadata turned a NotFound into RESOURCE_EXHAUSTED, so messages
// quote a short prefix and the length instead.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_STORAGE_ID_LIMITS_H_
#define HEALTHWIRE_STORAGE_ID_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// The longest user_id, reference_id or record_key the store accepts, in
// bytes. Terra's user_ids are 36-byte UUIDs and summary_ids are short; the
// limit leaves room for customers' own reference_ids.
inline constexpr size_t kMaxIdBytes = 1024;

// How much of an id an error message quotes.
inline constexpr size_t kQuotedIdPrefixBytes = 64;

// `"abc"`, or `"<first 64 bytes>..." (8192 bytes)` for a long one; C-escaped.
std::string QuoteId(absl::string_view id);

// InvalidArgument naming `field` when `id` is longer than kMaxIdBytes.
absl::Status ValidateIdLength(absl::string_view field, absl::string_view id);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_ID_LIMITS_H_
