// ReadApiServer: the HTTP listener of the read API (ReadApiHandler), on its
// own address and port, never the webhook port (that one faces the
// internet; this one serves health data without authentication and binds
// loopback by default).
//
// Boost.Beast over Asio, one thread per connection (each with its own
// io_context, every read and write bounded by a timer): connections are
// capped (Options::max_connections; one over the cap gets 503 and is
// closed), a request header is at most 8 KiB (Beast's limit; 431) and a
// request has no body to speak of (413 over 64 KiB). A stream
// (text/event-stream or NDJSON) holds at most one store message being
// written: the next is read from the gRPC call only once the previous one is
// on the socket, so a slow reader slows its own gRPC stream (which then
// catches up from the change log, as any lagging subscriber), and a reader
// that takes nothing for Options::write_timeout is cut.
//
// With Options::tls_cert_file/tls_key_file it speaks HTTPS only (Boost.Asio's
// SSL stream over OpenSSL, the webhook port's context code): the handshake is
// bounded by idle_timeout, a plaintext client gets no HTTP answer
// (healthwire_read_api_tls_handshake_failures_total); the connection cap's
// 503 is written before any handshake, in plaintext.
//
// GET /metrics on this port answers MetricsText (healthwire_store has no
// webhook port to show them on).
//
// Thread-safe. Shutdown closes the listener, cancels streams and closes
// connections, then joins their threads.
#ifndef HEALTHWIRE_SERVER_READAPI_READ_API_SERVER_H_
#define HEALTHWIRE_SERVER_READAPI_READ_API_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/readapi/read_api_handler.h"

namespace healthwire {

class ReadApiServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    int port = 0;  // 0 picks a free one
    int max_connections = 64;
    // Keep-alive idle time and the bound of reading one request header.
    absl::Duration idle_timeout = absl::Seconds(30);
    // A write (one answer, one stream message) that does not complete in
    // this long closes the connection.
    absl::Duration write_timeout = absl::Seconds(30);
    // PEM certificate chain and key: HTTPS (both or neither).
    std::string tls_cert_file;
    std::string tls_key_file;
  };

  // Counters for GET /metrics; all monotonic except the gauges.
  struct Metrics {
    std::atomic<int> open_connections{0};
    std::atomic<int> open_streams{0};
    std::atomic<uint64_t> refused_connections{0};
    std::atomic<uint64_t> requests_2xx{0};
    std::atomic<uint64_t> requests_4xx{0};
    std::atomic<uint64_t> requests_5xx{0};
    std::atomic<uint64_t> stream_messages{0};
    std::atomic<uint64_t> stream_bytes_buffered{0};  // gauge: being written now
    std::atomic<uint64_t> write_timeouts{0};
    std::atomic<uint64_t> tls_handshake_failures{0};
  };

  static absl::StatusOr<std::unique_ptr<ReadApiServer>> Start(
      Options options, std::shared_ptr<ReadApiHandler> handler);
  ~ReadApiServer();

  int port() const;
  bool tls() const;
  // Idempotent.
  void Shutdown();
  // Prometheus text (healthwire_read_api_*).
  std::string MetricsText() const;

 private:
  class Impl;
  explicit ReadApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_READAPI_READ_API_SERVER_H_
