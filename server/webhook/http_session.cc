#include "server/webhook/http_session.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metrics_text.h"

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

// A chunked body (length unknown up front) takes budget in steps of this.
constexpr uint64_t kChunkedReserveStep = 1 << 20;
// The most one read can add to a body (Beast reads at most 64 KiB at once).
constexpr uint64_t kMaxReadBytes = 64 << 10;

// Beast reads min(64 KiB, max(512, free capacity of the read buffer)) at a
// time, and the buffer only grows to what the header needed: a 10 MB body
// was read 512 bytes at a time (20,481 recvmsg + timer re-arms + epoll
// round trips per request, 2026-12-03). So when more than this is still to
// come, the buffer gets room for up to kMaxReadBytes of it before a body
// read; a buffer grown past this is shrunk after its request, so an idle
// keep-alive connection holds little. Small bodies are read as before.
constexpr uint64_t kIdleReadBufferBytes = 4 << 10;

// simdjson's SIMDJSON_PADDING (64 in simdjson 3): spare capacity after a body
// above kPaddedBodyFromBytes (json_body_parser.h's kReusableBodyBytes) lets
// the converter parse it in place. Only an optimisation: with less room the
// converter copies.
constexpr uint64_t kJsonParserPaddingBytes = 64;
constexpr uint64_t kPaddedBodyFromBytes = 256 << 10;

}  // namespace

std::string HttpTransportState::RenderPrometheusText() const {
  std::string text;
  AppendGauge(&text, "healthwire_http_connections", "Open HTTP connections.",
              open_connections.load());
  AppendGauge(&text, "healthwire_http_max_connections",
              "The connection cap (--http_max_connections).", max_connections);
  AppendCounter(&text, "healthwire_http_connections_refused_total",
                "Connections closed at accept because the cap was reached.",
                refused_connections.load());
  AppendGauge(&text, "healthwire_http_buffered_request_bytes",
              "Request body bytes reserved in the buffer budget now.", budget.reserved());
  AppendGauge(&text, "healthwire_http_buffer_budget_bytes",
              "The request buffer budget (--http_buffer_budget_mb).", budget.capacity());
  AppendCounter(&text, "healthwire_http_buffer_budget_refusals_total",
                "Requests answered 503 because the buffer budget stayed full.", budget.refusals());
  AppendMetricHeader(&text, "healthwire_http_timeouts_total", "counter",
                     "Connections cut for a slow request header or a body below the minimum rate.");
  AppendSample(&text, "healthwire_http_timeouts_total", "phase=\"header\"", header_timeouts.load());
  AppendSample(&text, "healthwire_http_timeouts_total", "phase=\"body\"", body_timeouts.load());
  AppendCounter(
      &text, "healthwire_http_tls_handshake_failures_total",
      "TLS handshakes that failed (plaintext to the HTTPS port, timeouts, bad client hellos).",
      tls_handshake_failures.load());
  AppendMetricHeader(&text, "healthwire_http_evictions_total", "counter",
                     "Connections closed at the cap to admit a new one (--http_evict_at_cap): the "
                     "oldest waiting for a header, else the slowest body.");
  AppendSample(&text, "healthwire_http_evictions_total", "phase=\"header\"",
               header_evictions.load());
  AppendSample(&text, "healthwire_http_evictions_total", "phase=\"body\"", body_evictions.load());
  return text;
}

// The stream over an accepted socket: plain TCP, or TLS with the gateway's
// SSL context (the handshake happens in Start).
template <class Stream>
Stream MakeStream(tcp::socket socket, HttpSessionContext& context) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    return Stream(std::move(socket));
  } else {
    return Stream(std::move(socket), *context.tls);
  }
}

