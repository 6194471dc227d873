// The HTTP/JSON read API under the store's client authentication, against
// the real binaries on loopback: it takes the same bearer tokens, roles and
// type limits as the gRPC port (401 without or with an unknown token, 403
// naming the missing role or type, 200 with the right one), its accesses
// are in the audit log like gRPC ones (with the HTTP client's address), and
// a split gateway's read API never lends its own client certificate to an
// HTTP client; over HTTPS (--read_api_tls_cert) plaintext gets no answer, and
// off loopback it needs HTTPS and tokens or refuses to start.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/util/http_test_client.h"
#include "tests/util/https_test_client.h"
#include "tests/util/server_process.h"
#include "tests/util/temp_dir.h"
#include "tests/util/test_certificates.h"
#include "tests/util/test_files.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace testing {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;

constexpr char kSecret[] = "read-api-security-secret";
constexpr char kIngestToken[] = "ingest-token-0123456789abcdef";
constexpr char kReadToken[] = "read-token-0123456789abcdef";
constexpr char kSleepToken[] = "sleep-token-0123456789abcdef";
// Only the stored record holds it: no refusal and no audit line may.
constexpr char kMarkerProvider[] = "PROVIDER-MARKER-5521";

class ReadApiSecurityTest : public ::testing::Test {
 protected:
  std::string TokensFile() {
    return WriteTestFile(files_.path(), "tokens",
                         absl::StrCat(kIngestToken, " gateway ingest\n", kReadToken,
                                      " dashboard read\n", kSleepToken,
                                      " sleep-scorer read types=sleep,activity\n",
                                      "cert:gateway-1 gateway-1 ingest\n"));
  }

  // GET `target` from the read API on `port` with `token` ("" = none).
  static HttpResponse Get(int port, const std::string& target, const std::string& token) {
    HttpTestClient::Options options;
    options.timeout = absl::Seconds(20);
    HttpTestClient client(port, options);
    HttpHeaders headers;
    if (!token.empty()) headers.emplace_back("Authorization", absl::StrCat("Bearer ", token));
    return client.Send("GET", target, "", headers);
  }

  static void PostSleep(int http_port, const std::string& user) {
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    HttpTestClient webhooks(http_port, options);
    const HttpResponse stored =
        webhooks.PostSigned(SleepWebhookBuilder(user, "s-" + user).Provider(kMarkerProvider).Json());
    ASSERT_EQ(stored.status, 200) << stored;
  }

  TempDir data_{"read-api-security"};
  TempDir files_{"read-api-security-files"};
};

