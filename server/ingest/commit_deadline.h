// The commit-start deadline of an Ingest RPC, carried from the gateway to the
// store in request metadata.
//
// The gateway gives up on a webhook (503) at its ingest deadline plus a short
// grace; a commit that starts after the deadline would store a webhook whose
// sender was told "not stored". gRPC's own deadline travels as a relative
// timeout that starts when the store reads the call, so a store that was
// stopped (SIGSTOP, a long GC-like stall) or slow to read its socket would
// still see time left. The metadata holds the absolute deadline (unix
// microseconds); the store refuses to start the commit after it. This needs
// the gateway's and the store's clocks to agree to well within the ingest
// deadline (NTP), as the signature window already does.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_SERVER_INGEST_COMMIT_DEADLINE_H_
#define HEALTHWIRE_SERVER_INGEST_COMMIT_DEADLINE_H_

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {

inline constexpr char kCommitStartDeadlineMetadataKey[] = "healthwire-commit-start-deadline-us";

inline std::string EncodeCommitStartDeadline(absl::Time deadline) {
  return absl::StrCat(absl::ToUnixMicros(deadline));
}

// InfiniteFuture when `value` is not a number.
inline absl::Time DecodeCommitStartDeadline(absl::string_view value) {
  int64_t micros = 0;
  if (!absl::SimpleAtoi(value, &micros)) return absl::InfiniteFuture();
  return absl::FromUnixMicros(micros);
}

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_INGEST_COMMIT_DEADLINE_H_
