// Erasure in cluster mode with the shipped binaries: three nats-servers, two
// healthwire_store replicas and a healthwire_gateway on --log. Signed
// webhooks go through the gateway into the log; `hwctl erase` against one
// replica puts the erasure into the log, and both replicas then answer
// NOT_FOUND for the person, keep the other person, and replay the same
// change log without a byte of the erased data; the person's messages then
// leave the stream (GetStatus, hwctl replicas).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "healthwire/v1/healthwire.grpc.pb.h"
#include "proto/message_limits.h"
#include "tests/cluster/nats_cluster.h"
#include "tests/util/child_process.h"
#include "tests/util/http_test_client.h"
#include "tests/util/polling.h"
#include "tests/util/server_process.h"
#include "tests/util/store_reads.h"
#include "tests/util/temp_dir.h"
#include "tools/simulator/webhook_bodies.h"

namespace healthwire {
namespace {

using ::healthwire::simulator::SleepWebhookBuilder;
using ::healthwire::testing::ChildProcess;
using ::healthwire::testing::HttpTestClient;
using ::healthwire::testing::NatsCluster;
using ::healthwire::testing::ReplayChangeLog;
using ::healthwire::testing::ServerProcess;
using ::healthwire::testing::StoreRevision;
using ::healthwire::testing::TempDir;

constexpr char kSecret[] = "cluster-erasure-secret";
constexpr char kVictim[] = "cluster-e2e-victim";
constexpr char kKeeper[] = "cluster-e2e-keeper";

std::unique_ptr<v1::EventStore::Stub> StubFor(const ServerProcess& process) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  return v1::EventStore::NewStub(grpc::CreateCustomChannel(
      process.grpc_target(), grpc::InsecureChannelCredentials(), arguments));
}

grpc::StatusCode LatestCode(v1::EventStore::Stub* stub, const std::string& user) {
  v1::GetLatestResponse response;
  return testing::GetLatest(stub, user, v1::EVENT_TYPE_SLEEP, &response).error_code();
}

TEST(ClusterErasureE2eTest, HwctlEraseOnOneReplicaErasesOnEveryReplica) {
  absl::StatusOr<std::unique_ptr<NatsCluster>> cluster = NatsCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string log_flag = absl::StrCat("--log=", (*cluster)->UrlsJoined());
  const TempDir store_a("store-a"), store_b("store-b"), gateway_dir("gateway");
  std::vector<std::unique_ptr<ServerProcess>> stores;
  for (const TempDir* dir : {&store_a, &store_b}) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> store = ServerProcess::Start(
        "server/healthwire_store",
        {log_flag, "--data_dir=" + dir->path(), "--grpc_port=0"}, absl::Seconds(90));
    ASSERT_TRUE(store.ok()) << store.status();
    stores.push_back(*std::move(store));
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> gateway = ServerProcess::Start(
      "server/healthwire_gateway",
      {log_flag, "--data_dir=" + gateway_dir.path(), "--http_port=0",
       absl::StrCat("--signing_secret=", kSecret)},
      absl::Seconds(90));
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  HttpTestClient::Options options;
  options.signing_secret = kSecret;
  HttpTestClient client((*gateway)->http_port(), options);
  for (int day = 1; day <= 3; ++day) {
    for (const char* user : {kVictim, kKeeper}) {
      const std::string body = SleepWebhookBuilder(user, absl::StrCat(user, "-night-", day))
                                   .StartTime(absl::StrCat("2026-07-0", day, "T23:00:00+01:00"))
                                   .Json();
      testing::HttpResponse response = client.PostSigned(body);
      ASSERT_EQ(response.status, 200) << response;
    }
  }
  std::vector<std::unique_ptr<v1::EventStore::Stub>> stubs;
  for (const auto& store : stores) stubs.push_back(StubFor(*store));
  for (const auto& stub : stubs) {
    ASSERT_TRUE(testing::PollUntil([&] { return StoreRevision(stub.get()) == 6; },
                                   absl::Seconds(60)));
  }

  absl::StatusOr<std::unique_ptr<ChildProcess>> erase = ChildProcess::Start(
      "tools/hwctl/hwctl",
      {"erase", "--user", kVictim, "--yes", "--store=" + stores[0]->grpc_target(),
       "--timeout=60s"});
  ASSERT_TRUE(erase.ok()) << erase.status();
  absl::StatusOr<int> exit_code = (*erase)->Wait(absl::Seconds(90));
  ASSERT_TRUE(exit_code.ok() && *exit_code == 0) << (*erase)->Stderr();
  EXPECT_TRUE(absl::StrContains((*erase)->Stdout(), "3 records, 3 changes, 1 connection records; "
                                                    "tombstone at revision 7"))
      << (*erase)->Stdout();
  EXPECT_TRUE(absl::StrContains((*erase)->Stdout(), "compacts the erased key ranges in the "
                                                    "background"))
      << (*erase)->Stdout();

  std::vector<std::vector<v1::Event>> replays;
  for (const auto& stub : stubs) {
    ASSERT_TRUE(testing::PollUntil([&] { return StoreRevision(stub.get()) == 7; },
                                   absl::Seconds(60)));
    EXPECT_EQ(LatestCode(stub.get(), kVictim), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(LatestCode(stub.get(), kKeeper), grpc::StatusCode::OK);
    replays.push_back(ReplayChangeLog(stub.get(), 7, true));
    ASSERT_EQ(replays.back().size(), 7u);
    for (const v1::Event& event : replays.back()) {
      EXPECT_FALSE(absl::StrContains(event.SerializeAsString(), kVictim)) << event.revision();
    }
    EXPECT_EQ(replays.back().back().type(), v1::EVENT_TYPE_ERASURE);
  }
  for (size_t i = 0; i < replays[0].size(); ++i) {
    EXPECT_EQ(replays[0][i].SerializeAsString(), replays[1][i].SerializeAsString())
        << "revision " << i + 1 << " differs between the replicas";
  }

  // The person's three deliveries leave the stream: both replicas applied
  // the erasure, so their erasers delete them (GetStatus says so).
  for (const auto& stub : stubs) {
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          grpc::ClientContext context;
          v1::GetStatusResponse status;
          return stub->GetStatus(&context, v1::GetStatusRequest(), &status).ok() &&
                 status.replica().erasure_stream_jobs_pending() == 0 &&
                 status.replica().erasure_stream_messages_deleted() >= 3;
        },
        absl::Seconds(60)));
  }
  // hwctl replicas lists both, nothing behind the erasure.
  absl::StatusOr<std::unique_ptr<ChildProcess>> replicas =
      ChildProcess::Start("tools/hwctl/hwctl", {"replicas", log_flag});
  ASSERT_TRUE(replicas.ok()) << replicas.status();
  exit_code = (*replicas)->Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok() && *exit_code == 0) << (*replicas)->Stderr();
  EXPECT_TRUE(absl::StrContains((*replicas)->Stdout(), "2 replica(s):")) << (*replicas)->Stdout();
  EXPECT_TRUE(absl::StrContains((*replicas)->Stdout(), store_a.path())) << (*replicas)->Stdout();
  EXPECT_TRUE(absl::StrContains((*replicas)->Stdout(), store_b.path())) << (*replicas)->Stdout();
  EXPECT_TRUE(absl::StrContains((*replicas)->Stdout(), "erased through: log sequence "))
      << (*replicas)->Stdout();
  EXPECT_FALSE(absl::StrContains((*replicas)->Stdout(), "BEHIND")) << (*replicas)->Stdout();
  // Forgetting a replica that is not registered is a clear "not found".
  absl::StatusOr<std::unique_ptr<ChildProcess>> forget = ChildProcess::Start(
      "tools/hwctl/hwctl", {"replicas", log_flag, "--forget=no-such-replica"});
  ASSERT_TRUE(forget.ok()) << forget.status();
  exit_code = (*forget)->Wait(absl::Seconds(60));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 4) << (*forget)->Stderr();
  EXPECT_TRUE(absl::StrContains((*forget)->Stderr(), "no replica \"no-such-replica\""))
      << (*forget)->Stderr();
}

}  // namespace
}  // namespace healthwire
