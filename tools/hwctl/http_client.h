// A minimal synchronous HTTP/1.1 client (Boost.Beast) for posting webhooks:
// one request per connection, over http:// or https:// (a gateway with
// --http_tls_cert, or a TLS proxy in front of it). HTTPS always verifies the
// server: its certificate must chain to the trusted roots (HttpTls::ca_file,
// else the system's) and name the URL's host (RFC 2818); SNI is sent.
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
  bool https = false;
  std::string host;
  std::string port;    // "80" ("443" for https) when the URL names none
  std::string target;  // path and query, "/" when empty
};

// Parses "http[s]://host[:port][/path]". InvalidArgument for another scheme,
// a missing host or a bad port.
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// How an https:// exchange trusts the server.
struct HttpTls {
  // PEM roots to trust (a private CA); empty: the system's trust store.
  std::string ca_file;
};

struct HttpResponse {
  int status_code = 0;
  std::string reason;  // "OK", "Unauthorized", ...
  std::string body;
};

// POSTs `body` to `url` with `headers` (Content-Type included by the caller
// when wanted) and waits up to `timeout` for the whole exchange.
// A failed TLS handshake (the server's certificate not trusted or not for
// that host, or the server not speaking TLS) is Unavailable naming the cause.
absl::StatusOr<HttpResponse> HttpPost(
    const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
    std::string body, absl::Duration timeout, const HttpTls& tls = HttpTls());

// GETs `url` (e.g. /metrics) and waits up to `timeout`.
absl::StatusOr<HttpResponse> HttpGet(const HttpUrl& url, absl::Duration timeout,
                                     const HttpTls& tls = HttpTls());

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_HTTP_CLIENT_H_
