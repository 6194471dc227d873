// attack_bench: issue 10's attack table with its full numbers, against the
// real binary, run by hand (minutes, not a test):
//
//   bazel run -c opt //tools/bench:attack_bench
//
// Each row starts a fresh `healthwire` (embedded) on free loopback ports in a
// temp folder, attacks it the way the issue did and prints what happened and
// the measured figure:
//   1. 1,100 connections trickling one body byte every 20 s under a 1,024 fd
//      limit, while a legitimate webhook and a gRPC read are tried;
//   2. 50 connections each declaring 60 MB and sending it unsigned (peak RSS);
//   3. one signed 60 MB webhook (time to 200, peak RSS growth / body);
//   4. 8 concurrent signed 60 MB webhooks while small webhooks are posted
//      (small p50/p99, the large ones' answers and their 503 reasons, whether
//      a 503 was stored);
//   5. 20,200 idle connections against the machine's fd limit (the server
//      raises its soft RLIMIT_NOFILE to the hard one), opened from child
//      processes (one process cannot hold them all), while a webhook and a
//      gRPC GetStatus are tried.
// Run row 4 with --work_dir on a tmpfs (/dev/shm/...) to see how much of the
// small webhooks' wait is the large commits' disk writes.
// Peak RSS is VmHWM from /proc/<pid>/status.
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/process_util.h"
#include "tools/bench/bench_lib.h"

ABSL_FLAG(std::string, server, "server/healthwire", "The healthwire binary.");
ABSL_FLAG(std::string, work_dir, "/tmp/healthwire-attack-bench", "Data folders and logs.");
ABSL_FLAG(int, tricklers, 1100, "Row 1: trickling connections.");
ABSL_FLAG(absl::Duration, trickle_for, absl::Seconds(45), "Row 1: how long the tricklers trickle.");
ABSL_FLAG(int, unsigned_bodies, 50, "Row 2: connections sending 60 MB unsigned.");
ABSL_FLAG(int, concurrent_large, 8, "Row 4: concurrent signed 60 MB webhooks.");
ABSL_FLAG(int64_t, large_mb, 60, "Rows 2-4: the large body size in MB.");
ABSL_FLAG(int, idle_connections, 20200, "Row 5: idle connections (the machine's fd limit is "
          "the server's hard RLIMIT_NOFILE).");
ABSL_FLAG(int, idle_holders, 3, "Row 5: child processes holding the idle connections.");
ABSL_FLAG(std::string, rows, "1,2,3,4,5", "Which rows to run.");

namespace healthwire {
namespace bench {
namespace {

constexpr char kSecret[] = "attack-bench-secret";
constexpr char kPath[] = "/webhooks/terra";

struct Row {
  std::string what;
  std::string happened;
  std::string figure;
};

int RawConnect(int port, absl::Duration timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int ReadStatus(int fd) {
  std::string out;
  char buffer[4096];
  while (out.find("\r\n") == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (absl::StartsWith(out, "HTTP/1.1 ")) (void)absl::SimpleAtoi(out.substr(9, 3), &status);
  return status;
}

std::string SleepBody(absl::string_view user_id, absl::string_view summary_id, size_t padding) {
  return absl::StrCat(
      R"({"type":"sleep","version":"2022-03-16","user":{"user_id":")", user_id,
      R"(","provider":"OURA"},"data":[{"metadata":{"summary_id":")", summary_id,
      R"(","start_time":"2026-07-01T23:12:30.000000+02:00","end_time":"2026-07-02T07:03:00.000000+02:00"})",
      padding > 0 ? absl::StrCat(R"(,"padding":")", std::string(padding, 'x'), "\"") : "", "}]}");
}

// A signed POST on a fresh connection: status (0 = transport failure).
int PostSigned(int port, const std::string& body, absl::Duration timeout = absl::Seconds(60)) {
  HttpConnection connection(port);
  (void)timeout;
  absl::StatusOr<HttpResponse> response =
      connection.Post(kPath, {SignatureHeader(kSecret, body)}, body);
  return response.ok() ? response->status : 0;
}

class Server {
 public:
  static std::unique_ptr<Server> Start(const std::string& name, std::vector<std::string> extra,
                                       std::vector<std::string> launcher = {}) {
    auto server = std::make_unique<Server>();
    const std::string dir = absl::StrCat(absl::GetFlag(FLAGS_work_dir), "/", name);
    std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str());
    std::vector<std::string> argv = launcher;
    argv.push_back(absl::GetFlag(FLAGS_server));
    for (const std::string& arg :
         {"--data_dir=" + dir + "/data", std::string("--http_port=0"), std::string("--grpc_port=0"),
          absl::StrCat("--signing_secret=", kSecret)}) {
      argv.push_back(arg);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    server->log_ = dir + "/server.log";
    absl::StatusOr<ChildProcess> child =
        ChildProcess::StartServer(argv, server->log_, dir + "/ready", absl::Seconds(60));
    if (!child.ok()) {
      std::fprintf(stderr, "attack_bench: %s\n", std::string(child.status().message()).c_str());
      return nullptr;
    }
    server->child_ = *std::move(child);
    return server;
  }
  ~Server() {
    if (child_.running()) child_.Kill(SIGTERM);
  }
  int http_port() const { return child_.IntValue("http_port"); }
  int grpc_port() const { return child_.IntValue("grpc_port"); }
  pid_t pid() const { return child_.pid(); }
  std::string Log() const { return ReadFileOrEmpty(log_); }

