// HttpSession: one TCP connection of the webhook gateway, the HTTP/1.1
// mechanics only: reading requests one after another (keep-alive), answering
// "100 Continue", bounding every wait with a timeout, writing the answer,
// draining on shutdown, and lingering after an error so the client reads the
// answer instead of a reset. What to answer is WebhookHandler's decision; the
// session answers by itself only what the handler never sees (413 while
// reading, 431, a malformed request).
//
// Every HttpSession shares one HttpSessionContext with its gateway: the
// handler, the HTTP limits and the registry of live sessions that Shutdown
// walks. Everything a session does runs on its own strand; the object lives as
// long as an asynchronous operation (or a pending answer timer) holds it.
//
// One template, BasicHttpSession<Stream>, serves both plain HTTP
// (beast::tcp_stream) and HTTPS (beast::ssl_stream over it, OpenSSL): the
// only differences are the TLS handshake before the first request (bounded
// by the header timeout) and reaching the TCP layer for timeouts and
// shutdown. HttpSession is the stream-independent face the gateway's
// registry and shutdown use.
//
// Thread-safety: Start, BeginDrain and ForceClose must run on the session's
// strand (post them to executor()), and so must Evict (after ClaimForEviction,
// which like eviction_view may run on any thread); PostReply may be called
// from any thread.
#ifndef HEALTHWIRE_SERVER_WEBHOOK_HTTP_SESSION_H_
#define HEALTHWIRE_SERVER_WEBHOOK_HTTP_SESSION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/webhook/http_reply.h"
#include "server/webhook/request_buffer_budget.h"
#include "server/webhook/webhook_handler.h"

namespace healthwire {

class HttpSession;

// The gateway's connection-level resources and their counters: open
// connections against the cap, the request buffer budget, timeouts. Rendered
// into GET /metrics.
struct HttpTransportState {
  HttpTransportState(int max_connections_in, uint64_t buffer_budget_bytes)
      : max_connections(max_connections_in), budget(buffer_budget_bytes) {}

  std::string RenderPrometheusText() const;