TEST_F(ReadApiSecurityTest, TakesTheStoresTokensRolesAndTypeLimits) {
  const std::string audit = files_.path() + "/audit.log";
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      "server/healthwire",
      {"--data_dir=" + data_.path(), "--http_port=0", "--grpc_port=0", "--read_api_port=0",
       absl::StrCat("--signing_secret=", kSecret), "--grpc_tokens_file=" + TokensFile(),
       "--audit_log=" + audit});
  ASSERT_TRUE(server.ok()) << server.status();
  PostSleep((*server)->http_port(), "user-1");
  const int port = std::stoi((*server)->ReadyValue("read_api_port"));
  const std::string latest = "/v1/users/user-1/latest/sleep";

  const HttpResponse anonymous = Get(port, latest, "");
  EXPECT_EQ(anonymous.status, 401) << anonymous;
  EXPECT_EQ(anonymous.header("www-authenticate"), "Bearer") << anonymous;
  EXPECT_TRUE(absl::StrContains(anonymous.body, "\"status\":\"UNAUTHENTICATED\"")) << anonymous;

  EXPECT_EQ(Get(port, latest, "unknown-token-0123456789abcdef").status, 401);
  // Not a Bearer header at all; bytes gRPC metadata cannot carry.
  {
    HttpTestClient client(port);
    EXPECT_EQ(client.Send("GET", latest, "", {{"Authorization", "Basic dXNlcjpwYXNz"}}).status,
              401);
    EXPECT_EQ(client.Send("GET", latest, "", {{"Authorization", "Bearer \x80\xff"}}).status, 401);
  }

  // The gateway's ingest token reads nothing.
  const HttpResponse ingest = Get(port, latest, kIngestToken);
  EXPECT_EQ(ingest.status, 403) << ingest;
  EXPECT_TRUE(absl::StrContains(ingest.body, "needs the read role, which gateway does not have"))
      << ingest;
  EXPECT_FALSE(absl::StrContains(ingest.body, kMarkerProvider)) << ingest;

  const HttpResponse read = Get(port, latest, kReadToken);
  EXPECT_EQ(read.status, 200) << read;
  EXPECT_TRUE(absl::StrContains(read.body, kMarkerProvider)) << read;
  EXPECT_EQ(Get(port, "/v1/users/user-1", kReadToken).status, 200);

  // A read limited to sleep and activity: sleep yes, menstruation no (latest,
  // records, and a stream of it or of every type).
  EXPECT_EQ(Get(port, latest, kSleepToken).status, 200);
  for (const std::string& target :
       {std::string("/v1/users/user-1/latest/menstruation"),
        std::string("/v1/users/user-1/records/menstruation"),
        std::string("/v1/updates?types=sleep,menstruation&from_revision=1"),
        std::string("/v1/updates?from_revision=1")}) {
    const HttpResponse denied = Get(port, target, kSleepToken);
    EXPECT_EQ(denied.status, 403) << target << " " << denied;
    EXPECT_TRUE(absl::StrContains(denied.body, "sleep-scorer's covers only")) << denied;
    EXPECT_FALSE(absl::StrContains(denied.body, kMarkerProvider)) << denied;
  }
  // Its own types stream: the 200 head, then the stored sleep record.
  {
    HttpTestClient::Options options;
    options.timeout = absl::Seconds(20);
    HttpTestClient client(port, options);
    ASSERT_TRUE(client
                    .WriteRequestHead("GET", "/v1/updates?types=sleep&from_revision=1&format=ndjson",
                                      {{"Authorization", absl::StrCat("Bearer ", kSleepToken)}})
                    .ok());
    EXPECT_TRUE(absl::StartsWith(client.ReadRawHead(), "HTTP/1.1 200")) << "stream refused";
    bool closed = false;
    EXPECT_TRUE(absl::StrContains(client.ReadUntilClosed(absl::Seconds(2), &closed),
                                  kMarkerProvider));
  }

  ASSERT_TRUE((*server)->Stop(SIGTERM).ok());
  const std::string log = ReadFileOrEmpty(audit);
  std::vector<std::string> read_api_lines;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "\"on_behalf_of\":\"http:127.0.0.1:")) {
      read_api_lines.emplace_back(line);
    }
  }
  // Every read API call above left its line (a stream two: open and end),
  // except the one whose header gRPC metadata cannot carry: it never reached
  // the store.
  EXPECT_EQ(read_api_lines.size(), 13u) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"identity\":\"-\",\"auth\":\"-\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"identity\":\"dashboard\",\"auth\":\"token\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"rpc\":\"GetLatest\",\"subject\":{\"user_id\":\"user-1\"},"
                                     "\"types\":[\"sleep\"],\"records\":1,\"result\":\"OK\""))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "\"types\":[\"menstruation\"],\"result\":\"PERMISSION_DENIED\""))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "\"rpc\":\"StreamUpdates\"")) << log;
  EXPECT_FALSE(absl::StrContains(log, kMarkerProvider)) << "health data in the audit log";
  EXPECT_FALSE(absl::StrContains(log, kSleepToken)) << "a token in the audit log";
  EXPECT_FALSE(absl::StrContains((*server)->Stderr(), kSleepToken)) << "a token in the log";
}