 private:
  ChildProcess child_;
  std::string log_;
};

// GET path on a fresh connection; the whole answer.
std::string Get(int port, absl::string_view path) {
  const int fd = RawConnect(port, absl::Seconds(5));
  if (fd < 0) return "";
  SendAll(fd, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  std::string out;
  char buffer[65536];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) out.append(buffer, n);
  close(fd);
  return out;
}

double Metric(int port, absl::string_view series) {
  const std::string text = Get(port, "/metrics");
  const size_t at = text.find(absl::StrCat("\n", series, " "));
  if (at == std::string::npos) return -1;
  double value = -1;
  const size_t start = at + series.size() + 2;
  (void)absl::SimpleAtod(text.substr(start, text.find('\n', start) - start), &value);
  return value;
}

// The series of `text` whose name and labels start with `prefix`, as
// "labels=value" pairs joined by ", " (e.g. every 503 reason).
std::string SeriesStartingWith(const std::string& text, absl::string_view prefix) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, prefix)) continue;
    line.remove_prefix(prefix.size());
    if (!out.empty()) out += ", ";
    absl::StrAppend(&out, line);
  }
  return out;
}

// gRPC GetStatus on a fresh channel: the store's listener still accepts.
bool GrpcGetStatusOk(int grpc_port) {
  auto stub = v1::EventStore::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
  v1::GetStatusResponse status;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub->GetStatus(&context, {}, &status).ok();
}

// ---- row 1: tricklers under a 1,024 fd limit ----
Row Tricklers() {
  Row row{absl::StrCat(absl::GetFlag(FLAGS_tricklers),
                       " connections, one body byte every 20 s, fd limit 1,024"),
          "", ""};
  std::unique_ptr<Server> server = Server::Start("tricklers", {}, {"/usr/bin/prlimit", "--nofile=1024:1024"});
  if (server == nullptr) return {row.what, "server did not start", ""};
  const int port = server->http_port();
  std::vector<int> fds;
  std::vector<absl::Time> opened;
  int refused_at_accept = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_tricklers); ++i) {
    const int fd = RawConnect(port, absl::Seconds(2));
    if (fd < 0) {
      ++refused_at_accept;
      continue;
    }
    SendAll(fd, absl::StrCat("POST ", kPath, " HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n{"));
    fds.push_back(fd);
    opened.push_back(absl::Now());
  }
  // Legitimate traffic while they trickle: a webhook every second.
  std::vector<int64_t> legit_nanos;
  int legit_ok = 0, legit_total = 0;
  const absl::Time start = absl::Now();
  absl::Time next_trickle = start + absl::Seconds(20);
  std::vector<absl::Duration> open_for(fds.size(), absl::ZeroDuration());
  std::vector<bool> closed(fds.size(), false);
  while (absl::Now() - start < absl::GetFlag(FLAGS_trickle_for)) {
    const int64_t t0 = NowNanos();
    legit_ok += PostSigned(port, SleepBody("legit", absl::StrCat("s-", legit_total), 0)) == 200;
    legit_nanos.push_back(NowNanos() - t0);
    ++legit_total;
    if (absl::Now() >= next_trickle) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!closed[i] && !SendAll(fds[i], "x")) {
          closed[i] = true;
          open_for[i] = absl::Now() - opened[i];
        }
      }
      next_trickle += absl::Seconds(20);
    }
    absl::SleepFor(absl::Seconds(1));
  }
  // Who is still open? A cut connection reads EOF/reset at once.
  int still_open = 0;
  absl::Duration longest = absl::ZeroDuration();
  for (size_t i = 0; i < fds.size(); ++i) {
    timeval tv{0, 200000};
    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buffer[4096];
    const ssize_t n = recv(fds[i], buffer, sizeof(buffer), 0);
    const bool is_closed = closed[i] || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                           (n > 0 && absl::StartsWith(absl::string_view(buffer, n), "HTTP/1.1 503"));
    if (!is_closed) ++still_open;
    if (closed[i]) longest = std::max(longest, open_for[i]);
    close(fds[i]);
  }
  const double refused = Metric(port, "healthwire_http_connections_refused_total");
  const double body_timeouts = Metric(port, "healthwire_http_timeouts_total{phase=\"body\"}");
  // gRPC still accepts, and a webhook after the flood.
  const bool grpc_after = GrpcGetStatusOk(server->grpc_port());
  const int after = PostSigned(port, SleepBody("after", "s-1", 0));
  const LatencySummary legit = Summarize(&legit_nanos);
  row.happened = absl::StrFormat(
      "%d/%d legit webhooks 200; %.0f connections 503 at the cap; %.0f cut by the body rate; "
      "%d still open after %s; webhook after the flood %d, gRPC GetStatus %s",
      legit_ok, legit_total, refused, body_timeouts, still_open,
      absl::FormatDuration(absl::GetFlag(FLAGS_trickle_for)), after, grpc_after ? "ok" : "FAILED");
  row.figure = absl::StrFormat("legit p50/p99/max %.1f/%.1f/%.1f ms", legit.p50_ms, legit.p99_ms,
                               legit.max_ms);
  (void)refused_at_accept;
  (void)longest;
  return row;
}

