// The issue-13 sequences from the command line, through the real binaries:
// `hwctl simulate --type backfill --payloads N` and `--type s3_payload
// --payload_url URL` posted to healthwire (a local HTTPS server stands in for
// S3), then read back with `hwctl backfills`.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "tests/util/child_process.h"
#include "tests/util/deployment.h"
#include "tests/util/https_test_server.h"
#include "tests/util/polling.h"
#include "tests/util/store_reads.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::ChildProcess;
using ::healthwire::testing::Deployment;
using ::healthwire::testing::DeploymentMode;
using ::healthwire::testing::FindStored;
using ::healthwire::testing::HttpsTestServer;
using ::healthwire::testing::PollUntil;

constexpr char kHwctlBinary[] = "tools/hwctl/hwctl";
constexpr char kSecret[] = "simulate-sequences-secret";

struct HwctlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class SimulateSequencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpsTestServer>> server = HttpsTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    s3_ = *std::move(server);
    ASSERT_TRUE(deployment_
                    .Start({absl::StrCat("--signing_secret=", kSecret),
                            "--s3_fetch_allowed_hosts=127.0.0.1:*",
                            absl::StrCat("--s3_fetch_ca_file=", s3_->ca_file()),
                            "--s3_fetch_poll_interval=50ms"})
                    .ok())
        << deployment_.Logs();
  }

  // hwctl `args`, pointed at this deployment: simulate posts to its webhook
  // URL with its secret, other commands ask its store.
  HwctlRun Hwctl(std::vector<std::string> args) {
    if (args.front() == "simulate") {
      args.push_back(absl::StrCat("--url=http://127.0.0.1:", deployment_.http_port(),
                                  "/webhooks/terra"));
      args.push_back(absl::StrCat("--secret=", kSecret));
    } else {
      args.push_back("--store=" + deployment_.store()->grpc_target());
    }
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        ChildProcess::Start(kHwctlBinary, args);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return HwctlRun();
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(60));
    return HwctlRun{code.value_or(-1), (*process)->Stdout(), (*process)->Stderr()};
  }

  std::unique_ptr<HttpsTestServer> s3_;
  Deployment deployment_{DeploymentMode::kEmbedded};
};

TEST_F(SimulateSequencesTest, SimulatedBackfillOfFourPayloadsIsShownComplete) {
  const HwctlRun sent = Hwctl({"simulate", "--type", "backfill", "--payloads", "4", "--seed", "11",
                          "--user", "user-sim-backfill"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  // processing, sending, then the four chunks.
  EXPECT_TRUE(absl::StrContains(sent.out, "chunk 4 of hwctl-backfill-000000000000000b"))
      << sent.out;
  EXPECT_TRUE(absl::StrContains(sent.err, "sent 6 backfill webhook(s)")) << sent.err;

  const HwctlRun shown = Hwctl({"backfills", "--user", "user-sim-backfill"});
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, "backfill hwctl-backfill-000000000000000b"))
      << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "state:    complete")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "payloads: 4 of 4")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "chunks:   1,2,3,4")) << shown.out;

  const HwctlRun unknown = Hwctl({"backfills", "no-such-reference"});
  EXPECT_EQ(unknown.exit_code, 4) << unknown.out << unknown.err;
}

TEST_F(SimulateSequencesTest, SimulatedPingIsFetchedFromItsUrlAndShownWithoutItsQuery) {
  s3_->SetReplies("/body", {{200, SleepWebhookBuilder("user-sim-s3", "sleep-sim-s3").Json()}});
  const HwctlRun sent = Hwctl({"simulate", "--type", "s3_payload", "--payload_url",
                          s3_->Url("/body") + "?X-Amz-Signature=simulated", "--expires_in", "60"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_TRUE(absl::StrContains(sent.out, "s3_payload (trace hwctl-ping-")) << sent.out;

  HwctlRun fetches;
  ASSERT_TRUE(PollUntil(
      [&] {
        fetches = Hwctl({"backfills", "--fetches"});
        return absl::StrContains(fetches.out, ": fetched ");
      },
      absl::Seconds(30)))
      << fetches.out << fetches.err << deployment_.Logs();
  EXPECT_TRUE(absl::StrContains(fetches.out, "fetched " + s3_->Url("/body") + " (1 attempt(s), sleep"))
      << fetches.out;
  EXPECT_FALSE(absl::StrContains(fetches.out, "X-Amz-Signature")) << fetches.out;
  EXPECT_EQ(s3_->RequestCount("/body"), 1);
  EXPECT_TRUE(FindStored(deployment_.stub(), "user-sim-s3", v1::EVENT_TYPE_SLEEP, "sleep-sim-s3")
                  .has_value());

  // Without --payload_url: a usage error naming the flag, nothing sent.
  const HwctlRun missing = Hwctl({"simulate", "--type", "s3_payload"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(missing.err, "--payload_url")) << missing.err;
}

}  // namespace
}  // namespace healthwire
