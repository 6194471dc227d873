// The harness's own contract, where a silent mistake would make other tests
// pass for the wrong reason: folders really go away, scrapers find exactly
// the number asked for (and say "absent" otherwise), a child's exit code and
// output are what it produced, and a client to a dead port reports it.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/util/child_process.h"
#include "tests/util/http_test_client.h"
#include "tests/util/loopback.h"
#include "tests/util/polling.h"
#include "tests/util/temp_dir.h"
#include "tests/util/test_files.h"
#include "tests/util/text_scrapers.h"

namespace healthwire {
namespace testing {
namespace {

TEST(TempDirTest, IsFreshAndEmptyAndRemovedWithItsContentsOnDestruction) {
  std::string path;
  {
    const TempDir dir("harness");
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    EXPECT_TRUE(std::filesystem::is_empty(path));
    EXPECT_NE(path.find("/harness-"), std::string::npos) << path;
    std::filesystem::create_directories(dir.File("a/b"));
    std::ofstream(dir.File("a/b/c")) << "x";
    EXPECT_EQ(ReadTestFile(dir.File("a/b/c")), "x");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDirTest, TwoFoldersAreDistinct) {
  const TempDir a, b;
  EXPECT_NE(a.path(), b.path());
}

TEST(TestFilesTest, MissingFileIsEmptyOrAFailureAsAsked) {
  const TempDir dir;
  EXPECT_EQ(ReadFileOrEmpty(dir.File("nope")), "");
  EXPECT_NONFATAL_FAILURE(ReadTestFile("/nonexistent/healthwire-harness"), "cannot open");
}

TEST(TextScrapersTest, JsonIntegerReadsTheNumberAfterTheKeyOrMinusOne) {
  const std::string answer = R"({"status":"ok","events":12,"stored":0,"revision":345})";
  EXPECT_EQ(JsonInteger(answer, "events"), 12);
  EXPECT_EQ(JsonInteger(answer, "stored"), 0);
  EXPECT_EQ(JsonInteger(answer, "revision"), 345);
  EXPECT_EQ(JsonInteger(answer, "stale"), -1);
  EXPECT_EQ(JsonInteger(answer, "status"), -1);  // a string, not digits
}

TEST(TextScrapersTest, MetricValueReadsOnlyTheUnlabelledSeriesOfThatName) {
  const std::string text =
      "# TYPE healthwire_store_revision gauge\n"
      "healthwire_store_revision 42\n"
      "healthwire_store_revision_lag 7\n"
      "healthwire_http_requests_total{code=\"200\"} 3\n";
  EXPECT_EQ(MetricValue(text, "healthwire_store_revision"), 42);
  EXPECT_EQ(MetricValue(text, "healthwire_store_revision_lag"), 7);
  EXPECT_EQ(MetricValue(text, "healthwire_http_requests_total"), -1);
}

TEST(TextScrapersTest, StatusOfRawAnswerReadsTheStatusLine) {
  EXPECT_EQ(StatusOfRawAnswer("HTTP/1.1 413 Payload Too Large\r\n\r\n"), 413);
  EXPECT_EQ(StatusOfRawAnswer(""), 0);
  EXPECT_EQ(StatusOfRawAnswer("garbage that is long enough"), 0);
}

TEST(ChildProcessTest, ExitCodeAndOutputAreTheChildsOwn) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<int> exit_code = (*child)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 3);
  EXPECT_EQ((*child)->Stdout(), "out\n");
  EXPECT_EQ((*child)->Stderr(), "err\n");
}

TEST(ChildProcessTest, StopReportsTheSignalAsOneHundredTwentyEightPlusItsNumber) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start("/bin/sh", {"-c", "echo started; exec sleep 60"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WaitForOutput(
      [](const std::string& out, const std::string&) { return out == "started\n"; }));
  absl::StatusOr<int> exit_code = (*child)->Stop(SIGKILL);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 128 + SIGKILL);
  EXPECT_FALSE((*child)->running());
}

TEST(HttpTestClientTest, NothingListeningIsAConnectErrorNotAHang) {
  const int port = UnusedLoopbackPort();
  EXPECT_TRUE(ConnectionRefused(port));
  HttpTestClient client(port);
  EXPECT_FALSE(client.connected());
  const HttpResponse response = client.Get("/healthz");
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.error.rfind("connect: ", 0), 0u) << response.error;
  EXPECT_FALSE(client.WriteRaw("x").ok());
}

TEST(PollingTest, PollUntilSeesTheConditionOrGivesUp) {
  int calls = 0;
  EXPECT_TRUE(PollUntil([&] { return ++calls == 3; }, absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(PollUntil([] { return false; }, absl::Milliseconds(50), absl::Milliseconds(5)));
}

}  // namespace
}  // namespace testing
}  // namespace healthwire
