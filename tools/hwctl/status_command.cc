// hwctl status: what a store is at, in one screen: reachable, version,
// role, revision, timeline, oldest retained revision, subscribers, health,
// and for a cluster replica how far it applied the commit log (sequence,
// entries behind, digest, apply lag).
//
// Everything but the data size comes from the store's GetStatus RPC. The
// data size comes from the server's /metrics beside --url when it reports
// one, else from the local data folder (--data-dir).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/process_util.h"
#include "tools/build_defs/version.h"
#include "tools/hwctl/cli_common.h"
#include "tools/hwctl/commands.h"
#include "tools/hwctl/http_client.h"
#include "tools/hwctl/store_client.h"
#include "tools/hwctl/webhook_sender.h"

namespace healthwire {
namespace hwctl {
namespace {

// Prometheus text format: "name{labels} value" -> value, by the name with
// its labels as written.
std::map<std::string, std::string> ParseMetrics(const std::string& text) {
  std::map<std::string, std::string> metrics;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    metrics[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return metrics;
}

// The value of the first metric whose name (labels excluded) is `name`.
std::optional<std::string> Metric(const std::map<std::string, std::string>& metrics,
                                  absl::string_view name) {
  for (const auto& [key, value] : metrics) {
    absl::string_view bare = key;
    const size_t brace = bare.find('{');
    if (brace != absl::string_view::npos) bare = bare.substr(0, brace);
    if (bare == name) return value;
  }
  return std::nullopt;
}

std::string Bytes(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return absl::StrFormat("%.1f GiB", bytes / double(1ull << 30));
  if (bytes >= (1ull << 20)) return absl::StrFormat("%.1f MiB", bytes / double(1ull << 20));
  if (bytes >= (1ull << 10)) return absl::StrFormat("%.1f KiB", bytes / double(1ull << 10));
  return absl::StrCat(bytes, " B");
}

// The size of the files under `folder`; nullopt when it is not a folder here.
std::optional<uint64_t> FolderBytes(const std::string& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return std::nullopt;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(folder, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const uintmax_t size = it->file_size(size_error);
      if (!size_error) total += size;
    }
  }
  return total;
}

int RunStatus(const ParsedArguments& arguments) {
  const Subcommand& command = StatusCommand();
  if (!arguments.positional.empty()) return UsageError(command, "takes no arguments");
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());

  StoreConnection store = ConnectToStore();
  const absl::Time asked = absl::Now();
  v1::GetStatusResponse status;
  {
    grpc::ClientContext context;
    SetUnaryDeadline(&context);
    const grpc::Status called = store.stub->GetStatus(&context, v1::GetStatusRequest(), &status);
    if (!called.ok()) return ReportRpcError(called, store.address);
  }
  const absl::Duration answered_in = absl::Now() - asked;

