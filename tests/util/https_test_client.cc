#include "tests/util/https_test_client.h"

#include <chrono>
#include <exception>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace healthwire {
namespace testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;

HttpResponse HttpsRequest(int port, const std::string& ca_file, const std::string& method,
                          const std::string& target, const std::string& body,
                          const HttpHeaders& headers) {
  HttpResponse answer;
  try {
    net::io_context ioc;
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file(ca_file);
    context.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    answer.status = response.result_int();
    answer.body = response.body();
    answer.keep_alive = response.keep_alive();
    for (const auto& field : response) {
      answer.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
  } catch (const std::exception& e) {
    answer.status = 0;
    answer.error = e.what();
  }
  return answer;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> StartHttpsServer(
    const TestCertificates& certs, const std::string& data_dir,
    const std::string& signing_secret, const std::vector<std::string>& extra_flags) {
  std::vector<std::string> flags = {"--data_dir=" + data_dir,
                                    "--grpc_port=0",
                                    "--http_port=0",
                                    absl::StrCat("--signing_secret=", signing_secret),
                                    "--http_tls_cert=" + certs.server().cert,
                                    "--http_tls_key=" + certs.server().key};
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  return ServerProcess::Start("server/healthwire", flags);
}

}  // namespace testing
}  // namespace healthwire
