#include "tools/bench/bench_lib.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/webhook/signature_verifier.h"

namespace healthwire {
namespace bench {

// ---- HTTP ----

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

absl::Status HttpConnection::Connect() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{30, 0};  // bounded waits: no load loop can hang forever
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const std::string error = strerror(errno);
    Close();
    return absl::UnavailableError(absl::StrCat("connect: ", error));
  }
  return absl::OkStatus();
}

absl::StatusOr<HttpResponse> HttpConnection::Post(absl::string_view path,
                                                  const std::vector<std::string>& extra_headers,
                                                  absl::string_view body) {
  if (fd_ < 0) {
    absl::Status connected = Connect();
    if (!connected.ok()) return connected;
  }
  std::string head = absl::StrCat("POST ", path,
                                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                  "application/json\r\nContent-Length: ",
                                  body.size(), "\r\n");
  for (const std::string& h : extra_headers) absl::StrAppend(&head, h, "\r\n");
  head += "\r\n";
  // One write for small requests; two for large ones (no 10 MB copy).
  auto write_all = [this](absl::string_view data) -> bool {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  };
  bool ok;
  if (body.size() < 64 * 1024) {
    head.append(body.data(), body.size());
    ok = write_all(head);
  } else {
    ok = write_all(head) && write_all(body);
  }
  if (!ok) {
    const std::string error = strerror(errno);
    Close();
    return absl::UnavailableError(absl::StrCat("send: ", error));
  }

  auto read_more = [this]() -> bool {
    char chunk[16384];
    for (;;) {
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  };
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) {
      Close();
      return absl::UnavailableError("connection closed before the response");
    }
  }
  HttpResponse response;
  absl::string_view headers(buffer_.data(), header_end);
  // "HTTP/1.1 200 OK"
  if (headers.size() < 12 || !absl::SimpleAtoi(headers.substr(9, 3), &response.status)) {
    Close();
    return absl::InternalError("malformed status line");
  }
  size_t content_length = 0;
  bool close_after = false;
  for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (absl::EqualsIgnoreCase(kv.first, "content-length")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(kv.second), &content_length);
    } else if (absl::EqualsIgnoreCase(kv.first, "connection") &&
               absl::StrContains(absl::AsciiStrToLower(kv.second), "close")) {
      close_after = true;
    }
  }
  const size_t total = header_end + 4 + content_length;
  while (buffer_.size() < total) {
    if (!read_more()) {
      Close();
      return absl::UnavailableError("connection closed inside the response body");
    }
  }
  response.body = buffer_.substr(header_end + 4, content_length);
  buffer_.erase(0, total);
  if (close_after) Close();
  return response;
}

std::string SignatureHeader(absl::string_view secret, absl::string_view body) {
  return absl::StrCat("terra-signature: ",
                      SignatureVerifier::Sign(secret, absl::ToUnixSeconds(absl::Now()), body));
}

bool JsonUint(absl::string_view json, absl::string_view key, uint64_t* value) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  size_t at = json.find(needle);
  if (at == absl::string_view::npos) return false;
  absl::string_view rest = json.substr(at + needle.size());
  size_t end = 0;
  while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
  return end > 0 && absl::SimpleAtoi(rest.substr(0, end), value);
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---- bodies ----

std::string TerraTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

namespace {

std::string Envelope(absl::string_view type, absl::string_view user_id,
                     absl::string_view record) {
  return absl::StrCat(
      "{\"type\":\"", type, "\",\"version\":\"2022-03-16\",\"user\":{\"user_id\":\"", user_id,
      "\",\"provider\":\"GARMIN\",\"reference_id\":\"ref-", user_id,
      "\",\"last_webhook_update\":\"2026-07-02T06:41:07.118204+00:00\",\"scopes\":"
      "\"activity,sleep\",\"active\":true},\"data\":[",
      record, "]}");
}

constexpr size_t kEnvelopeOverhead = 260;  // Envelope() without the record, roughly

}  // namespace

Webhook SleepWebhook(absl::string_view user_id, absl::string_view summary_id,
                     int64_t start_unix, size_t target_bytes) {
  const int64_t end_unix = start_unix + 7 * 3600 + 1800;
  std::string record = absl::StrCat(
      "{\"metadata\":{\"summary_id\":\"", summary_id, "\",\"start_time\":\"",
      TerraTime(start_unix), "\",\"end_time\":\"", TerraTime(end_unix),
      "\",\"is_nap\":false,\"upload_type\":2,\"timestamp_localization\":1},"
      "\"sleep_durations_data\":{\"sleep_efficiency\":0.89,\"asleep\":{"
      "\"duration_asleep_state_seconds\":25170,\"duration_deep_sleep_state_seconds\":5220,"
      "\"duration_light_sleep_state_seconds\":13770,\"duration_REM_sleep_state_seconds\":6180,"
      "\"num_REM_events\":5},\"awake\":{\"duration_awake_state_seconds\":3060,"
      "\"num_wakeup_events\":3},\"hypnogram_samples\":[");
  const size_t closing = 40;
  int i = 0;
  do {
    absl::StrAppend(&record, i == 0 ? "" : ",", "{\"timestamp\":\"",
                    TerraTime(start_unix + 300 * i), "\",\"level\":", 1 + (i * 7) % 5, "}");
    ++i;
  } while (record.size() + closing + kEnvelopeOverhead + 2 * user_id.size() < target_bytes);
  absl::StrAppend(&record, "]},\"heart_rate_data\":{\"summary\":{\"avg_hr_bpm\":58}}}");
  Webhook webhook;
  webhook.body = Envelope("sleep", user_id, record);
  webhook.record = std::move(record);
  return webhook;
}

