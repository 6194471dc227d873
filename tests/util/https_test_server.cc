#include "tests/util/https_test_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/str_cat.h"

namespace healthwire {
namespace testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpsTestServer::Impl {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopping{false};

  absl::Mutex mu;
  std::map<std::string, std::vector<Reply>> replies ABSL_GUARDED_BY(mu);
  std::map<std::string, int> counts ABSL_GUARDED_BY(mu);

  Reply Next(const std::string& path) {
    absl::MutexLock lock(&mu);
    ++counts[path];
    auto it = replies.find(path);
    if (it == replies.end() || it->second.empty()) return Reply{404, "no such object"};
    Reply reply = it->second.front();
    if (it->second.size() > 1) it->second.erase(it->second.begin());
    return reply;
  }

  void Serve(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
    beast::error_code error;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    stream.handshake(asio::ssl::stream_base::server, error);
    if (error) return;  // e.g. a client that refused our certificate
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(stream, buffer, request, error);
    if (error) return;
    std::string path(request.target());
    path = path.substr(0, path.find('?'));
    const Reply reply = Next(path);
    http::response<http::string_body> response{static_cast<http::status>(reply.status),
                                               request.version()};
    response.set(http::field::content_type, "application/json");
    response.body() = reply.body;
    response.keep_alive(false);
    response.prepare_payload();
    http::write(stream, response, error);
    stream.shutdown(error);
  }

  void Loop() {
    while (!stopping.load()) {
      beast::error_code error;
      tcp::socket socket(io);
      acceptor.accept(socket, error);
      if (error || stopping.load()) continue;
      Serve(std::move(socket));
    }
  }
};

absl::StatusOr<std::unique_ptr<HttpsTestServer>> HttpsTestServer::Start() {
  std::unique_ptr<HttpsTestServer> server(new HttpsTestServer());
  absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::Create();
  if (!certificates.ok()) return certificates.status();
  server->certificates_ = *std::move(certificates);
  const CertificateFiles& files = server->certificates_->server();
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  beast::error_code error;
  impl.tls.use_certificate_chain_file(files.cert, error);
  if (!error) impl.tls.use_private_key_file(files.key, asio::ssl::context::pem, error);
  if (error) return absl::InternalError(absl::StrCat("TLS setup: ", error.message()));
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl.acceptor.open(endpoint.protocol(), error);
  if (!error) impl.acceptor.bind(endpoint, error);
  if (!error) impl.acceptor.listen(16, error);
  if (error) return absl::InternalError(absl::StrCat("listen: ", error.message()));
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.thread = std::thread([&impl] { impl.Loop(); });
  return server;
}

HttpsTestServer::~HttpsTestServer() {
  if (impl_ == nullptr) return;
  impl_->stopping.store(true);
  // Wake the blocking accept with one connection of our own.
  {
    beast::error_code error;
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), error);
  }
  impl_->thread.join();
}

std::string HttpsTestServer::Url(const std::string& path) const {
  return absl::StrCat("https://127.0.0.1:", port_, path);
}

void HttpsTestServer::SetReplies(const std::string& path, std::vector<Reply> replies) {
  absl::MutexLock lock(&impl_->mu);
  impl_->replies[path] = std::move(replies);
}

int HttpsTestServer::RequestCount(const std::string& path) {
  absl::MutexLock lock(&impl_->mu);
  return impl_->counts[path];
}

}  // namespace testing
}  // namespace healthwire
