// Erasure end to end: the real healthwire binary fed signed webhooks, erased
// with the real `hwctl erase` (EraseUser over gRPC): reads answer NOT_FOUND, a
// replay from revision 1 holds no byte of the person's raw JSON, a live
// subscriber gets the tombstone, a second erase erases nothing, and after the
// server stops no byte of the person is left in any column family, SST file
// or WAL file. Also: --erase_on_deauth through a signed deauth webhook, and
// kill -9 in the middle of an erasure leaving all of it or none.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/child_process.h"
#include "tests/util/database_scan.h"
#include "tests/util/deployment.h"
#include "tests/util/store_reads.h"
#include "tests/util/temp_dir.h"
#include "tests/util/stream_subscriber.h"
#include "tests/util/text_scrapers.h"
#include "tools/simulator/terra_payloads.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::GenerateWebhooks;
using ::healthwire::simulator::PayloadType;
using ::healthwire::simulator::SimulatedWebhook;
using ::healthwire::simulator::SimulationOptions;
using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::ChildProcess;
using ::healthwire::testing::DatabaseBytes;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::ListAll;
using ::healthwire::testing::ReplayChangeLog;
using ::healthwire::testing::RpcContext;
using ::healthwire::testing::ScanDatabase;
using ::healthwire::testing::StoreRevision;
using ::healthwire::testing::StreamSubscriber;

constexpr char kSecret[] = "erasure-e2e-secret";
constexpr char kHwctl[] = "tools/hwctl/hwctl";
constexpr char kVictim[] = "victim-user-5e1d";
constexpr char kVictimReference[] = "victim-reference-77";
constexpr char kVictimSummary[] = "victim-sleep-summary";
constexpr char kKeeper[] = "keeper-user-a2b4";
constexpr char kKeeperSummary[] = "keeper-sleep-summary";

struct HwctlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

HwctlResult RunHwctl(const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> run = ChildProcess::Start(kHwctl, args);
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return {};
  absl::StatusOr<int> exit_code = (*run)->Wait(absl::Seconds(120));
  return HwctlResult{exit_code.ok() ? *exit_code : -1, (*run)->Stdout(), (*run)->Stderr()};
}

std::string SleepBody(const std::string& user, const std::string& reference,
                      const std::string& summary_id, int day) {
  return SleepWebhookBuilder(user, summary_id)
      .ReferenceId(reference)
      .StartTime(absl::StrCat("2026-07-0", day, "T23:10:00.000000+01:00"))
      .SleepScore(60 + day)
      .Json();
}

grpc::StatusCode GetUserCode(v1::EventStore::Stub* stub, const std::string& user) {
  v1::GetUserRequest request;
  request.mutable_subject()->set_user_id(user);
  v1::GetUserResponse response;
  return stub->GetUser(RpcContext().get(), request, &response).error_code();
}

grpc::StatusCode GetLatestCode(v1::EventStore::Stub* stub, const std::string& user) {
  v1::GetLatestResponse response;
  return testing::GetLatest(stub, user, v1::EVENT_TYPE_SLEEP, &response).error_code();
}

class ErasureDeploymentTest {
 protected:
  explicit ErasureDeploymentTest(DeploymentMode mode) : deployment_(mode) {}

  void Start(std::vector<std::string> flags = {}) {
    deployment_.ForgetStore();
    deployment_.ForgetGateway();
    flags.push_back(absl::StrCat("--signing_secret=", kSecret));
    absl::Status started = deployment_.Start(flags);
    ASSERT_TRUE(started.ok()) << started;
    HttpTestClient::Options options;
    options.signing_secret = kSecret;
    client_ = std::make_unique<HttpTestClient>(deployment_.http_port(), options);
  }

  void Post(const std::string& body) {
    testing::HttpResponse response = client_->PostSigned(body);
    ASSERT_EQ(response.status, 200) << response;
  }

  std::string StoreFlag() { return "--store=" + deployment_.store()->grpc_target(); }

  Deployment deployment_;
  std::unique_ptr<HttpTestClient> client_;
};

// Embedded only (--erase_on_deauth is a store flag; kill -9 of the one process).
class ErasureE2eTest : public ErasureDeploymentTest, public ::testing::Test {
 protected:
  ErasureE2eTest() : ErasureDeploymentTest(DeploymentMode::kEmbedded) {}
};

// Embedded and split (healthwire_store + healthwire_gateway).
class ErasureBothModesTest : public ErasureDeploymentTest,
                             public ::testing::TestWithParam<DeploymentMode> {
 protected:
  ErasureBothModesTest() : ErasureDeploymentTest(GetParam()) {}
};

