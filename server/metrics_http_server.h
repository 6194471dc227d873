// MetricsHttpServer: healthwire_store's own small HTTP port (--metrics_port)
// for what scrapers and probes ask a store that has no webhook gateway in
// its process: GET /metrics (Prometheus text), /healthz (200 while the
// process serves), /readyz (200, or 503 with the reason: a replica whose
// store cannot write, its disk at the reserve).
//
// Deliberately small: one thread, one connection at a time, a request must
// arrive within 5 s and be at most 8 KiB (then the connection is closed),
// Connection: close after every answer. Boost.Beast does the HTTP.
//
// Thread-safe; the callbacks are called on the server's thread.
#ifndef HEALTHWIRE_SERVER_METRICS_HTTP_SERVER_H_
#define HEALTHWIRE_SERVER_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace healthwire {

class MetricsHttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    int port = 0;  // 0 = a free one
    std::function<std::string()> metrics;
    std::function<absl::Status()> ready;
  };

  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(Options options);
  ~MetricsHttpServer();

  int port() const { return port_; }

 private:
  struct Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  void Loop();

  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_METRICS_HTTP_SERVER_H_
