#include "tools/hwctl/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

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
  if (!absl::ConsumePrefix(&rest, "http://")) {
    if (absl::StartsWith(url, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat("https is not supported (", url,
                                                     "); post to healthwire's plain http:// port"));
    }
    return absl::InvalidArgumentError(absl::StrCat("not an http:// URL: \"", url, "\""));
  }
  HttpUrl parsed;
  const size_t slash = rest.find('/');
  const absl::string_view authority = rest.substr(0, slash);
  parsed.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  absl::string_view host = authority;
  absl::string_view port = "80";
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

absl::StatusOr<HttpResponse> Exchange(
    http::verb method, const HttpUrl& url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string body,
    absl::Duration timeout) {
  asio::io_context io;
  beast::error_code error;

  tcp::resolver resolver(io);
  const tcp::resolver::results_type endpoints = resolver.resolve(url.host, url.port, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", url.host, ": ", Describe(error)));
  }

  // One deadline for the whole exchange: tcp_stream's expiry covers every
  // operation started after it is set.
  beast::tcp_stream stream(io);
  stream.expires_after(absl::ToChronoMilliseconds(timeout));
  stream.connect(endpoints, error);
  if (error) return TransportError(url, "connecting", error);

  http::request<http::string_body> request(method, url.target, 11);
  request.set(http::field::host,
              url.port == "80" ? url.host : absl::StrCat(url.host, ":", url.port));
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

  // The exchange is over; a failed shutdown changes nothing for the caller.
  stream.socket().shutdown(tcp::socket::shutdown_both, error);

  HttpResponse response;
  response.status_code = static_cast<int>(parser.get().result_int());
  response.reason = std::string(parser.get().reason());
  response.body = std::move(parser.get().body());
  return response;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpPost(
    const HttpUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
    std::string body, absl::Duration timeout) {
  return Exchange(http::verb::post, url, headers, std::move(body), timeout);
}

absl::StatusOr<HttpResponse> HttpGet(const HttpUrl& url, absl::Duration timeout) {
  return Exchange(http::verb::get, url, {}, "", timeout);
}

}  // namespace hwctl
}  // namespace healthwire