// ---- row 2: N x 60 MB unsigned ----
Row UnsignedBodies() {
  const int n = absl::GetFlag(FLAGS_unsigned_bodies);
  const uint64_t body_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_large_mb)) * 1000 * 1000;
  Row row{absl::StrCat(n, " connections each sending ", absl::GetFlag(FLAGS_large_mb),
                       " MB unsigned (budget 256 MiB)"),
          "", ""};
  std::unique_ptr<Server> server = Server::Start("unsigned", {});
  if (server == nullptr) return {row.what, "server did not start", ""};
  const int port = server->http_port();
  const uint64_t baseline = PeakRssBytes(server->pid());
  std::atomic<int> unauthorized{0}, busy{0}, other{0};
  const std::string chunk(1 << 20, 'a');
  std::vector<std::thread> attackers;
  for (int i = 0; i < n; ++i) {
    attackers.emplace_back([&] {
      const int fd = RawConnect(port, absl::Seconds(60));
      if (fd < 0) {
        ++other;
        return;
      }
      int status = 0;
      std::thread reader([&] { status = ReadStatus(fd); });
      if (SendAll(fd, absl::StrCat("POST ", kPath, " HTTP/1.1\r\nHost: h\r\nContent-Length: ",
                                   body_bytes, "\r\n\r\n"))) {
        for (uint64_t sent = 0; sent < body_bytes; sent += chunk.size()) {
          if (!SendAll(fd, absl::string_view(chunk).substr(0, std::min<uint64_t>(chunk.size(), body_bytes - sent)))) break;
        }
      }
      reader.join();
      close(fd);
      if (status == 401) {
        ++unauthorized;
      } else if (status == 503) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : attackers) t.join();
  const uint64_t peak = PeakRssBytes(server->pid());
  row.happened = absl::StrFormat("%d x 401, %d x 503 + Retry-After, %d other", unauthorized.load(),
                                 busy.load(), other.load());
  row.figure = absl::StrFormat("peak RSS %llu MB (baseline %llu MB; budget + 200 MB = %llu MB)",
                               static_cast<unsigned long long>(peak >> 20),
                               static_cast<unsigned long long>(baseline >> 20),
                               static_cast<unsigned long long>((baseline >> 20) + 256 + 200));
  return row;
}

// ---- row 3: one signed 60 MB webhook ----
Row OneLargeSigned() {
  Row row{absl::StrCat("one valid signed ", absl::GetFlag(FLAGS_large_mb), " MB webhook"), "", ""};
  std::unique_ptr<Server> server = Server::Start("one-large", {});
  if (server == nullptr) return {row.what, "server did not start", ""};
  const int port = server->http_port();
  PostSigned(port, SleepBody("warm", "s-0", 0));
  const uint64_t baseline = PeakRssBytes(server->pid());
  const std::string body =
      SleepBody("large", "s-1", static_cast<size_t>(absl::GetFlag(FLAGS_large_mb)) * 1000 * 1000);
  const absl::Time start = absl::Now();
  const int status = PostSigned(port, body);
  const absl::Duration took = absl::Now() - start;
  const uint64_t peak = PeakRssBytes(server->pid());
  row.happened = absl::StrFormat("%d in %s", status, absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(10))));
  row.figure = absl::StrFormat("peak RSS %llu MB, growth %llu MB = %.1fx the body",
                               static_cast<unsigned long long>(peak >> 20),
                               static_cast<unsigned long long>((peak - baseline) >> 20),
                               static_cast<double>(peak - baseline) / body.size());
  return row;
}

