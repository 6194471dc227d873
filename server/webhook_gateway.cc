#include "server/webhook_gateway.h"

#include <cstdio>
#include <exception>
#include <future>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "server/terra_converter.h"

namespace healthwire {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// How long after the ingest deadline the gateway stops waiting for an
// ingestor that has not called back (a broken ingestor must not pin a
// connection forever).
constexpr absl::Duration kIngestCallbackGrace = absl::Seconds(1);
// How long a connection being closed after an error (413, malformed request)
// may keep sending before it is cut: reading what the client still sends lets
// it see the error answer instead of a connection reset.
constexpr absl::Duration kLingerTimeout = absl::Seconds(2);
constexpr char kRetryAfterSeconds[] = "5";
constexpr char kStoreUnavailable[] = "store unavailable, retry later";

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

absl::string_view ToAbsl(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

// A JSON string literal (quotes included).
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string ErrorJson(absl::string_view error) {
  return absl::StrCat("{\"status\":\"error\",\"error\":", JsonString(error), "}");
}

// Request-derived text for a log line: printable ASCII only, bounded.
std::string Printable(absl::string_view s, size_t max_length = 160) {
  std::string out;
  for (char c : s.substr(0, max_length)) out.push_back(absl::ascii_isprint(c) ? c : '?');
  if (s.size() > max_length) out += "...";
  return out;
}

// The metrics reason for a SignatureVerifier failure (its messages are fixed).
std::string SignatureFailureReason(absl::string_view message) {
  if (absl::StartsWith(message, "missing")) return "missing_signature";
  if (absl::StartsWith(message, "malformed")) return "malformed_signature";
  if (absl::StartsWith(message, "signature timestamp")) return "expired_signature";
  return "signature_mismatch";
}

std::string StoreFailureReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "store_unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "store_deadline_exceeded";
    case absl::StatusCode::kResourceExhausted:
      return "store_resource_exhausted";
    default:
      return "store_error";
  }
}

// One HTTP answer, before it becomes a Beast response.
struct Reply {
  http::status status = http::status::ok;
  std::string reason;  // the metrics label: "ok", "bad_signature", ...
  std::string body;
  std::string content_type = "application/json";
  std::string allow;         // the Allow header of a 405
  bool retry_after = false;  // send Retry-After
  std::string log_detail;    // for the log line only, never sent
  bool close = false;        // close the connection after answering
  bool linger = false;       // read what the client still sends before closing
};

Reply ErrorReply(http::status status, std::string reason, absl::string_view error) {
  Reply reply;
  reply.status = status;
  reply.reason = std::move(reason);
  reply.body = ErrorJson(error);
  return reply;
}

Reply StoreFailureReply(const absl::Status& status) {
  Reply reply = ErrorReply(http::status::service_unavailable, StoreFailureReason(status),
                           kStoreUnavailable);
  reply.retry_after = true;
  reply.log_detail = status.ToString();
  return reply;
}

class Session;

// What every connection shares; outlives the gateway object when callbacks
// still hold it.
struct Core {
  Core(WebhookGateway::Options options_in, SignatureVerifier verifier_in, Ingestor* ingestor_in)
      : options(std::move(options_in)), verifier(std::move(verifier_in)), ingestor(ingestor_in) {}

  const WebhookGateway::Options options;
  const SignatureVerifier verifier;
  Ingestor* const ingestor;
  GatewayMetrics metrics;
  // Set once Shutdown begins: no new requests on kept-alive connections.
  std::atomic<bool> draining{false};

  absl::Mutex mu;
  // Set once the io threads are stopping: ingest callbacks no longer post.
  bool stopped ABSL_GUARDED_BY(mu) = false;
  // Every live connection. A Session removes itself in its destructor.
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions ABSL_GUARDED_BY(mu);
};

