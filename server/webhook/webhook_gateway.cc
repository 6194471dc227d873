#include "server/webhook/webhook_gateway.h"

#include <exception>
#include <future>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "server/security/https_context.h"
#include "server/webhook/http_session.h"
#include "server/webhook/webhook_handler.h"

namespace healthwire {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// How long after the ingest deadline a session stops waiting for a handler
// answer that has not come (a broken ingestor must not pin a connection
// forever). A commit handed to the store is awaited (answering 503 while it
// may still land would be a lie), so this covers a slow commit too.
constexpr absl::Duration kIngestCallbackGrace = absl::Seconds(2);

// Eviction at the cap (Options::evict_at_cap): a connection must have been
// waiting for its header, or reading its body, this long to be a victim (a
// legitimate client sends its header within milliseconds), and at most this
// many victims may be closing at once.
constexpr absl::Duration kEvictionMinAge = absl::Seconds(1);
constexpr int kMaxPendingEvictions = 64;

}  // namespace

// The listener, the io threads, and the shutdown sequence.
class WebhookGateway::Server {
 public:
  Server(const WebhookGateway::Options& options, std::shared_ptr<HttpSessionContext> context)
      : options_(options),
        context_(std::move(context)),
        ioc_(options_.io_threads),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_timer_(acceptor_.get_executor()) {}

  ~Server() { Shutdown(); }

  absl::StatusOr<int> Listen() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(options_.bind_address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid bind address '", options_.bind_address, "'"));
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    const std::string where = absl::StrCat(options_.bind_address, ":", options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
    return static_cast<int>(bound.port());
  }

  void Run() {
    running_ = true;
    Accept();
    for (int i = 0; i < options_.io_threads; ++i) {
      threads_.emplace_back([this] { RunIoThread(); });
    }
  }

  const GatewayMetrics& metrics() const { return context_->handler->metrics(); }

  void Shutdown() {
    absl::MutexLock shutdown_lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    context_->handler->StartDraining();
    if (!running_) {  // Listen failed: no io thread, no connection
      beast::error_code ec;
      acceptor_.close(ec);
      return;
    }

    // 1. Stop accepting. Accept handlers run on the acceptor's strand, so once
    // this ran every accepted connection is registered.
    std::promise<void> acceptor_closed;
    net::post(acceptor_.get_executor(), [this, &acceptor_closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_timer_.cancel();
      acceptor_closed.set_value();
    });
    acceptor_closed.get_future().wait();

    // 2. Idle connections close; requests in flight finish.
    ForEachSession(&HttpSession::BeginDrain);
    const absl::Condition no_sessions(
        +[](HttpSessionContext* context)
            ABSL_NO_THREAD_SAFETY_ANALYSIS { return context->sessions.empty(); },
        context_.get());
    if (!context_->mu.LockWhenWithTimeout(no_sessions, options_.shutdown_grace)) {
      context_->mu.Unlock();
      // 3. Past the grace period: cut the rest. Requests waiting for the
      // ingestor end within kIngestCallbackGrace of their deadline.
      ForEachSession(&HttpSession::ForceClose);
      context_->mu.LockWhen(no_sessions);
    }
    context_->stopped = true;
    context_->mu.Unlock();

    work_.reset();
    ioc_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Server::OnAccept, this));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || context_->handler->draining()) return;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      logging::Error("healthwire gateway: accept failed", {{"error", ec.message()}});
      accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !context_->handler->draining()) Accept();
      });
      return;
    }
    if (context_->transport->open_connections.load() >= context_->transport->max_connections &&
        !EvictOneForNewcomer()) {
      RefuseOverCap(std::move(socket));
    } else {
      std::shared_ptr<HttpSession> session;
      if (context_->tls != nullptr) {
        session = std::make_shared<TlsHttpSession>(std::move(socket), context_);
      } else {
        session = std::make_shared<PlainHttpSession>(std::move(socket), context_);
      }
      session->Start();
    }
    Accept();
  }

  // At the cap: picks the worst open connection (see Options::evict_at_cap)
  // and closes it on its strand. True when one was claimed: the newcomer is
  // admitted while the victim closes (at most kMaxPendingEvictions over the
  // cap, for microseconds). O(open connections), only at the cap.
  bool EvictOneForNewcomer() {
    if (!options_.evict_at_cap) return false;
    HttpTransportState& transport = *context_->transport;
    if (transport.pending_evictions.load() >= kMaxPendingEvictions) return false;
    const absl::Time now = absl::Now();
    const double floor_rate =
        options_.body_min_rate > 0 ? static_cast<double>(options_.body_min_rate) : 500.0;
    std::shared_ptr<HttpSession> victim;
    {
      absl::MutexLock lock(&context_->mu);
      const std::weak_ptr<HttpSession>* oldest_header = nullptr;
      absl::Time oldest_header_since = absl::InfiniteFuture();
      const std::weak_ptr<HttpSession>* slowest_body = nullptr;
      double slowest_rate = floor_rate;
      // Sessions leave this map under `mu` in their destructors: every
      // listed one is alive here.
      for (const auto& [session, weak] : context_->sessions) {
        const HttpSession::EvictionView view = session->eviction_view();
        const absl::Duration age = now - view.since;
        if (view.phase == HttpSession::EvictablePhase::kNone || age < kEvictionMinAge) continue;
        if (view.phase == HttpSession::EvictablePhase::kHeader) {
          if (view.since < oldest_header_since) {
            oldest_header_since = view.since;
            oldest_header = &weak;
          }
        } else if (oldest_header == nullptr) {
          const double rate =
              static_cast<double>(view.body_bytes) / absl::ToDoubleSeconds(age);
          if (rate < slowest_rate) {
            slowest_rate = rate;
            slowest_body = &weak;
          }
        }
      }
      const std::weak_ptr<HttpSession>* chosen =
          oldest_header != nullptr ? oldest_header : slowest_body;
      if (chosen != nullptr) victim = chosen->lock();
    }
    if (victim == nullptr || !victim->ClaimForEviction(transport)) return false;
    net::post(victim->executor(), [victim] { victim->Evict(); });
    return true;
  }

  // At the connection cap: a short 503 written without waiting (a fresh
  // socket's send buffer takes it whole), then close. The fds kept in
  // reserve stay free for RocksDB and gRPC.
  void RefuseOverCap(tcp::socket socket) {
    context_->transport->refused_connections.fetch_add(1);
    static constexpr char kBody[] =
        "{\"status\":\"error\",\"error\":\"too many connections, retry later\"}";
    const std::string answer = absl::StrCat(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: ",
        kRetryAfterSeconds, "\r\nConnection: close\r\nContent-Length: ", sizeof(kBody) - 1,
        "\r\n\r\n", kBody);
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.send(net::buffer(answer), 0, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  void ForEachSession(void (HttpSession::*step)()) {
    std::vector<std::shared_ptr<HttpSession>> live;
    {
      absl::MutexLock lock(&context_->mu);
      for (const auto& [key, weak] : context_->sessions) {
        if (std::shared_ptr<HttpSession> session = weak.lock()) live.push_back(std::move(session));
      }
    }
    for (const std::shared_ptr<HttpSession>& session : live) {
      net::post(session->executor(), [session, step] { (session.get()->*step)(); });
    }
  }

  void RunIoThread() {
    // Handlers use error codes, not exceptions; this only guards against
    // something unexpected (e.g. bad_alloc) taking the process down.
    while (true) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        logging::Error("healthwire gateway: io thread caught an exception", {{"error", e.what()}});
      }
    }
  }

  const WebhookGateway::Options options_;
  const std::shared_ptr<HttpSessionContext> context_;
  net::io_context ioc_;  // declared before everything that uses it
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_timer_;
  std::vector<std::thread> threads_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  bool running_ = false;  // set by Run(), before any other thread exists
};

