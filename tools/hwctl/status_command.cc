// hwctl status: what a store is at, in one screen: reachable, version,
// revision, oldest retained revision, subscribers, data size.
//
// The store has no status RPC. What it says over gRPC (reachable, revision)
// comes from an empty ListRecords; the rest from the server's Prometheus
// /metrics next to the webhook URL (--url), which the embedded deployment
// serves (a split store has no HTTP port: those lines say "unknown"); the
// data size from the local data folder when there is one (--data-dir).
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

// The version label of healthwire_build_info{version="..."}, when served.
std::optional<std::string> ServerVersion(const std::map<std::string, std::string>& metrics) {
  for (const auto& [key, value] : metrics) {
    absl::string_view labels = key;
    if (!absl::ConsumePrefix(&labels, "healthwire_build_info{")) continue;
    const size_t at = labels.find("version=\"");
    if (at == absl::string_view::npos) continue;
    labels.remove_prefix(at + 9);
    return std::string(labels.substr(0, labels.find('"')));
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

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out + "\"";
}

int RunStatus(const ParsedArguments& arguments) {
  const Subcommand& command = StatusCommand();
  if (!arguments.positional.empty()) return UsageError(command, "takes no arguments");
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(absl::GetFlag(FLAGS_url));
  if (!url.ok()) return UsageError(command, url.status().message());

  StoreConnection store = ConnectToStore();
  const absl::Time asked = absl::Now();
  absl::StatusOr<uint64_t> revision = CurrentStoreRevision(store);
  const absl::Duration answered_in = absl::Now() - asked;
  if (!revision.ok()) {
    return ReportRpcError(grpc::Status(static_cast<grpc::StatusCode>(revision.status().code()),
                                       std::string(revision.status().message())),
                          store.address);
  }

  // (label, text, JSON key, JSON value)
  std::vector<std::pair<std::string, std::string>> lines;
  std::vector<std::pair<std::string, std::string>> json;
  lines.emplace_back("store", absl::StrCat(store.address, " (answered in ",
                                           absl::FormatDuration(absl::Trunc(answered_in, absl::Milliseconds(1))), ")"));
  json.emplace_back("store", JsonString(store.address));
  lines.emplace_back("hwctl version", kVersion);
  json.emplace_back("hwctl_version", JsonString(kVersion));
  lines.emplace_back("revision", absl::StrCat(*revision));
  json.emplace_back("revision", absl::StrCat(*revision));

  HttpUrl metrics_url = *url;
  metrics_url.target = "/metrics";
  const std::string metrics_address = absl::StrCat("http://", url->host, ":", url->port, "/metrics");
  absl::StatusOr<HttpResponse> metrics_response =
      HttpGet(metrics_url, absl::GetFlag(FLAGS_timeout));
  std::map<std::string, std::string> metrics;
  std::string unknown = absl::StrCat("unknown (", metrics_address, ": ");
  if (!metrics_response.ok()) {
    absl::StrAppend(&unknown, metrics_response.status().message(), ")");
  } else if (metrics_response->status_code != 200) {
    absl::StrAppend(&unknown, "HTTP ", metrics_response->status_code, ")");
  } else {
    metrics = ParseMetrics(metrics_response->body);
    absl::StrAppend(&unknown, "not reported)");
  }
  auto add_metric = [&](const std::string& label, const std::string& key,
                        std::optional<std::string> value) {
    lines.emplace_back(label, value.value_or(unknown));
    json.emplace_back(key, value.has_value() ? (key == "server_version" ? JsonString(*value)
                                                                        : *value)
                                             : "null");
  };
  add_metric("server version", "server_version", ServerVersion(metrics));
  add_metric("oldest retained", "oldest_retained_revision",
             Metric(metrics, "healthwire_store_changelog_oldest_revision"));
  add_metric("subscribers", "subscribers", Metric(metrics, "healthwire_stream_subscribers"));

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
      "Show where the store is at: revision, oldest retained revision, subscribers, size.",
      "The store has no status RPC: the revision is what an (empty) read reports, the\n"
      "oldest retained revision, subscribers and server version come from the server's\n"
      "/metrics beside --url (the embedded deployment; a split store has no HTTP port, so\n"
      "they show as unknown), the data size from the server's metrics when it reports it,\n"
      "else from the files of --data-dir when that folder is on this machine.",
      {"store", "tls_ca", "tls_cert", "tls_key", "token_file", "url", "data_dir", "json", "timeout"},
      &RunStatus,
  };
  return *command;
}

}  // namespace hwctl
}  // namespace healthwire