// One TCP connection: reads requests one after another (keep-alive), answers
// each. Everything runs on the connection's strand; the object lives as long
// as an asynchronous operation (or a pending ingest timer) holds it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Core> core)
      : core_(std::move(core)),
        stream_(std::move(socket)),
        ingest_timer_(stream_.get_executor()) {
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
  }

  ~Session() {
    absl::MutexLock lock(&core_->mu);
    core_->sessions.erase(this);
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  void Start() {
    {
      absl::MutexLock lock(&core_->mu);
      core_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Shutdown, step 1: an idle keep-alive connection closes now; one in the
  // middle of a request closes after answering it.
  void BeginDrain() {
    const bool idle = state_ == State::kIdle && buffer_.size() == 0 &&
                      (!parser_.has_value() || !parser_->got_some());
    if (idle) {
      CloseNow();
    } else {
      close_after_response_ = true;
    }
  }

  // Shutdown, step 2 (after the grace period): cut the connection. A request
  // waiting for the ingestor ends when its callback or timer fires.
  void ForceClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    state_ = State::kClosed;
  }

  // Called from any thread by the ingestor: hop back onto the strand.
  static void PostIngestResult(const std::shared_ptr<Core>& core, const std::weak_ptr<Session>& weak,
                               absl::StatusOr<v1::IngestResponse> result) {
    absl::MutexLock lock(&core->mu);
    if (core->stopped) return;  // the io threads are gone or going
    std::shared_ptr<Session> session = weak.lock();
    if (session == nullptr) return;  // the ingest timer answered and the connection ended
    net::any_io_executor executor = session->executor();
    // The handler owns the only new reference, so the Session is never
    // destroyed here, under core->mu (its destructor takes that lock).
    net::post(executor, [session = std::move(session), result = std::move(result)]() mutable {
      session->OnIngested(std::move(result));
    });
  }

 private:
  enum class State { kIdle, kReading, kProcessing, kWriting, kClosing, kClosed };

  void ReadHeader() {
    if (state_ == State::kClosed) return;
    if (core_->draining.load() && buffer_.size() == 0) {
      CloseNow();
      return;
    }
    state_ = State::kIdle;
    request_bytes_ = 0;
    parser_.emplace();
    parser_->body_limit(core_->options.max_body_bytes);
    stream_.expires_after(ToChrono(core_->options.io_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    state_ = State::kReading;
    request_started_ = absl::Now();
    const auto& request = parser_->get();
    // curl and some HTTP clients wait for "100 Continue" before sending a
    // large body.
    if (beast::iequals(request[http::field::expect], "100-continue")) {
      continue_response_ = http::response<http::empty_body>(http::status::continue_,
                                                            request.version());
      stream_.expires_after(ToChrono(core_->options.io_timeout));
      http::async_write(stream_, continue_response_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) {
                            self->CloseNow();
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  // Reads the body piece by piece so that io_timeout limits a stall, not the
  // whole transfer of a large body over a slow link.
  void ReadBody() {
    if (parser_->is_done()) {
      Process();
      return;
    }
    stream_.expires_after(ToChrono(core_->options.io_timeout));
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) {
                              self->OnReadError(ec);
                              return;
                            }
                            self->ReadBody();
                          });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream) {  // the client closed between requests
      CloseNow();
      return;
    }
    if (ec == net::error::operation_aborted || state_ == State::kClosed) return;
    if (ec == beast::error::timeout) {
      // tcp_stream already closed the socket. Idle keep-alive timeouts are
      // normal; a stalled request is worth a log line.
      if (state_ == State::kReading) {
        std::fprintf(stderr, "healthwire gateway: timed out reading a request from %s\n",
                     remote_.c_str());
      }
      state_ = State::kClosed;
      return;
    }
    if (ec == http::error::body_limit) {
      Reply reply = ErrorReply(
          http::status::payload_too_large, "body_too_large",
          absl::StrCat("request body larger than ", core_->options.max_body_bytes, " bytes"));
      reply.close = reply.linger = true;
      Send(std::move(reply));
      return;
    }
    if (ec == http::error::header_limit) {
      Reply reply = ErrorReply(http::status::request_header_fields_too_large,
                               "header_too_large", "request header too large");
      reply.close = reply.linger = true;
      Send(std::move(reply));
      return;
    }
    if (ec.category() == beast::error_code(http::error::bad_version).category()) {
      Reply reply =
          ErrorReply(http::status::bad_request, "bad_http_request", "malformed HTTP request");
      reply.log_detail = ec.message();
      reply.close = reply.linger = true;
      Send(std::move(reply));
      return;
    }
    CloseNow();  // connection reset and the like: nobody to answer
  }

  void Process() {
    state_ = State::kProcessing;
    const auto& request = parser_->get();
    request_bytes_ = request.body().size();
    const absl::string_view target = ToAbsl(request.target());
    const absl::string_view path = target.substr(0, target.find('?'));

    if (path == core_->options.webhook_path) {
      if (request.method() != http::verb::post) {
        Reply reply = ErrorReply(http::status::method_not_allowed, "method_not_allowed",
                                 "method not allowed; webhooks are POSTed");
        reply.allow = "POST";
        Send(std::move(reply));
        return;
      }
      HandleWebhook();
      return;
    }
    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
      if (request.method() != http::verb::get) {
        Reply reply = ErrorReply(http::status::method_not_allowed, "method_not_allowed",
                                 "method not allowed");
        reply.allow = "GET";
        Send(std::move(reply));
        return;
      }
      if (path == "/healthz") {
        Send(Reply{http::status::ok, "ok", "{\"status\":\"ok\"}"});
      } else if (path == "/readyz") {
        HandleReadyz();
      } else {
        std::string text = core_->metrics.RenderPrometheusText(core_->ingestor->CurrentRevision());
        if (core_->options.extra_metrics) text += core_->options.extra_metrics();
        Reply reply{http::status::ok, "ok", std::move(text)};
        reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
        Send(std::move(reply));
      }
      return;
    }
    Send(ErrorReply(http::status::not_found, "not_found", "not found"));
  }

  void HandleReadyz() {
    if (core_->draining.load()) {
      Send(ErrorReply(http::status::service_unavailable, "not_ready", "shutting down"));
      return;
    }
    const absl::Status ready = core_->ingestor->CheckReady();
    if (ready.ok()) {
      Send(Reply{http::status::ok, "ok", "{\"status\":\"ok\"}"});
      return;
    }
    Reply reply = ErrorReply(http::status::service_unavailable, "not_ready",
                             absl::StrCat("not ready: ", ready.message()));
    reply.log_detail = ready.ToString();
    Send(std::move(reply));
  }

  void HandleWebhook() {
    const auto& request = parser_->get();
    absl::string_view signature = ToAbsl(request["terra-signature"]);
    if (absl::StripAsciiWhitespace(signature).empty()) {
      signature = ToAbsl(request["X-Terra-Signature"]);
    }
    const absl::Time now = absl::Now();
    const absl::Status verified = core_->verifier.Verify(signature, request.body(), now);
    if (!verified.ok()) {
      if (absl::IsUnauthenticated(verified)) {
        Send(ErrorReply(http::status::unauthorized, SignatureFailureReason(verified.message()),
                        verified.message()));
      } else {  // OpenSSL itself failed: not the sender's fault
        Reply reply = ErrorReply(http::status::service_unavailable, "signature_check_failed",
                                 "could not check the signature, retry later");
        reply.retry_after = true;
        reply.log_detail = verified.ToString();
        Send(std::move(reply));
      }
      return;
    }

    DeliveryContext context;
    context.received_at = now;
    int64_t ordering_timestamp_ms = 0;
    // Unparseable: delivered without ordering information, not rejected.
    if (absl::SimpleAtoi(ToAbsl(request["x-terra-ordering-timestamp"]), &ordering_timestamp_ms)) {
      context.ordering_timestamp_ms = ordering_timestamp_ms;
    }
    context.trace_id = std::string(ToAbsl(request["X-Terra-Trace-Id"]));

    absl::StatusOr<ConvertedWebhook> converted = ConvertTerraWebhook(request.body(), context);
    if (!converted.ok()) {
      if (absl::IsInvalidArgument(converted.status())) {
        Send(ErrorReply(http::status::bad_request, "invalid_envelope",
                        converted.status().message()));
      } else {
        Reply reply = ErrorReply(http::status::internal_server_error, "conversion_failed",
                                 "could not convert the webhook");
        reply.log_detail = converted.status().ToString();
        Send(std::move(reply));
      }
      return;
    }
    if (converted->events.empty()) {  // healthcheck: nothing to commit
      Send(Reply{http::status::ok, "no_events",
                 absl::StrCat("{\"status\":\"ok\",\"events\":0,\"stored\":0,\"identical\":0,"
                              "\"stale\":0,\"revision\":",
                              core_->ingestor->CurrentRevision(), ",\"schema_problems\":0}")});
      return;
    }

    event_types_.clear();
    for (const v1::Event& event : converted->events) event_types_.push_back(event.type());
    events_with_problems_ = converted->events_with_problems;
    awaiting_ingest_ = true;
    stream_.expires_never();  // the ingest timer bounds this wait
    const absl::Duration deadline = core_->options.ingest_deadline;
    ingest_timer_.expires_after(ToChrono(deadline + kIngestCallbackGrace));
    ingest_timer_.async_wait(
        beast::bind_front_handler(&Session::OnIngestTimeout, shared_from_this()));
    core_->ingestor->Ingest(
        std::move(converted->events), now + deadline,
        [core = core_, weak = weak_from_this()](absl::StatusOr<v1::IngestResponse> result) {
          PostIngestResult(core, weak, std::move(result));
        });
  }

  void OnIngested(absl::StatusOr<v1::IngestResponse> result) {
    if (!awaiting_ingest_) return;  // the ingest timer answered already
    awaiting_ingest_ = false;
    ingest_timer_.cancel();
    if (!result.ok()) {
      Send(StoreFailureReply(result.status()));
      return;
    }
    int stored = 0, identical = 0, stale = 0;
    for (const v1::IngestResult& r : result->results()) {
      stored += r.outcome() == v1::IngestResult::OUTCOME_STORED;
      identical += r.outcome() == v1::IngestResult::OUTCOME_IDENTICAL;
      stale += r.outcome() == v1::IngestResult::OUTCOME_STALE;
    }
    core_->metrics.RecordIngested(event_types_, *result);
    core_->metrics.RecordSchemaProblemEvents(events_with_problems_);
    Send(Reply{http::status::ok, "ok",
               absl::StrCat("{\"status\":\"ok\",\"events\":", event_types_.size(),
                            ",\"stored\":", stored, ",\"identical\":", identical,
                            ",\"stale\":", stale, ",\"revision\":", result->store_revision(),
                            ",\"schema_problems\":", events_with_problems_, "}")});
  }

  void OnIngestTimeout(beast::error_code ec) {
    if (ec || !awaiting_ingest_) return;  // cancelled: the ingestor answered
    awaiting_ingest_ = false;
    Send(StoreFailureReply(
        absl::DeadlineExceededError("the ingestor did not call back within the deadline")));
  }

  void Send(Reply reply) {
    if (state_ == State::kClosed) return;  // force-closed while processing
    const bool have_request = parser_.has_value() && parser_->is_header_done();
    const int code = static_cast<int>(reply.status);

    response_ = http::response<http::string_body>();
    response_.version(have_request ? parser_->get().version() : 11);
    response_.result(reply.status);
    response_.set(http::field::content_type, reply.content_type);
    if (!reply.allow.empty()) response_.set(http::field::allow, reply.allow);
    if (reply.retry_after) response_.set(http::field::retry_after, kRetryAfterSeconds);
    response_.body() = std::move(reply.body);
    response_.keep_alive(have_request && parser_->get().keep_alive() && !reply.close &&
                         !close_after_response_ && !core_->draining.load());
    response_.prepare_payload();
    linger_ = reply.linger;

    const absl::Duration duration =
        have_request ? absl::Now() - request_started_ : absl::ZeroDuration();
    core_->metrics.RecordRequest(code, reply.reason, request_bytes_, duration);
    if (code >= 300) LogFailure(code, reply);

    state_ = State::kWriting;
    stream_.expires_after(ToChrono(core_->options.io_timeout));
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWritten, shared_from_this()));
  }

  void LogFailure(int code, const Reply& reply) {
    std::string method = "-", target = "-", trace_id = "-";
    if (parser_.has_value()) {
      // Whatever of the header was parsed (a 413 can come before its end).
      const auto& request = parser_->get();
      if (!request.method_string().empty()) {
        method = Printable(ToAbsl(request.method_string()), 16);
      }
      if (!request.target().empty()) target = Printable(ToAbsl(request.target()));
      const absl::string_view trace = ToAbsl(request["X-Terra-Trace-Id"]);
      if (!trace.empty()) trace_id = Printable(trace);
    }
    // The body and the signature header are never logged.
    std::fprintf(stderr, "healthwire gateway: %d %s %s trace_id=%s remote=%s reason=%s: %s%s%s\n",
                 code, method.c_str(), target.c_str(), trace_id.c_str(), remote_.c_str(),
                 reply.reason.c_str(), Printable(response_.body(), 300).c_str(),
                 reply.log_detail.empty() ? "" : " detail: ",
                 Printable(reply.log_detail, 300).c_str());
  }

  void OnWritten(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      CloseNow();
      return;
    }
    if (!response_.keep_alive()) {
      if (linger_) {
        Linger();
      } else {
        CloseNow();
      }
      return;
    }
    ReadHeader();
  }

  void CloseNow() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  // Half-close, then read and discard until the client closes or
  // kLingerTimeout passes: closing a socket with unread data sends a reset,
  // which can destroy the error answer before the client reads it.
  void Linger() {
    state_ = State::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(ToChrono(kLingerTimeout));
    buffer_.consume(buffer_.size());
    DiscardUntilClosed();
  }

  void DiscardUntilClosed() {
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->state_ = State::kClosed;
                                self->stream_.close();
                                return;
                              }
                              self->DiscardUntilClosed();
                            });
  }

  const std::shared_ptr<Core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_response_;
  http::response<http::string_body> response_;
  net::steady_timer ingest_timer_;
  std::string remote_ = "-";

  State state_ = State::kIdle;
  bool close_after_response_ = false;
  bool linger_ = false;
  bool awaiting_ingest_ = false;
  absl::Time request_started_;
  uint64_t request_bytes_ = 0;
  std::vector<v1::EventType> event_types_;
  int events_with_problems_ = 0;
};

}  // namespace

