// Shared pieces of healthwire's benchmarks and crash test. Everything here
// talks to healthwire the way any user would: HTTP webhooks (signed like
// Terra signs them) and the public gRPC API.
//
// - HttpConnection: one blocking HTTP/1.1 keep-alive connection to loopback.
// - Terra-shaped webhook bodies (sleep, activity with samples) with unique
//   summary ids and a known exact record JSON (the `data` element), so a
//   reader can compare raw_json byte for byte.
// - LatencyStats: percentiles of recorded durations.
// - ReadyFile parsing and a fork/exec process handle for the server binary.
#ifndef HEALTHWIRE_TOOLS_BENCH_BENCH_LIB_H_
#define HEALTHWIRE_TOOLS_BENCH_BENCH_LIB_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace healthwire {
namespace bench {

// ---- HTTP ----

struct HttpResponse {
  int status = 0;
  std::string body;
};

// A blocking keep-alive HTTP/1.1 client connection to 127.0.0.1:port.
// Reconnects lazily after an error. Not thread-safe (one per thread).
class HttpConnection {
 public:
  explicit HttpConnection(int port) : port_(port) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // POSTs `body` to `path` with `extra_headers` ("Name: value" lines without
  // CRLF). Any transport failure closes the connection and returns an error
  // (the request may or may not have been processed).
  absl::StatusOr<HttpResponse> Post(absl::string_view path,
                                    const std::vector<std::string>& extra_headers,
                                    absl::string_view body);
  void Close();

 private:
  absl::Status Connect();
  int port_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
};

// "terra-signature: t=...,v1=..." for `body` signed with `secret` now.
std::string SignatureHeader(absl::string_view secret, absl::string_view body);

// Extracts the unsigned integer value of "\"key\":<n>" from a JSON reply.
bool JsonUint(absl::string_view json, absl::string_view key, uint64_t* value);

// ---- Terra-shaped bodies ----

struct Webhook {
  std::string body;    // the whole webhook body
  std::string record;  // the exact bytes of data[0] (what raw_json must hold)
};

// One sleep record (metadata with `summary_id`, sleep durations, a hypnogram
// padded until the body is at least `target_bytes`).
Webhook SleepWebhook(absl::string_view user_id, absl::string_view summary_id,
                     int64_t start_unix, size_t target_bytes);

// One activity record with heart-rate, calorie and distance samples, padded
// with hr_samples until the body is at least `target_bytes` (20 KB activity,
// 10 MB activity).
Webhook ActivityWebhook(absl::string_view user_id, absl::string_view summary_id,
                        int64_t start_unix, size_t target_bytes);

// "2026-07-01T07:04:11.000000+00:00"
std::string TerraTime(int64_t unix_seconds);

// ---- statistics ----

struct LatencySummary {
  size_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};
// Sorts `nanos` in place.
LatencySummary Summarize(std::vector<int64_t>* nanos);
std::string FormatSummary(const LatencySummary& s);

int64_t NowNanos();  // CLOCK_REALTIME, ns (comparable across processes)

// This process's CPU time so far (utime + stime of all its threads, the
// figures /proc/self/stat holds), in seconds. A load generator reports
// (after - before) / wall seconds * 100 as its own CPU, % of one core.
double ProcessCpuSeconds();

// ---- processes ----

// key=value lines of a --ready_file.
std::map<std::string, std::string> ParseReadyFile(const std::string& contents);

// A child process started with fork/exec (stdout/stderr to `log_path`).
class ChildProcess {
 public:
  // Starts `argv` (argv[0] a path, or a name looked up in PATH) with
  // stdout/stderr to `log_path`; for tools that run to completion (Wait).
  static absl::StatusOr<ChildProcess> Start(std::vector<std::string> argv,
                                            const std::string& log_path);
  // Starts `argv`, adds --ready_file=<tmp>, waits for the ready file.
  static absl::StatusOr<ChildProcess> StartServer(std::vector<std::string> argv,
                                                  const std::string& log_path,
                                                  const std::string& ready_file,
                                                  absl::Duration timeout);
  pid_t pid() const { return pid_; }
  const std::map<std::string, std::string>& ready() const { return ready_; }
  int IntValue(const std::string& key) const;
  // Sends `sig` and reaps the child.
  void Kill(int sig);
  // Waits for the child to exit; its exit code (128 + signal when killed).
  int Wait();
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  std::map<std::string, std::string> ready_;
};

std::string ReadFileOrEmpty(const std::string& path);

}  // namespace bench
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_BENCH_BENCH_LIB_H_
