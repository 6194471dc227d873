#include "server/metrics_http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"

namespace healthwire {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct MetricsHttpServer::Impl {
  Options options;
  net::io_context io;
  tcp::acceptor acceptor{io};
};

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(Options options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  beast::error_code ec;
  const auto address = net::ip::make_address(impl->options.address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_address=", impl->options.address, " is not an IP address"));
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl->options.port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(16, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ",
                                               impl->options.address, ":", impl->options.port,
                                               ": ", ec.message()));
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(std::move(impl)));
  server->port_ = server->impl_->acceptor.local_endpoint().port();
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  stopping_ = true;
  beast::error_code ignored;
  // Wakes the blocking accept.
  impl_->acceptor.cancel(ignored);
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  impl_->acceptor.close(ignored);
}

void MetricsHttpServer::Loop() {
  while (!stopping_.load()) {
    beast::error_code ec;
    tcp::socket socket(impl_->io);
    impl_->acceptor.accept(socket, ec);
    if (ec || stopping_.load()) {
      if (stopping_.load()) return;
      continue;
    }
    // A slow or silent client is cut after 5 s (the only thread serves it).
    timeval timeout{5, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    beast::flat_buffer buffer(8192);
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    http::read(socket, buffer, parser, ec);
    if (ec) continue;
    const http::request<http::empty_body>& request = parser.get();
    http::response<http::string_body> response;
    response.version(request.version());
    response.keep_alive(false);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    const beast::string_view target = request.target();
    if (request.method() != http::verb::get) {
      response.result(http::status::method_not_allowed);
      response.body() = "only GET\n";
    } else if (target == "/metrics") {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; version=0.0.4");
      response.body() = impl_->options.metrics ? impl_->options.metrics() : "";
    } else if (target == "/healthz") {
      response.result(http::status::ok);
      response.body() = "ok\n";
    } else if (target == "/readyz") {
      const absl::Status ready = impl_->options.ready ? impl_->options.ready() : absl::OkStatus();
      response.result(ready.ok() ? http::status::ok : http::status::service_unavailable);
      response.body() = ready.ok() ? "ready\n" : absl::StrCat(ready.message(), "\n");
    } else {
      response.result(http::status::not_found);
      response.body() = "not found: /metrics, /healthz, /readyz\n";
    }
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}

}  // namespace healthwire
