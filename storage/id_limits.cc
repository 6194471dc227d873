#include "storage/id_limits.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace healthwire {

std::string QuoteId(absl::string_view id) {
  if (id.size() <= kQuotedIdPrefixBytes) return absl::StrCat("\"", absl::CEscape(id), "\"");
  return absl::StrCat("\"", absl::CEscape(id.substr(0, kQuotedIdPrefixBytes)), "...\" (",
                      id.size(), " bytes)");
}

absl::Status ValidateIdLength(absl::string_view field, absl::string_view id) {
  if (id.size() <= kMaxIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": at most ", kMaxIdBytes,
                                                 " bytes (got ", QuoteId(id), ")"));
}

}  // namespace healthwire