INSTANTIATE_TEST_SUITE_P(BothModes, ErasureBothModesTest,
                         ::testing::Values(DeploymentMode::kEmbedded, DeploymentMode::kSplit),
                         testing::DeploymentModeName);

TEST_P(ErasureBothModesTest, HwctlEraseRemovesThePersonFromEveryReadReplayAndFileAndStreamsATombstone) {
  Start();
  v1::StreamUpdatesRequest only_victim;
  only_victim.add_user_ids(kVictim);
  StreamSubscriber subscriber(deployment_.stub(), only_victim);
  absl::SleepFor(absl::Milliseconds(200));  // the stream is open before the data comes

  for (int day = 1; day <= 3; ++day) {
    Post(SleepBody(kVictim, kVictimReference, absl::StrCat(kVictimSummary, day), day));
    Post(SleepBody(kKeeper, "", absl::StrCat(kKeeperSummary, day), day));
  }
  ASSERT_TRUE(subscriber.WaitForUpdates(3));
  const std::vector<v1::Event> keeper_before = ListAll(deployment_.stub(), kKeeper, v1::EVENT_TYPE_SLEEP);
  ASSERT_EQ(keeper_before.size(), 3u);

  // Without --yes and nothing typed: nothing happens.
  HwctlResult unconfirmed = RunHwctl({"erase", "--user", kVictim, StoreFlag()});
  EXPECT_EQ(unconfirmed.exit_code, 2) << unconfirmed.err;
  EXPECT_TRUE(absl::StrContains(unconfirmed.err, "nothing erased")) << unconfirmed.err;
  EXPECT_EQ(GetLatestCode(deployment_.stub(), kVictim), grpc::StatusCode::OK);

  HwctlResult erased = RunHwctl({"erase", "--user", kVictim, "--yes", StoreFlag()});
  ASSERT_EQ(erased.exit_code, 0) << erased.err;
  EXPECT_EQ(erased.out,
            absl::StrCat("erased user \"", kVictim,
                         "\": 3 records, 3 changes, 1 connection records; tombstone at "
                         "revision 7\n"));

  // The subscriber of that person got the tombstone.
  ASSERT_TRUE(subscriber.WaitForUpdates(4));
  EXPECT_EQ(subscriber.revisions().back(), 7u);
  EXPECT_EQ(subscriber.types().back(), v1::EVENT_TYPE_ERASURE);

  EXPECT_EQ(GetLatestCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ListAll(deployment_.stub(), kVictim, v1::EVENT_TYPE_SLEEP).empty());
  EXPECT_EQ(GetUserCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
  std::vector<v1::Event> keeper_after = ListAll(deployment_.stub(), kKeeper, v1::EVENT_TYPE_SLEEP);
  ASSERT_EQ(keeper_after.size(), keeper_before.size());
  for (size_t i = 0; i < keeper_after.size(); ++i) {
    EXPECT_EQ(keeper_after[i].raw_json(), keeper_before[i].raw_json());
  }

  const std::vector<v1::Event> replay = ReplayChangeLog(deployment_.stub(), 7, true);
  ASSERT_EQ(replay.size(), 7u);
  int erased_placeholders = 0;
  for (size_t i = 0; i < replay.size(); ++i) {
    EXPECT_EQ(replay[i].revision(), i + 1);
    const std::string bytes = replay[i].SerializeAsString();
    for (const char* needle : {kVictim, kVictimReference, kVictimSummary}) {
      EXPECT_FALSE(absl::StrContains(bytes, needle)) << needle << " at " << replay[i].revision();
    }
    if (replay[i].type() == v1::EVENT_TYPE_ERASED) ++erased_placeholders;
  }
  EXPECT_EQ(erased_placeholders, 3);
  EXPECT_EQ(replay.back().type(), v1::EVENT_TYPE_ERASURE);

  HwctlResult again = RunHwctl({"erase", "--user", kVictim, "--yes", "--json", StoreFlag()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(absl::StrContains(again.out, "tombstone_revision")) << again.out;  // 0: not printed
  EXPECT_TRUE(absl::StrContains(again.out, "\"store_revision\":\"7\"")) << again.out;
  EXPECT_EQ(StoreRevision(deployment_.stub()), 7u);

  // An export of the changes after the erasure replays: the erasure lines
  // carry no record and are skipped, the other person's re-deliveries are
  // identical.
  const std::string export_file = deployment_.data_dir() + "/../changes.ndjson";
  HwctlResult exported =
      RunHwctl({"export", "changes", "--output", export_file, StoreFlag()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  HwctlResult replayed = RunHwctl(
      {"replay", export_file, absl::StrCat("--secret=", kSecret),
       absl::StrCat("--url=http://127.0.0.1:", deployment_.http_port(), "/webhooks/terra")});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err << replayed.out;
  EXPECT_TRUE(absl::StrContains(replayed.out, "replayed 3 record(s)")) << replayed.out;
  EXPECT_TRUE(absl::StrContains(replayed.out, "skipped 4 erasure line(s)")) << replayed.out;
  EXPECT_EQ(StoreRevision(deployment_.stub()), 7u);

  if (deployment_.mode() == DeploymentMode::kEmbedded) {  // store metrics: embedded only
    testing::HttpResponse metrics = client_->Get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics;
    EXPECT_EQ(testing::MetricValue(metrics.body, "healthwire_store_erasures_total"), 1);
    EXPECT_EQ(
        testing::MetricValue(metrics.body, "healthwire_store_erasure_compaction_failures_total"),
        0);
    EXPECT_EQ(testing::MetricValue(metrics.body, "healthwire_store_erasures_queued"), 0);
    EXPECT_EQ(testing::MetricValue(metrics.body, "healthwire_store_erasure_compactions_pending"),
              0);
  }

  subscriber.Stop();
  absl::StatusOr<int> stopped = deployment_.store()->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok() && *stopped == 0) << deployment_.Logs();
  absl::StatusOr<DatabaseBytes> bytes = ScanDatabase(deployment_.data_dir());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(bytes->Contains(kKeeperSummary)) << "the scan sees stored data";
  for (const char* needle : {kVictim, kVictimReference, kVictimSummary}) {
    EXPECT_FALSE(bytes->Contains(needle)) << needle << " found in: " << bytes->WhereIs(needle);
  }
}

TEST_F(ErasureE2eTest, WithEraseOnDeauthASignedDeauthWebhookErasesThatConnection) {
  Start({"--erase_on_deauth"});
  for (int day = 1; day <= 2; ++day) {
    Post(SleepBody(kVictim, kVictimReference, absl::StrCat(kVictimSummary, day), day));
  }
  Post(SleepBody(kKeeper, "", kKeeperSummary, 1));
  SimulationOptions deauth;
  deauth.type = PayloadType::kDeauth;
  deauth.user_id = kVictim;
  deauth.reference_id = kVictimReference;
  absl::StatusOr<std::vector<SimulatedWebhook>> webhooks = GenerateWebhooks(deauth);
  ASSERT_TRUE(webhooks.ok() && webhooks->size() == 1) << webhooks.status();
  Post((*webhooks)[0].body);

  EXPECT_EQ(GetUserCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetLatestCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetLatestCode(deployment_.stub(), kKeeper), grpc::StatusCode::OK);
  const uint64_t revision = StoreRevision(deployment_.stub());
  ASSERT_EQ(revision, 5u);  // 3 sleeps, the deauth, the tombstone
  const std::vector<v1::Event> replay = ReplayChangeLog(deployment_.stub(), revision, true);
  ASSERT_EQ(replay.size(), revision);
  for (const v1::Event& event : replay) {
    EXPECT_FALSE(absl::StrContains(event.SerializeAsString(), kVictim)) << event.revision();
  }
  EXPECT_EQ(replay[3].type(), v1::EVENT_TYPE_ERASED);  // the deauth named the user too
  EXPECT_EQ(replay.back().type(), v1::EVENT_TYPE_ERASURE);
  EXPECT_EQ(replay.back().erasure().trigger(), v1::Erasure::TRIGGER_DEAUTH);
  EXPECT_EQ(replay.back().erasure().records_erased(), 3u);
}

// kill -9 while an erasure of a person with many records runs, at a few
// different moments: after the restart either all of the person is there
// (every record, every change) or nothing, and revisions are dense.
TEST_F(ErasureE2eTest, KillDuringAnErasureLeavesAllOfItOrNone) {
  Start();
  SimulationOptions sleeps;
  sleeps.type = PayloadType::kSleep;
  sleeps.user_id = kVictim;
  sleeps.reference_id = kVictimReference;
  sleeps.record_count = 200;
  sleeps.records_per_webhook = 10;
  sleeps.samples_per_array = 200;
  absl::StatusOr<std::vector<SimulatedWebhook>> webhooks = GenerateWebhooks(sleeps);
  ASSERT_TRUE(webhooks.ok()) << webhooks.status();
  Post(SleepBody(kKeeper, "", kKeeperSummary, 1));

  int all = 0, none = 0;
  // From before the call reaches the store to well after its commit (the
  // commit of 200 records takes some tens of ms here; the last delay also
  // kills during or after the compaction).
  const absl::Duration delays[] = {absl::ZeroDuration(),    absl::Milliseconds(10),
                                   absl::Milliseconds(30),  absl::Milliseconds(60),
                                   absl::Milliseconds(150), absl::Seconds(1)};
  for (absl::Duration delay : delays) {
    // The person's data (again, after an erasure in the previous round).
    if (GetLatestCode(deployment_.stub(), kVictim) == grpc::StatusCode::NOT_FOUND) {
      for (const SimulatedWebhook& webhook : *webhooks) Post(webhook.body);
    }
    ASSERT_EQ(ListAll(deployment_.stub(), kVictim, v1::EVENT_TYPE_SLEEP).size(), 200u);
    const uint64_t before = StoreRevision(deployment_.stub());

    // The RPC itself (not hwctl, whose start-up would blur the moment).
    grpc::ClientContext context;
    v1::EraseUserRequest request;
    request.mutable_subject()->set_user_id(kVictim);
    v1::EraseUserResponse response;
    absl::Notification answered;
    deployment_.stub()->async()->EraseUser(&context, &request, &response,
                                           [&answered](grpc::Status) { answered.Notify(); });
    absl::SleepFor(delay);
    deployment_.store()->Stop(SIGKILL).IgnoreError();
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
    Start();

    const uint64_t after = StoreRevision(deployment_.stub());
    const size_t records = ListAll(deployment_.stub(), kVictim, v1::EVENT_TYPE_SLEEP).size();
    const std::vector<v1::Event> replay = ReplayChangeLog(deployment_.stub(), after, true);
    ASSERT_EQ(replay.size(), after) << "revisions must stay dense";
    int with_victim = 0;
    for (size_t i = 0; i < replay.size(); ++i) {
      EXPECT_EQ(replay[i].revision(), i + 1);
      if (absl::StrContains(replay[i].SerializeAsString(), kVictim)) ++with_victim;
    }
    if (after == before) {
      ++all;
      EXPECT_EQ(records, 200u) << "delay " << delay;
      EXPECT_EQ(GetUserCode(deployment_.stub(), kVictim), grpc::StatusCode::OK);
      EXPECT_GE(with_victim, 20) << "every webhook's changes are still there";
    } else {
      ++none;
      EXPECT_EQ(after, before + 1) << "delay " << delay;
      EXPECT_EQ(records, 0u) << "delay " << delay;
      EXPECT_EQ(GetUserCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
      EXPECT_EQ(with_victim, 0) << "delay " << delay;
      EXPECT_EQ(replay.back().type(), v1::EVENT_TYPE_ERASURE);
    }
    EXPECT_EQ(GetLatestCode(deployment_.stub(), kKeeper), grpc::StatusCode::OK);
    std::printf("kill -9 %s after EraseUser was sent: %s\n", absl::FormatDuration(delay).c_str(),
                after == before ? "all of the person there" : "none of the person there");
  }
  std::printf("kill -9 during erasure: %d rounds found all of the person, %d none\n", all, none);
  // Whatever the kills left, an erasure afterwards finishes the job.
  HwctlResult erased = RunHwctl({"erase", "--user", kVictim, "--yes", StoreFlag()});
  ASSERT_EQ(erased.exit_code, 0) << erased.err;
  EXPECT_EQ(GetLatestCode(deployment_.stub(), kVictim), grpc::StatusCode::NOT_FOUND);
}

TEST(ErasureFlagsTest, AnEraseQueueOfZeroIsRefusedWithOneLine) {
  const testing::TempDir dir("erase-flags");
  absl::StatusOr<std::unique_ptr<ChildProcess>> run = ChildProcess::Start(
      "server/healthwire",
      {"--data_dir=" + dir.path(), "--grpc_port=0", "--http_port=0", "--erase_max_queued=0"});
  ASSERT_TRUE(run.ok()) << run.status();
  absl::StatusOr<int> exit_code = (*run)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 1);
  EXPECT_TRUE(absl::StrContains((*run)->Stderr(), "--erase_max_queued=0 must be at least 1"))
      << (*run)->Stderr();
}

}  // namespace
}  // namespace healthwire
