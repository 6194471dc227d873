#include "server/readapi/read_api_server.h"

#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metrics_text.h"
#include "server/security/https_context.h"

namespace healthwire {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr uint64_t kMaxRequestBodyBytes = 64 << 10;

const char* ReasonPhrase(int status) {
  return http::obsolete_reason(static_cast<http::status>(status)).data();
}

}  // namespace

class ReadApiServer::Impl {
 public:
  Impl(Options options, std::shared_ptr<ReadApiHandler> handler,
       std::shared_ptr<net::ssl::context> tls)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        tls_(std::move(tls)),
        acceptor_(ioc_) {}

  void set_metrics_text(std::function<std::string()> text) { metrics_text_ = std::move(text); }

  ~Impl() { Shutdown(); }

  absl::Status Listen() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(options_.address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("--read_api_address=", options_.address, " is not an IP address"));
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen for the read API on ",
                                                 options_.address, ":", options_.port, ": ",
                                                 ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    listener_ = std::thread([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  int port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }
  int max_connections() const { return options_.max_connections; }
  Metrics& metrics() { return metrics_; }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    net::post(ioc_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    if (listener_.joinable()) listener_.join();
    std::list<std::shared_ptr<Connection>> connections;
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections.swap(connections_);
    }
    for (const std::shared_ptr<Connection>& connection : connections) connection->Stop();
    for (const std::shared_ptr<Connection>& connection : connections) {
      if (connection->thread.joinable()) connection->thread.join();
    }
  }

 private:
  struct Connection {
    net::io_context ioc;
    // One of the two: plaintext, or TLS over TCP.
    std::optional<beast::tcp_stream> stream;
    std::optional<TlsStream> tls;
    std::thread thread;
    std::atomic<bool> done{false};
    std::atomic<bool> stopping{false};
    std::mutex mu;
    ReadApiStream* active_stream = nullptr;  // guarded by mu

    // From another thread: cut the connection and the store call.
    void Stop() {
      stopping.store(true);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (active_stream != nullptr) active_stream->Cancel();
      }
      net::post(ioc, [this] {
        beast::error_code ignored;
        if (stream.has_value() || tls.has_value()) tcp().socket().close(ignored);
      });
    }

    beast::tcp_stream& tcp() { return tls.has_value() ? beast::get_lowest_layer(*tls) : *stream; }

