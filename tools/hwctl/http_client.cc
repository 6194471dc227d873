#include "tools/hwctl/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace healthwire {
namespace hwctl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// The words of an error for the user: "connection refused", "timed out".
std::string Describe(const beast::error_code& error) {
  return absl::AsciiStrToLower(error.message());
}

absl::Status TransportError(const HttpUrl& url, absl::string_view step,
                            const beast::error_code& error) {
  const std::string where = absl::StrCat(url.host, ":", url.port);
  if (error == beast::error::timeout) {
    return absl::DeadlineExceededError(absl::StrCat("no answer from ", where, " while ", step));
  }
  return absl::UnavailableError(absl::StrCat("cannot reach ", where, ": ", Describe(error)));
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  absl::string_view rest = url;
  HttpUrl parsed;
  if (absl::ConsumePrefix(&rest, "https://")) {
    parsed.https = true;
  } else if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("not an http:// or https:// URL: \"", url, "\""));
  }
  const size_t slash = rest.find('/');
  const absl::string_view authority = rest.substr(0, slash);
  parsed.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  absl::string_view host = authority;
  absl::string_view port = parsed.https ? "443" : "80";
  if (absl::StartsWith(authority, "[")) {  // [::1]:8080
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad host in URL \"", url, "\""));
    }
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) port = after;
  } else if (const size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  int port_number = 0;
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in URL \"", url, "\""));
  if (!absl::SimpleAtoi(port, &port_number) || port_number <= 0 || port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in URL \"", url, "\""));
  }
  parsed.host = std::string(host);
  parsed.port = std::string(port);
  return parsed;
}

namespace {

bool IsDefaultPort(const HttpUrl& url) { return url.port == (url.https ? "443" : "80"); }

// The request on an open `stream` (tcp_stream or ssl_stream), and its answer.
template <typename Stream>
absl::StatusOr<HttpResponse> WriteAndRead(
    Stream& stream, http::verb method, const HttpUrl& url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string body) {
  beast::error_code error;
  http::request<http::string_body> request(method, url.target, 11);
  request.set(http::field::host,
              IsDefaultPort(url) ? url.host : absl::StrCat(url.host, ":", url.port));
  request.set(http::field::user_agent, "hwctl");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();

  http::write(stream, request, error);
  if (error) return TransportError(url, "sending the request", error);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser, error);
  if (error) return TransportError(url, "reading the response", error);

  HttpResponse response;
  response.status_code = static_cast<int>(parser.get().result_int());
  response.reason = std::string(parser.get().reason());
  response.body = std::move(parser.get().body());
  return response;
}

// A client context that verifies the server: `tls.ca_file`'s roots (else the
// system's), the URL's host in the certificate.
absl::StatusOr<std::unique_ptr<ssl::context>> ClientContext(const HttpUrl& url,
                                                             const HttpTls& tls) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  beast::error_code error;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                       error);
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(error);
  } else {
    context->load_verify_file(tls.ca_file, error);
  }
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load the CA ", tls.ca_file.empty() ? "(system trust store)" : tls.ca_file, ": ",
        Describe(error)));
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, error);
  context->set_verify_callback(ssl::host_name_verification(url.host), error);
  if (error) return absl::InternalError(absl::StrCat("TLS setup: ", Describe(error)));
  return context;
}

absl::StatusOr<HttpResponse> Exchange(
    http::verb method, const HttpUrl& url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string body,
    absl::Duration timeout, const HttpTls& tls) {
  asio::io_context io;
  beast::error_code error;

  tcp::resolver resolver(io);
  const tcp::resolver::results_type endpoints = resolver.resolve(url.host, url.port, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", url.host, ": ", Describe(error)));
  }

  if (!url.https) {
    // One deadline for the whole exchange: tcp_stream's expiry covers every
    // operation started after it is set.
    beast::tcp_stream stream(io);
    stream.expires_after(absl::ToChronoMilliseconds(timeout));
    stream.connect(endpoints, error);
    if (error) return TransportError(url, "connecting", error);
    absl::StatusOr<HttpResponse> response =
        WriteAndRead(stream, method, url, headers, std::move(body));
    // The exchange is over; a failed shutdown changes nothing for the caller.
    stream.socket().shutdown(tcp::socket::shutdown_both, error);
    return response;
  }

  absl::StatusOr<std::unique_ptr<ssl::context>> context = ClientContext(url, tls);
  if (!context.ok()) return context.status();
  beast::ssl_stream<beast::tcp_stream> stream(io, **context);
  beast::get_lowest_layer(stream).expires_after(absl::ToChronoMilliseconds(timeout));
  // SNI: a proxy serving several names picks the certificate by it.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return absl::InternalError("TLS setup: cannot set the server name (SNI)");
  }
  beast::get_lowest_layer(stream).connect(endpoints, error);
  if (error) return TransportError(url, "connecting", error);
  stream.handshake(ssl::stream_base::client, error);
  if (error) {
    if (error == beast::error::timeout) return TransportError(url, "the TLS handshake", error);
    return absl::UnavailableError(absl::StrCat(
        "TLS handshake with ", url.host, ":", url.port, " failed: ", Describe(error),
        tls.ca_file.empty() ? " (trusting the system's CAs; --https_ca names a private CA)"
                            : absl::StrCat(" (trusting ", tls.ca_file, ")")));
  }
  absl::StatusOr<HttpResponse> response =
      WriteAndRead(stream, method, url, headers, std::move(body));
  // The exchange is over; a failed close_notify changes nothing for the caller.
  stream.shutdown(error);
  return response;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpPost(
    const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
    std::string body, absl::Duration timeout, const HttpTls& tls) {
  return Exchange(http::verb::post, url, headers, std::move(body), timeout, tls);
}

absl::StatusOr<HttpResponse> HttpGet(const HttpUrl& url, absl::Duration timeout,
                                     const HttpTls& tls) {
  return Exchange(http::verb::get, url, {}, "", timeout, tls);
}

}  // namespace hwctl
}  // namespace healthwire
