// HttpTestClient: a blocking HTTP/1.1 client for tests, on one connection to
// 127.0.0.1:<port> (kept alive between requests while the server allows).
//
// Every operation is bounded by Options::timeout (Beast async operations on a
// tcp_stream with an expiry, run to completion), so a server that never
// answers fails the test instead of hanging it. Failures are reported in the
// result (HttpResponse::status 0 and ::error), never thrown or asserted: the
// test decides what a failure means.
//
// Besides well-formed requests (Send, Get, Post, PostSigned) it writes raw
// bytes for what a client library will not send (a request trickled in
// parts, lying framing, garbage, Expect: 100-continue by hand) and reads raw
// answers back (ReadRawHead, ReadResponse, ReadUntilClosed, ServerClosed).
// Requests and the response read run at the same time, so an answer the
// server gives before it read the whole body (413) is still seen.
//
// Signed posts use the real SignatureVerifier::Sign, with the current time.
//
// Not thread-safe: one thread drives one client (make one per thread).
#ifndef HEALTHWIRE_TESTS_UTIL_HTTP_TEST_CLIENT_H_
#define HEALTHWIRE_TESTS_UTIL_HTTP_TEST_CLIENT_H_

#include <cstddef>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {
namespace testing {

// Request headers, in the order they are written.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One answer (or why there is none).
struct HttpResponse {
  int status = 0;  // 0: no answer (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  bool keep_alive = false;
  std::string error;  // "connect: ...", "write: ...", "read: ..."; empty when fine

  // The value of header `name` (lowercase), "" when absent.
  std::string header(const std::string& name) const;
};

// "HTTP <status> body=<first 500 bytes> error=<error>", for failure messages.
std::ostream& operator<<(std::ostream& os, const HttpResponse& response);

class HttpTestClient {
 public:
  struct Options {
    // Bound of every single operation (connect excluded: loopback).
    absl::Duration timeout = absl::Seconds(60);
    // The secret PostSigned signs with.
    std::string signing_secret;
    // Where Post and PostSigned send webhooks.
    std::string webhook_path = "/webhooks/terra";
    // Largest response body read.
    size_t max_response_bytes = 64 << 20;
  };

  // Connects at once; see connected().
  explicit HttpTestClient(int port);
  HttpTestClient(int port, Options options);
  ~HttpTestClient();
  HttpTestClient(HttpTestClient&&);
  HttpTestClient& operator=(HttpTestClient&&);

  bool connected() const { return connect_error_.empty(); }
  const std::string& connect_error() const { return connect_error_; }

  // One request (`method` as written on the wire: "GET", "POST", ...) with
  // Host and Content-Length set, and its answer.
  HttpResponse Send(absl::string_view method, const std::string& target, std::string body,
                    const HttpHeaders& headers = {});
  HttpResponse Get(const std::string& target);
  // POST to the webhook path with Content-Type: application/json.
  HttpResponse Post(const std::string& body, HttpHeaders headers = {});
  // Post with a valid terra-signature made with Options::signing_secret now.
  HttpResponse PostSigned(const std::string& body, HttpHeaders headers = {});
  // Post signed with `secret` instead.
  HttpResponse PostSignedWithSecret(const std::string& body, const std::string& secret,
                                    HttpHeaders headers = {});

  // Writes `bytes` as they are.
  absl::Status WriteRaw(absl::string_view bytes);
  // Writes only a request head, "<method> <target> HTTP/1.1", Host and
  // `headers` (give Content-Length yourself): for bodies sent later, in
  // parts, or after "Expect: 100-continue" is answered.
  absl::Status WriteRequestHead(absl::string_view method, absl::string_view target,
                                const HttpHeaders& headers);
  // Reads through the first "\r\n\r\n" (one response head, such as
  // "HTTP/1.1 100 Continue\r\n\r\n"); "" on timeout or close.
  std::string ReadRawHead();
  // Reads one whole response (after raw writes, or after ReadRawHead).
  HttpResponse ReadResponse();
  // Reads whatever arrives until the server closes or `within` passes;
  // `*closed` tells which.
  std::string ReadUntilClosed(absl::Duration within, bool* closed);
  // True when the server closes the connection (EOF or reset) within
  // `within`; false when a byte arrives or the time passes.
  bool ServerClosed(absl::Duration within);

  // The terra-signature header value for `body` with `secret`, signed now.
  static std::string SignNow(absl::string_view body, absl::string_view secret);

 private:
  struct Connection;

  Options options_;
  std::unique_ptr<Connection> connection_;
  std::string connect_error_;
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_HTTP_TEST_CLIENT_H_