  const int max_connections;
  RequestBufferBudget budget;
  std::atomic<int> open_connections{0};
  std::atomic<uint64_t> refused_connections{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<uint64_t> body_timeouts{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  // Connections closed at the cap to make room for a new one
  // (HttpSession::Evict), by the phase they were in.
  std::atomic<uint64_t> header_evictions{0};
  std::atomic<uint64_t> body_evictions{0};
  // Victims chosen whose sessions have not ended yet: they still count in
  // open_connections, so the cap may be exceeded by at most this many.
  std::atomic<int> pending_evictions{0};
};

// What every connection of one gateway shares; outlives the gateway object
// while callbacks still hold it.
struct HttpSessionContext {
  struct Limits {
    uint64_t max_body_bytes = 64ull << 20;
    // A connection that sends or receives nothing for this long is closed
    // (idle keep-alive, stalled writes).
    absl::Duration io_timeout = absl::Seconds(30);
    // The whole request header must arrive within this (it does not restart
    // on every byte, so a slowloris cannot stretch it).
    absl::Duration header_timeout = absl::Seconds(20);
    // After body_grace, a body must keep arriving at body_min_rate bytes per
    // second on average (each body_min_rate bytes buy one more second, as in
    // Apache's mod_reqtimeout); 0 turns the rate off.
    absl::Duration body_grace = absl::Seconds(20);
    uint64_t body_min_rate = 500;
    // How long a request waits for room in the buffer budget before 503.
    absl::Duration buffer_wait = absl::Seconds(1);
    // How long a session waits for the handler's answer before it answers
    // 503 itself (a broken ingestor must not pin a connection forever).
    absl::Duration answer_timeout = absl::Seconds(6);
  };

  HttpSessionContext(Limits limits_in, std::shared_ptr<WebhookHandler> handler_in,
                     std::shared_ptr<HttpTransportState> transport_in)
      : limits(limits_in), handler(std::move(handler_in)), transport(std::move(transport_in)) {}

  const Limits limits;
  const std::shared_ptr<WebhookHandler> handler;
  const std::shared_ptr<HttpTransportState> transport;
  // Set: the port speaks HTTPS with this context (certificate and key).
  std::shared_ptr<boost::asio::ssl::context> tls;

  absl::Mutex mu;
  // Set once the io threads are stopping: handler answers no longer post.
  bool stopped ABSL_GUARDED_BY(mu) = false;
  // Every live connection. A session removes itself in its destructor.
  std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions ABSL_GUARDED_BY(mu);
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  virtual ~HttpSession() = default;

  virtual boost::asio::any_io_executor executor() = 0;

  // Registers the session and starts reading (after the TLS handshake).
  virtual void Start() = 0;

  // Shutdown, step 1: an idle keep-alive connection closes now; one in the
  // middle of a request closes after answering it.
  virtual void BeginDrain() = 0;

  // Shutdown, step 2 (after the grace period): cut the connection. A request
  // waiting for its answer ends when the answer or the answer timer comes.
  virtual void ForceClose() = 0;

  // What the acceptor needs to pick a connection to close when the cap is
  // full (the same for plain and TLS sessions): read from any thread, under
  // HttpSessionContext::mu (a session leaves the registry under that lock, so
  // it is alive while listed).
  enum class EvictablePhase { kNone, kHeader, kBody };
  struct EvictionView {
    EvictablePhase phase = EvictablePhase::kNone;
    // When the phase began (the TLS handshake or header wait, or the body
    // read).
    absl::Time since;
    uint64_t body_bytes = 0;
  };
  EvictionView eviction_view() const;
  // Claims the session as the victim of one eviction and counts it in
  // transport.pending_evictions (the session's destructor takes it off);
  // false when another accept claimed it already. Any thread.
  bool ClaimForEviction(HttpTransportState& transport);
  // Runs on the strand after a successful claim: closes the connection if it
  // is still in its TLS handshake, waiting for a header or reading a body
  // (not while its request is being answered).
  virtual void Evict() = 0;

 protected:
  // Written on the strand only; read by eviction_view() from any thread.
  void PublishPhase(EvictablePhase phase);
  void PublishBodyBytes(uint64_t bytes);
  bool claimed_for_eviction() const { return claimed_for_eviction_.load(); }

 private:
  std::atomic<int> published_phase_{static_cast<int>(EvictablePhase::kNone)};
  std::atomic<int64_t> published_since_ns_{0};
  std::atomic<uint64_t> published_body_bytes_{0};
  std::atomic<bool> claimed_for_eviction_{false};
};

template <class Stream>
class BasicHttpSession final : public HttpSession {
 public:
  BasicHttpSession(boost::asio::ip::tcp::socket socket,
                   std::shared_ptr<HttpSessionContext> context);
  ~BasicHttpSession() override;

  BasicHttpSession(const BasicHttpSession&) = delete;
  BasicHttpSession& operator=(const BasicHttpSession&) = delete;

  boost::asio::any_io_executor executor() override { return stream_.get_executor(); }
  void Start() override;
  void BeginDrain() override;
  void ForceClose() override;
  void Evict() override;

 private:
  enum class State { kIdle, kReading, kProcessing, kWriting, kClosing, kClosed };

  // Called from any thread with the handler's answer: hop onto the strand.
  static void PostReply(const std::shared_ptr<HttpSessionContext>& context,
                        const std::weak_ptr<BasicHttpSession>& weak, uint64_t request_number,
                        HttpReply reply);

  std::shared_ptr<BasicHttpSession> self() {
    return std::static_pointer_cast<BasicHttpSession>(shared_from_this());
  }
  boost::beast::tcp_stream& lowest() { return boost::beast::get_lowest_layer(stream_); }

  // HTTPS only: the TLS handshake, then ReadHeader.
  void Handshake();

  void ReadHeader();
  void OnHeader(boost::beast::error_code ec, std::size_t bytes);
  // Takes `bytes` from the buffer budget, waiting up to Limits::buffer_wait
  // for room, then continues with `next`; 503 when no room came.
  void ReserveBody(uint64_t bytes, void (BasicHttpSession::*next)());
  void ContinueOrReadBody();
  void ReadBody();
  void OnReadError(boost::beast::error_code ec);
  void Process();
  void OnReply(uint64_t request_number, HttpReply reply);
  void OnAnswerTimeout(boost::beast::error_code ec);
  // close: no keep-alive after this answer; linger: read what the client
  // still sends before closing.
  void Send(HttpReply reply, bool close = false, bool linger = false);
  void LogFailure(const HttpReply& reply);
  void LogAccess(const HttpReply& reply, absl::Duration duration);
  void OnWritten(boost::beast::error_code ec, std::size_t bytes);
  void CloseNow();
  void Linger();
  void DiscardUntilClosed();

  const std::shared_ptr<HttpSessionContext> context_;
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::empty_body> continue_response_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  boost::asio::steady_timer answer_timer_;
  boost::asio::steady_timer budget_timer_;
  std::string remote_ = "-";

  // What the log line and the metrics need of the request being answered
  // (the parser's message is moved to the handler).
  std::string method_ = "-";
  std::string target_ = "-";
  std::string trace_id_ = "-";
  unsigned version_ = 11;
  bool keep_alive_requested_ = false;

  State state_ = State::kIdle;
  bool close_after_response_ = false;
  bool linger_ = false;
  // Numbers the requests of this connection, so that a late answer to a
  // request the answer timer already answered is dropped.
  uint64_t request_number_ = 0;
  bool awaiting_answer_ = false;
  absl::Time request_started_;
  uint64_t request_bytes_ = 0;
  // The body bytes of this request taken from the buffer budget.
  uint64_t reserved_bytes_ = 0;
  // Body bytes read so far (with chunk framing) and since when.
  uint64_t body_bytes_read_ = 0;
  absl::Time body_started_;
  absl::Time budget_wait_until_;
};

using PlainHttpSession = BasicHttpSession<boost::beast::tcp_stream>;
using TlsHttpSession = BasicHttpSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;
extern template class BasicHttpSession<boost::beast::tcp_stream>;
extern template class BasicHttpSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_WEBHOOK_HTTP_SESSION_H_