// The split gateway's read API reaches the store over the gateway's mutual
// TLS, but its HTTP clients must bring their own token: the gateway's
// certificate is never their identity, whether the store maps certificates
// to roles (tokens file) or trusts every certificate of its CA (no tokens
// file).
TEST_F(ReadApiSecurityTest, SplitGatewayNeverLendsItsCertificateToHttpClients) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  absl::StatusOr<CertificateFiles> gateway_cert = (*certs)->IssueClient("gateway-1");
  ASSERT_TRUE(gateway_cert.ok()) << gateway_cert.status();
  const std::vector<std::string> mtls = {"--grpc_tls_cert=" + (*certs)->server().cert,
                                         "--grpc_tls_key=" + (*certs)->server().key,
                                         "--grpc_client_ca=" + (*certs)->ca_cert()};

  for (const bool with_tokens : {true, false}) {
    SCOPED_TRACE(with_tokens ? "store with a tokens file" : "store trusting every certificate");
    TempDir store_dir("store"), gateway_dir("gateway");
    std::vector<std::string> store_flags = mtls;
    store_flags.push_back("--data_dir=" + store_dir.path());
    store_flags.push_back("--grpc_port=0");
    if (with_tokens) store_flags.push_back("--grpc_tokens_file=" + TokensFile());
    absl::StatusOr<std::unique_ptr<ServerProcess>> store =
        ServerProcess::Start("server/healthwire_store", store_flags);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::unique_ptr<ServerProcess>> gateway = ServerProcess::Start(
        "server/healthwire_gateway",
        {"--store=" + (*store)->grpc_target(), "--data_dir=" + gateway_dir.path(),
         "--http_port=0", "--read_api_port=0", absl::StrCat("--signing_secret=", kSecret),
         "--store_tls_ca=" + (*certs)->ca_cert(), "--store_tls_cert=" + gateway_cert->cert,
         "--store_tls_key=" + gateway_cert->key});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    PostSleep((*gateway)->http_port(), "user-9");
    const int port = std::stoi((*gateway)->ReadyValue("read_api_port"));
    const std::string latest = "/v1/users/user-9/latest/sleep";

    const HttpResponse anonymous = Get(port, latest, "");
    EXPECT_EQ(anonymous.status, 401) << anonymous;
    EXPECT_FALSE(absl::StrContains(anonymous.body, kMarkerProvider)) << anonymous;
    if (with_tokens) {
      EXPECT_EQ(Get(port, latest, kReadToken).status, 200);
      EXPECT_EQ(Get(port, latest, kIngestToken).status, 403);
    } else {
      // No tokens to check: a token proves nothing, the certificate is not
      // lent, so nobody reads through this read API.
      const HttpResponse any = Get(port, latest, kReadToken);
      EXPECT_EQ(any.status, 401) << any;
      EXPECT_TRUE(absl::StrContains(any.body, "needs --grpc_tokens_file")) << any;
    }
  }
}

// --read_api_tls_cert/--read_api_tls_key: the read API speaks HTTPS only.
// Plaintext gets no HTTP answer, a client trusting another CA refuses the
// server, the test CA with a token works; the webhook port's TLS is separate.
TEST_F(ReadApiSecurityTest, HttpsReadApiRefusesPlaintextAndServesVerifiedClients) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = StartHttpsServer(
      **certs, data_.path(), kSecret,
      {"--read_api_port=0", "--grpc_tokens_file=" + TokensFile(),
       "--read_api_tls_cert=" + (*certs)->server().cert,
       "--read_api_tls_key=" + (*certs)->server().key});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(absl::StrContains((*server)->Stderr(), "read_api=https://127.0.0.1:"))
      << (*server)->Stderr();
  const HttpResponse posted = HttpsRequest(
      (*server)->http_port(), (*certs)->ca_cert(), "POST", "/webhooks/terra",
      SleepWebhookBuilder("user-1", "s-1").Provider(kMarkerProvider).Json(),
      {{"Content-Type", "application/json"},
       {"terra-signature",
        HttpTestClient::SignNow(SleepWebhookBuilder("user-1", "s-1").Provider(kMarkerProvider).Json(),
                                kSecret)}});
  ASSERT_EQ(posted.status, 200) << posted;
  const int port = std::stoi((*server)->ReadyValue("read_api_port"));
  const std::string latest = "/v1/users/user-1/latest/sleep";
  const HttpHeaders read = {{"Authorization", absl::StrCat("Bearer ", kReadToken)}};

  // Plaintext HTTP (with a valid token): the server waits for a ClientHello,
  // fails the handshake and closes; no answer, no data.
  const HttpResponse plaintext = Get(port, latest, kReadToken);
  EXPECT_EQ(plaintext.status, 0) << plaintext;
  EXPECT_FALSE(absl::StrContains(plaintext.body, kMarkerProvider));

  const HttpResponse foreign = HttpsRequest(port, (*certs)->other_ca_cert(), "GET", latest, "", read);
  EXPECT_EQ(foreign.status, 0) << foreign;
  EXPECT_TRUE(absl::StrContains(foreign.error, "certificate verify failed")) << foreign;

  const HttpResponse verified = HttpsRequest(port, (*certs)->ca_cert(), "GET", latest, "", read);
  EXPECT_EQ(verified.status, 200) << verified;
  EXPECT_TRUE(absl::StrContains(verified.body, kMarkerProvider)) << verified;
  // Tokens still decide over HTTPS.
  EXPECT_EQ(HttpsRequest(port, (*certs)->ca_cert(), "GET", latest).status, 401);

  const HttpResponse metrics = HttpsRequest(port, (*certs)->ca_cert(), "GET", "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics.body, "healthwire_read_api_tls_handshake_failures_total 2"))
      << metrics.body;
}