template <class Stream>
BasicHttpSession<Stream>::BasicHttpSession(tcp::socket socket,
                                           std::shared_ptr<HttpSessionContext> context)
    : context_(std::move(context)),
      stream_(MakeStream<Stream>(std::move(socket), *context_)),
      answer_timer_(stream_.get_executor()),
      budget_timer_(stream_.get_executor()) {
  context_->transport->open_connections.fetch_add(1);
  beast::error_code ec;
  const tcp::endpoint remote = lowest().socket().remote_endpoint(ec);
  if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
}

template <class Stream>
BasicHttpSession<Stream>::~BasicHttpSession() {
  // Before open_connections: the acceptor counts a pending eviction as a
  // connection already gone.
  if (claimed_for_eviction()) context_->transport->pending_evictions.fetch_sub(1);
  context_->transport->budget.Release(reserved_bytes_);
  context_->transport->open_connections.fetch_sub(1);
  absl::MutexLock lock(&context_->mu);
  context_->sessions.erase(this);
}

template <class Stream>
void BasicHttpSession<Stream>::Start() {
  {
    absl::MutexLock lock(&context_->mu);
    context_->sessions.emplace(this, weak_from_this());
  }
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&BasicHttpSession::ReadHeader, self()));
  } else {
    net::dispatch(stream_.get_executor(), [self = self()] { self->Handshake(); });
  }
}

template <class Stream>
void BasicHttpSession<Stream>::Handshake() {
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    // The handshake counts against the header deadline: a client that opens
    // a TLS connection and stalls is cut like a header trickler.
    state_ = State::kReading;
    PublishPhase(EvictablePhase::kHeader);
    lowest().expires_after(ToChrono(context_->limits.header_timeout));
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = self()](beast::error_code ec) {
                              if (ec) {
                                // Not TLS (a plaintext request), an unknown CA
                                // on the client's side, a timeout: no answer
                                // can be sent, the connection just ends.
                                self->context_->transport->tls_handshake_failures.fetch_add(1);
                                self->lowest().close();
                                self->state_ = State::kClosed;
                                self->PublishPhase(EvictablePhase::kNone);
                                return;
                              }
                              self->state_ = State::kIdle;
                              self->ReadHeader();
                            });
  }
}

template <class Stream>
void BasicHttpSession<Stream>::BeginDrain() {
  const bool idle = state_ == State::kIdle && buffer_.size() == 0 &&
                    (!parser_.has_value() || !parser_->got_some());
  if (idle) {
    CloseNow();
  } else {
    close_after_response_ = true;
  }
}

HttpSession::EvictionView HttpSession::eviction_view() const {
  EvictionView view;
  view.phase = static_cast<EvictablePhase>(published_phase_.load(std::memory_order_acquire));
  view.since = absl::FromUnixNanos(published_since_ns_.load(std::memory_order_relaxed));
  view.body_bytes = published_body_bytes_.load(std::memory_order_relaxed);
  return view;
}

bool HttpSession::ClaimForEviction(HttpTransportState& transport) {
  if (claimed_for_eviction_.exchange(true)) return false;
  transport.pending_evictions.fetch_add(1);
  return true;
}

void HttpSession::PublishPhase(EvictablePhase phase) {
  published_since_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  published_body_bytes_.store(0, std::memory_order_relaxed);
  published_phase_.store(static_cast<int>(phase), std::memory_order_release);
}

void HttpSession::PublishBodyBytes(uint64_t bytes) {
  published_body_bytes_.store(bytes, std::memory_order_relaxed);
}

template <class Stream>
void BasicHttpSession<Stream>::Evict() {
  // The published phase is written on this strand, so it is current here.
  switch (eviction_view().phase) {
    case EvictablePhase::kNone:
      return;  // its request is being answered (or it is closing anyway)
    case EvictablePhase::kHeader:
      context_->transport->header_evictions.fetch_add(1);
      break;
    case EvictablePhase::kBody:
      context_->transport->body_evictions.fetch_add(1);
      logging::Warning("healthwire gateway: closed a slow request body to admit a new connection",
                       {{"remote", remote_},
                        {"bytes", body_bytes_read_},
                        {"after", absl::FormatDuration(absl::Now() - body_started_)}});
      break;
  }
  CloseNow();
}

