// The store's side of s3_payload ("ping mode") fetches (issue 13): the
// S3Fetch a newly stored ping starts, and how a fetcher's outcome is
// recorded.
//
// Pure functions (no I/O, no clock): ApplyBatch calls them inside the
// commit, so a ping and its PENDING fetch are durable together, and a fetched
// body's records and the FETCHED state are durable together. The fetching
// itself (network, retries) is server/fetch/s3_fetcher.h's.
//
// Stateless; safe from any thread.
#ifndef HEALTHWIRE_STORAGE_FETCH_TRACKER_H_
#define HEALTHWIRE_STORAGE_FETCH_TRACKER_H_

#include <cstdint>
#include <optional>

#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// When a ping carries no expires_in: Terra's documented default lifetime of
// a pre-signed URL (300 s).
inline constexpr int64_t kDefaultS3PayloadExpiresInSeconds = 300;

// The fetch a stored version starts: for an s3_payload ping that was posted
// (not itself fetched: a fetched body that is a ping again is not followed),
// PENDING, or FAILED at once when it has no url. nullopt for anything else.
// `ping` has its revision assigned.
std::optional<v1::S3Fetch> FetchStartedBy(const v1::Event& ping);

// The fetch as API answers show it: the URL without its query (the
// pre-signed credentials).
v1::S3Fetch RedactedFetch(const v1::S3Fetch& fetch);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_FETCH_TRACKER_H_
