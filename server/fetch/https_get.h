// HttpsGet: one bounded HTTPS GET with libcurl, for the s3_payload fetcher.
//
// Certificate and host name are always verified (against the system's CAs,
// or Options::ca_file). Only https is spoken, redirects are not followed (a
// redirect could lead off the allow-list, see fetch_url_policy.h), the whole
// transfer has a deadline, and the body is cut off at Options::max_body_bytes
// (checked against Content-Length before reading, and while reading).
//
// Thread-safe: each call uses its own curl handle. InitHttpsGet must have run
// once before (it is idempotent and thread-safe).
#ifndef HEALTHWIRE_SERVER_FETCH_HTTPS_GET_H_
#define HEALTHWIRE_SERVER_FETCH_HTTPS_GET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace healthwire {

// curl_global_init, once per process.
void InitHttpsGet();

struct HttpsGetOptions {
  // A PEM file of CA certificates to trust instead of the system's; empty =
  // the system's (ca-certificates).
  std::string ca_file;
  uint64_t max_body_bytes = 64ull << 20;
  absl::Duration timeout = absl::Seconds(60);
  absl::Duration connect_timeout = absl::Seconds(10);
};

struct HttpsGetResponse {
  long status = 0;  // the HTTP status code
  std::string body;
};

// The response (any status code), or: ResourceExhausted when the body is over
// max_body_bytes; DeadlineExceeded when it took longer than the timeout;
// Unavailable for connection, TLS and certificate failures (the message says
// which, from libcurl's error buffer).
absl::StatusOr<HttpsGetResponse> HttpsGet(const std::string& url, const HttpsGetOptions& options);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_FETCH_HTTPS_GET_H_
