#include "server/http_session.h"

#include <cstdio>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace healthwire {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// How long a connection being closed after an error (413, malformed request)
// may keep sending before it is cut: reading what the client still sends lets
// it see the error answer instead of a connection reset.
constexpr absl::Duration kLingerTimeout = absl::Seconds(2);

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

HttpSession::HttpSession(tcp::socket socket, std::shared_ptr<HttpSessionContext> context)
    : context_(std::move(context)),
      stream_(std::move(socket)),
      answer_timer_(stream_.get_executor()) {
  beast::error_code ec;
  const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
}

HttpSession::~HttpSession() {
  absl::MutexLock lock(&context_->mu);
  context_->sessions.erase(this);
}

void HttpSession::Start() {
  {
    absl::MutexLock lock(&context_->mu);
    context_->sessions.emplace(this, weak_from_this());
  }
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::ReadHeader, shared_from_this()));
}

void HttpSession::BeginDrain() {
  const bool idle = state_ == State::kIdle && buffer_.size() == 0 &&
                    (!parser_.has_value() || !parser_->got_some());
  if (idle) {
    CloseNow();
  } else {
    close_after_response_ = true;
  }
}

void HttpSession::ForceClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
  state_ = State::kClosed;
}

void HttpSession::PostReply(const std::shared_ptr<HttpSessionContext>& context,
                            const std::weak_ptr<HttpSession>& weak, uint64_t request_number,
                            HttpReply reply) {
  absl::MutexLock lock(&context->mu);
  if (context->stopped) return;  // the io threads are gone or going
  std::shared_ptr<HttpSession> session = weak.lock();
  if (session == nullptr) return;  // the answer timer answered and the connection ended
  net::any_io_executor executor = session->executor();
  // The handler owns the only new reference, so the session is never
  // destroyed here, under context->mu (its destructor takes that lock).
  net::post(executor, [session = std::move(session), request_number,
                       reply = std::move(reply)]() mutable {
    session->OnReply(request_number, std::move(reply));
  });
}

void HttpSession::ReadHeader() {
  if (state_ == State::kClosed) return;
  if (context_->handler->draining() && buffer_.size() == 0) {
    CloseNow();
    return;
  }
  state_ = State::kIdle;
  request_bytes_ = 0;
  method_ = target_ = trace_id_ = "-";
  parser_.emplace();
  parser_->body_limit(context_->limits.max_body_bytes);
  stream_.expires_after(ToChrono(context_->limits.io_timeout));
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::OnHeader, shared_from_this()));
}

void HttpSession::OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
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
    continue_response_ =
        http::response<http::empty_body>(http::status::continue_, request.version());
    stream_.expires_after(ToChrono(context_->limits.io_timeout));
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
void HttpSession::ReadBody() {
  if (parser_->is_done()) {
    Process();
    return;
  }
  stream_.expires_after(ToChrono(context_->limits.io_timeout));
  http::async_read_some(stream_, buffer_, *parser_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) {
                            self->OnReadError(ec);
                            return;
                          }
                          self->ReadBody();
                        });
}

void HttpSession::OnReadError(beast::error_code ec) {
  if (ec == http::error::end_of_stream) {  // client closed between requests
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
    Send(ErrorReply(413, "body_too_large",
                    absl::StrCat("request body larger than ", context_->limits.max_body_bytes,
                                 " bytes")),
         /*close=*/true, /*linger=*/true);
    return;
  }
  if (ec == http::error::header_limit) {
    Send(ErrorReply(431, "header_too_large", "request header too large"), /*close=*/true,
         /*linger=*/true);
    return;
  }
  if (ec.category() == beast::error_code(http::error::bad_version).category()) {
    HttpReply reply = ErrorReply(400, "bad_http_request", "malformed HTTP request");
    reply.log_detail = ec.message();
    Send(std::move(reply), /*close=*/true, /*linger=*/true);
    return;
  }
  CloseNow();  // connection reset and the like: nobody to answer
}