    // `operation(stream)` on whichever stream the connection has.
    template <typename Operation>
    void WithStream(Operation operation) {
      if (tls.has_value()) {
        operation(*tls);
      } else {
        operation(*stream);
      }
    }
  };

  void Accept() {
    auto connection = std::make_shared<Connection>();
    acceptor_.async_accept(connection->ioc, [this, connection](beast::error_code ec,
                                                               tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        logging::Error("read API: accept failed", {{"error", ec.message()}});
      } else {
        Reap();
        if (metrics_.open_connections.load() >= options_.max_connections) {
          metrics_.refused_connections.fetch_add(1);
          static const std::string kRefusal = absl::StrCat(
              "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
              "Retry-After: 5\r\nConnection: close\r\nContent-Length: ",
              sizeof("{\"status\":\"UNAVAILABLE\",\"message\":\"too many read API connections\"}") -
                  1,
              "\r\n\r\n{\"status\":\"UNAVAILABLE\",\"message\":\"too many read API connections\"}");
          beast::error_code ignored;
          socket.non_blocking(true, ignored);
          socket.write_some(net::buffer(kRefusal), ignored);  // a few bytes: fits the buffer
          socket.close(ignored);
        } else {
          metrics_.open_connections.fetch_add(1);
          if (tls_ != nullptr) {
            connection->tls.emplace(std::move(socket), *tls_);
          } else {
            connection->stream.emplace(std::move(socket));
          }
          std::lock_guard<std::mutex> lock(mu_);
          if (!stopped_) {
            connections_.push_back(connection);
            connection->thread = std::thread([this, connection] { Serve(*connection); });
          } else {
            metrics_.open_connections.fetch_sub(1);
          }
        }
      }
      Accept();
    });
  }

  // Joins the threads of connections that ended (on the listener thread).
  void Reap() {
    std::list<std::shared_ptr<Connection>> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = connections_.begin(); it != connections_.end();) {
        if ((*it)->done.load()) {
          finished.push_back(*it);
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& connection : finished) connection->thread.join();
  }

  // Runs one asynchronous operation on the connection's own io_context to
  // completion or until `timeout`, whichever comes first.
  template <typename Initiate>
  beast::error_code RunFor(Connection& c, absl::Duration timeout, Initiate initiate) {
    beast::error_code result = net::error::would_block;
    c.tcp().expires_after(absl::ToChronoMilliseconds(timeout));
    initiate([&result](beast::error_code ec, std::size_t) { result = ec; });
    c.ioc.restart();
    c.ioc.run();
    return result;
  }

  beast::error_code WriteRaw(Connection& c, const std::string& bytes) {
    metrics_.stream_bytes_buffered.fetch_add(bytes.size());
    beast::error_code ec = RunFor(c, options_.write_timeout, [&](auto handler) {
      c.WithStream([&](auto& stream) { net::async_write(stream, net::buffer(bytes), handler); });
    });
    metrics_.stream_bytes_buffered.fetch_sub(bytes.size());
    if (ec == beast::error::timeout) metrics_.write_timeouts.fetch_add(1);
    return ec;
  }

  void Count(int status) {
    if (status < 300) {
      metrics_.requests_2xx.fetch_add(1);
    } else if (status < 500) {
      metrics_.requests_4xx.fetch_add(1);
    } else {
      metrics_.requests_5xx.fetch_add(1);
    }
  }

  std::string Head(int status, absl::string_view content_type, bool keep_alive,
                   std::optional<size_t> content_length, absl::string_view extra = "") {
    std::string head = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status),
                                    "\r\nContent-Type: ", content_type, "\r\n", extra,
                                    keep_alive ? "" : "Connection: close\r\n");
    if (content_length.has_value()) absl::StrAppend(&head, "Content-Length: ", *content_length, "\r\n");
    absl::StrAppend(&head, "\r\n");
    return head;
  }

  void Serve(Connection& c) {
    std::string remote = "-";
    {
      beast::error_code ec;
      const tcp::endpoint endpoint = c.tcp().socket().remote_endpoint(ec);
      if (!ec) remote = absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
    }
    beast::flat_buffer buffer;
    bool serving = true;
    if (c.tls.has_value()) {
      // Bounded like a header read: a client that connects and sends no
      // ClientHello (or plaintext HTTP) is cut.
      const beast::error_code ec = RunFor(c, options_.idle_timeout, [&](auto handler) {
        c.tls->async_handshake(net::ssl::stream_base::server,
                               [handler](beast::error_code ec) mutable { handler(ec, 0); });
      });
      if (ec) {
        metrics_.tls_handshake_failures.fetch_add(1);
        logging::Info("read_api TLS handshake failed",
                      {{"error", ec.message()}, {"remote", remote}});
        serving = false;
      }
    }
    while (serving && !c.stopping.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequestBodyBytes);
      beast::error_code ec = RunFor(c, options_.idle_timeout, [&](auto handler) {
        c.WithStream([&](auto& stream) { http::async_read(stream, buffer, parser, handler); });
      });
      if (ec) {
        int status = 0;
        if (ec == http::error::body_limit) status = 413;
        if (ec == http::error::header_limit) status = 431;
        if (ec.category() == beast::error_code(http::error::bad_version).category() &&
            status == 0 && ec != http::error::end_of_stream && ec != http::error::partial_message) {
          status = 400;
        }
        if (status != 0) {
          const ReadApiReply reply = ReadApiHandler::ErrorReply(
              status, "BAD_REQUEST", status == 413 ? "a read API request has no body"
                                     : status == 431 ? "request header too large"
                                                     : "malformed HTTP request");
          Count(status);
          WriteRaw(c, Head(status, reply.content_type, false, reply.body.size()) + reply.body);
        }
        break;
      }
      const absl::Time started = absl::Now();
      const auto& message = parser.get();
      ReadApiRequest request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      request.last_event_id = std::string(message["Last-Event-ID"]);
      request.accept = std::string(message[http::field::accept]);
      request.authorization = std::string(message[http::field::authorization]);
      request.remote = remote;

      if (ReadApiHandler::IsStream(request)) {
        ServeStream(c, request, remote, started);
        break;  // a stream ends its connection
      }
      ReadApiReply reply;
      if (request.target == "/metrics" && request.method == "GET") {
        // Its own metrics here too: healthwire_store has no webhook port.
        reply.content_type = "text/plain; version=0.0.4";
        reply.body = metrics_text_();
      } else {
        reply = handler_->Handle(request);
      }
      const bool keep_alive = message.keep_alive() && !c.stopping.load();
      Count(reply.status);
      ec = WriteRaw(c, Head(reply.status, reply.content_type, keep_alive, reply.body.size(),
                            reply.headers) +
                           reply.body);
      logging::Info("read_api", {{"status", reply.status},
                                 {"method", request.method.substr(0, 16)},
                                 {"path", request.target.substr(0, 300)},
                                 {"bytes", reply.body.size()},
                                 {"ms", absl::ToDoubleMilliseconds(absl::Now() - started)},
                                 {"remote", remote}});
      if (ec || !keep_alive) break;
    }
    beast::error_code ignored;
    if (serving && c.tls.has_value() && !c.stopping.load()) {
      // close_notify, so a close-delimited stream's end is not taken for a
      // truncation; bounded: the peer may be gone.
      RunFor(c, absl::Seconds(1), [&](auto handler) {
        c.tls->async_shutdown([handler](beast::error_code ec) mutable { handler(ec, 0); });
      });
    }
    c.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.tcp().socket().close(ignored);
    metrics_.open_connections.fetch_sub(1);
    c.done.store(true);
  }

  void ServeStream(Connection& c, const ReadApiRequest& request, const std::string& remote,
                   absl::Time started) {
    ReadApiReply error;
    absl::StatusOr<std::unique_ptr<ReadApiStream>> stream = handler_->OpenStream(request, &error);
    if (!stream.ok()) {
      Count(error.status);
      WriteRaw(c, Head(error.status, error.content_type, false, error.body.size(), error.headers) +
                      error.body);
      logging::Info("read_api", {{"status", error.status},
                                 {"method", request.method.substr(0, 16)},
                                 {"path", request.target.substr(0, 300)},
                                 {"remote", remote}});
      return;
    }
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.active_stream = stream->get();
    }
    if (c.stopping.load()) (*stream)->Cancel();
    Count(200);
    metrics_.open_streams.fetch_add(1);
    logging::Info("read_api stream opened", {{"path", request.target.substr(0, 300)},
                                             {"last_event_id", request.last_event_id.substr(0, 32)},
                                             {"remote", remote}});
    // Close-delimited body (no Content-Length, no chunking): the stream
    // ends when the connection does.
    std::string first = Head(200, (*stream)->content_type(), false, std::nullopt,
                             absl::StrCat("Cache-Control: no-cache\r\nX-Healthwire-Store-Timeline: ",
                                          (*stream)->timeline(), "\r\n"));
    if ((*stream)->format() == ReadApiStream::Format::kServerSentEvents) {
      absl::StrAppend(&first, ": healthwire store_timeline=", (*stream)->timeline(), "\n\n");
    }
    beast::error_code ec = WriteRaw(c, first);
    uint64_t messages = 0;
    std::string chunk;
    while (!ec && !c.stopping.load()) {
      const bool more = (*stream)->Next(&chunk);
      if (!chunk.empty()) {
        ec = WriteRaw(c, chunk);
        if (more) {
          ++messages;
          metrics_.stream_messages.fetch_add(1);
        }
      }
      if (!more) break;
    }
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.active_stream = nullptr;
    }
    (*stream)->Cancel();
    stream->reset();
    metrics_.open_streams.fetch_sub(1);
    logging::Info("read_api stream closed",
                  {{"path", request.target.substr(0, 300)},
                   {"messages", messages},
                   {"reason", ec ? ec.message() : std::string(c.stopping.load() ? "shutdown" : "ended")},
                   {"seconds", absl::ToDoubleSeconds(absl::Now() - started)},
                   {"remote", remote}});
  }

  const Options options_;
  const std::shared_ptr<ReadApiHandler> handler_;
  const std::shared_ptr<net::ssl::context> tls_;  // null: plaintext
  std::function<std::string()> metrics_text_;  // set before Listen
  Metrics metrics_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread listener_;
  int port_ = 0;
  std::mutex mu_;
  bool stopped_ = false;  // guarded by mu_
  std::list<std::shared_ptr<Connection>> connections_;  // guarded by mu_
};

