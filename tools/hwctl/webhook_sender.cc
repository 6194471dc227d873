#include "tools/hwctl/webhook_sender.h"

#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "server/process_util.h"
#include "server/webhook/signature_verifier.h"
#include "tools/hwctl/subcommand.h"

ABSL_FLAG(std::string, https_ca, "",
          "PEM CA file to trust for an https:// --url (a gateway with --http_tls_cert signed "
          "by a private CA); default: the system's trust store. The server's certificate is "
          "always verified, host name included");

namespace healthwire {
namespace hwctl {

HttpTls WebhookTlsFromFlags() {
  HttpTls tls;
  const std::string ca = absl::GetFlag(FLAGS_https_ca);
  if (!ca.empty()) tls.ca_file = ResolveUserPath(ca);
  return tls;
}

absl::StatusOr<HttpResponse> SendSignedWebhook(const HttpUrl& url, absl::string_view secret,
                                               WebhookDelivery delivery, absl::Time now,
                                               absl::Duration timeout, const HttpTls& tls) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"},
      {"terra-signature", SignatureVerifier::Sign(secret, absl::ToUnixSeconds(now), delivery.body)},
  };
  if (!delivery.trace_id.empty()) headers.emplace_back("X-Terra-Trace-Id", delivery.trace_id);
  if (!delivery.terra_reference.empty()) {
    headers.emplace_back("terra-reference", delivery.terra_reference);
  }
  if (delivery.ordering_timestamp_ms.has_value()) {
    headers.emplace_back("x-terra-ordering-timestamp",
                         absl::StrCat(*delivery.ordering_timestamp_ms));
  }
  return HttpPost(url, headers, std::move(delivery.body), timeout, tls);
}

std::string DescribeResponse(const HttpResponse& response) {
  std::string text = absl::StrCat("HTTP ", response.status_code);
  if (!response.reason.empty()) absl::StrAppend(&text, " ", response.reason);
  if (!response.body.empty()) {
    absl::StrAppend(&text, "\n", response.body);
    if (response.body.back() != '\n') absl::StrAppend(&text, "\n");
  } else {
    absl::StrAppend(&text, "\n");
  }
  return text;
}

int ReportSendError(const absl::Status& status, absl::string_view url) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return Fail(kExitCannotConnect, absl::StrCat("cannot post to ", url, ": ", status.message()));
    case absl::StatusCode::kInvalidArgument:
      return Fail(kExitUsage, status.message());
    default:
      return Fail(kExitServerError, absl::StrCat("cannot post to ", url, ": ", status.message()));
  }
}

}  // namespace hwctl
}  // namespace healthwire
