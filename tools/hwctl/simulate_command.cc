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
#include "tools/simulator/webhook_bodies.h"

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
ABSL_FLAG(std::string, payload_url, "",
          "--type s3_payload: the pre-signed URL the ping points at (where the body is)");
ABSL_FLAG(int, expires_in, 300, "--type s3_payload: seconds the URL stays valid");
ABSL_FLAG(int, payloads, 3,
          "--type backfill: how many chunked data webhooks follow large_request_sending");
ABSL_FLAG(std::string, backfill_reference, "",
          "--type backfill: the terra-reference of the backfill; empty: one from the seed");

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

// One webhook of a synthetic sequence (s3_payload, backfill), with the
// headers Terra sends with it.
struct SequenceWebhook {
  std::string label;
  WebhookDelivery delivery;
  int records = 0;
};

// --type s3_payload / backfill: Terra's sequences rather than records.
absl::StatusOr<std::vector<SequenceWebhook>> SequenceWebhooks(const std::string& type,
                                                              const std::string& user_id,
                                                              uint64_t seed, absl::Time now) {
  std::vector<SequenceWebhook> webhooks;
  if (type == "s3_payload") {
    const std::string url = absl::GetFlag(FLAGS_payload_url);
    if (url.empty()) {
      return absl::InvalidArgumentError(
          "--type s3_payload needs --payload_url (where the webhook body is, e.g. a file served "
          "over https)");
    }
    SequenceWebhook& ping = webhooks.emplace_back();
    ping.label = "s3_payload";
    ping.delivery.body = simulator::S3PayloadWebhookJson(url, absl::GetFlag(FLAGS_expires_in));
    ping.delivery.trace_id = absl::StrFormat("hwctl-ping-%016x", seed);
    return webhooks;
  }
  const int payloads = absl::GetFlag(FLAGS_payloads);
  if (payloads < 1) return absl::InvalidArgumentError("--payloads must be at least 1");
  std::string reference = absl::GetFlag(FLAGS_backfill_reference);
  if (reference.empty()) reference = absl::StrFormat("hwctl-backfill-%016x", seed);
  const std::string trace = absl::StrFormat("hwctl-trace-%016x", seed);
  SequenceWebhook& processing = webhooks.emplace_back();
  processing.label = "large_request_processing";
  processing.delivery.body =
      simulator::LargeRequestWebhookJson("large_request_processing", user_id, reference, -1);
  processing.delivery.trace_id = trace + "-processing";
  SequenceWebhook& sending = webhooks.emplace_back();
  sending.label = "large_request_sending";
  sending.delivery.body =
      simulator::LargeRequestWebhookJson("large_request_sending", user_id, reference, payloads);
  sending.delivery.trace_id = trace + "-sending";
  // The chunks: one day of sleep each, going back from today.
  simulator::SimulationOptions options;
  options.type = simulator::PayloadType::kSleep;
  options.user_id = user_id;
  options.provider = absl::GetFlag(FLAGS_provider);
  options.record_count = payloads;
  options.samples_per_array = absl::GetFlag(FLAGS_samples);
  options.now = now;
  options.seed = seed;
  absl::StatusOr<std::vector<simulator::SimulatedWebhook>> chunks =
      simulator::GenerateWebhooks(options);
  if (!chunks.ok()) return chunks.status();
  for (size_t i = 0; i < chunks->size(); ++i) {
    SequenceWebhook& chunk = webhooks.emplace_back();
    chunk.label = absl::StrCat("chunk ", i + 1, " of ", reference);
    chunk.delivery.body = (*chunks)[i].body;
    chunk.delivery.trace_id = absl::StrCat(trace, ":chunk:", i + 1);
    chunk.delivery.terra_reference = reference;
    chunk.records = (*chunks)[i].record_count;
  }
  return webhooks;
}

int RunSequence(const Subcommand& command, const std::string& type) {
  const std::string user_id =
      absl::GetFlag(FLAGS_user).empty() ? kDefaultUser : absl::GetFlag(FLAGS_user);
  const absl::Time now = absl::Now();
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = static_cast<uint64_t>(absl::ToUnixNanos(now));
  absl::StatusOr<std::vector<SequenceWebhook>> webhooks = SequenceWebhooks(type, user_id, seed, now);
  if (!webhooks.ok()) return UsageError(command, webhooks.status().message());
  if (!absl::GetFlag(FLAGS_out).empty()) {
    return UsageError(command, "--out is for record types; s3_payload and backfill are sent");
  }
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());
  absl::StatusOr<std::string> secret = SigningSecret();
  if (!secret.ok()) return UsageError(command, secret.status().message());
  for (SequenceWebhook& webhook : *webhooks) {
    absl::StatusOr<HttpResponse> response =
        SendSignedWebhook(*url, *secret, webhook.delivery, absl::Now(),
                          absl::GetFlag(FLAGS_timeout));
    if (!response.ok()) return ReportSendError(response.status(), absl::GetFlag(FLAGS_url));
    std::printf("%s (trace %s): HTTP %d %s\n", webhook.label.c_str(),
                webhook.delivery.trace_id.c_str(), response->status_code,
                response->reason.c_str());
    if (response->status_code < 200 || response->status_code > 299) {
      if (!response->body.empty()) std::printf("%s\n", response->body.c_str());
      return Fail(kExitServerError, absl::StrCat("the webhook server answered ",
                                                 response->status_code, " ", response->reason));
    }
  }
  std::fflush(stdout);
  if (type == "s3_payload") {
    // A ping names no user: whose records they are is up to the body at the URL.
    std::fprintf(stderr,
                 "hwctl: sent %zu s3_payload webhook(s); the store fetches the records at "
                 "--payload_url (hwctl backfills --fetches shows how it went)\n",
                 webhooks->size());
    return kExitOk;
  }
  std::fprintf(stderr, "hwctl: sent %zu %s webhook(s) for user %s (seed %llu)\n",
               webhooks->size(), type.c_str(), user_id.c_str(),
               static_cast<unsigned long long>(seed));
  return kExitOk;
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
                      "menstruation, athlete, auth, deauth, s3_payload or backfill)");
  }
  if (absl::GetFlag(FLAGS_type) == "s3_payload" || absl::GetFlag(FLAGS_type) == "backfill") {
    return RunSequence(command, absl::GetFlag(FLAGS_type));
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
      "[--secret S] [--out DIR] [--payload_url URL [--expires_in S]] [--payloads N]",
      "Generate realistic Terra webhooks and send them signed, or write them to --out.",
      "TYPE: sleep, activity, daily, body, nutrition, menstruation, athlete, auth, deauth,\n"
      "s3_payload (a ping whose body is at --payload_url, valid --expires_in seconds), or\n"
      "backfill (large_request_processing, large_request_sending with --payloads N, then N\n"
      "sleep webhooks with the terra-reference header and trace ids ending :chunk:1..N).\n"
      "Data types get one record per day, going back from today; every sample array has\n"
      "--samples samples; sleep and activity get unique summary ids. Without --user the\n"
      "user is \"hwctl-sim-user\". The secret defaults to the one healthwire generated in\n"
      "--data-dir, so against a local healthwire no secret needs typing:\n"
      "  hwctl simulate --type sleep --count 7\n"
      "  hwctl latest --user hwctl-sim-user --type sleep",
      {"type", "user", "reference", "provider", "count", "samples", "batch", "seed", "utc_offset",
       "out", "url", "https_ca", "secret", "data_dir", "timeout", "payload_url", "expires_in",
       "payloads", "backfill_reference"},
      &RunSimulate,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
