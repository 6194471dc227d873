// The webhook port over HTTPS (--http_tls_cert/--http_tls_key) against the
// real binary: a signed webhook over TLS is stored, plaintext HTTP to the
// port gets no HTTP answer, the gRPC side is unaffected, and stalled TLS
// handshakes are evicted at the connection cap like header tricklers.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/child_process.h"
#include "tests/util/http_test_client.h"
#include "tests/util/https_test_client.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"
#include "tests/util/test_certificates.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace testing {
namespace {

constexpr char kSecret[] = "https-secret";

// One signed POST over TLS, verifying the server against `ca_file`.
HttpResponse PostSignedOverTls(int port, const std::string& ca_file, const std::string& body) {
  return HttpsRequest(port, ca_file, "POST", "/webhooks/terra", body,
                      {{"Content-Type", "application/json"},
                       {"terra-signature", HttpTestClient::SignNow(body, kSecret)}});
}

TEST(HttpsWebhookTest, SignedWebhookOverTlsIsStoredAndPlaintextGetsNoAnswer) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  TempDir data("https-data");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      StartHttpsServer(**certs, data.path(), kSecret);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(absl::StrContains((*server)->Stderr(), "https=127.0.0.1:")) << (*server)->Stderr();

  const HttpResponse stored = PostSignedOverTls(
      (*server)->http_port(), (*certs)->ca_cert(),
      simulator::SleepWebhookBuilder("user-tls", "s-tls").Json());
  EXPECT_EQ(stored.status, 200) << stored.error << stored.body;
  EXPECT_TRUE(absl::StrContains(stored.body, "\"stored\":1")) << stored.body;

  // A client that trusts another CA refuses the server.
  const HttpResponse wrong_ca = PostSignedOverTls(
      (*server)->http_port(), (*certs)->other_ca_cert(),
      simulator::SleepWebhookBuilder("user-tls", "s-tls-2").Json());
  EXPECT_EQ(wrong_ca.status, 0);
  EXPECT_FALSE(wrong_ca.error.empty());

  // Plaintext HTTP: the server expects a TLS ClientHello, fails the handshake
  // and closes; no HTTP answer, nothing stored.
  HttpTestClient::Options options;
  options.signing_secret = kSecret;
  options.timeout = absl::Seconds(10);
  HttpTestClient plaintext((*server)->http_port(), options);
  const HttpResponse refused =
      plaintext.PostSigned(simulator::SleepWebhookBuilder("user-plain", "s-plain").Json());
  EXPECT_EQ(refused.status, 0) << refused;

  auto stub = v1::EventStore::NewStub(
      grpc::CreateChannel((*server)->grpc_target(), grpc::InsecureChannelCredentials()));
  auto latest = [&](const std::string& user) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(v1::EVENT_TYPE_SLEEP);
    v1::GetLatestResponse response;
    grpc::ClientContext context;
    return stub->GetLatest(&context, request, &response).error_code();
  };
  EXPECT_EQ(latest("user-tls"), grpc::StatusCode::OK);
  EXPECT_EQ(latest("user-plain"), grpc::StatusCode::NOT_FOUND);
}

// Eviction at the connection cap works for TLS sessions too: connections
// that open TCP and never start the handshake fill the cap; after a second
// a real HTTPS webhook closes the oldest of them and gets 200, and the
// eviction is counted as the header phase.
TEST(HttpsWebhookTest, StalledHandshakesAtTheCapAreEvictedForARealWebhook) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  TempDir data("https-evict-data");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      StartHttpsServer(**certs, data.path(), kSecret, {"--http_max_connections=4"});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->http_port();

  boost::asio::io_context ioc;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> stalled;
  for (int i = 0; i < 4; ++i) {
    auto socket = std::make_unique<boost::asio::ip::tcp::socket>(ioc);
    socket->connect(boost::asio::ip::tcp::endpoint(
        boost::asio::ip::make_address("127.0.0.1"), port));
    stalled.push_back(std::move(socket));
  }
  absl::SleepFor(absl::Milliseconds(1300));  // older than the eviction age (1 s)

  for (int i = 0; i < 2; ++i) {
    const HttpResponse answer = PostSignedOverTls(
        port, (*certs)->ca_cert(),
        simulator::SleepWebhookBuilder("user-evict", absl::StrCat("s-", i)).Json());
    EXPECT_EQ(answer.status, 200) << i << ": " << answer.error << answer.body;
  }
  // The first eviction's victim was a stalled handshake: it reads EOF.
  int closed = 0;
  for (auto& socket : stalled) {
    socket->non_blocking(true);
    char byte;
    boost::system::error_code ec;
    for (int tries = 0; tries < 50; ++tries) {
      socket->read_some(boost::asio::buffer(&byte, 1), ec);
      if (ec != boost::asio::error::would_block) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    closed += ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }
  EXPECT_GE(closed, 1);
  const std::string metrics = HttpsRequest(port, (*certs)->ca_cert(), "GET", "/metrics").body;
  EXPECT_TRUE(absl::StrContains(metrics, "healthwire_http_evictions_total{phase=\"header\"} "))
      << metrics.substr(0, 300);
  EXPECT_FALSE(absl::StrContains(metrics, "healthwire_http_evictions_total{phase=\"header\"} 0\n"))
      << metrics;
}

