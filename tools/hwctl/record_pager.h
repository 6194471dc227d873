// Reading every record of a ListRecords query, page after page, with pages
// that fit the receive limit.
//
// Records range from a few hundred bytes to tens of MB, so no fixed page size
// fits all: a page that comes back larger than a gRPC size limit
// (RESOURCE_EXHAUSTED, on either side) is asked for again with half as many
// records, down to one. Only a single record larger than the limit is an
// error.
//
// Thread-compatible: one pager per thread.
#ifndef HEALTHWIRE_TOOLS_HWCTL_RECORD_PAGER_H_
#define HEALTHWIRE_TOOLS_HWCTL_RECORD_PAGER_H_

#include <cstdint>
#include <functional>

#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.pb.h"
#include "tools/hwctl/store_client.h"

namespace healthwire {
namespace hwctl {

struct PagedRead {
  // The status of the call that ended the read (OK when it ran to the end,
  // to the limit, or `each` stopped it).
  grpc::Status status;
  int64_t records = 0;
  // Records remain beyond `limit`.
  bool more = false;
  // The revision the first page was read at.
  uint64_t store_revision = 0;
};

// The store pages at most this many records per call.
inline constexpr int kMaxListPageSize = 1000;

// Calls `each` for up to `limit` records of `request` (its page_size and
// page_token are set here), in the store's order; stops early when `each`
// returns false.
PagedRead ForEachRecord(StoreConnection& store, v1::ListRecordsRequest request, int64_t limit,
                        const std::function<bool(const v1::Event&)>& each);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_RECORD_PAGER_H_