absl::StatusOr<std::unique_ptr<WebhookGateway>> WebhookGateway::Start(Options options,
                                                                      Ingestor* ingestor) {
  if (options.io_threads < 1) return absl::InvalidArgumentError("io_threads must be at least 1");
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port ", options.port));
  }
  WebhookHandler::Options handler_options;
  handler_options.webhook_path = options.webhook_path;
  handler_options.max_body_bytes = options.max_body_bytes;
  handler_options.ingest_deadline = options.ingest_deadline;
  handler_options.signing_secrets = options.signing_secrets;
  handler_options.signature = options.signature;
  handler_options.workers = options.webhook_workers;
  handler_options.worker_queue_limit = options.webhook_queue_limit;
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be at least 1");
  }
  if (options.buffer_budget_bytes < options.max_body_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request buffer budget (", options.buffer_budget_bytes >> 20,
        " MiB) must be at least the largest accepted body (", options.max_body_bytes >> 20,
        " MiB), or no such body could ever be read"));
  }
  auto transport =
      std::make_shared<HttpTransportState>(options.max_connections, options.buffer_budget_bytes);
  handler_options.extra_metrics = [transport, extra = options.extra_metrics] {
    std::string text = transport->RenderPrometheusText();
    if (extra) text += extra();
    return text;
  };
  absl::StatusOr<std::shared_ptr<WebhookHandler>> handler =
      WebhookHandler::Create(std::move(handler_options), ingestor);
  if (!handler.ok()) return handler.status();

  HttpSessionContext::Limits limits;
  limits.max_body_bytes = options.max_body_bytes;
  limits.io_timeout = options.io_timeout;
  limits.header_timeout = options.header_timeout;
  limits.body_grace = options.body_grace;
  limits.body_min_rate = options.body_min_rate;
  limits.buffer_wait = options.buffer_wait;
  limits.answer_timeout = options.ingest_deadline + kIngestCallbackGrace;
  auto context = std::make_shared<HttpSessionContext>(limits, *std::move(handler), transport);
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    absl::StatusOr<std::shared_ptr<net::ssl::context>> tls =
        MakeHttpsContext("--http_tls_cert", options.tls_cert_file, "--http_tls_key",
                         options.tls_key_file);
    if (!tls.ok()) return tls.status();
    context->tls = *std::move(tls);
  }
  auto server = std::make_unique<Server>(options, std::move(context));
  absl::StatusOr<int> port = server->Listen();
  if (!port.ok()) return port.status();
  server->Run();
  return std::unique_ptr<WebhookGateway>(new WebhookGateway(std::move(server), *port));
}

WebhookGateway::WebhookGateway(std::unique_ptr<Server> server, int port)
    : server_(std::move(server)), port_(port) {}

WebhookGateway::~WebhookGateway() { Shutdown(); }

const GatewayMetrics& WebhookGateway::metrics() const { return server_->metrics(); }

void WebhookGateway::Shutdown() { server_->Shutdown(); }

}  // namespace healthwire
