// A minimal synchronous HTTP/1.1 client (Boost.Beast) for posting webhooks:
// one request per connection, plain http:// only (healthwire's gateway
// listens on plain HTTP; TLS is a proxy's job in front of it).
//
// Errors come back as Status, never as exceptions: UnavailableError when the
// host cannot be resolved or reached, DeadlineExceededError on timeout,
// InvalidArgumentError for a URL hwctl cannot use. A response with any HTTP
// status is a success at this level; callers judge the status code.
//
// Thread-safe: no shared state; each call uses its own io_context.
#ifndef HEALTHWIRE_TOOLS_HWCTL_HTTP_CLIENT_H_
#define HEALTHWIRE_TOOLS_HWCTL_HTTP_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {
namespace hwctl {

struct HttpUrl {
  std::string host;
  std::string port;    // "80" when the URL names none
  std::string target;  // path and query, "/" when empty
};

// Parses "http://host[:port][/path]". InvalidArgument for another scheme
// (https included), a missing host or a bad port.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

struct HttpResponse {
  int status_code = 0;
  std::string reason;  // "OK", "Unauthorized", ...
  std::string body;
};

// POSTs `body` to `url` with `headers` (Content-Type included by the caller
// when wanted) and waits up to `timeout` for the whole exchange.
absl::StatusOr<HttpResponse> HttpPost(
    const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
    std::string body, absl::Duration timeout);

// GETs `url` (e.g. /metrics) and waits up to `timeout`.
absl::StatusOr<HttpResponse> HttpGet(const HttpUrl& url, absl::Duration timeout);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_HTTP_CLIENT_H_
