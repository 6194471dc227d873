// End-to-end: the real hwctl binary against the real healthwire binary, as a
// user runs them: webhooks in over HTTP (signed with the secret healthwire
// generated in its data folder), records out over gRPC. Results are checked
// through the store's gRPC API directly, not only through hwctl's output.
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/child_process.h"
#include "tests/util/deployment.h"
#include "tests/util/loopback.h"
#include "tests/util/polling.h"
#include "tests/util/temp_dir.h"
#include "tests/util/test_files.h"

namespace healthwire {
namespace {

using ::healthwire::testing::ChildProcess;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::ReadFileOrEmpty;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::TempDir;
using ::healthwire::testing::UnusedLoopbackPort;

constexpr char kServerBinary[] = "server/healthwire";
constexpr char kHwctlBinary[] = "tools/hwctl/hwctl";
constexpr char kSimUser[] = "hwctl-sim-user";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// One run of hwctl: a child process with stdout and stderr going to files.
std::unique_ptr<ChildProcess> StartHwctl(const std::vector<std::string>& args,
                                         const std::vector<std::string>& extra_env = {}) {
  ChildProcess::Options options;
  options.env = extra_env;
  absl::StatusOr<std::unique_ptr<ChildProcess>> run =
      ChildProcess::Start(kHwctlBinary, args, options);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *std::move(run) : nullptr;
}

// Waits for the exit: the exit code, or 128 + signal, or -1 after `timeout`.
int ExitCode(ChildProcess& run, absl::Duration timeout = absl::Seconds(60)) {
  absl::StatusOr<int> exit_code = run.Wait(timeout);
  return exit_code.ok() ? *exit_code : -1;
}

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunHwctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::unique_ptr<ChildProcess> run = StartHwctl(args, env);
  const int exit_code = ExitCode(*run);
  return Result{exit_code, run->Stdout(), run->Stderr()};
}

class HwctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = deployment_.Start();
    ASSERT_TRUE(started.ok()) << started;
    server_ = deployment_.store();
    ASSERT_GT(server_->http_port(), 0) << "the server reported no http_port";
    stub_ = deployment_.stub();
  }

  std::string StoreFlag() const { return "--store=" + server_->grpc_target(); }
  std::string UrlFlag() const {
    return absl::StrCat("--url=http://127.0.0.1:", server_->http_port(), "/webhooks/terra");
  }
  std::string DataDirFlag() const { return "--data-dir=" + data_dir_; }

  // hwctl simulate against this server with the data folder's secret.
  Result Simulate(const std::string& type, int count, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"simulate",          "--type",  type,         "--count",
                                     absl::StrCat(count), UrlFlag(), DataDirFlag()};
    args.insert(args.end(), more.begin(), more.end());
    return RunHwctl(args);
  }

  std::vector<v1::Event> ListViaGrpc(const std::string& user, v1::EventType type) {
    v1::ListRecordsRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(type);
    request.set_page_size(1000);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->ListRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.events().begin(), response.events().end()};
  }

  v1::Event LatestViaGrpc(const std::string& user, v1::EventType type) {
    v1::GetLatestRequest request;
    request.mutable_subject()->set_user_id(user);
    request.set_type(type);
    v1::GetLatestResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetLatest(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event();
  }

  Deployment deployment_{DeploymentMode::kEmbedded};
  const std::string& data_dir_ = deployment_.data_dir();
  ServerProcess* server_ = nullptr;  // the deployment's one process
  v1::EventStore::Stub* stub_ = nullptr;
};

// --- simulate ---------------------------------------------------------------

