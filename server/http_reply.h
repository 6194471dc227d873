// HttpReply: one HTTP answer of the webhook gateway, before it becomes bytes
// on a connection, and the JSON error body every non-2xx answer carries.
//
// Shared by the socket-free WebhookHandler (which decides the answer to a
// request) and HttpSession (which answers protocol errors such as 413 or a
// malformed request itself and writes every answer).
//
// Plain values; thread-compatible.
#ifndef HEALTHWIRE_SERVER_HTTP_REPLY_H_
#define HEALTHWIRE_SERVER_HTTP_REPLY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace healthwire {

// What a reply is counted as: webhook metrics count webhooks only; the probe
// endpoints (/healthz, /readyz, /metrics) have their own counter.
enum class ReplyKind {
  kWebhook,  // the webhook path, and anything the session refused before routing
  kProbe,    // /healthz, /readyz, /metrics
  kOther,    // unknown paths (404)
};

struct HttpReply {
  int status = 200;
  // The metrics label: "ok", "signature_mismatch", "store_unavailable", ...
  // (a fixed set, never request data).
  std::string reason = "ok";
  std::string body;
  std::string content_type = "application/json";
  std::string allow;         // the Allow header of a 405
  bool retry_after = false;  // send Retry-After: kRetryAfterSeconds
  std::string log_detail;    // for the log line only, never sent
  ReplyKind kind = ReplyKind::kWebhook;
};

// The Retry-After value of every 503.
inline constexpr char kRetryAfterSeconds[] = "5";

// A JSON string literal (quotes included) of arbitrary bytes.
std::string JsonString(absl::string_view s);

// {"status":"error","error":"<error>"}
std::string ErrorJson(absl::string_view error);

HttpReply ErrorReply(int status, std::string reason, absl::string_view error);

// Request-derived text for a log line: printable ASCII only, at most
// `max_length` bytes of it.
std::string Printable(absl::string_view s, size_t max_length = 160);

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_HTTP_REPLY_H_