// hwctl send against the real server with HTTPS on: it verifies the server
// with --https_ca and refuses a server it cannot verify.
TEST(HttpsWebhookTest, HwctlSendPostsOverHttpsOnlyToAServerItCanVerify) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  TempDir data("https-data");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      StartHttpsServer(**certs, data.path(), kSecret);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string body_file = data.path() + "/../hwctl-body.json";
  std::ofstream(body_file) << simulator::SleepWebhookBuilder("user-hwctl", "s-hwctl").Json();

  struct Sent {
    int code = -1;
    std::string out, err;
  };
  auto send = [&](const std::string& scheme, const std::string& host,
                  std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "send", body_file, absl::StrCat("--secret=", kSecret),
        absl::StrCat("--url=", scheme, "://", host, ":", (*server)->http_port(),
                     "/webhooks/terra")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ChildProcess::Start("tools/hwctl/hwctl", args);
    EXPECT_TRUE(process.ok()) << process.status();
    Sent sent;
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok());
    sent.code = code.value_or(-1);
    sent.out = (*process)->Stdout();
    sent.err = (*process)->Stderr();
    return sent;
  };

  // A CA that did not sign the server's certificate: refused before anything is sent.
  const Sent foreign = send("https", "127.0.0.1", {"--https_ca=" + (*certs)->other_ca_cert()});
  EXPECT_EQ(foreign.code, 3) << foreign.out << foreign.err;
  EXPECT_TRUE(absl::StrContains(foreign.err, "TLS handshake")) << foreign.err;
  EXPECT_TRUE(absl::StrContains(foreign.err, "certificate verify failed")) << foreign.err;
  // No --https_ca: the system's trust store does not know the test CA.
  const Sent system_roots = send("https", "127.0.0.1", {});
  EXPECT_EQ(system_roots.code, 3) << system_roots.out << system_roots.err;
  // Plaintext to the HTTPS port: no HTTP answer.
  const Sent plaintext = send("http", "127.0.0.1", {});
  EXPECT_EQ(plaintext.code, 3) << plaintext.out << plaintext.err;

  // The right CA, by IP and by name (both in the certificate's SANs): stored.
  const Sent stored = send("https", "127.0.0.1", {"--https_ca=" + (*certs)->ca_cert()});
  EXPECT_EQ(stored.code, 0) << stored.out << stored.err;
  EXPECT_TRUE(absl::StrContains(stored.out, "HTTP 200")) << stored.out;
  EXPECT_TRUE(absl::StrContains(stored.out, "\"stored\":1")) << stored.out;
  const Sent by_name = send("https", "localhost", {"--https_ca=" + (*certs)->ca_cert()});
  EXPECT_EQ(by_name.code, 0) << by_name.out << by_name.err;
  EXPECT_TRUE(absl::StrContains(by_name.out, "\"identical\":1")) << by_name.out;
}

TEST(HttpsWebhookTest, CertificateWithoutItsKeyRefusesToStart) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  TempDir data("https-data");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      "server/healthwire", {"--data_dir=" + data.path(), "--grpc_port=0", "--http_port=0",
                            "--http_tls_cert=" + (*certs)->server().cert});
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(absl::StrContains(server.status().message(),
                                "--http_tls_cert and --http_tls_key go together"))
      << server.status();
}

}  // namespace
}  // namespace testing
}  // namespace healthwire
