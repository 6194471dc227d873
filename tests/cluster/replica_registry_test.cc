// The replica registry on three real nats-servers: what StreamEraser and
// StoreReplica::Start rely on. Entries are reported, listed, looked up and
// forgotten by id; an in-place report fails once the entry was forgotten or
// changed; erased_through only ever rises, also when erasers race.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/commit_log/commit_log.h"
#include "storage/replica/replica_registry.h"
#include "tests/cluster/nats_cluster.h"

namespace healthwire {
namespace {

using testing::NatsCluster;

class ReplicaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<NatsCluster>> cluster = NatsCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    CommitLogOptions options;
    options.servers = cluster_->Urls();
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->EnsureStream(absl::Now() + absl::Seconds(60)).ok());
    absl::StatusOr<std::unique_ptr<ReplicaRegistry>> registry = ReplicaRegistry::Open(log_.get());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
  }

  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<ReplicaRegistry> registry_;
};

TEST_F(ReplicaRegistryTest, ReplicasAreReportedListedLookedUpAndForgottenById) {
  absl::StatusOr<std::vector<ReplicaRegistry::Entry>> empty = registry_->List();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  // Ids are any text (host and folder); the key is a hash of them.
  const std::string a = "host-1:/var/lib/healthwire a", b = "host-2:/data/hw";
  ASSERT_TRUE(registry_->Report(a, 7).ok());
  ASSERT_TRUE(registry_->Report(b, 3).ok());
  ASSERT_TRUE(registry_->Report(a, 9).ok());
  absl::StatusOr<std::vector<ReplicaRegistry::Entry>> entries = registry_->List();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].replica_id, a);
  EXPECT_EQ((*entries)[0].applied_sequence, 9u);
  EXPECT_EQ((*entries)[1].replica_id, b);
  EXPECT_EQ((*entries)[1].applied_sequence, 3u);
  EXPECT_LT(absl::Now() - (*entries)[0].reported_at, absl::Minutes(1));

  absl::StatusOr<std::optional<ReplicaRegistry::Entry>> found = registry_->Lookup(b);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->applied_sequence, 3u);
  ASSERT_TRUE(registry_->Forget(b).ok());
  EXPECT_EQ(registry_->Forget(b).code(), absl::StatusCode::kNotFound);
  found = registry_->Lookup(b);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
  entries = registry_->List();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].replica_id, a);
}

TEST_F(ReplicaRegistryTest, AnInPlaceReportFailsOnceTheEntryWasForgottenOrChanged) {
  const std::string id = "host-1:/srv/replica";
  ASSERT_TRUE(registry_->Report(id, 5).ok());
  absl::StatusOr<std::optional<ReplicaRegistry::Entry>> entry = registry_->Lookup(id);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  const uint64_t revision = (*entry)->revision;
  // In place at the revision read: fine, and the revision moves on.
  ASSERT_TRUE(registry_->Report(id, 6, revision).ok());
  // The old revision again: someone else wrote meanwhile (here: we did).
  EXPECT_EQ(registry_->Report(id, 7, revision).code(), absl::StatusCode::kFailedPrecondition);
  entry = registry_->Lookup(id);
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->applied_sequence, 6u);
  // Forgotten: an in-place report cannot bring it back.
  const uint64_t latest = (*entry)->revision;
  ASSERT_TRUE(registry_->Forget(id).ok());
  EXPECT_EQ(registry_->Report(id, 8, latest).code(), absl::StatusCode::kFailedPrecondition);
  entry = registry_->Lookup(id);
  ASSERT_TRUE(entry.ok());
  EXPECT_FALSE(entry->has_value());
}

TEST_F(ReplicaRegistryTest, ErasedThroughOnlyRisesAlsoWhenErasersRace) {
  absl::StatusOr<uint64_t> through = registry_->ErasedThrough();
  ASSERT_TRUE(through.ok()) << through.status();
  EXPECT_EQ(*through, 0u);
  ASSERT_TRUE(registry_->RaiseErasedThrough(40).ok());
  ASSERT_TRUE(registry_->RaiseErasedThrough(25).ok());  // an eraser behind: no effect
  EXPECT_EQ(*registry_->ErasedThrough(), 40u);
  // Four erasers (own connections) raising at once end at the highest.
  std::vector<std::thread> erasers;
  std::vector<absl::Status> results(4);
  for (int i = 0; i < 4; ++i) {
    erasers.emplace_back([&, i] {
      CommitLogOptions options;
      options.servers = cluster_->Urls();
      absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(options);
      if (!log.ok()) {
        results[i] = log.status();
        return;
      }
      absl::StatusOr<std::unique_ptr<ReplicaRegistry>> registry = ReplicaRegistry::Open(log->get());
      if (!registry.ok()) {
        results[i] = registry.status();
        return;
      }
      for (uint64_t e = 41 + i; e <= 80; e += 4) {
        results[i] = (*registry)->RaiseErasedThrough(e);
        if (!results[i].ok()) return;
      }
    });
  }
  for (std::thread& eraser : erasers) eraser.join();
  for (const absl::Status& result : results) EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(*registry_->ErasedThrough(), 80u);
}

}  // namespace
}  // namespace healthwire