// ---- row 4: 8 x 60 MB concurrent with small webhooks ----
Row ConcurrentLarge() {
  const int n = absl::GetFlag(FLAGS_concurrent_large);
  Row row{absl::StrCat(n, " concurrent valid ", absl::GetFlag(FLAGS_large_mb),
                       " MB webhooks + small webhooks"),
          "", ""};
  std::unique_ptr<Server> server = Server::Start("concurrent", {});
  if (server == nullptr) return {row.what, "server did not start", ""};
  const int port = server->http_port();
  const std::string padding_body_template;
  std::vector<int> status(n);
  std::vector<absl::Duration> took(n);
  std::atomic<int> done{0};
  std::vector<std::thread> large;
  for (int i = 0; i < n; ++i) {
    large.emplace_back([&, i] {
      const std::string body =
          SleepBody(absl::StrCat("large-", i), "s-1",
                    static_cast<size_t>(absl::GetFlag(FLAGS_large_mb)) * 1000 * 1000);
      const absl::Time start = absl::Now();
      status[i] = PostSigned(port, body);
      took[i] = absl::Now() - start;
      ++done;
    });
  }
  std::vector<int64_t> small_nanos;
  int small_ok = 0;
  HttpConnection small(port);
  while (done.load() < n) {
    const std::string body = SleepBody("small", absl::StrCat("s-", small_nanos.size()), 0);
    const int64_t t0 = NowNanos();
    absl::StatusOr<HttpResponse> response = small.Post(kPath, {SignatureHeader(kSecret, body)}, body);
    small_nanos.push_back(NowNanos() - t0);
    small_ok += response.ok() && response->status == 200;
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (std::thread& t : large) t.join();
  int ok = 0, unavailable = 0;
  absl::Duration slowest_ok = absl::ZeroDuration();
  absl::Duration slowest_503 = absl::ZeroDuration();
  for (int i = 0; i < n; ++i) {
    ok += status[i] == 200;
    unavailable += status[i] == 503;
    if (status[i] == 200) slowest_ok = std::max(slowest_ok, took[i]);
    if (status[i] == 503) slowest_503 = std::max(slowest_503, took[i]);
  }
  // A 503 must not be stored: the revision counts exactly the 200s.
  absl::SleepFor(absl::Seconds(3));
  const double revision = Metric(port, "healthwire_store_revision");
  const std::string reasons_503 =
      SeriesStartingWith(Get(port, "/metrics"), "healthwire_http_requests_total{code=\"503\",");
  const int expected = ok + small_ok;
  const size_t small_over_50ms = static_cast<size_t>(
      std::count_if(small_nanos.begin(), small_nanos.end(), [](int64_t ns) { return ns > 50'000'000; }));
  const LatencySummary s = Summarize(&small_nanos);
  auto ms = [](absl::Duration d) { return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(10))); };
  row.happened = absl::StrFormat(
      "%d x 200 (slowest %s), %d x 503 (slowest %s; %s), times from the first byte sent; "
      "%d/%zu small 200; revision %.0f for %d 200s (%s)",
      ok, ms(slowest_ok), unavailable, ms(slowest_503), reasons_503.empty() ? "-" : reasons_503,
      small_ok, s.count, revision, expected,
      static_cast<int>(revision) == expected ? "no 503 stored" : "MISMATCH");
  row.figure = absl::StrFormat("small p50/p99/max %.1f/%.1f/%.1f ms, %zu of %zu over 50 ms",
                               s.p50_ms, s.p99_ms, s.max_ms, small_over_50ms, s.count);
  return row;
}

// ---- row 5: 20,200 idle connections at the machine's fd limit ----

// In a child process: opens `count` idle connections (raising this
// process's soft fd limit to the hard one), writes how many it got to
// `report_fd`, and holds them until `hold_fd` reaches EOF. Never returns.
[[noreturn]] void HoldIdleConnections(int port, int count, int report_fd, int hold_fd) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  int opened = 0;
  for (int i = 0; i < count; ++i) opened += RawConnect(port, absl::Seconds(2)) >= 0;
  (void)!write(report_fd, &opened, sizeof(opened));
  char byte;
  while (read(hold_fd, &byte, 1) > 0) {
  }
  _exit(0);
}

