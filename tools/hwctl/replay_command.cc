// hwctl replay: post the records of a `hwctl export` file again, each as the
// webhook that carried it, signed like Terra signs (to re-feed a staging
// instance, or to restore into a fresh store).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/process_util.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/export_format.h"
#include "tools/hwctl/webhook_sender.h"

namespace healthwire {
namespace hwctl {
namespace {

int RunReplay(const ParsedArguments& arguments) {
  const Subcommand& command = ReplayCommand();
  if (arguments.positional.size() != 1) {
    return UsageError(command, "give exactly one FILE written by hwctl export (- for stdin)");
  }
  const std::string& path = arguments.positional[0];
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());
  std::ifstream file;
  if (path != "-") {
    file.open(ResolveUserPath(path), std::ios::binary);
    if (!file) return UsageError(command, absl::StrCat("cannot read ", path));
  }
  std::istream& in = path == "-" ? std::cin : file;
  absl::StatusOr<std::string> secret = SigningSecret();
  if (!secret.ok()) return UsageError(command, secret.status().message());

  std::map<int, int64_t> answers;  // HTTP status -> count
  int64_t sent = 0, failed = 0, line_number = 0, erasures = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    absl::StatusOr<ReplayDelivery> delivery = DeliveryFromExportLine(line);
    if (!delivery.ok()) {
      return UsageError(command, absl::StrCat(path, " line ", line_number, ": ",
                                              delivery.status().message()));
    }
    if (delivery->erasure) {
      ++erasures;  // an erased change or a tombstone: nothing to re-send
      continue;
    }
    WebhookDelivery webhook;
    webhook.body = std::move(delivery->body);
    webhook.trace_id = delivery->trace_id;
    webhook.ordering_timestamp_ms = delivery->ordering_timestamp_ms;
    absl::StatusOr<HttpResponse> response = SendSignedWebhook(
        *url, *secret, std::move(webhook), absl::Now(), absl::GetFlag(FLAGS_timeout));
    if (!response.ok()) return ReportSendError(response.status(), absl::GetFlag(FLAGS_url));
    ++sent;
    ++answers[response->status_code];
    if (response->status_code < 200 || response->status_code > 299) {
      ++failed;
      std::printf("line %lld (revision %llu, key %s): HTTP %d %s %s\n",
                  static_cast<long long>(line_number),
                  static_cast<unsigned long long>(delivery->revision),
                  delivery->record_key.c_str(), response->status_code, response->reason.c_str(),
                  response->body.c_str());
    }
  }
  std::string summary;
  for (const auto& [status, count] : answers) {
    absl::StrAppend(&summary, summary.empty() ? "" : ", ", count, " x HTTP ", status);
  }
  std::printf("replayed %lld record(s) to %s%s%s\n", static_cast<long long>(sent),
              absl::GetFlag(FLAGS_url).c_str(), summary.empty() ? "" : ": ", summary.c_str());
  if (erasures > 0) {
    std::printf("skipped %lld erasure line(s) (erased changes and tombstones carry no record)\n",
                static_cast<long long>(erasures));
  }
  if (failed > 0) {
    return Fail(kExitServerError, absl::StrCat(failed, " record(s) were not accepted"));
  }
  return kExitOk;
}

}  // namespace

const Subcommand& ReplayCommand() {
  static const Subcommand* const command = new Subcommand{
      "replay",
      "FILE [--url URL] [--secret S] [--data-dir DIR]",
      "Post every record of a `hwctl export` file again, signed like Terra signs.",
      "Each line becomes the webhook that carried its record (data types: {type, user,\n"
      "data: [record]}; athlete: {type, user, athlete}; connection and unknown events: the\n"
      "body as received), with its trace id and ordering timestamp, in the file's order.\n"
      "Identical records already stored are answered 200 and not stored twice. Prints one\n"
      "line per refused record and a summary; any refusal exits with 1.",
      {"url", "https_ca", "secret", "data_dir", "timeout"},
      &RunReplay,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