TEST_F(HwctlTest, SimulateSleepSignsWithTheDataFoldersSecretAndIsStored) {
  const Result result = Simulate("sleep", 3, {"--samples", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Lines(result.out).size(), 3u) << result.out;
  for (const std::string& line : Lines(result.out))
    EXPECT_TRUE(absl::StrContains(line, "HTTP 200"));

  const std::vector<v1::Event> stored = ListViaGrpc(kSimUser, v1::EVENT_TYPE_SLEEP);
  ASSERT_EQ(stored.size(), 3u);
  for (const v1::Event& event : stored) {
    EXPECT_EQ(event.conversion_problems_size(), 0);
    EXPECT_EQ(event.sleep().heart_rate_data().detailed().hr_samples_size(), 4);
  }
}

TEST_F(HwctlTest, SimulateActivityIsStoredUnderTheGivenUserAndReference) {
  const Result result = Simulate("activity", 2, {"--user", "runner-1", "--reference", "person-9"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<v1::Event> stored = ListViaGrpc("runner-1", v1::EVENT_TYPE_ACTIVITY);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].user().reference_id(), "person-9");
  EXPECT_NE(stored[0].record_key(), stored[1].record_key());
  EXPECT_EQ(stored[0].record_key(), stored[0].activity().metadata().summary_id());
}

TEST_F(HwctlTest, DataDirIsResolvedAgainstBuildWorkingDirectory) {
  const size_t slash = data_dir_.rfind('/');
  const Result result = RunHwctl(
      {"simulate", "--type", "daily", UrlFlag(), "--data-dir=" + data_dir_.substr(slash + 1)},
      {"BUILD_WORKING_DIRECTORY=" + data_dir_.substr(0, slash)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(ListViaGrpc(kSimUser, v1::EVENT_TYPE_DAILY).size(), 1u);
}

TEST_F(HwctlTest, SimulateOutWritesFilesInsteadOfSending) {
  const TempDir out_dir_folder("payloads");
  const std::string out_dir = out_dir_folder.path();
  const Result result = RunHwctl(
      {"simulate", "--type", "nutrition", "--count", "2", "--out", out_dir, "--seed", "5"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Lines(result.out), (std::vector<std::string>{out_dir + "/nutrition-001.json",
                                                         out_dir + "/nutrition-002.json"}));
  EXPECT_TRUE(
      absl::StartsWith(ReadFileOrEmpty(out_dir + "/nutrition-001.json"), R"({"type":"nutrition")"));
  EXPECT_TRUE(ListViaGrpc(kSimUser, v1::EVENT_TYPE_NUTRITION).empty());
}

// --- latest -----------------------------------------------------------------

TEST_F(HwctlTest, LatestPrintsAReadableSummaryOfTheNewestRecord) {
  ASSERT_EQ(Simulate("sleep", 2).exit_code, 0);
  const v1::Event newest = LatestViaGrpc(kSimUser, v1::EVENT_TYPE_SLEEP);

  const Result result = RunHwctl({"latest", "--user", kSimUser, "--type", "sleep", StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StartsWith(result.out, "sleep record\n")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "key:")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, newest.record_key())) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "asleep:")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "sleep score:")) << result.out;
  EXPECT_TRUE(
      absl::StrContains(result.out, absl::StrCat("revision:", " ")) &&
      absl::StrContains(result.out, absl::StrCat(" ", newest.revision(), " (store is at 2)")))
      << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "received:")) << result.out;
}

TEST_F(HwctlTest, LatestJsonPrintsTheEventWithTerraFieldNames) {
  ASSERT_EQ(Simulate("activity", 1).exit_code, 0);
  const Result result =
      RunHwctl({"latest", "--user", kSimUser, "--type", "activity", "--json", StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(Lines(result.out).size(), 1u) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, R"("MET_data":)")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, R"("record_key":)")) << result.out;

  v1::Event parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &parsed).ok()) << result.out;
  EXPECT_EQ(parsed.record_key(), LatestViaGrpc(kSimUser, v1::EVENT_TYPE_ACTIVITY).record_key());
  EXPECT_EQ(parsed.type(), v1::EVENT_TYPE_ACTIVITY);
}