// The loopback rule for the read API: off loopback it needs HTTPS and a
// tokens file, each missing piece refuses to start with one line; a split
// gateway's read API stays on loopback whatever it has.
TEST_F(ReadApiSecurityTest, NonLoopbackReadApiNeedsHttpsAndTokensOrRefusesToStart) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certs = TestCertificates::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  const std::vector<std::string> https = {"--read_api_tls_cert=" + (*certs)->server().cert,
                                          "--read_api_tls_key=" + (*certs)->server().key};
  const std::vector<std::string> grpc_tls = {"--grpc_tls_cert=" + (*certs)->server().cert,
                                             "--grpc_tls_key=" + (*certs)->server().key};
  struct Case {
    std::string binary;
    std::vector<std::vector<std::string>> flags;
    std::string expected;
  };
  const std::string tokens = "--grpc_tokens_file=" + TokensFile();
  for (const Case& test : std::vector<Case>{
           {"server/healthwire_store", {}, "needs TLS and client authentication"},
           {"server/healthwire_store", {https}, "needs client authentication: set"},
           {"server/healthwire_store", {grpc_tls, {tokens}}, "needs TLS and client authentication"},
           {"server/healthwire_gateway", {https, {"--store=127.0.0.1:1"}},
            "the read API of healthwire_store"},
       }) {
    std::vector<std::string> args = {"--data_dir=" + data_.path(), "--read_api_port=0",
                                     "--read_api_address=0.0.0.0"};
    args.push_back(test.binary == "server/healthwire_store" ? "--grpc_port=0" : "--http_port=0");
    for (const std::vector<std::string>& flags : test.flags) {
      args.insert(args.end(), flags.begin(), flags.end());
    }
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(test.binary, args);
    ASSERT_FALSE(process.ok()) << test.expected;
    EXPECT_TRUE(absl::StrContains(process.status().message(),
                                  "--read_api_address=0.0.0.0 is not loopback"))
        << process.status();
    EXPECT_TRUE(absl::StrContains(process.status().message(), test.expected)) << process.status();
  }
  // HTTPS and tokens (and the gRPC port's own TLS for its own rule, which
  // stays on loopback here): it starts.
  std::vector<std::string> args = {"--data_dir=" + data_.path(), "--read_api_port=0",
                                   "--read_api_address=0.0.0.0", "--grpc_port=0", tokens};
  args.insert(args.end(), https.begin(), https.end());
  absl::StatusOr<std::unique_ptr<ServerProcess>> started =
      ServerProcess::Start("server/healthwire_store", args);
  EXPECT_TRUE(started.ok()) << started.status();
}

}  // namespace
}  // namespace testing
}  // namespace healthwire
