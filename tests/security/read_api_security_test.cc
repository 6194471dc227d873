// The HTTP/JSON read API under the store's client authentication, against
// the real binaries on loopback: it takes the same bearer tokens, roles and
// type limits as the gRPC port (401 without or with an unknown token, 403
// naming the missing role or type, 200 with the right one), its accesses
// are in the audit log like gRPC ones (with the HTTP client's address), and
// a split gateway's read API never lends its own client certificate to an
// HTTP client.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/util/http_test_client.h"
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

}  // namespace
}  // namespace testing
}  // namespace healthwire