  // (label, text) and (JSON key, JSON value)
  std::vector<std::pair<std::string, std::string>> lines;
  std::vector<std::pair<std::string, std::string>> json;
  auto add = [&](const std::string& label, const std::string& key, const std::string& text,
                 const std::string& json_value) {
    lines.emplace_back(label, text);
    json.emplace_back(key, json_value);
  };
  auto add_number = [&](const std::string& label, const std::string& key, uint64_t value) {
    add(label, key, absl::StrCat(value), absl::StrCat(value));
  };
  auto add_text = [&](const std::string& label, const std::string& key, const std::string& text) {
    add(label, key, text, JsonString(text));
  };
  lines.emplace_back("store", absl::StrCat(store.address, " (answered in ",
                                           absl::FormatDuration(absl::Trunc(answered_in, absl::Milliseconds(1))), ")"));
  json.emplace_back("store", JsonString(store.address));
  add_text("hwctl version", "hwctl_version", kVersion);
  absl::string_view server_version = status.version();
  absl::ConsumePrefix(&server_version, "healthwire ");
  add_text("server version", "server_version", std::string(server_version));
  const bool replica = status.role() == v1::GetStatusResponse::ROLE_REPLICA;
  add_text("role", "role", replica ? "replica (cluster mode: applies the commit log)" : "store");
  json.back().second = JsonString(replica ? "replica" : "store");
  add_number("revision", "revision", status.store_revision());
  add_text("timeline", "store_timeline", status.store_timeline());
  add_number("oldest retained", "oldest_retained_revision", status.oldest_retained_revision());
  add_number("subscribers", "subscribers", status.subscribers());
  add("health", "health_problem",
      status.health_problem().empty() ? "ok (can write)" : status.health_problem(),
      status.health_problem().empty() ? "null" : JsonString(status.health_problem()));
  if (replica) {
    const v1::ReplicaStatus& log = status.replica();
    add_text("log stream", "log_stream",
             absl::StrCat(log.log_stream(), log.log_connected() ? " (connected)" : " (NOT connected)"));
    json.back().second = JsonString(log.log_stream());
    json.emplace_back("log_connected", log.log_connected() ? "true" : "false");
    add_number("log applied", "applied_sequence", log.applied_sequence());
    add_number("log last", "log_last_sequence", log.log_last_sequence());
    add("log behind", "behind",
        absl::StrCat(log.behind(), " commit entries (apply lag ", log.last_apply_lag_ms(),
                     " ms)"),
        absl::StrCat(log.behind()));
    json.emplace_back("last_apply_lag_ms", absl::StrCat(log.last_apply_lag_ms()));
    add_text("digest", "digest", log.digest().empty() ? "(nothing stored)" : log.digest());
    json.back().second = JsonString(log.digest());
    add("applied since start", "deliveries_applied",
        absl::StrCat(log.deliveries_applied(), " deliveries, ", log.malformed_skipped(),
                     " malformed skipped, ", log.apply_errors(), " apply errors"),
        absl::StrCat(log.deliveries_applied()));
    json.emplace_back("malformed_skipped", absl::StrCat(log.malformed_skipped()));
    json.emplace_back("apply_errors", absl::StrCat(log.apply_errors()));
    add_text("replica id", "replica_id", log.replica_id());
    add("erased messages", "erasure_stream_jobs_pending",
        log.erasure_stream_jobs_pending() == 0
            ? absl::StrCat("none pending (", log.erasure_stream_messages_deleted(),
                           " deleted from the log since start)")
            : absl::StrCat(log.erasure_stream_jobs_pending(),
                           " erasures not deleted from the log yet",
                           log.erasure_stream_blocked_by().empty()
                               ? ""
                               : absl::StrCat(", waiting for ", log.erasure_stream_blocked_by())),
        absl::StrCat(log.erasure_stream_jobs_pending()));
    json.emplace_back("erasure_stream_blocked_by", JsonString(log.erasure_stream_blocked_by()));
    add("replica error", "last_error", log.last_error().empty() ? "none" : log.last_error(),
        log.last_error().empty() ? "null" : JsonString(log.last_error()));
  }

  // The data size: reported by the server's /metrics when it serves one.
  HttpUrl metrics_url = *url;
  metrics_url.target = "/metrics";
  absl::StatusOr<HttpResponse> metrics_response =
      HttpGet(metrics_url, absl::GetFlag(FLAGS_timeout), WebhookTlsFromFlags());
  std::map<std::string, std::string> metrics;
  if (metrics_response.ok() && metrics_response->status_code == 200) {
    metrics = ParseMetrics(metrics_response->body);
  }

  const std::string data_dir = ResolveUserPath(absl::GetFlag(FLAGS_data_dir));
  std::optional<uint64_t> bytes;
  std::string bytes_source;
  if (std::optional<std::string> served = Metric(metrics, "healthwire_store_data_bytes")) {
    uint64_t value = 0;
    if (absl::SimpleAtoi(*served, &value)) bytes = value, bytes_source = "reported by the server";
  }
  if (!bytes.has_value()) {
    bytes = FolderBytes(data_dir);
    bytes_source = absl::StrCat("files in ", data_dir);
  }
  lines.emplace_back("data size", bytes.has_value()
                                      ? absl::StrCat(Bytes(*bytes), " (", bytes_source, ")")
                                      : absl::StrCat("unknown (no folder ", data_dir,
                                                     " here; give --data-dir)"));
  json.emplace_back("data_bytes", bytes.has_value() ? absl::StrCat(*bytes) : "null");

  if (absl::GetFlag(FLAGS_json)) {
    std::string out = "{";
    for (size_t i = 0; i < json.size(); ++i) {
      absl::StrAppend(&out, i > 0 ? "," : "", "\"", json[i].first, "\":", json[i].second);
    }
    std::printf("%s}\n", out.c_str());
    return kExitOk;
  }
  size_t width = 0;
  for (const auto& [label, value] : lines) width = std::max(width, label.size());
  for (const auto& [label, value] : lines) {
    std::printf("%s:%s %s\n", label.c_str(), std::string(width - label.size(), ' ').c_str(),
                value.c_str());
  }
  return kExitOk;
}

}  // namespace

const Subcommand& StatusCommand() {
  static const Subcommand* const command = new Subcommand{
      "status",
      "[--store HOST:PORT] [--url URL] [--data-dir DIR] [--json]",
      "Show where the store is at: role, revision, subscribers, health, log position.",
      "Everything but the data size comes from the store's GetStatus RPC. The data size\n"
      "comes from the server's /metrics beside --url when it reports it, else from the\n"
      "files of --data-dir when that folder is on this machine.",
      {"store", "tls_ca", "tls_cert", "tls_key", "token_file", "url", "https_ca", "data_dir", "json", "timeout"},
      &RunStatus,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