template <class Stream>
void BasicHttpSession<Stream>::ForceClose() {
  PublishPhase(EvictablePhase::kNone);
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
  lowest().close();
  state_ = State::kClosed;
}

template <class Stream>
void BasicHttpSession<Stream>::PostReply(const std::shared_ptr<HttpSessionContext>& context,
                            const std::weak_ptr<BasicHttpSession>& weak, uint64_t request_number,
                            HttpReply reply) {
  absl::MutexLock lock(&context->mu);
  if (context->stopped) return;  // the io threads are gone or going
  std::shared_ptr<BasicHttpSession> session = weak.lock();
  if (session == nullptr) return;  // the answer timer answered and the connection ended
  net::any_io_executor executor = session->executor();
  // The handler owns the only new reference, so the session is never
  // destroyed here, under context->mu (its destructor takes that lock).
  net::post(executor, [session = std::move(session), request_number,
                       reply = std::move(reply)]() mutable {
    session->OnReply(request_number, std::move(reply));
  });
}

template <class Stream>
void BasicHttpSession<Stream>::ReadHeader() {
  if (state_ == State::kClosed) return;
  if (context_->handler->draining() && buffer_.size() == 0) {
    CloseNow();
    return;
  }
  state_ = State::kIdle;
  PublishPhase(EvictablePhase::kHeader);
  request_bytes_ = 0;
  body_bytes_read_ = 0;
  method_ = target_ = trace_id_ = "-";
  parser_.emplace();
  parser_->body_limit(context_->limits.max_body_bytes);
  // One deadline for the whole header: it does not restart on every byte.
  lowest().expires_after(
      ToChrono(std::min(context_->limits.io_timeout, context_->limits.header_timeout)));
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&BasicHttpSession::OnHeader, self()));
}

template <class Stream>
void BasicHttpSession<Stream>::OnHeader(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    OnReadError(ec);
    return;
  }
  state_ = State::kReading;
  PublishPhase(EvictablePhase::kBody);
  request_started_ = absl::Now();
  const auto& request = parser_->get();
  // RFC 9112 6.3: a Transfer-Encoding whose final coding is not chunked
  // leaves the body length unknown; reading on would take the body for the
  // next request. Answer 400 and close.
  if (request.count(http::field::transfer_encoding) > 0 && !parser_->chunked()) {
    HttpReply reply = ErrorReply(400, "unsupported_transfer_encoding",
                                 "Transfer-Encoding must end with chunked");
    reply.log_detail = Printable(ToString(request[http::field::transfer_encoding]));
    Send(std::move(reply), /*close=*/true, /*linger=*/true);
    return;
  }
  uint64_t declared = 0;
  if (parser_->content_length().has_value()) {
    declared = *parser_->content_length();
  } else if (parser_->chunked()) {
    declared = kChunkedReserveStep;
  }
  declared = std::min<uint64_t>(declared, context_->limits.max_body_bytes);
  budget_wait_until_ = absl::Now() + context_->limits.buffer_wait;
  ReserveBody(declared, &BasicHttpSession::ContinueOrReadBody);
}

template <class Stream>
void BasicHttpSession<Stream>::ReserveBody(uint64_t bytes, void (BasicHttpSession::*next)()) {
  if (state_ == State::kClosed) return;
  if (bytes == 0 || context_->transport->budget.TryReserve(bytes)) {
    reserved_bytes_ += bytes;
    (this->*next)();
    return;
  }
  if (absl::Now() >= budget_wait_until_) {
    context_->transport->budget.CountRefusal();
    HttpReply reply = ErrorReply(503, "buffer_budget_exhausted",
                                 "too many large requests at once, retry later");
    reply.retry_after = true;
    Send(std::move(reply), /*close=*/true, /*linger=*/true);
    return;
  }
  // The socket is not read meanwhile; the client's data waits in TCP buffers.
  lowest().expires_never();
  budget_timer_.expires_after(std::chrono::milliseconds(20));
  budget_timer_.async_wait([self = self(), bytes, next](beast::error_code ec) {
    if (ec) return;
    self->ReserveBody(bytes, next);
  });
}