// The listener, the io threads, and the shutdown sequence.
class WebhookGateway::Server {
 public:
  Server(std::shared_ptr<Core> core)
      : core_(std::move(core)),
        ioc_(core_->options.io_threads),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_timer_(acceptor_.get_executor()) {}

  ~Server() { Shutdown(); }

  absl::StatusOr<int> Listen() {
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(core_->options.bind_address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid bind address '", core_->options.bind_address, "'"));
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(core_->options.port));
    const std::string where = absl::StrCat(core_->options.bind_address, ":", core_->options.port);
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
    for (int i = 0; i < core_->options.io_threads; ++i) {
      threads_.emplace_back([this] { RunIoThread(); });
    }
  }

  const GatewayMetrics& metrics() const { return core_->metrics; }

  void Shutdown() {
    absl::MutexLock shutdown_lock(&shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    core_->draining = true;
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
    ForEachSession(&Session::BeginDrain);
    const absl::Condition no_sessions(
        +[](Core* core) ABSL_NO_THREAD_SAFETY_ANALYSIS { return core->sessions.empty(); },
        core_.get());
    if (!core_->mu.LockWhenWithTimeout(no_sessions, core_->options.shutdown_grace)) {
      core_->mu.Unlock();
      // 3. Past the grace period: cut the rest. Requests waiting for the
      // ingestor end within kIngestCallbackGrace of their deadline.
      ForEachSession(&Session::ForceClose);
      core_->mu.LockWhen(no_sessions);
    }
    core_->stopped = true;
    core_->mu.Unlock();

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
    if (ec == net::error::operation_aborted || core_->draining.load()) return;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      std::fprintf(stderr, "healthwire gateway: accept failed: %s\n", ec.message().c_str());
      accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !core_->draining.load()) Accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), core_)->Start();
    Accept();
  }

  void ForEachSession(void (Session::*step)()) {
    std::vector<std::shared_ptr<Session>> live;
    {
      absl::MutexLock lock(&core_->mu);
      for (const auto& [key, weak] : core_->sessions) {
        if (std::shared_ptr<Session> session = weak.lock()) live.push_back(std::move(session));
      }
    }
    for (const std::shared_ptr<Session>& session : live) {
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
        std::fprintf(stderr, "healthwire gateway: io thread caught: %s\n", e.what());
      }
    }
  }

  const std::shared_ptr<Core> core_;
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
  if (ingestor == nullptr) return absl::InvalidArgumentError("no ingestor");
  if (options.io_threads < 1) return absl::InvalidArgumentError("io_threads must be at least 1");
  if (options.max_body_bytes == 0) {
    return absl::InvalidArgumentError("max_body_bytes must be positive");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port ", options.port));
  }
  if (!absl::StartsWith(options.webhook_path, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook path '", options.webhook_path, "' must start with '/'"));
  }
  absl::StatusOr<SignatureVerifier> verifier =
      SignatureVerifier::Create(options.signing_secrets, options.signature);
  if (!verifier.ok()) return verifier.status();

  auto core = std::make_shared<Core>(std::move(options), *std::move(verifier), ingestor);
  auto server = std::make_unique<Server>(std::move(core));
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