void HttpSession::Process() {
  state_ = State::kProcessing;
  http::request<http::string_body> message = parser_->release();
  version_ = message.version();
  keep_alive_requested_ = message.keep_alive();
  request_bytes_ = message.body().size();

  WebhookRequest request;
  request.method = ToString(message.method_string());
  request.target = ToString(message.target());
  request.headers.reserve(16);
  for (const auto& field : message) {
    request.headers.emplace_back(ToString(field.name_string()), ToString(field.value()));
  }
  request.body = std::move(message.body());
  request.received_at = absl::Now();
  method_ = request.method.empty() ? "-" : Printable(request.method, 16);
  target_ = request.target.empty() ? "-" : Printable(request.target);
  if (absl::string_view trace = request.Header("X-Terra-Trace-Id"); !trace.empty()) {
    trace_id_ = Printable(trace);
  }

  const uint64_t number = ++request_number_;
  awaiting_answer_ = true;
  stream_.expires_never();  // the answer timer bounds this wait
  answer_timer_.expires_after(ToChrono(context_->limits.answer_timeout));
  answer_timer_.async_wait(
      beast::bind_front_handler(&HttpSession::OnAnswerTimeout, shared_from_this()));
  context_->handler->Handle(std::move(request),
                            [context = context_, weak = weak_from_this(), number](HttpReply reply) {
                              PostReply(context, weak, number, std::move(reply));
                            });
}

void HttpSession::OnReply(uint64_t request_number, HttpReply reply) {
  // Late: the answer timer answered this request already.
  if (!awaiting_answer_ || request_number != request_number_) return;
  awaiting_answer_ = false;
  answer_timer_.cancel();
  Send(std::move(reply));
}

void HttpSession::OnAnswerTimeout(beast::error_code ec) {
  if (ec || !awaiting_answer_) return;  // cancelled: the handler answered
  awaiting_answer_ = false;
  HttpReply reply = ErrorReply(503, "store_deadline_exceeded", "store unavailable, retry later");
  reply.retry_after = true;
  reply.log_detail = "the handler did not answer within the ingest deadline";
  Send(std::move(reply));
}

void HttpSession::Send(HttpReply reply, bool close, bool linger) {
  if (state_ == State::kClosed) return;  // force-closed while processing
  // A protocol error can come before the request line was parsed.
  const bool have_request = state_ == State::kProcessing;
  if (!have_request && parser_.has_value()) {
    const auto& partial = parser_->get();
    if (!partial.method_string().empty()) method_ = Printable(ToString(partial.method_string()), 16);
    if (!partial.target().empty()) target_ = Printable(ToString(partial.target()));
    if (const auto trace = partial["X-Terra-Trace-Id"]; !trace.empty()) {
      trace_id_ = Printable(ToString(trace));
    }
    if (parser_->is_header_done()) {
      version_ = partial.version();
      keep_alive_requested_ = partial.keep_alive();
    }
  }
  const bool header_done = have_request || (parser_.has_value() && parser_->is_header_done());

  response_ = http::response<http::string_body>();
  response_.version(header_done ? version_ : 11);
  response_.result(static_cast<http::status>(reply.status));
  response_.set(http::field::content_type, reply.content_type);
  if (!reply.allow.empty()) response_.set(http::field::allow, reply.allow);
  if (reply.retry_after) response_.set(http::field::retry_after, kRetryAfterSeconds);
  response_.body() = std::move(reply.body);
  response_.keep_alive(header_done && keep_alive_requested_ && !close && !close_after_response_ &&
                       !context_->handler->draining());
  response_.prepare_payload();
  linger_ = linger;

  const absl::Duration duration =
      header_done ? absl::Now() - request_started_ : absl::ZeroDuration();
  context_->handler->metrics().RecordRequest(reply.status, reply.reason, request_bytes_, duration);
  if (reply.status >= 300) LogFailure(reply);

  state_ = State::kWriting;
  stream_.expires_after(ToChrono(context_->limits.io_timeout));
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::OnWritten, shared_from_this()));
}

void HttpSession::LogFailure(const HttpReply& reply) {
  // The body and the signature header are never logged.
  std::fprintf(stderr, "healthwire gateway: %d %s %s trace_id=%s remote=%s reason=%s: %s%s%s\n",
               reply.status, method_.c_str(), target_.c_str(), trace_id_.c_str(),
               remote_.c_str(), reply.reason.c_str(), Printable(response_.body(), 300).c_str(),
               reply.log_detail.empty() ? "" : " detail: ",
               Printable(reply.log_detail, 300).c_str());
}

void HttpSession::OnWritten(beast::error_code ec, std::size_t /*bytes*/) {
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

void HttpSession::CloseNow() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

// Half-close, then read and discard until the client closes or kLingerTimeout
// passes: closing a socket with unread data sends a reset, which can destroy
// the error answer before the client reads it.
void HttpSession::Linger() {
  state_ = State::kClosing;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(ToChrono(kLingerTimeout));
  buffer_.consume(buffer_.size());
  DiscardUntilClosed();
}

void HttpSession::DiscardUntilClosed() {
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

}  // namespace healthwire