absl::StatusOr<std::unique_ptr<ReadApiServer>> ReadApiServer::Start(
    Options options, std::shared_ptr<ReadApiHandler> handler) {
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("--read_api_max_connections must be at least 1");
  }
  if (options.idle_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--read_api_idle_timeout and --read_api_write_timeout must be positive");
  }
  std::shared_ptr<net::ssl::context> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    absl::StatusOr<std::shared_ptr<net::ssl::context>> context = MakeHttpsContext(
        "--read_api_tls_cert", options.tls_cert_file, "--read_api_tls_key", options.tls_key_file);
    if (!context.ok()) return context.status();
    tls = *std::move(context);
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), std::move(tls));
  Impl* raw = impl.get();
  std::unique_ptr<ReadApiServer> server(new ReadApiServer(std::move(impl)));
  ReadApiServer* self = server.get();
  raw->set_metrics_text([self] { return self->MetricsText(); });
  if (absl::Status listening = raw->Listen(); !listening.ok()) return listening;
  return server;
}

ReadApiServer::ReadApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadApiServer::~ReadApiServer() { Shutdown(); }
int ReadApiServer::port() const { return impl_->port(); }
bool ReadApiServer::tls() const { return impl_->tls(); }
void ReadApiServer::Shutdown() { impl_->Shutdown(); }

