// Posting a webhook body to healthwire exactly as Terra does: signed with
// `terra-signature: t=<now>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`,
// optionally with Terra's trace id and ordering timestamp headers.
//
// Thread-safe: no shared state.
#ifndef HEALTHWIRE_TOOLS_HWCTL_WEBHOOK_SENDER_H_
#define HEALTHWIRE_TOOLS_HWCTL_WEBHOOK_SENDER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/hwctl/http_client.h"

namespace healthwire {
namespace hwctl {

struct WebhookDelivery {
  // The raw body; sent and signed byte for byte.
  std::string body;
  // `X-Terra-Trace-Id`, when non-empty.
  std::string trace_id;
  // `terra-reference` (the chunks of one backfill), when non-empty.
  std::string terra_reference;
  // `x-terra-ordering-timestamp` (unix ms), when set.
  std::optional<int64_t> ordering_timestamp_ms;
};

// How an https:// --url is trusted: --https_ca, resolved like every path
// flag (~ expanded); empty: the system's trust store.
HttpTls WebhookTlsFromFlags();

// Signs `delivery.body` with `secret` at `now` and POSTs it to `url`
// (verifying the server with `tls` when `url` is https://).
absl::StatusOr<HttpResponse> SendSignedWebhook(const HttpUrl& url, absl::string_view secret,
                                               WebhookDelivery delivery, absl::Time now,
                                               absl::Duration timeout,
                                               const HttpTls& tls = WebhookTlsFromFlags());

// "HTTP 200 OK", then the response body on the next line when there is one.
std::string DescribeResponse(const HttpResponse& response);

// Prints one line for a failed exchange (status from SendSignedWebhook) and
// returns the exit code: 3 when the server cannot be reached or did not
// answer, 2 for a URL hwctl cannot use, 1 otherwise.
int ReportSendError(const absl::Status& status, absl::string_view url);

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_WEBHOOK_SENDER_H_