Webhook ActivityWebhook(absl::string_view user_id, absl::string_view summary_id,
                        int64_t start_unix, size_t target_bytes) {
  std::string record = absl::StrCat(
      "{\"metadata\":{\"summary_id\":\"", summary_id,
      "\",\"name\":\"Morning Run\",\"type\":8,\"upload_type\":1,\"start_time\":\"",
      TerraTime(start_unix), "\",\"end_time\":\"", TerraTime(start_unix + 2725),
      "\",\"timestamp_localization\":0},"
      "\"calories_data\":{\"BMR_calories\":1673,\"net_activity_calories\":512.4,"
      "\"total_burned_calories\":571.0,\"calorie_samples\":[");
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&record, i == 0 ? "" : ",", "{\"timestamp\":\"",
                    TerraTime(start_unix + 60 * (i + 1)), "\",\"calories\":", 10 + i % 4,
                    ".2,\"timer_duration_seconds\":", 60 * (i + 1), "}");
  }
  absl::StrAppend(&record,
                  "]},\"distance_data\":{\"summary\":{\"distance_meters\":8412.6,\"steps\":7311},"
                  "\"detailed\":{\"distance_samples\":[");
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&record, i == 0 ? "" : ",", "{\"timestamp\":\"",
                    TerraTime(start_unix + 60 * (i + 1)), "\",\"distance_meters\":",
                    187 * (i + 1), ".3,\"timer_duration_seconds\":", 60 * (i + 1), "}");
  }
  absl::StrAppend(&record,
                  "]}},\"heart_rate_data\":{\"summary\":{\"avg_hr_bpm\":151,\"max_hr_bpm\":178,"
                  "\"min_hr_bpm\":96,\"resting_hr_bpm\":54},\"detailed\":{\"hr_samples\":[");
  const size_t closing = 120;
  int i = 0;
  do {
    absl::StrAppend(&record, i == 0 ? "" : ",", "{\"timestamp\":\"",
                    TerraTime(start_unix + 5 * (i + 1)), "\",\"bpm\":", 95 + (i * 13) % 80,
                    ",\"timer_duration_seconds\":", 5 * (i + 1), ",\"context\":1}");
    ++i;
  } while (record.size() + closing + kEnvelopeOverhead + 2 * user_id.size() < target_bytes);
  absl::StrAppend(&record,
                  "],\"hrv_samples_rmssd\":[],\"hrv_samples_sdnn\":[]}},"
                  "\"device_data\":{\"name\":\"Forerunner 265\",\"manufacturer\":\"Garmin\"}}");
  Webhook webhook;
  webhook.body = Envelope("activity", user_id, record);
  webhook.record = std::move(record);
  return webhook;
}

// ---- statistics ----

LatencySummary Summarize(std::vector<int64_t>* nanos) {
  LatencySummary s;
  s.count = nanos->size();
  if (nanos->empty()) return s;
  std::sort(nanos->begin(), nanos->end());
  auto at = [&](double q) {
    size_t index = static_cast<size_t>(q * static_cast<double>(nanos->size() - 1) + 0.5);
    return static_cast<double>((*nanos)[std::min(index, nanos->size() - 1)]) / 1e6;
  };
  s.p50_ms = at(0.50);
  s.p90_ms = at(0.90);
  s.p99_ms = at(0.99);
  s.max_ms = static_cast<double>(nanos->back()) / 1e6;
  long double sum = 0;
  for (int64_t v : *nanos) sum += v;
  s.mean_ms = static_cast<double>(sum / nanos->size() / 1e6);
  return s;
}

std::string FormatSummary(const LatencySummary& s) {
  return absl::StrFormat("p50=%.3fms p90=%.3fms p99=%.3fms max=%.3fms mean=%.3fms n=%d", s.p50_ms,
                         s.p90_ms, s.p99_ms, s.max_ms, s.mean_ms, s.count);
}

int64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ---- processes ----

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::map<std::string, std::string> ParseReadyFile(const std::string& contents) {
  std::map<std::string, std::string> values;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (!kv.first.empty()) values[kv.first] = kv.second;
  }
  return values;
}

absl::StatusOr<ChildProcess> ChildProcess::Start(std::vector<std::string> argv,
                                                 const std::string& log_path) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execvp(args[0], args.data());
    perror("execvp");
    _exit(127);
  }
  ChildProcess child;
  child.pid_ = pid;
  return child;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

absl::StatusOr<ChildProcess> ChildProcess::StartServer(std::vector<std::string> argv,
                                                       const std::string& log_path,
                                                       const std::string& ready_file,
                                                       absl::Duration timeout) {
  unlink(ready_file.c_str());
  argv.push_back("--ready_file=" + ready_file);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(args[0], args.data());
    perror("execv");
    _exit(127);
  }
  ChildProcess child;
  child.pid_ = pid;
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return absl::FailedPreconditionError(
          absl::StrCat(argv[0], " exited before it was ready; log ", log_path, ":\n",
                       ReadFileOrEmpty(log_path)));
    }
    const std::string contents = ReadFileOrEmpty(ready_file);
    // The ready file is complete once its last line (data_dir / secret) is there.
    if (absl::StrContains(contents, "http_port=") && absl::EndsWith(contents, "\n") &&
        absl::StrContains(contents, "data_dir=")) {
      child.ready_ = ParseReadyFile(contents);
      return child;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return absl::DeadlineExceededError(absl::StrCat(argv[0], " not ready in time; log ", log_path));
}

int ChildProcess::IntValue(const std::string& key) const {
  int value = 0;
  auto it = ready_.find(key);
  return it != ready_.end() && absl::SimpleAtoi(it->second, &value) ? value : 0;
}

void ChildProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace bench
}  // namespace healthwire
