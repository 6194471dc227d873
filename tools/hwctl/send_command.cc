// hwctl send: post one webhook body from a file, signed as Terra signs it.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/process_util.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/webhook_sender.h"

ABSL_FLAG(std::string, trace_id, "", "send this X-Terra-Trace-Id header");
ABSL_FLAG(int64_t, ordering_timestamp, 0,
          "send this x-terra-ordering-timestamp header (unix milliseconds)");

namespace healthwire {
namespace hwctl {
namespace {

// The file's bytes exactly ("-": standard input).
absl::StatusOr<std::string> ReadBody(const std::string& path) {
  if (path == "-") {
    std::ostringstream contents;
    contents << std::cin.rdbuf();
    return contents.str();
  }
  std::ifstream in(ResolveUserPath(path), std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int RunSend(const ParsedArguments& arguments) {
  const Subcommand& command = SendCommand();
  if (arguments.positional.size() != 1) {
    return UsageError(command, "give exactly one FILE (or - for standard input)");
  }
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());
  absl::StatusOr<std::string> body = ReadBody(arguments.positional[0]);
  if (!body.ok()) return UsageError(command, body.status().message());
  absl::StatusOr<std::string> secret = SigningSecret();
  if (!secret.ok()) return UsageError(command, secret.status().message());

  WebhookDelivery delivery;
  delivery.body = *std::move(body);
  delivery.trace_id = absl::GetFlag(FLAGS_trace_id);
  if (arguments.Specified("ordering_timestamp")) {
    delivery.ordering_timestamp_ms = absl::GetFlag(FLAGS_ordering_timestamp);
  }
  absl::StatusOr<HttpResponse> response = SendSignedWebhook(
      *url, *secret, std::move(delivery), absl::Now(), absl::GetFlag(FLAGS_timeout));
  if (!response.ok()) return ReportSendError(response.status(), absl::GetFlag(FLAGS_url));

  std::printf("%s", DescribeResponse(*response).c_str());
  if (response->status_code < 200 || response->status_code > 299) {
    return Fail(kExitServerError, absl::StrCat("the webhook server answered ",
                                               response->status_code, " ", response->reason));
  }
  return kExitOk;
}

}  // namespace

const Subcommand& SendCommand() {
  static const Subcommand* const command = new Subcommand{
      "send",
      "FILE [--url URL] [--secret S] [--trace-id ID] [--ordering-timestamp MS]",
      "Post a webhook body from FILE (- for stdin), signed exactly as Terra signs it.",
      "The body is sent byte for byte with terra-signature: t=<now>,v1=<HMAC-SHA256>.\n"
      "Prints the HTTP status and the response body; a non-2xx answer exits with 1.",
      {"url", "https_ca", "secret", "data_dir", "trace_id", "ordering_timestamp", "timeout"},
      &RunSend,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