TEST_F(HwctlTest, LatestRawPrintsTheRecordExactlyAsSent) {
  const TempDir out_dir_folder("payloads");
  const std::string out_dir = out_dir_folder.path();
  ASSERT_EQ(RunHwctl({"simulate", "--type", "body", "--out", out_dir}).exit_code, 0);
  const std::string body = ReadFileOrEmpty(out_dir + "/body-001.json");
  ASSERT_EQ(RunHwctl({"send", out_dir + "/body-001.json", UrlFlag(), DataDirFlag()}).exit_code, 0);

  const Result result =
      RunHwctl({"latest", "--user", kSimUser, "--type", "body", "--raw", StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The record is the one element of `data`: its bytes sit in the body as sent.
  ASSERT_GT(result.out.size(), 1u);
  EXPECT_TRUE(absl::StrContains(body, result.out.substr(0, result.out.size() - 1))) << result.out;
}

// --- list -------------------------------------------------------------------

TEST_F(HwctlTest, ListPrintsOneLinePerRecordNewestFirst) {
  ASSERT_EQ(Simulate("daily", 3).exit_code, 0);
  const Result result = RunHwctl({"list", "--user", kSimUser, "--type", "daily", StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u) << result.out;
  EXPECT_GT(lines[0], lines[1]);  // lines start with the start time
  EXPECT_GT(lines[1], lines[2]);
  for (const std::string& line : lines) EXPECT_TRUE(absl::StrContains(line, "steps ")) << line;
}

TEST_F(HwctlTest, ListLimitCapsTheRecordsAndSaysThereAreMore) {
  ASSERT_EQ(Simulate("daily", 5, {"--batch", "5"}).exit_code, 0);
  const Result result =
      RunHwctl({"list", "--user", kSimUser, "--type", "daily", "--limit", "2", StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Lines(result.out).size(), 2u) << result.out;
  EXPECT_TRUE(absl::StrContains(result.err, "raise --limit")) << result.err;
}

TEST_F(HwctlTest, ListFromIsInclusiveAndToExclusive) {
  // At +00:00 each body record starts at 00:00Z of its day.
  ASSERT_EQ(Simulate("body", 4, {"--batch", "4", "--utc-offset", "+00:00"}).exit_code, 0);
  std::vector<std::string> days;  // newest first
  for (const v1::Event& event : ListViaGrpc(kSimUser, v1::EVENT_TYPE_BODY)) {
    days.push_back(event.record_key());
  }
  ASSERT_EQ(days.size(), 4u);

  const Result result = RunHwctl({"list", "--user", kSimUser, "--type", "body", "--from", days[2],
                                  "--to", days[0], StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 2u) << result.out;
  EXPECT_TRUE(absl::StrContains(lines[0], absl::StrCat("  ", days[1], "  "))) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], absl::StrCat("  ", days[2], "  "))) << lines[1];
}

// --- watch ------------------------------------------------------------------

TEST_F(HwctlTest, WatchPrintsUpdatesAsTheyArriveAndSigintPrintsTheResumeRevision) {
  std::unique_ptr<ChildProcess> watch = StartHwctl({"watch", StoreFlag()});
  ASSERT_TRUE(watch->WaitForOutput([](const std::string&, const std::string& err) {
    return absl::StrContains(err, "watching");
  })) << watch->Stderr();

  ASSERT_EQ(Simulate("sleep", 2).exit_code, 0);
  ASSERT_TRUE(watch->WaitForOutput([](const std::string& out, const std::string&) {
    return Lines(out).size() >= 2;
  })) << watch->Stdout();
  const std::vector<std::string> lines = Lines(watch->Stdout());
  EXPECT_TRUE(absl::StartsWith(lines[0], "rev 1  sleep  user hwctl-sim-user  key ")) << lines[0];
  EXPECT_TRUE(absl::StartsWith(lines[1], "rev 2  sleep  user hwctl-sim-user  key ")) << lines[1];

  watch->Signal(SIGINT);
  EXPECT_EQ(ExitCode(*watch), 0) << watch->Stderr();
  EXPECT_TRUE(
      absl::StrContains(watch->Stderr(), "last revision: 2 (resume with --from-revision 3)"))
      << watch->Stderr();
}

TEST_F(HwctlTest, WatchFromRevisionReplaysEarlierUpdatesOfTheRequestedType) {
  ASSERT_EQ(Simulate("sleep", 1).exit_code, 0);
  ASSERT_EQ(Simulate("activity", 1).exit_code, 0);
  std::unique_ptr<ChildProcess> watch =
      StartHwctl({"watch", "--from-revision", "1", "--type", "activity", StoreFlag()});
  ASSERT_TRUE(watch->WaitForOutput([](const std::string& out, const std::string& err) {
    return !Lines(out).empty() && absl::StrContains(err, "watching");
  })) << watch->Stderr();
  const std::vector<std::string> lines = Lines(watch->Stdout());
  ASSERT_EQ(lines.size(), 1u) << watch->Stdout();
  EXPECT_TRUE(absl::StartsWith(lines[0], "rev 2  activity  ")) << lines[0];
  watch->Signal(SIGINT);
  EXPECT_EQ(ExitCode(*watch), 0);
}

TEST_F(HwctlTest, WatchJsonPrintsOneEventObjectPerLine) {
  std::unique_ptr<ChildProcess> watch = StartHwctl({"watch", "--json", StoreFlag()});
  ASSERT_TRUE(watch->WaitForOutput([](const std::string&, const std::string& err) {
    return absl::StrContains(err, "watching");
  }));
  ASSERT_EQ(Simulate("body", 1).exit_code, 0);
  ASSERT_TRUE(watch->WaitForOutput([](const std::string& out, const std::string&) {
    return !out.empty() && out.back() == '\n';
  }));
  v1::Event parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(Lines(watch->Stdout())[0], &parsed).ok());
  EXPECT_EQ(parsed.type(), v1::EVENT_TYPE_BODY);
  EXPECT_EQ(parsed.revision(), 1u);
  watch->Signal(SIGINT);
  EXPECT_EQ(ExitCode(*watch), 0);
}

// --- send -------------------------------------------------------------------

TEST_F(HwctlTest, SendPostsAFileSignedLikeTerraAndPrintsTheAnswer) {
  const Result result = RunHwctl({"send", "tests/testdata/sleep.json", UrlFlag(), DataDirFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StartsWith(result.out, "HTTP 200")) << result.out;
  EXPECT_EQ(
      LatestViaGrpc("c2e7f9a0-51b6-4f3e-8a0d-7d94b1e6c3f2", v1::EVENT_TYPE_SLEEP).record_key(),
      "a6c1d7e2-0f3b-4b9d-91c8-52e4f0a7b6d1");
}

TEST_F(HwctlTest, SendPassesTraceIdAndOrderingTimestamp) {
  const Result result =
      RunHwctl({"send", "tests/testdata/sleep.json", UrlFlag(), DataDirFlag(), "--trace-id",
                "trace-77", "--ordering-timestamp", "1782889200123"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const v1::Event stored =
      LatestViaGrpc("c2e7f9a0-51b6-4f3e-8a0d-7d94b1e6c3f2", v1::EVENT_TYPE_SLEEP);
  EXPECT_EQ(stored.trace_id(), "trace-77");
  EXPECT_EQ(stored.ordering_timestamp_ms(), 1782889200123);
}

TEST_F(HwctlTest, SendWithAWrongSecretPrints401AndExits1) {
  const Result result =
      RunHwctl({"send", "tests/testdata/sleep.json", UrlFlag(), "--secret", "not-the-secret"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(result.out, "HTTP 401")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.err, "401")) << result.err;
}

// --- user -------------------------------------------------------------------

TEST_F(HwctlTest, UserShowsTheConnectionStatusAfterAuth) {
  ASSERT_EQ(Simulate("auth", 1, {"--provider", "OURA"}).exit_code, 0);
  const Result result = RunHwctl({"user", kSimUser, StoreFlag()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StartsWith(result.out, "connection hwctl-sim-user\n")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "OURA")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "active")) << result.out;
}

// --- errors and exit codes ----------------------------------------------------

TEST_F(HwctlTest, BackupWritesACheckpointThatOpensAsAStore) {
  ASSERT_EQ(Simulate("sleep", 2).exit_code, 0);
  Result backup = RunHwctl({"backup", "--name", "before-upgrade", StoreFlag()});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::string checkpoint = data_dir_ + ".checkpoints/before-upgrade";
  EXPECT_NE(backup.out.find(checkpoint), std::string::npos) << backup.out;
  EXPECT_NE(backup.out.find("revision 2"), std::string::npos) << backup.out;

  // Restoring is starting healthwire on the checkpoint.
  auto restored = ServerProcess::Start(
      kServerBinary, {"--data_dir=" + checkpoint, "--grpc_port=0", "--http_port=0"});
  ASSERT_TRUE(restored.ok()) << restored.status();
  Result latest = RunHwctl({"latest", "--user", "hwctl-sim-user", "--type", "sleep",
                            "--store=" + (*restored)->grpc_target()});
  EXPECT_EQ(latest.exit_code, 0) << latest.err;
}

TEST_F(HwctlTest, RestoredCheckpointKeepsTheGeneratedSigningSecret) {
  ASSERT_EQ(Simulate("sleep", 1).exit_code, 0);
  Result backup = RunHwctl({"backup", "--name", "with-secret", StoreFlag()});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::string checkpoint = data_dir_ + ".checkpoints/with-secret";
  const std::string original_secret = ReadFileOrEmpty(data_dir_ + "/webhook-signing-secret");
  ASSERT_FALSE(original_secret.empty());
  EXPECT_EQ(ReadFileOrEmpty(checkpoint + "/webhook-signing-secret"), original_secret);
  struct stat info;
  ASSERT_EQ(::stat((checkpoint + "/webhook-signing-secret").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  // The restored store reuses the secret instead of generating a new one, so
  // webhooks signed for the original store (here: with the original data
  // folder's secret) are accepted.
  auto restored = ServerProcess::Start(
      kServerBinary, {"--data_dir=" + checkpoint, "--grpc_port=0", "--http_port=0"});
  ASSERT_TRUE(restored.ok()) << restored.status();
  // Log lines are written by the logger's own thread: wait for it.
  EXPECT_TRUE(testing::PollUntil(
      [&] { return absl::StrContains((*restored)->Stderr(), "using the generated"); }))
      << (*restored)->Stderr();
  Result sent = RunHwctl(
      {"simulate", "--type", "sleep", "--count", "1", "--seed", "7",
       absl::StrCat("--url=http://127.0.0.1:", (*restored)->http_port(), "/webhooks/terra"),
       DataDirFlag()});
  EXPECT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.out, "HTTP 200")) << sent.out;
}

TEST_F(HwctlTest, BackupWithANameThatIsAPathExits1WithTheStoresMessage) {
  Result backup = RunHwctl({"backup", "--name", "../x", StoreFlag()});
  EXPECT_EQ(backup.exit_code, 1);
  EXPECT_NE(backup.err.find("name"), std::string::npos) << backup.err;
}

TEST_F(HwctlTest, UnreachableStoreExits3WithOneClearLine) {
  const std::string address = absl::StrCat("127.0.0.1:", UnusedLoopbackPort());
  const Result result =
      RunHwctl({"latest", "--user", kSimUser, "--type", "sleep", "--store", address});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.err,
            absl::StrCat("hwctl: cannot reach the store at ", address, ": connection refused\n"));
}

TEST_F(HwctlTest, UnreachableWebhookUrlExits3) {
  const Result result =
      RunHwctl({"send", "tests/testdata/sleep.json", "--secret", "s",
                absl::StrCat("--url=http://127.0.0.1:", UnusedLoopbackPort(), "/webhooks/terra")});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_TRUE(absl::StrContains(result.err, "connection refused")) << result.err;
  EXPECT_EQ(Lines(result.err).size(), 1u) << result.err;
}

TEST_F(HwctlTest, MissingRecordExits4NamingWhatWasLookedFor) {
  const Result result = RunHwctl({"latest", "--user", "nobody", "--type", "sleep", StoreFlag()});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_TRUE(absl::StrContains(result.err, "nobody")) << result.err;
  EXPECT_EQ(Lines(result.err).size(), 1u) << result.err;
}

TEST_F(HwctlTest, MissingRequiredFlagIsAUsageErrorExit2) {
  const Result result = RunHwctl({"latest", "--user", kSimUser, StoreFlag()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(result.err, "--type is required")) << result.err;
}

TEST_F(HwctlTest, FlagOfAnotherSubcommandIsAUsageErrorExit2) {
  const Result result =
      RunHwctl({"latest", "--user", kSimUser, "--type", "sleep", "--samples", "3"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(result.err, "unknown flag --samples")) << result.err;
}

TEST_F(HwctlTest, UnknownSubcommandIsAUsageErrorExit2) {
  EXPECT_EQ(RunHwctl({"lates"}).exit_code, 2);
  EXPECT_EQ(RunHwctl({}).exit_code, 2);
}

TEST_F(HwctlTest, SimulateWithoutASecretExits2NamingTheSecretFile) {
  const TempDir empty_dir_folder("empty");
  const std::string empty_dir = empty_dir_folder.path();
  const Result result =
      RunHwctl({"simulate", "--type", "sleep", UrlFlag(), "--data-dir", empty_dir});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(result.err, empty_dir + "/webhook-signing-secret")) << result.err;
}

TEST_F(HwctlTest, EverySubcommandHasItsOwnHelp) {
  for (const std::string name : {"latest", "list", "watch", "user", "send", "simulate"}) {
    const Result result = RunHwctl({name, "--help"});
    EXPECT_EQ(result.exit_code, 0) << name;
    EXPECT_TRUE(absl::StartsWith(result.out, "Usage: hwctl " + name + " ")) << result.out;
  }
  const Result main_help = RunHwctl({"--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(main_help.out, "Exit codes:")) << main_help.out;
}

}  // namespace
}  // namespace healthwire