std::string ReadApiServer::MetricsText() const {
  Metrics& m = impl_->metrics();
  std::string text;
  AppendGauge(&text, "healthwire_read_api_connections", "Open read API connections.",
              m.open_connections.load());
  AppendGauge(&text, "healthwire_read_api_max_connections", "The cap (--read_api_max_connections).",
              impl_->max_connections());
  AppendGauge(&text, "healthwire_read_api_streams", "Open read API streams (SSE / NDJSON).",
              m.open_streams.load());
  AppendCounter(&text, "healthwire_read_api_connections_refused_total",
                "Connections refused at the cap.", m.refused_connections.load());
  AppendMetricHeader(&text, "healthwire_read_api_requests_total", "counter",
                     "Read API requests by status class.");
  AppendSample(&text, "healthwire_read_api_requests_total", "code=\"2xx\"", m.requests_2xx.load());
  AppendSample(&text, "healthwire_read_api_requests_total", "code=\"4xx\"", m.requests_4xx.load());
  AppendSample(&text, "healthwire_read_api_requests_total", "code=\"5xx\"", m.requests_5xx.load());
  AppendCounter(&text, "healthwire_read_api_stream_messages_total",
                "Updates and progress messages streamed.", m.stream_messages.load());
  AppendGauge(&text, "healthwire_read_api_write_buffered_bytes",
              "Bytes being written to read API clients.", m.stream_bytes_buffered.load());
  AppendCounter(&text, "healthwire_read_api_write_timeouts_total",
                "Connections cut because a client took nothing for --read_api_write_timeout.",
                m.write_timeouts.load());
  AppendCounter(&text, "healthwire_read_api_tls_handshake_failures_total",
                "TLS handshakes that failed (plaintext to the HTTPS port, a client refusing the "
                "certificate, a stalled handshake).",
                m.tls_handshake_failures.load());
  return text;
}

}  // namespace healthwire
