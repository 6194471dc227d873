// HttpReply: one HTTP answer of the webhook gateway, before it becomes bytes
// on a connection, and the JSON error body every non-2xx answer carries.
//
// Shared by the socket-free WebhookHandler (which decides the answer to a
// request) and HttpSession (which answers protocol errors such as 413 or a
// malformed request itself and writes every answer).
//
// Plain values; thread-compatible.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_HTTP_REPLY_H_
#define HEALTHWIRE_SERVER_WEBHOOK_HTTP_REPLY_H_

#include <cstdint>
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

// What the access line says about one webhook, filled in by the handler as far
// as it got (ids, types and counts only: never payload values).
struct WebhookSummary {
  std::string terra_type;  // the envelope's type; "" before it was read
  std::string user_id;     // of the first event; "" for none
  int events = 0;
  int stored = 0;
  int identical = 0;
  int stale = 0;
  int schema_problems = 0;  // events with conversion problems
  uint64_t revision = 0;    // the store revision after the commit; 0 when not committed
  // Cluster mode: the delivery's commit-log sequence (0 otherwise); stored /
  // identical / stale / revision are then not known at the gateway.
  uint64_t log_sequence = 0;
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
  // For kProbe: "healthz", "readyz" or "metrics" (the metrics label).
  std::string endpoint;
  // For kWebhook: the access line's fields.
  WebhookSummary webhook;
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

#endif  // HEALTHWIRE_SERVER_WEBHOOK_HTTP_REPLY_H_