template <class Stream>
void BasicHttpSession<Stream>::ContinueOrReadBody() {
  body_started_ = absl::Now();
  // Only now, with the body's budget granted: a request still waiting for
  // budget holds no body memory. (Reserved at the header, each of 30 waiting
  // 16 MB bodies had its own allocation; once bodies were read quickly, every
  // one was filled in turn and the freed ones were not reused: 524 MB peak
  // RSS under a 64 MB budget in GatewayLimitsTest.BufferBudgetBoundsPeak...)
  if (const auto length = parser_->content_length();
      length.has_value() && *length > kPaddedBodyFromBytes &&
      *length <= context_->limits.max_body_bytes) {
    // Room for the JSON parser's padding past the body: the converter
    // then parses a large body in this buffer instead of a padded copy.
    parser_->get().body().reserve(*length + kJsonParserPaddingBytes);
  }
  const auto& request = parser_->get();
  // curl and some HTTP clients wait for "100 Continue" before sending a
  // large body.
  if (beast::iequals(request[http::field::expect], "100-continue")) {
    continue_response_ =
        http::response<http::empty_body>(http::status::continue_, request.version());
    lowest().expires_after(ToChrono(context_->limits.io_timeout));
    http::async_write(stream_, continue_response_,
                      [self = self()](beast::error_code ec, std::size_t) {
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

// Reads the body piece by piece. Each read must come within io_timeout (a
// stall) and before the minimum-rate deadline, which grows by one second per
// body_min_rate bytes received: a large body over a slow but honest link
// gets in, one byte every 20 s does not.
template <class Stream>
void BasicHttpSession<Stream>::ReadBody() {
  if (parser_->is_done()) {
    Process();
    return;
  }
  if (!parser_->content_length().has_value() &&
      body_bytes_read_ + kMaxReadBytes > reserved_bytes_) {
    ReserveBody(kChunkedReserveStep, &BasicHttpSession::ReadBody);
    return;
  }
  const HttpSessionContext::Limits& limits = context_->limits;
  absl::Time deadline = absl::Now() + limits.io_timeout;
  if (limits.body_min_rate > 0) {
    deadline = std::min(deadline, body_started_ + limits.body_grace +
                                      absl::Seconds(static_cast<double>(body_bytes_read_) /
                                                    static_cast<double>(limits.body_min_rate)));
  }
  lowest().expires_after(ToChrono(std::max(deadline - absl::Now(), absl::ZeroDuration())));
  // Room for the next read: what the body still needs (already budgeted by
  // ReserveBody), at most kMaxReadBytes.
  const uint64_t wanted = std::min<uint64_t>(
      kMaxReadBytes, parser_->content_length_remaining().value_or(kMaxReadBytes));
  if (wanted > kIdleReadBufferBytes && buffer_.capacity() - buffer_.size() < wanted) {
    buffer_.reserve(buffer_.size() + static_cast<std::size_t>(wanted));
  }
  http::async_read_some(stream_, buffer_, *parser_,
                        [self = self()](beast::error_code ec, std::size_t bytes) {
                          self->body_bytes_read_ += bytes;
                          self->PublishBodyBytes(self->body_bytes_read_);
                          if (ec) {
                            self->OnReadError(ec);
                            return;
                          }
                          self->ReadBody();
                        });
}

template <class Stream>
void BasicHttpSession<Stream>::OnReadError(beast::error_code ec) {
  if (ec == http::error::end_of_stream) {  // client closed between requests
    CloseNow();
    return;
  }
  if (ec == net::error::operation_aborted || state_ == State::kClosed) return;
  if (ec == beast::error::timeout) {
    // tcp_stream already closed the socket. Idle keep-alive timeouts are
    // normal; a stalled request is worth a log line.
    if (state_ == State::kReading) {
      context_->transport->body_timeouts.fetch_add(1);
      logging::Warning("healthwire gateway: cut a request body stalled or below the minimum rate",
                       {{"remote", remote_},
                        {"bytes", body_bytes_read_},
                        {"after", absl::FormatDuration(absl::Now() - body_started_)}});
    } else if (parser_.has_value() && parser_->got_some()) {
      context_->transport->header_timeouts.fetch_add(1);
    }
    state_ = State::kClosed;
    PublishPhase(EvictablePhase::kNone);
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

template <class Stream>
void BasicHttpSession<Stream>::Process() {
  state_ = State::kProcessing;
  PublishPhase(EvictablePhase::kNone);
  http::request<http::string_body> message = parser_->release();
  version_ = message.version();
  keep_alive_requested_ = message.keep_alive();
  request_bytes_ = message.body().size();
  if (buffer_.capacity() > kIdleReadBufferBytes && buffer_.size() <= kIdleReadBufferBytes) {
    buffer_.shrink_to_fit();  // keeps what a pipelining client already sent
  }

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
  lowest().expires_never();  // the answer timer bounds this wait
  answer_timer_.expires_after(ToChrono(context_->limits.answer_timeout));
  answer_timer_.async_wait(
      beast::bind_front_handler(&BasicHttpSession::OnAnswerTimeout, self()));
  context_->handler->Handle(std::move(request),
                            [context = context_, weak = std::weak_ptr<BasicHttpSession>(self()), number](HttpReply reply) {
                              PostReply(context, weak, number, std::move(reply));
                            });
}

template <class Stream>
void BasicHttpSession<Stream>::OnReply(uint64_t request_number, HttpReply reply) {
  // Late: the answer timer answered this request already.
  if (!awaiting_answer_ || request_number != request_number_) return;
  awaiting_answer_ = false;
  answer_timer_.cancel();
  Send(std::move(reply));
}

template <class Stream>
void BasicHttpSession<Stream>::OnAnswerTimeout(beast::error_code ec) {
  if (ec || !awaiting_answer_) return;  // cancelled: the handler answered
  awaiting_answer_ = false;
  HttpReply reply = ErrorReply(503, "store_deadline_exceeded", "store unavailable, retry later");
  reply.retry_after = true;
  reply.log_detail = "the handler did not answer within the ingest deadline";
  Send(std::move(reply));
}

template <class Stream>
void BasicHttpSession<Stream>::Send(HttpReply reply, bool close, bool linger) {
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

  // The request is done with its body: give its budget back.
  context_->transport->budget.Release(reserved_bytes_);
  reserved_bytes_ = 0;

  const absl::Duration duration =
      header_done ? absl::Now() - request_started_ : absl::ZeroDuration();
  switch (reply.kind) {
    case ReplyKind::kWebhook:
      context_->handler->metrics().RecordRequest(reply.status, reply.reason, request_bytes_,
                                                 duration);
      break;
    case ReplyKind::kProbe:
      context_->handler->metrics().RecordProbe(reply.endpoint, reply.status);
      break;
    case ReplyKind::kOther:
      context_->handler->metrics().RecordProbe("other", reply.status);
      break;
  }
  if (reply.kind == ReplyKind::kWebhook) {
    LogAccess(reply, duration);
  } else if (reply.status >= 300) {
    LogFailure(reply);
  }

  state_ = State::kWriting;
  PublishPhase(EvictablePhase::kNone);
  lowest().expires_after(ToChrono(context_->limits.io_timeout));
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&BasicHttpSession::OnWritten, self()));
}

template <class Stream>
void BasicHttpSession<Stream>::LogFailure(const HttpReply& reply) {
  // The request body and the signature header are never logged.
  logging::Warning("http", {{"status", reply.status},
                            {"method", method_},
                            {"path", target_},
                            {"remote", remote_},
                            {"reason", reply.reason}});
}

template <class Stream>
void BasicHttpSession<Stream>::LogAccess(const HttpReply& reply, absl::Duration duration) {
  // One line per webhook, 200s included. Ids, types and counts only: the
  // body (health data) and the signature are never logged. The error text
  // is the one the sender got (fixed messages and field paths), the detail
  // the internal reason.
  const WebhookSummary& w = reply.webhook;
  const bool ok = reply.status < 300;
  const double ms = absl::ToDoubleMilliseconds(duration);
  if (ok && w.log_sequence != 0) {
    // Cluster mode: the gateway knows the commit-log position, not the
    // replicas' outcomes.
    logging::Info("webhook", {{"status", reply.status},
                              {"reason", reply.reason},
                              {"type", Printable(w.terra_type, 64)},
                              {"user", Printable(w.user_id, 128)},
                              {"events", w.events},
                              {"schema_problems", w.schema_problems},
                              {"log_sequence", w.log_sequence},
                              {"trace_id", trace_id_},
                              {"bytes", request_bytes_},
                              {"ms", ms},
                              {"remote", remote_}});
    return;
  }
  if (ok) {
    logging::Info("webhook", {{"status", reply.status},
                              {"reason", reply.reason},
                              {"type", Printable(w.terra_type, 64)},
                              {"user", Printable(w.user_id, 128)},
                              {"events", w.events},
                              {"stored", w.stored},
                              {"identical", w.identical},
                              {"stale", w.stale},
                              {"schema_problems", w.schema_problems},
                              {"revision", w.revision},
                              {"trace_id", trace_id_},
                              {"bytes", request_bytes_},
                              {"ms", ms},
                              {"remote", remote_}});
    return;
  }
  logging::Write(reply.status >= 500 ? logging::Level::kError : logging::Level::kWarning,
                 "webhook", {{"status", reply.status},
                             {"reason", reply.reason},
                             {"type", Printable(w.terra_type, 64)},
                             {"user", Printable(w.user_id, 128)},
                             {"events", w.events},
                             {"trace_id", trace_id_},
                             {"bytes", request_bytes_},
                             {"ms", ms},
                             {"remote", remote_},
                             {"method", method_},
                             {"path", target_},
                             {"error", Printable(response_.body(), 300)},
                             {"detail", Printable(reply.log_detail, 300)}});
}

template <class Stream>
void BasicHttpSession<Stream>::OnWritten(beast::error_code ec, std::size_t /*bytes*/) {
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

template <class Stream>
void BasicHttpSession<Stream>::CloseNow() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  PublishPhase(EvictablePhase::kNone);
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest().close();
}

// Half-close, then read and discard until the client closes or kLingerTimeout
// passes: closing a socket with unread data sends a reset, which can destroy
// the error answer before the client reads it.
template <class Stream>
void BasicHttpSession<Stream>::Linger() {
  state_ = State::kClosing;
  PublishPhase(EvictablePhase::kNone);
  beast::error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  lowest().expires_after(ToChrono(kLingerTimeout));
  buffer_.consume(buffer_.size());
  DiscardUntilClosed();
}

template <class Stream>
void BasicHttpSession<Stream>::DiscardUntilClosed() {
  stream_.async_read_some(buffer_.prepare(64 * 1024),
                          [self = self()](beast::error_code ec, std::size_t) {
                            if (ec) {
                              self->state_ = State::kClosed;
                              self->lowest().close();
                              return;
                            }
                            self->DiscardUntilClosed();
                          });
}

template class BasicHttpSession<boost::beast::tcp_stream>;
template class BasicHttpSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace healthwire
