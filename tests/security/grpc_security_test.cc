// gRPC security against the real binaries on loopback: TLS, mutual TLS, the
// tokens file's roles and type limits, the loopback rule, the audit log, and
// every client (hwctl, the split gateway) with the matching flags.
// Certificates are made at test time (TestCertificates); no key is committed.
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "server/security/grpc_client_channel.h"
#include "tests/util/child_process.h"
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

constexpr char kStoreBinary[] = "server/healthwire_store";
constexpr char kGatewayBinary[] = "server/healthwire_gateway";
constexpr char kHwctlBinary[] = "tools/hwctl/hwctl";

constexpr char kIngestToken[] = "ingest-token-0123456789abcdef";
constexpr char kReadToken[] = "read-token-0123456789abcdef";
constexpr char kSleepToken[] = "sleep-token-0123456789abcdef";
constexpr char kAdminToken[] = "admin-token-0123456789abcdef";
// A byte sequence only the stored record holds: the audit log must never
// contain it.
constexpr char kHealthDataMarker[] = "heart-rate-marker-73519";

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& contents,
                      mode_t mode = 0600) {
  return WriteTestFile(dir.path(), name, contents, mode);
}

std::unique_ptr<v1::EventStore::Stub> Stub(const std::string& target,
                                           const GrpcClientSecurity& security) {
  grpc::ChannelArguments args;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateStoreChannel(target, security, args);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return v1::EventStore::NewStub(*channel);
}

grpc::Status GetLatest(v1::EventStore::Stub& stub, v1::EventType type,
                       const std::string& user = "user-1") {
  v1::GetLatestRequest request;
  request.mutable_subject()->set_user_id(user);
  request.set_type(type);
  v1::GetLatestResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub.GetLatest(&context, request, &response);
}

v1::IngestRequest SleepIngest(const std::string& user) {
  v1::IngestRequest request;
  v1::Event* event = request.add_events();
  event->set_type(v1::EVENT_TYPE_SLEEP);
  event->set_terra_type("sleep");
  event->set_record_key("forged-or-not");
  event->mutable_user()->set_user_id(user);
  event->set_raw_json(absl::StrCat("{\"marker\":\"", kHealthDataMarker, "\"}"));
  return request;
}

grpc::Status Ingest(v1::EventStore::Stub& stub, const v1::IngestRequest& request) {
  v1::IngestResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub.Ingest(&context, request, &response);
}

// Runs hwctl with `args` to its end: its exit code (-1 when it could not be
// run or did not end in 60 s), stdout and stderr.
std::tuple<int, std::string, std::string> RunHwctl(const std::vector<std::string>& args) {
  auto process = ChildProcess::Start(kHwctlBinary, args);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {-1, "", ""};
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(60));
  EXPECT_TRUE(code.ok());
  return {code.value_or(-1), (*process)->Stdout(), (*process)->Stderr()};
}

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::Create();
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certs_ = *std::move(certificates);
  }

  // Starts healthwire_store on a free loopback port with `flags`.
  std::unique_ptr<ServerProcess> StartStore(std::vector<std::string> flags) {
    flags.push_back("--data_dir=" + data_.path());
    flags.push_back("--grpc_port=0");
    absl::StatusOr<std::unique_ptr<ServerProcess>> store =
        ServerProcess::Start(kStoreBinary, flags);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::vector<std::string> TlsFlags() const {
    return {"--grpc_tls_cert=" + certs_->server().cert, "--grpc_tls_key=" + certs_->server().key};
  }

  GrpcClientSecurity Tls() const {
    GrpcClientSecurity security;
    security.ca_file = certs_->ca_cert();
    return security;
  }

  // A TLS client presenting `certificate` (its key beside it), on top of
  // `base` (a token, another CA).
  GrpcClientSecurity ClientWithCertificate(const CertificateFiles& certificate,
                                           GrpcClientSecurity base) const {
    base.cert_file = certificate.cert;
    base.key_file = certificate.key;
    return base;
  }
  GrpcClientSecurity ClientWithCertificate(const CertificateFiles& certificate) const {
    return ClientWithCertificate(certificate, Tls());
  }

  GrpcClientSecurity WithToken(const std::string& token) {
    GrpcClientSecurity security;
    security.token_file = WriteFile(files_, absl::StrCat("token-", ++token_files_), token);
    return security;
  }

  std::string TokensFile() {
    return WriteFile(files_, "tokens",
                     absl::StrCat("# test principals\n", kIngestToken, " gateway ingest\n",
                                  kReadToken, " dashboard read\n", kSleepToken,
                                  " sleep-scorer read types=sleep,activity\n", kAdminToken,
                                  " operator admin,read\n", "cert:gateway-1 gateway-1 ingest\n"));
  }

  std::unique_ptr<TestCertificates> certs_;
  TempDir data_{"store"};
  TempDir files_{"files"};
  int token_files_ = 0;
};

