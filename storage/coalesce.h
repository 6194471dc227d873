// The data_enrichment COALESCE rule for re-delivered records.
//
// Terra re-delivers some records with their `data_enrichment` scores set to
// null (its own example keeps the old score). When a new version of a record
// replaces a stored one, every data_enrichment field that the stored version
// has and the new version lacks is carried over; fields the new version has
// win. Done with protobuf reflection, so enrichment fields Terra adds later
// are covered without code changes.
//
// Thread-safety: pure function, safe from any thread.
#ifndef HEALTHWIRE_STORAGE_COALESCE_H_
#define HEALTHWIRE_STORAGE_COALESCE_H_

#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

// When `stored` and `*incoming` carry the same payload type and that payload
// has a `data_enrichment` message field (activity, sleep, daily), copies into
// `incoming`'s data_enrichment:
// - every singular field with presence set in the stored one and unset in the
//   incoming one;
// - every map/repeated field (the `*_contributors` maps) non-empty in the
//   stored one and empty in the incoming one.
// Fields without presence (none in Terra's models: scalars are `optional`)
// cannot tell "absent" from zero and are left alone. raw_json is untouched: it
// stays the delivery as received. Returns whether anything was copied.
bool CoalesceDataEnrichment(const v1::Event& stored, v1::Event* incoming);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_COALESCE_H_
