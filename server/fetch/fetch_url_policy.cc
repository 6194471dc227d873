#include "server/fetch/fetch_url_policy.h"

#include <curl/curl.h>

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// One part of a parsed URL, or "" when it has none.
std::string UrlPart(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return "";
  std::string text(value);
  curl_free(value);
  return text;
}

}  // namespace

bool HostPatternMatches(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.front() == '*') {
    // One or more characters, then the rest of the pattern.
    for (size_t taken = 1; taken <= text.size(); ++taken) {
      if (HostPatternMatches(pattern.substr(1), text.substr(taken))) return true;
    }
    return false;
  }
  return !text.empty() && pattern.front() == text.front() &&
         HostPatternMatches(pattern.substr(1), text.substr(1));
}

absl::StatusOr<FetchUrlPolicy> FetchUrlPolicy::Create(absl::string_view comma_separated_hosts) {
  std::vector<Entry> entries;
  for (absl::string_view item : absl::StrSplit(comma_separated_hosts, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    Entry entry;
    absl::string_view host = item;
    const size_t colon = item.rfind(':');
    if (colon != absl::string_view::npos) {
      host = item.substr(0, colon);
      const absl::string_view port = item.substr(colon + 1);
      if (port == "*") {
        entry.port = -1;
      } else if (!absl::SimpleAtoi(port, &entry.port) || entry.port < 1 || entry.port > 65535) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--s3_fetch_allowed_hosts entry \"", item, "\": the port must be 1-65535 or *"));
      }
    }
    if (host.empty() || host == "*") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--s3_fetch_allowed_hosts entry \"", item,
          "\": name a host (a bare * would let the fetcher reach any host)"));
    }
    entry.host_pattern = absl::AsciiStrToLower(host);
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError(
        "--s3_fetch_allowed_hosts is empty: no s3_payload URL could ever be fetched");
  }
  return FetchUrlPolicy(std::move(entries));
}

absl::Status FetchUrlPolicy::Check(const std::string& url) const {
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("cannot allocate a URL parser");
  if (curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("the s3_payload url is not a URL");
  }
  const std::string scheme = absl::AsciiStrToLower(UrlPart(parsed.get(), CURLUPART_SCHEME));
  if (scheme != "https") {
    return absl::PermissionDeniedError(
        absl::StrCat("the s3_payload url's scheme is \"", scheme, "\"; only https is fetched"));
  }
  if (!UrlPart(parsed.get(), CURLUPART_USER).empty()) {
    return absl::PermissionDeniedError("the s3_payload url carries user info; not fetched");
  }
  const std::string host = absl::AsciiStrToLower(UrlPart(parsed.get(), CURLUPART_HOST));
  int port = 443;
  if (!absl::SimpleAtoi(UrlPart(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT), &port)) {
    return absl::InvalidArgumentError("the s3_payload url has no port");
  }
  for (const Entry& entry : entries_) {
    if ((entry.port == -1 || entry.port == port) && HostPatternMatches(entry.host_pattern, host)) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "the s3_payload url's host \"", host, ":", port,
      "\" is not on --s3_fetch_allowed_hosts; not fetched"));
}

}  // namespace healthwire