TEST_F(GrpcSecurityTest, PlaintextClientToTlsPortFailsAndTlsClientWorks) {
  auto store = StartStore(TlsFlags());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(absl::StrContains(store->Stderr(), "(tls)")) << store->Stderr();

  auto plaintext = Stub(store->grpc_target(), {});
  EXPECT_EQ(GetLatest(*plaintext, v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // A CA that did not sign the server's certificate: the client refuses it.
  GrpcClientSecurity wrong_ca;
  wrong_ca.ca_file = certs_->other_ca_cert();
  EXPECT_EQ(GetLatest(*Stub(store->grpc_target(), wrong_ca), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // TLS alone authenticates no client; on loopback everything is allowed.
  EXPECT_EQ(GetLatest(*Stub(store->grpc_target(), Tls()), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcSecurityTest, MutualTlsRefusesNoCertificateAndOtherCaAndAcceptsItsOwn) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--grpc_client_ca=" + certs_->ca_cert());
  auto store = StartStore(flags);
  ASSERT_NE(store, nullptr);

  EXPECT_EQ(GetLatest(*Stub(store->grpc_target(), Tls()), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a client without a certificate got through the handshake";

  absl::StatusOr<CertificateFiles> foreign = certs_->IssueClientOfOtherCa("mallory");
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  const GrpcClientSecurity other = ClientWithCertificate(*foreign);
  EXPECT_EQ(GetLatest(*Stub(store->grpc_target(), other), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a certificate of another CA got through the handshake";

  absl::StatusOr<CertificateFiles> own = certs_->IssueClient("dashboard");
  ASSERT_TRUE(own.ok()) << own.status();
  const GrpcClientSecurity right = ClientWithCertificate(*own);
  // Without a tokens file every certificate of the CA has every role.
  auto stub = Stub(store->grpc_target(), right);
  EXPECT_EQ(GetLatest(*stub, v1::EVENT_TYPE_SLEEP).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Ingest(*stub, SleepIngest("user-1")).ok());
  EXPECT_TRUE(GetLatest(*stub, v1::EVENT_TYPE_SLEEP).ok());

  // hwctl with the same flags: found with the certificate, cannot connect
  // without it.
  auto hwctl = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"latest", "--store=" + store->grpc_target(),
                                     "--user=user-1", "--type=sleep",
                                     "--tls_ca=" + certs_->ca_cert()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = ChildProcess::Start(kHwctlBinary, args);
    EXPECT_TRUE(process.ok()) << process.status();
    absl::StatusOr<int> code = (*process)->Wait();
    EXPECT_TRUE(code.ok());
    return code.value_or(-1);
  };
  EXPECT_EQ(hwctl({"--tls_cert=" + own->cert, "--tls_key=" + own->key}), 0);
  EXPECT_EQ(hwctl({}), 3);
  EXPECT_EQ(hwctl({"--tls_cert=" + own->cert}), 2);  // a certificate without its key
}

TEST_F(GrpcSecurityTest, CertificateIdentityGetsOnlyItsListedRoles) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--grpc_client_ca=" + certs_->ca_cert());
  flags.push_back("--grpc_tokens_file=" + TokensFile());
  auto store = StartStore(flags);
  ASSERT_NE(store, nullptr);

  absl::StatusOr<CertificateFiles> gateway = certs_->IssueClient("gateway-1");
  absl::StatusOr<CertificateFiles> unlisted = certs_->IssueClient("stranger");
  ASSERT_TRUE(gateway.ok() && unlisted.ok());
  auto stub = Stub(store->grpc_target(), ClientWithCertificate(*gateway));
  EXPECT_TRUE(Ingest(*stub, SleepIngest("user-1")).ok());
  const grpc::Status read = GetLatest(*stub, v1::EVENT_TYPE_SLEEP);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(read.error_message(), "read role")) << read.error_message();
  EXPECT_FALSE(absl::StrContains(read.error_message(), kHealthDataMarker));

  EXPECT_EQ(Ingest(*Stub(store->grpc_target(), ClientWithCertificate(*unlisted)),
                   SleepIngest("user-2"))
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcSecurityTest, TokensDecideWhoMayDoWhat) {
  auto store = StartStore({"--grpc_tokens_file=" + TokensFile()});
  ASSERT_NE(store, nullptr);
  const std::string target = store->grpc_target();

  // No token, an unknown token.
  EXPECT_EQ(GetLatest(*Stub(target, {}), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetLatest(*Stub(target, WithToken("not-a-token-0123456789")), v1::EVENT_TYPE_SLEEP)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // A forged Ingest with a read token is refused and stores nothing.
  auto reader = Stub(target, WithToken(kReadToken));
  const grpc::Status forged = Ingest(*reader, SleepIngest("user-1"));
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(forged.error_message(), "ingest role")) << forged.error_message();
  EXPECT_EQ(GetLatest(*reader, v1::EVENT_TYPE_SLEEP).error_code(), grpc::StatusCode::NOT_FOUND);

  // The gateway's token may ingest but not read.
  auto gateway = Stub(target, WithToken(kIngestToken));
  ASSERT_TRUE(Ingest(*gateway, SleepIngest("user-1")).ok());
  const grpc::Status gateway_read = GetLatest(*gateway, v1::EVENT_TYPE_SLEEP);
  EXPECT_EQ(gateway_read.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(gateway_read.error_message(), "read role"));
  EXPECT_TRUE(GetLatest(*reader, v1::EVENT_TYPE_SLEEP).ok());

  // Admin: CreateCheckpoint.
  v1::CreateCheckpointRequest checkpoint;
  v1::CreateCheckpointResponse checkpoint_response;
  {
    grpc::ClientContext context;
    const grpc::Status status = reader->CreateCheckpoint(&context, checkpoint, &checkpoint_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "admin role")) << status.error_message();
  }
  {
    grpc::ClientContext context;
    EXPECT_TRUE(Stub(target, WithToken(kAdminToken))
                    ->CreateCheckpoint(&context, checkpoint, &checkpoint_response)
                    .ok());
  }

  // A read token limited to sleep and activity.
  auto scorer = Stub(target, WithToken(kSleepToken));
  EXPECT_TRUE(GetLatest(*scorer, v1::EVENT_TYPE_SLEEP).ok());
  const grpc::Status menstruation = GetLatest(*scorer, v1::EVENT_TYPE_MENSTRUATION);
  EXPECT_EQ(menstruation.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(menstruation.error_message(), "read role for that type"))
      << menstruation.error_message();
  {
    v1::ListRecordsRequest list;
    list.mutable_subject()->set_user_id("user-1");
    list.set_type(v1::EVENT_TYPE_MENSTRUATION);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(scorer->ListRecords(&context, list, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  auto stream_status = [&](std::vector<v1::EventType> types) {
    v1::StreamUpdatesRequest request;
    request.set_start_revision(1);
    for (v1::EventType type : types) request.add_types(type);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    auto reader_stream = scorer->StreamUpdates(&context, request);
    v1::StreamUpdatesResponse update;
    int updates = 0;
    while (reader_stream->Read(&update)) ++updates;
    return std::make_pair(reader_stream->Finish(), updates);
  };
  // Every type (no filter) and a forbidden type are denied; its own types
  // stream (until the deadline ends the call).
  EXPECT_EQ(stream_status({}).first.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stream_status({v1::EVENT_TYPE_SLEEP, v1::EVENT_TYPE_MENSTRUATION}).first.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const auto allowed = stream_status({v1::EVENT_TYPE_SLEEP});
  EXPECT_EQ(allowed.first.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(allowed.second, 1);
}

TEST_F(GrpcSecurityTest, EraseUserNeedsAdminAndLeavesOneAuditLineWithWhatItRemoved) {
  const std::string audit = files_.path() + "/audit.log";
  auto store = StartStore({"--grpc_tokens_file=" + TokensFile(), "--audit_log=" + audit});
  ASSERT_NE(store, nullptr);
  const std::string target = store->grpc_target();
  auto gateway = Stub(target, WithToken(kIngestToken));
  ASSERT_TRUE(Ingest(*gateway, SleepIngest("user-1")).ok());
  ASSERT_TRUE(Ingest(*gateway, SleepIngest("user-2")).ok());
  auto reader = Stub(target, WithToken(kReadToken));

  auto hwctl_erase = [&](const char* token) {
    return RunHwctl({"erase", "--store=" + target, "--user=user-1", "--yes",
                     "--token_file=" + WithToken(token).token_file});
  };
  // A read token: PERMISSION_DENIED naming the missing role; nothing erased.
  const auto [denied_code, denied_out, denied_err] = hwctl_erase(kReadToken);
  EXPECT_EQ(denied_code, 1) << denied_out << denied_err;
  EXPECT_TRUE(absl::StrContains(denied_err, "PERMISSION_DENIED")) << denied_err;
  EXPECT_TRUE(absl::StrContains(denied_err, "EraseUser needs the admin role, which dashboard "
                                            "does not have"))
      << denied_err;
  EXPECT_TRUE(GetLatest(*reader, v1::EVENT_TYPE_SLEEP, "user-1").ok());
  {
    // Nor may the gateway's ingest token, over gRPC directly.
    v1::EraseUserRequest request;
    request.mutable_subject()->set_user_id("user-1");
    v1::EraseUserResponse response;
    grpc::ClientContext context;
    const grpc::Status status = gateway->EraseUser(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "admin role")) << status.error_message();
  }
  EXPECT_TRUE(GetLatest(*reader, v1::EVENT_TYPE_SLEEP, "user-1").ok());

  // The admin token erases; the other person is untouched.
  const auto [erased_code, erased_out, erased_err] = hwctl_erase(kAdminToken);
  EXPECT_EQ(erased_code, 0) << erased_out << erased_err;
  EXPECT_TRUE(absl::StrContains(erased_out, "erased user \"user-1\": 1 records")) << erased_out;
  EXPECT_EQ(GetLatest(*reader, v1::EVENT_TYPE_SLEEP, "user-1").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(GetLatest(*reader, v1::EVENT_TYPE_SLEEP, "user-2").ok());

  // GetStatus is `read`: a type-limited reader may, the gateway may not.
  auto status_of = [&](const char* token) {
    v1::GetStatusResponse response;
    grpc::ClientContext context;
    return Stub(target, WithToken(token))->GetStatus(&context, v1::GetStatusRequest(), &response);
  };
  EXPECT_TRUE(status_of(kSleepToken).ok());
  const grpc::Status gateway_status = status_of(kIngestToken);
  EXPECT_EQ(gateway_status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(gateway_status.error_message(), "GetStatus needs the read role"))
      << gateway_status.error_message();

  absl::StatusOr<int> stopped = store->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
  const std::string log = ReadFileOrEmpty(audit);
  std::vector<std::string> erasures;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "\"rpc\":\"EraseUser\"")) erasures.emplace_back(line);
  }
  ASSERT_EQ(erasures.size(), 3u) << log;
  EXPECT_TRUE(absl::StrContains(erasures[0], "\"identity\":\"dashboard\",\"auth\":\"token\""))
      << erasures[0];
  EXPECT_TRUE(absl::StrContains(erasures[0], "\"subject\":{\"user_id\":\"user-1\"},"
                                             "\"result\":\"PERMISSION_DENIED\""))
      << erasures[0];
  EXPECT_TRUE(absl::StrContains(erasures[1], "\"identity\":\"gateway\"")) << erasures[1];
  EXPECT_TRUE(absl::StrContains(erasures[1], "\"result\":\"PERMISSION_DENIED\"")) << erasures[1];
  EXPECT_TRUE(absl::StrContains(erasures[2], "\"identity\":\"operator\",\"auth\":\"token\""))
      << erasures[2];
  EXPECT_TRUE(absl::StrContains(erasures[2], "\"subject\":{\"user_id\":\"user-1\"},"
                                             "\"records\":1,\"changes\":1,\"connections\":1,"
                                             "\"backfills\":0,\"fetches\":0,"
                                             "\"tombstone_revision\":3,\"result\":\"OK\"}"))
      << erasures[2];
  EXPECT_FALSE(absl::StrContains(log, kHealthDataMarker)) << "health data in the audit log";
  EXPECT_FALSE(absl::StrContains(log, kAdminToken)) << "a token in the audit log";
}

TEST_F(GrpcSecurityTest, NonLoopbackBindWithoutTlsAndClientAuthRefusesToStart) {
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--grpc_address=0.0.0.0"},
        std::vector<std::string>{"--grpc_address=0.0.0.0", "--grpc_tls_cert=" + certs_->server().cert,
                                 "--grpc_tls_key=" + certs_->server().key},
        std::vector<std::string>{"--grpc_address=0.0.0.0", "--grpc_tokens_file=" + TokensFile()}}) {
    std::vector<std::string> args = flags;
    args.push_back("--data_dir=" + data_.path());
    args.push_back("--grpc_port=0");
    auto process = ChildProcess::Start(kStoreBinary, args);
    ASSERT_TRUE(process.ok());
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 1);
    const std::string log = (*process)->Stderr();
    EXPECT_TRUE(absl::StrContains(log, "--grpc_address=0.0.0.0 is not loopback")) << log;
    EXPECT_TRUE(absl::StrContains(log, "--grpc_client_ca or --grpc_tokens_file")) << log;
  }
  // The read API serves health data without TLS: off loopback it refuses to
  // start, even with a secured gRPC port.
  {
    std::vector<std::string> args = TlsFlags();
    args.push_back("--grpc_tokens_file=" + TokensFile());
    args.push_back("--read_api_port=0");
    args.push_back("--read_api_address=0.0.0.0");
    args.push_back("--data_dir=" + data_.path());
    args.push_back("--grpc_port=0");
    auto process = ChildProcess::Start(kStoreBinary, args);
    ASSERT_TRUE(process.ok());
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 1);
    EXPECT_TRUE(absl::StrContains((*process)->Stderr(), "--read_api_address=0.0.0.0 is not loopback"))
        << (*process)->Stderr();
  }
  // With TLS and tokens it starts.
  std::vector<std::string> secure = TlsFlags();
  secure.push_back("--grpc_address=0.0.0.0");
  secure.push_back("--grpc_tokens_file=" + TokensFile());
  EXPECT_NE(StartStore(secure), nullptr);
}

TEST_F(GrpcSecurityTest, BadSecurityFlagsAreOneClearLine) {
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  const std::string loose_tokens =
      WriteFile(files_, "loose-tokens", absl::StrCat(kReadToken, " x read\n"), 0644);
  const std::string bad_role = WriteFile(files_, "bad-role", absl::StrCat(kReadToken, " x root\n"));
  const std::string short_token = WriteFile(files_, "short", "abc x read\n");
  for (const Case& test : std::vector<Case>{
           {{"--grpc_tls_cert=" + certs_->server().cert}, "go together"},
           {{"--grpc_client_ca=" + certs_->ca_cert()}, "--grpc_client_ca needs --grpc_tls_cert"},
           {{"--grpc_tls_cert=" + certs_->server().cert, "--grpc_tls_key=" + certs_->ca_cert()},
            "holds no PEM private key"},
           {{"--grpc_tokens_file=" + loose_tokens}, "chmod 600"},
           {{"--grpc_tokens_file=" + bad_role}, "line 1: unknown role"},
           {{"--grpc_tokens_file=" + short_token}, "shorter than 16"},
       }) {
    std::vector<std::string> args = test.flags;
    args.push_back("--data_dir=" + data_.path());
    args.push_back("--grpc_port=0");
    auto process = ChildProcess::Start(kStoreBinary, args);
    ASSERT_TRUE(process.ok());
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 1) << test.expected;
    EXPECT_TRUE(absl::StrContains((*process)->Stderr(), test.expected)) << (*process)->Stderr();
    EXPECT_FALSE(absl::StrContains((*process)->Stderr(), kReadToken)) << "a token was logged";
  }
}

TEST_F(GrpcSecurityTest, SplitGatewayCommitsToStoreOverMutualTlsWithItsToken) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--grpc_client_ca=" + certs_->ca_cert());
  flags.push_back("--grpc_tokens_file=" + TokensFile());
  auto store = StartStore(flags);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<CertificateFiles> gateway_cert = certs_->IssueClient("gateway-1");
  ASSERT_TRUE(gateway_cert.ok());

  TempDir gateway_dir("gateway");
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway = ServerProcess::Start(
      kGatewayBinary,
      {"--store=" + store->grpc_target(), "--data_dir=" + gateway_dir.path(), "--http_port=0",
       "--signing_secret=split-secret", "--store_tls_ca=" + certs_->ca_cert(),
       "--store_tls_cert=" + gateway_cert->cert, "--store_tls_key=" + gateway_cert->key});
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  HttpTestClient::Options options;
  options.signing_secret = "split-secret";
  HttpTestClient client((*gateway)->http_port(), options);
  const HttpResponse answer = client.PostSigned(SleepWebhookBuilder("user-9", "s-9").Json());
  EXPECT_EQ(answer.status, 200) << answer << (*gateway)->Stderr() << store->Stderr();

  // Read back with a read token over the same mTLS port (a certificate for
  // the handshake, the token for the role).
  absl::StatusOr<CertificateFiles> reader_cert = certs_->IssueClient("dashboard-host");
  ASSERT_TRUE(reader_cert.ok());
  GrpcClientSecurity reader = WithToken(kReadToken);
  reader.ca_file = certs_->ca_cert();
  reader = ClientWithCertificate(*reader_cert, reader);
  EXPECT_TRUE(GetLatest(*Stub(store->grpc_target(), reader), v1::EVENT_TYPE_SLEEP, "user-9").ok());

  // A gateway without its client certificate cannot commit: 503, not 200.
  TempDir bare_dir("bare-gateway");
  absl::StatusOr<std::unique_ptr<ServerProcess>> bare = ServerProcess::Start(
      kGatewayBinary, {"--store=" + store->grpc_target(), "--data_dir=" + bare_dir.path(),
                       "--http_port=0", "--signing_secret=split-secret",
                       "--store_tls_ca=" + certs_->ca_cert()});
  ASSERT_TRUE(bare.ok()) << bare.status();
  HttpTestClient bare_client((*bare)->http_port(), options);
  EXPECT_EQ(bare_client.PostSigned(SleepWebhookBuilder("user-10", "s-10").Json()).status, 503);
}

// One chunk of backfill `reference` for `user` (a data record whose delivery
// carried the terra-reference header and a `:chunk:1` trace id), and an
// s3_payload ping of `user` whose URL names a host off the fetcher's
// allow-list (so its fetch fails at once and stays FAILED).
v1::IngestRequest ChunkAndPingIngest(const std::string& user, const std::string& reference) {
  v1::IngestRequest request = SleepIngest(user);
  v1::Event* chunk = request.mutable_events(0);
  chunk->set_terra_reference(reference);
  chunk->set_trace_id("backfill-trace:chunk:1");
  v1::Event* ping = request.add_events();
  ping->set_type(v1::EVENT_TYPE_S3_PAYLOAD);
  ping->set_terra_type("s3_payload");
  ping->set_record_key("s3_payload-1");
  ping->mutable_user()->set_user_id(user);
  ping->mutable_connection()->set_url("https://not-allowed.example/body?X-Amz-Signature=s");
  ping->mutable_connection()->set_expires_in(300);
  ping->set_raw_json("{\"type\":\"s3_payload\"}");
  ping->set_trace_id("ping-trace");
  return request;
}

TEST_F(GrpcSecurityTest, BackfillAndFetchReadsNeedReadAndEraseUserRemovesThem) {
  const std::string audit = files_.path() + "/audit.log";
  auto store = StartStore({"--grpc_tokens_file=" + TokensFile(), "--audit_log=" + audit});
  ASSERT_NE(store, nullptr);
  const std::string target = store->grpc_target();
  auto gateway = Stub(target, WithToken(kIngestToken));
  ASSERT_TRUE(Ingest(*gateway, ChunkAndPingIngest("user-1", "ref-secure-1")).ok());

  auto get_backfill = [&](v1::EventStore::Stub& stub, v1::GetBackfillResponse* response) {
    v1::GetBackfillRequest request;
    request.set_reference("ref-secure-1");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.GetBackfill(&context, request, response);
  };
  auto list_backfills = [&](v1::EventStore::Stub& stub, v1::ListBackfillsResponse* response) {
    v1::ListBackfillsRequest request;
    request.mutable_subject()->set_user_id("user-1");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.ListBackfills(&context, request, response);
  };
  auto list_fetches = [&](v1::EventStore::Stub& stub, v1::ListS3FetchesResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.ListS3Fetches(&context, v1::ListS3FetchesRequest(), response);
  };

  // No token: UNAUTHENTICATED. The gateway's ingest token: PERMISSION_DENIED
  // naming the read role, for each of the three.
  {
    v1::GetBackfillResponse response;
    EXPECT_EQ(get_backfill(*Stub(target, {}), &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    v1::GetBackfillResponse response;
    const grpc::Status status = get_backfill(*gateway, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "GetBackfill needs the read role"))
        << status.error_message();
    EXPECT_FALSE(response.has_backfill());
  }
  {
    v1::ListBackfillsResponse response;
    const grpc::Status status = list_backfills(*gateway, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "ListBackfills needs the read role"))
        << status.error_message();
    EXPECT_EQ(response.backfills_size(), 0);
  }
  {
    v1::ListS3FetchesResponse response;
    const grpc::Status status = list_fetches(*gateway, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "ListS3Fetches needs the read role"))
        << status.error_message();
    EXPECT_EQ(response.fetches_size(), 0);
  }

  // A read token sees them; so does a type-limited one (no health record in
  // them, like GetUser).
  for (const char* token : {kReadToken, kSleepToken}) {
    auto reader = Stub(target, WithToken(token));
    v1::GetBackfillResponse backfill;
    ASSERT_TRUE(get_backfill(*reader, &backfill).ok()) << token;
    EXPECT_EQ(backfill.backfill().user_id(), "user-1");
    EXPECT_EQ(backfill.backfill().received_payloads(), 1);
    v1::ListBackfillsResponse backfills;
    ASSERT_TRUE(list_backfills(*reader, &backfills).ok()) << token;
    EXPECT_EQ(backfills.backfills_size(), 1);
    v1::ListS3FetchesResponse fetches;
    ASSERT_TRUE(list_fetches(*reader, &fetches).ok()) << token;
    ASSERT_EQ(fetches.fetches_size(), 1);
    EXPECT_EQ(fetches.fetches(0).user_id(), "user-1");
  }

  // hwctl backfills passes the token: refused with the ingest token, shown
  // with the read token.
  auto hwctl_backfills = [&](const char* token) {
    return RunHwctl({"backfills", "--store=" + target, "ref-secure-1",
                     "--token_file=" + WithToken(token).token_file});
  };
  const auto [denied_code, denied_out, denied_err] = hwctl_backfills(kIngestToken);
  EXPECT_EQ(denied_code, 1) << denied_out << denied_err;
  EXPECT_TRUE(absl::StrContains(denied_err, "PERMISSION_DENIED")) << denied_err;
  const auto [shown_code, shown_out, shown_err] = hwctl_backfills(kReadToken);
  EXPECT_EQ(shown_code, 0) << shown_out << shown_err;
  EXPECT_TRUE(absl::StrContains(shown_out, "payloads: 1 of ?")) << shown_out;

  // EraseUser (admin) takes the person's backfill and fetch records with it.
  {
    v1::EraseUserRequest request;
    request.mutable_subject()->set_user_id("user-1");
    v1::EraseUserResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(Stub(target, WithToken(kAdminToken))->EraseUser(&context, request, &response).ok());
    EXPECT_EQ(response.backfills_erased(), 1u);
    EXPECT_EQ(response.fetches_erased(), 1u);
  }
  auto reader = Stub(target, WithToken(kReadToken));
  v1::GetBackfillResponse gone;
  EXPECT_EQ(get_backfill(*reader, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListS3FetchesResponse no_fetches;
  ASSERT_TRUE(list_fetches(*reader, &no_fetches).ok());
  EXPECT_EQ(no_fetches.fetches_size(), 0);

  absl::StatusOr<int> stopped = store->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
  const std::string log = ReadFileOrEmpty(audit);
  EXPECT_TRUE(absl::StrContains(log, "\"identity\":\"gateway\",\"auth\":\"token\",\"peer\""))
      << log;
  int denied_lines = 0;
  int backfill_reads = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "\"identity\":\"gateway\"") &&
        absl::StrContains(line, "\"result\":\"PERMISSION_DENIED\"")) {
      ++denied_lines;
    }
    if (absl::StrContains(line, "\"rpc\":\"GetBackfill\"") &&
        absl::StrContains(line, "\"subject\":{\"user_id\":\"user-1\"},\"records\":1,"
                                "\"result\":\"OK\"")) {
      ++backfill_reads;
    }
    if (absl::StrContains(line, "\"rpc\":\"EraseUser\"") &&
        absl::StrContains(line, "\"result\":\"OK\"")) {
      EXPECT_TRUE(absl::StrContains(line, "\"backfills\":1,\"fetches\":1")) << line;
    }
  }
  EXPECT_EQ(denied_lines, 4) << log;  // three RPCs + hwctl backfills
  EXPECT_EQ(backfill_reads, 3) << log;  // read, sleep-scorer, hwctl
  EXPECT_FALSE(absl::StrContains(log, "X-Amz-Signature")) << "a pre-signed URL in the audit log";
}

TEST_F(GrpcSecurityTest, AuditLogHasOneLinePerAccessWithIdentityAndNoHealthData) {
  const std::string audit = files_.path() + "/audit.log";
  auto store = StartStore({"--grpc_tokens_file=" + TokensFile(), "--audit_log=" + audit});
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Ingest(*Stub(store->grpc_target(), WithToken(kIngestToken)), SleepIngest("user-1")).ok());
  auto scorer = Stub(store->grpc_target(), WithToken(kSleepToken));
  ASSERT_TRUE(GetLatest(*scorer, v1::EVENT_TYPE_SLEEP).ok());
  ASSERT_EQ(GetLatest(*scorer, v1::EVENT_TYPE_MENSTRUATION).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_EQ(GetLatest(*Stub(store->grpc_target(), {}), v1::EVENT_TYPE_SLEEP).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A subject id that tries to forge a line of its own stays inside its line.
  ASSERT_EQ(GetLatest(*scorer, v1::EVENT_TYPE_SLEEP, "x\n{\"identity\":\"operator\"}").error_code(),
            grpc::StatusCode::NOT_FOUND);
  // SIGTERM: the log is flushed on shutdown.
  absl::StatusOr<int> stopped = store->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);

  const std::string log = ReadFileOrEmpty(audit);
  std::vector<std::string> lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << log;
  EXPECT_TRUE(absl::StrContains(lines[0], "\"identity\":\"gateway\",\"auth\":\"token\"")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "\"rpc\":\"Ingest\",\"subject\":{\"user_id\":\"user-1\"}"))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "\"types\":[\"sleep\"],\"records\":1,\"result\":\"OK\""))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"identity\":\"sleep-scorer\"")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"rpc\":\"GetLatest\"")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"records\":1,\"result\":\"OK\"")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[2], "\"types\":[\"menstruation\"],\"result\":\"PERMISSION_DENIED\""))
      << lines[2];
  EXPECT_TRUE(absl::StrContains(lines[3], "\"identity\":\"-\"")) << lines[3];
  EXPECT_TRUE(absl::StrContains(lines[3], "\"result\":\"UNAUTHENTICATED\"")) << lines[3];
  EXPECT_TRUE(absl::StrContains(lines[4], "\"subject\":{\"user_id\":\"x\\u000a{\\\"identity"))
      << lines[4];
  EXPECT_TRUE(absl::StrContains(lines[4], "\"result\":\"NOT_FOUND\"")) << lines[4];
  for (const std::string& line : lines) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"")) << line;
    EXPECT_TRUE(absl::EndsWith(line, "}")) << line;
  }
  EXPECT_FALSE(absl::StrContains(log, kHealthDataMarker)) << "health data in the audit log";
  EXPECT_FALSE(absl::StrContains(log, kSleepToken)) << "a token in the audit log";
}

}  // namespace
}  // namespace testing
}  // namespace healthwire
