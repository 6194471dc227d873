// FetchUrlPolicy: which URLs the s3_payload fetcher may GET.
//
// A fetcher that follows any URL a webhook names is a server-side request
// forgery tool (it would GET http://169.254.169.254/... or an internal
// service for whoever can get a ping signed). So: https only, and only hosts
// on an allow-list (default: Amazon S3's virtual-hosted and path-style host
// names, where Terra's pre-signed URLs point). URLs are parsed with libcurl's
// URL API, the same parser the fetch itself uses, so the host checked is the
// host connected to.
//
// Allow-list entries (comma-separated): a host pattern where `*` stands for
// one or more characters (`*.s3.amazonaws.com`), optionally `:port` or `:*`;
// without a port only 443 is allowed. Matching is case-insensitive. User
// info in the URL (user:password@) is refused.
//
// Immutable after Create; thread-safe.
#ifndef HEALTHWIRE_SERVER_FETCH_FETCH_URL_POLICY_H_
#define HEALTHWIRE_SERVER_FETCH_FETCH_URL_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {

// Amazon S3's host names (virtual-hosted and path-style, global and
// regional endpoints).
inline constexpr char kDefaultS3FetchAllowedHosts[] =
    "*.s3.amazonaws.com,*.s3.*.amazonaws.com,s3.amazonaws.com,s3.*.amazonaws.com,"
    "*.s3-*.amazonaws.com,s3-*.amazonaws.com";

class FetchUrlPolicy {
 public:
  // InvalidArgument naming the bad entry (empty list, empty host, bad port).
  static absl::StatusOr<FetchUrlPolicy> Create(absl::string_view comma_separated_hosts);

  // OK, or PermissionDenied saying why `url` may not be fetched (not https,
  // host not allowed, ...), or InvalidArgument when it is not a URL.
  absl::Status Check(const std::string& url) const;

 private:
  struct Entry {
    std::string host_pattern;  // lowercase
    int port = 443;            // -1: any
  };
  explicit FetchUrlPolicy(std::vector<Entry> entries) : entries_(std::move(entries)) {}

  std::vector<Entry> entries_;
};

// Whether `text` matches `pattern`, where `*` matches one or more characters
// (both already lowercase).
bool HostPatternMatches(absl::string_view pattern, absl::string_view text);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FETCH_FETCH_URL_POLICY_H_
