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

// The longest user_id, reference_id or record key, in bytes: 1 MiB. Queries
// naming a longer id and Ingest calls carrying one are InvalidArgument (the
// gateway answers such a webhook 400 before it reaches the store), so every
// stored record can be read back. The hostile-input corpus documents a 1 MiB
// user_id webhook as stored and readable; what broke long ids was messages
// echoing them into gRPC metadata (QuoteId), not their length.
inline constexpr size_t kMaxIdBytes = 1 << 20;

// How much of an id an error message quotes.
inline constexpr size_t kQuotedIdPrefixBytes = 64;

// `"abc"`, or `"<first 64 bytes>..." (8192 bytes)` for a long one; C-escaped.
std::string QuoteId(absl::string_view id);

// InvalidArgument naming `field` when `id` is longer than kMaxIdBytes.
absl::Status ValidateIdLength(absl::string_view field, absl::string_view id);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_ID_LIMITS_H_
