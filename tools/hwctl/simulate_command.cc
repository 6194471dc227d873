// hwctl simulate: generate realistic Terra webhooks and send them signed (or
// write them to files).
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/process_util.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/webhook_sender.h"
#include "tools/simulator/terra_payloads.h"

ABSL_FLAG(std::string, provider, "GARMIN", "the wearable provider the user is connected through");
ABSL_FLAG(int, count, 1,
          "how many records (one per day, going back from today) or events to generate");
ABSL_FLAG(int, samples, 12, "the size of every sample array (heart rate, hypnogram, steps, ...)");
ABSL_FLAG(int, batch, 1, "records per webhook for data types (Terra sends at most 10)");
ABSL_FLAG(uint64_t, seed, 0,
          "random seed: the same seed gives the same ids and values (times follow the clock); "
          "0: a new seed each run, printed");
ABSL_FLAG(std::string, utc_offset, "+01:00", "the user's UTC offset, which timestamps carry");
ABSL_FLAG(std::string, out, "", "write the webhooks to files in this folder instead of sending");

namespace healthwire {
namespace hwctl {
namespace {

constexpr char kDefaultUser[] = "hwctl-sim-user";

// "+01:00", "-05:30", "Z" -> minutes.
absl::StatusOr<int> ParseUtcOffset(absl::string_view text) {
  if (text == "Z" || text == "z") return 0;
  int sign = 1;
  if (absl::ConsumePrefix(&text, "-")) {
    sign = -1;
  } else if (!absl::ConsumePrefix(&text, "+")) {
    return absl::InvalidArgumentError("--utc-offset must look like +01:00 or -05:00");
  }
  int hours = 0, minutes = 0;
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, colon), &hours) ||
      !absl::SimpleAtoi(text.substr(colon + 1), &minutes) || minutes < 0 || minutes > 59) {
    return absl::InvalidArgumentError("--utc-offset must look like +01:00 or -05:00");
  }
  return sign * (hours * 60 + minutes);
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out)
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

int RunSimulate(const ParsedArguments& arguments) {
  const Subcommand& command = SimulateCommand();
  if (!arguments.positional.empty()) {
    return UsageError(command,
                      absl::StrCat("unexpected argument \"", arguments.positional[0], "\""));
  }
  if (absl::GetFlag(FLAGS_type).empty()) {
    return UsageError(command,
                      "--type is required (sleep, activity, daily, body, nutrition, "
                      "menstruation, athlete, auth or deauth)");
  }
  absl::StatusOr<simulator::PayloadType> type =
      simulator::ParsePayloadType(absl::GetFlag(FLAGS_type));
  if (!type.ok()) return UsageError(command, type.status().message());
  absl::StatusOr<int> offset = ParseUtcOffset(absl::GetFlag(FLAGS_utc_offset));
  if (!offset.ok()) return UsageError(command, offset.status().message());

  simulator::SimulationOptions options;
  options.type = *type;
  options.user_id = absl::GetFlag(FLAGS_user).empty() ? kDefaultUser : absl::GetFlag(FLAGS_user);
  options.reference_id = absl::GetFlag(FLAGS_reference);
  options.provider = absl::GetFlag(FLAGS_provider);
  options.record_count = absl::GetFlag(FLAGS_count);
  options.samples_per_array = absl::GetFlag(FLAGS_samples);
  options.records_per_webhook = absl::GetFlag(FLAGS_batch);
  options.utc_offset_minutes = *offset;
  options.now = absl::Now();
  options.seed = absl::GetFlag(FLAGS_seed);
  if (options.seed == 0) {
    options.seed = static_cast<uint64_t>(absl::ToUnixNanos(options.now));
  }
  absl::StatusOr<std::vector<simulator::SimulatedWebhook>> webhooks =
      simulator::GenerateWebhooks(options);
  if (!webhooks.ok()) return UsageError(command, webhooks.status().message());

  const std::string type_name(simulator::TerraTypeName(*type));
  const std::string out_dir = absl::GetFlag(FLAGS_out);
  if (!out_dir.empty()) {
    const std::string dir = ResolveUserPath(out_dir);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return UsageError(command, absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
    }
    for (size_t i = 0; i < webhooks->size(); ++i) {
      const std::string path = absl::StrFormat("%s/%s-%03d.json", dir, type_name, i + 1);
      if (absl::Status written = WriteFile(path, (*webhooks)[i].body); !written.ok()) {
        return Fail(kExitUsage, written.message());
      }
      std::printf("%s\n", path.c_str());
    }
    std::fprintf(stderr, "hwctl: wrote %zu %s webhook(s) for user %s (seed %llu)\n",
                 webhooks->size(), type_name.c_str(), options.user_id.c_str(),
                 static_cast<unsigned long long>(options.seed));
    return kExitOk;
  }

  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());
  absl::StatusOr<std::string> secret = SigningSecret();
  if (!secret.ok()) return UsageError(command, secret.status().message());

  int records = 0;
  for (size_t i = 0; i < webhooks->size(); ++i) {
    const simulator::SimulatedWebhook& webhook = (*webhooks)[i];
    WebhookDelivery delivery;
    delivery.body = webhook.body;
    absl::StatusOr<HttpResponse> response = SendSignedWebhook(
        *url, *secret, std::move(delivery), absl::Now(), absl::GetFlag(FLAGS_timeout));
    if (!response.ok()) return ReportSendError(response.status(), absl::GetFlag(FLAGS_url));
    std::printf("%s %zu/%zu (%d record%s): HTTP %d %s\n", type_name.c_str(), i + 1,
                webhooks->size(), webhook.record_count, webhook.record_count == 1 ? "" : "s",
                response->status_code, response->reason.c_str());
    if (response->status_code < 200 || response->status_code > 299) {
      if (!response->body.empty()) std::printf("%s\n", response->body.c_str());
      return Fail(kExitServerError, absl::StrCat("the webhook server answered ",
                                                 response->status_code, " ", response->reason));
    }
    records += webhook.record_count;
  }
  std::fflush(stdout);
  std::fprintf(stderr, "hwctl: sent %zu %s webhook(s), %d record(s), for user %s (seed %llu)\n",
               webhooks->size(), type_name.c_str(), records, options.user_id.c_str(),
               static_cast<unsigned long long>(options.seed));
  return kExitOk;
}

}  // namespace

const Subcommand& SimulateCommand() {
  static const Subcommand* const command = new Subcommand{
      "simulate",
      "--type TYPE [--user ID] [--reference REF] [--count N] [--samples N] [--url URL] "
      "[--secret S] [--out DIR]",
      "Generate realistic Terra webhooks and send them signed, or write them to --out.",
      "TYPE: sleep, activity, daily, body, nutrition, menstruation, athlete, auth, deauth.\n"
      "Data types get one record per day, going back from today; every sample array has\n"
      "--samples samples; sleep and activity get unique summary ids. Without --user the\n"
      "user is \"hwctl-sim-user\". The secret defaults to the one healthwire generated in\n"
      "--data-dir, so against a local healthwire no secret needs typing:\n"
      "  hwctl simulate --type sleep --count 7\n"
      "  hwctl latest --user hwctl-sim-user --type sleep",
      {"type", "user", "reference", "provider", "count", "samples", "batch", "seed", "utc_offset",
       "out", "url", "https_ca", "secret", "data_dir", "timeout"},
      &RunSimulate,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
