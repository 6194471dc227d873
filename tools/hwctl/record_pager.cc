#include "tools/hwctl/record_pager.h"

#include <algorithm>
#include <utility>

namespace healthwire {
namespace hwctl {
namespace {

// The store's own default page size: small enough that typical records fit
// the limit at once, large enough that short records need few calls.
constexpr int kFirstPageSize = 100;

}  // namespace

PagedRead ForEachRecord(StoreConnection& store, v1::ListRecordsRequest request, int64_t limit,
                        const std::function<bool(const v1::Event&)>& each) {
  PagedRead read;
  int page_size = kFirstPageSize;
  request.clear_page_token();
  bool first = true;
  while (read.records < limit) {
    request.set_page_size(static_cast<int>(
        std::min<int64_t>({page_size, limit - read.records, kMaxListPageSize})));
    grpc::ClientContext context;
    SetUnaryDeadline(&context);
    v1::ListRecordsResponse response;
    const grpc::Status status = store.stub->ListRecords(&context, request, &response);
    if (IsMessageTooLarge(status) && request.page_size() > 1) {
      // The same page, in halves; the next pages keep the smaller size (a
      // person's records of one type tend to be of similar size).
      page_size = request.page_size() / 2;
      continue;
    }
    if (!status.ok()) {
      read.status = status;
      return read;
    }
    if (first) read.store_revision = response.store_revision();
    first = false;
    for (const v1::Event& event : response.events()) {
      if (read.records >= limit) {
        read.more = true;
        return read;
      }
      ++read.records;
      if (!each(event)) return read;
    }
    if (response.next_page_token().empty()) return read;
    request.set_page_token(response.next_page_token());
  }
  read.more = true;
  return read;
}

}  // namespace hwctl
}  // namespace healthwire
