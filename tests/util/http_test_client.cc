#include "tests/util/http_test_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/webhook/signature_verifier.h"

namespace healthwire {
namespace testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpTestClient::Connection {
  Connection() : stream(ioc) {}

  // Runs the queued async operations to completion (each bounded by the
  // stream's expiry).
  void Run() {
    ioc.restart();
    ioc.run();
  }

  net::io_context ioc;
  beast::tcp_stream stream;
  // Bytes read past a response head by ReadRawHead; the start of what
  // follows.
  std::string pending;
  // Bytes read past a response by Send or ReadResponse (kept for the next).
  beast::flat_buffer buffer;
};

namespace {

void CopyResponse(const http::response<http::string_body>& from, HttpResponse* to) {
  to->status = from.result_int();
  to->body = from.body();
  to->keep_alive = from.keep_alive();
  for (const auto& field : from) {
    to->headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::ostream& operator<<(std::ostream& os, const HttpResponse& response) {
  return os << "HTTP " << response.status << " body=" << response.body.substr(0, 500)
            << " error=" << response.error;
}

HttpTestClient::HttpTestClient(int port) : HttpTestClient(port, Options()) {}

HttpTestClient::HttpTestClient(int port, Options options)
    : options_(std::move(options)), connection_(std::make_unique<Connection>()) {
  beast::error_code ec;
  connection_->stream.socket().connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) connect_error_ = ec.message();
}

HttpTestClient::~HttpTestClient() = default;
HttpTestClient::HttpTestClient(HttpTestClient&&) = default;
HttpTestClient& HttpTestClient::operator=(HttpTestClient&&) = default;

std::string HttpTestClient::SignNow(absl::string_view body, absl::string_view secret) {
  return SignatureVerifier::Sign(secret, absl::ToUnixSeconds(absl::Now()), body);
}

HttpResponse HttpTestClient::Send(absl::string_view method, const std::string& target,
                                  std::string body, const HttpHeaders& headers) {
  HttpResponse result;
  if (!connected()) {
    result.error = "connect: " + connect_error_;
    return result;
  }
  http::request<http::string_body> request(
      http::string_to_verb(beast::string_view(method.data(), method.size())), target, 11);
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  beast::error_code write_ec, read_ec;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(options_.timeout));
  http::async_write(connection_->stream, request,
                    [&](beast::error_code ec, size_t) { write_ec = ec; });
  http::async_read(connection_->stream, connection_->buffer, parser,
                   [&](beast::error_code ec, size_t) { read_ec = ec; });
  connection_->Run();
  if (write_ec) result.error = absl::StrCat("write: ", write_ec.message(), "; ");
  if (read_ec) {
    absl::StrAppend(&result.error, "read: ", read_ec.message());
    return result;
  }
  CopyResponse(parser.get(), &result);
  return result;
}

HttpResponse HttpTestClient::Get(const std::string& target) { return Send("GET", target, ""); }

HttpResponse HttpTestClient::Post(const std::string& body, HttpHeaders headers) {
  headers.emplace_back("Content-Type", "application/json");
  return Send("POST", options_.webhook_path, body, headers);
}

HttpResponse HttpTestClient::PostSigned(const std::string& body, HttpHeaders headers) {
  return PostSignedWithSecret(body, options_.signing_secret, std::move(headers));
}

HttpResponse HttpTestClient::PostSignedWithSecret(const std::string& body,
                                                  const std::string& secret, HttpHeaders headers) {
  headers.emplace_back("terra-signature", SignNow(body, secret));
  return Post(body, std::move(headers));
}

absl::Status HttpTestClient::WriteRaw(absl::string_view bytes) {
  if (!connected()) return absl::UnavailableError("connect: " + connect_error_);
  beast::error_code result;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(options_.timeout));
  net::async_write(connection_->stream, net::buffer(bytes.data(), bytes.size()),
                   [&](beast::error_code ec, size_t) { result = ec; });
  connection_->Run();
  if (result) return absl::UnavailableError("write: " + result.message());
  return absl::OkStatus();
}

absl::Status HttpTestClient::WriteRequestHead(absl::string_view method, absl::string_view target,
                                              const HttpHeaders& headers) {
  std::string head = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  head += "\r\n";
  return WriteRaw(head);
}

std::string HttpTestClient::ReadRawHead() {
  if (!connected()) return "";
  beast::error_code result;
  size_t n = 0;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(options_.timeout));
  net::async_read_until(connection_->stream, net::dynamic_buffer(connection_->pending), "\r\n\r\n",
                        [&](beast::error_code ec, size_t bytes) {
                          result = ec;
                          n = bytes;
                        });
  connection_->Run();
  if (result) return "";
  std::string head = connection_->pending.substr(0, n);
  connection_->pending.erase(0, n);
  return head;
}

HttpResponse HttpTestClient::ReadResponse() {
  HttpResponse result;
  if (!connected()) {
    result.error = "connect: " + connect_error_;
    return result;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  // Bytes ReadRawHead read past its head belong to this response.
  beast::flat_buffer& buffer = connection_->buffer;
  std::string& pending = connection_->pending;
  net::buffer_copy(buffer.prepare(pending.size()), net::buffer(pending));
  buffer.commit(pending.size());
  pending.clear();
  beast::error_code read_ec;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(options_.timeout));
  http::async_read(connection_->stream, buffer, parser,
                   [&](beast::error_code ec, size_t) { read_ec = ec; });
  connection_->Run();
  if (read_ec) {
    result.error = absl::StrCat("read: ", read_ec.message());
    return result;
  }
  CopyResponse(parser.get(), &result);
  return result;
}

std::string HttpTestClient::ReadUntilClosed(absl::Duration within, bool* closed) {
  *closed = false;
  std::string received = std::move(connection_->pending);
  connection_->pending.clear();
  if (!connected()) return received;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(within));
  while (true) {
    char chunk[4096];
    beast::error_code result;
    size_t n = 0;
    connection_->stream.async_read_some(net::buffer(chunk),
                                        [&](beast::error_code ec, size_t bytes) {
                                          result = ec;
                                          n = bytes;
                                        });
    connection_->Run();
    received.append(chunk, n);
    if (result == net::error::eof || result == net::error::connection_reset) {
      *closed = true;
      break;
    }
    if (result) break;  // the time passed (or another error)
  }
  return received;
}

bool HttpTestClient::ServerClosed(absl::Duration within) {
  if (!connected()) return false;
  if (!connection_->pending.empty()) return false;  // a byte had arrived
  char byte;
  beast::error_code result;
  connection_->stream.expires_after(absl::ToChronoNanoseconds(within));
  connection_->stream.async_read_some(net::buffer(&byte, 1),
                                      [&](beast::error_code ec, size_t) { result = ec; });
  connection_->Run();
  return result == net::error::eof || result == net::error::connection_reset;
}

}  // namespace testing
}  // namespace healthwire