Row IdleAtTheFdLimit() {
  const int total = absl::GetFlag(FLAGS_idle_connections);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  Row row{absl::StrFormat("%d idle connections, fd limit %llu (the machine's hard limit)", total,
                          static_cast<unsigned long long>(limit.rlim_max)),
          "", ""};
  std::unique_ptr<Server> server = Server::Start("idle", {});
  if (server == nullptr) return {row.what, "server did not start", ""};
  const int port = server->http_port();
  const double cap = Metric(port, "healthwire_http_max_connections");
  const int holders = std::max(1, absl::GetFlag(FLAGS_idle_holders));
  int report[2], hold[2];
  if (pipe(report) != 0 || pipe(hold) != 0) return {row.what, "pipe failed", ""};
  const absl::Time start = absl::Now();
  std::vector<pid_t> children;
  for (int h = 0; h < holders; ++h) {
    const int share = total / holders + (h < total % holders ? 1 : 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(report[0]);
      close(hold[1]);
      HoldIdleConnections(port, share, report[1], hold[0]);
    }
    children.push_back(pid);
  }
  close(report[1]);
  close(hold[0]);
  int connected = 0;
  for (int h = 0; h < holders; ++h) {
    int opened = 0;
    if (read(report[0], &opened, sizeof(opened)) == sizeof(opened)) connected += opened;
  }
  const absl::Duration open_took = absl::Now() - start;
  absl::SleepFor(absl::Seconds(2));  // every one is older than the eviction age
  const double open_now = Metric(port, "healthwire_http_connections");
  // With every slot taken: a webhook (evicting the oldest idle one) and gRPC.
  std::vector<int64_t> legit_nanos;
  int legit_ok = 0;
  for (int i = 0; i < 20; ++i) {
    const int64_t t0 = NowNanos();
    legit_ok += PostSigned(port, SleepBody("legit", absl::StrCat("s-", i), 0)) == 200;
    legit_nanos.push_back(NowNanos() - t0);
  }
  const bool grpc_during = GrpcGetStatusOk(server->grpc_port());
  const std::string metrics = Get(port, "/metrics");
  const std::string refused =
      SeriesStartingWith(metrics, "healthwire_http_connections_refused_total ");
  const std::string evicted = SeriesStartingWith(metrics, "healthwire_http_evictions_total");
  close(hold[1]);  // the holders close everything and exit
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  close(report[0]);
  absl::SleepFor(absl::Seconds(1));
  const bool grpc_after = GrpcGetStatusOk(server->grpc_port());
  const int after = PostSigned(port, SleepBody("after", "s-1", 0));
  const LatencySummary legit = Summarize(&legit_nanos);
  row.happened = absl::StrFormat(
      "%d connected in %s (cap %.0f; %.0f open after 2 s; refused at accept %s; evicted %s); "
      "%d/20 webhooks 200 at the cap; gRPC GetStatus at the cap %s, after %s; webhook after %d",
      connected, absl::FormatDuration(absl::Trunc(open_took, absl::Milliseconds(100))), cap,
      open_now, refused.empty() ? "?" : refused, evicted.empty() ? "?" : evicted, legit_ok,
      grpc_during ? "ok" : "FAILED", grpc_after ? "ok" : "FAILED", after);
  row.figure = absl::StrFormat("webhooks at the cap p50/p99/max %.1f/%.1f/%.1f ms", legit.p50_ms,
                               legit.p99_ms, legit.max_ms);
  return row;
}

}  // namespace
}  // namespace bench
}  // namespace healthwire

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace healthwire::bench;
  signal(SIGPIPE, SIG_IGN);
  const std::string rows = absl::GetFlag(FLAGS_rows);
  std::vector<Row> table;
  const absl::Time start = absl::Now();
  if (absl::StrContains(rows, "1")) table.push_back(Tricklers());
  if (absl::StrContains(rows, "2")) table.push_back(UnsignedBodies());
  if (absl::StrContains(rows, "3")) table.push_back(OneLargeSigned());
  if (absl::StrContains(rows, "4")) table.push_back(ConcurrentLarge());
  if (absl::StrContains(rows, "5")) table.push_back(IdleAtTheFdLimit());
  std::printf("\nattack_bench, %s UTC, %s total\n\n| what was done | what happened | measured |\n|---|---|---|\n",
              absl::FormatTime("%Y-%m-%d %H:%M", absl::Now(), absl::UTCTimeZone()).c_str(),
              absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Seconds(1))).c_str());
  for (const Row& row : table) {
    std::printf("| %s | %s | %s |\n", row.what.c_str(), row.happened.c_str(), row.figure.c_str());
  }
  return 0;
}
