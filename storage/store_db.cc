#include "storage/store_db.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace healthwire {

absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsIOError() || status.IsBusy() || status.IsTimedOut() ||
      status.IsTryAgain() || status.IsIncomplete() || status.IsAborted() ||
      status.IsShutdownInProgress()) {
    return absl::UnavailableError(std::move(message));
  }
  return absl::InternalError(std::move(message));
}

}  // namespace healthwire
