// Erasure in cluster mode on three real nats-servers: EraseThroughLog puts an
// erasure entry in the commit log, every replica applies it at the same
// place (same tombstone revision, same change log, same digest), the person
// is NOT_FOUND on every replica and no replica's change log holds their raw
// JSON; a replica started empty afterwards replays the log, erasure
// included, to the same state.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"
#include "storage/event_store.h"
#include "storage/replica/store_replica.h"
#include "tests/cluster/nats_cluster.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using testing::NatsCluster;
using testing::TempDir;

constexpr char kVictim[] = "cluster-victim-91";
constexpr char kVictimPayload[] = "CLUSTER-VICTIM-PAYLOAD";
constexpr char kKeeper[] = "cluster-keeper-12";

v1::Event Sleep(const std::string& user, int n, const std::string& marker) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.set_record_key(absl::StrCat("night-", n));
  event.mutable_user()->set_user_id(user);
  event.mutable_user()->set_reference_id(absl::StrCat("ref-", user));
  event.mutable_received_at()->set_seconds(1'700'000'000 + n);
  event.set_start_time(absl::StrCat("2026-07-", 10 + n, "T01:00:00Z"));
  event.set_raw_json(absl::StrCat("{\"n\":", n, ",\"m\":\"", marker, "\"}"));
  return event;
}

struct Replica {
  static std::unique_ptr<Replica> Open(const std::string& dir, const CommitLogOptions& log) {
    auto replica = std::make_unique<Replica>();
    EventStore::Options store_options;
    store_options.path = dir;
    store_options.log_replica = true;
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(store_options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    replica->store = std::move(*store);
    StoreReplica::Options options;
    options.log = log;
    absl::StatusOr<std::unique_ptr<StoreReplica>> applier =
        StoreReplica::Start(replica->store.get(), options);
    EXPECT_TRUE(applier.ok()) << applier.status();
    if (!applier.ok()) return nullptr;
    replica->applier = std::move(*applier);
    return replica;
  }
  ~Replica() {
    applier.reset();
    store.reset();
  }
  std::vector<std::string> ChangeLog() {
    std::vector<std::string> all;
    EXPECT_TRUE(store->ReadChangeLogBytes(1, 100000, &all).ok());
    return all;
  }

  std::unique_ptr<EventStore> store;
  std::unique_ptr<StoreReplica> applier;
};

class ReplicaErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<NatsCluster>> cluster = NatsCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    log_options_.servers = cluster_->Urls();
    absl::StatusOr<std::unique_ptr<CommitLog>> log = CommitLog::Connect(log_options_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ASSERT_TRUE(log_->EnsureStream(absl::Now() + absl::Seconds(60)).ok());
    publisher_ = std::make_unique<LogPublisher>(log_.get());
  }
  void TearDown() override {
    publisher_.reset();
    log_.reset();
  }

  uint64_t Publish(const std::string& user, int n, const std::string& marker) {
    log::v1::Delivery delivery;
    *delivery.add_events() = Sleep(user, n, marker);
    absl::StatusOr<PublishResult> result =
        publisher_->PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->sequence : 0;
  }

  void ExpectSameAndErased(Replica& a, Replica& b) {
    EXPECT_EQ(a.applier->GetStatus().digest_hex, b.applier->GetStatus().digest_hex);
    EXPECT_EQ(a.store->CurrentRevision(), b.store->CurrentRevision());
    EXPECT_TRUE(a.ChangeLog() == b.ChangeLog()) << "change logs differ";
    for (Replica* replica : {&a, &b}) {
      EXPECT_EQ(replica->store->GetLatest({StoreSubject::UserId(kVictim), v1::EVENT_TYPE_SLEEP})
                    .status()
                    .code(),
                absl::StatusCode::kNotFound);
      EXPECT_EQ(replica->store->GetUser(StoreSubject::UserId(kVictim)).status().code(),
                absl::StatusCode::kNotFound);
      EXPECT_TRUE(
          replica->store->GetLatest({StoreSubject::UserId(kKeeper), v1::EVENT_TYPE_SLEEP}).ok());
      for (const std::string& entry : replica->ChangeLog()) {
        EXPECT_FALSE(absl::StrContains(entry, kVictimPayload));
        EXPECT_FALSE(absl::StrContains(entry, kVictim));
      }
    }
  }

  CommitLogOptions log_options_;
  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
};

TEST_F(ReplicaErasureTest, EveryReplicaAppliesTheErasureEntryAlikeAndAReplayReachesTheSameState) {
  const TempDir dir_a("replica-a"), dir_b("replica-b"), dir_c("replica-c");
  std::unique_ptr<Replica> a = Replica::Open(dir_a.path(), log_options_);
  std::unique_ptr<Replica> b = Replica::Open(dir_b.path(), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  uint64_t last = 0;
  for (int n = 1; n <= 5; ++n) {
    Publish(kVictim, n, kVictimPayload);
    last = Publish(kKeeper, n, "kept");
  }
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));

  absl::StatusOr<v1::EraseUserResponse> erased =
      a->applier->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->records_erased(), 5u);
  EXPECT_EQ(erased->changes_erased(), 5u);
  EXPECT_EQ(erased->connections_erased(), 1u);
  EXPECT_EQ(erased->tombstone_revision(), 11u);
  const uint64_t after_erasure = a->applier->GetStatus().applied_sequence;
  ASSERT_TRUE(b->applier->WaitForSequence(after_erasure, absl::Now() + absl::Seconds(60)));
  ExpectSameAndErased(*a, *b);

  // Data after the erasure is applied on top, alike.
  last = Publish(kKeeper, 6, "kept");
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSameAndErased(*a, *b);

  // A second erasure through the log erases nothing, on every replica.
  absl::StatusOr<v1::EraseUserResponse> again =
      b->applier->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->tombstone_revision(), 0u);
  last = b->applier->GetStatus().applied_sequence;
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSameAndErased(*a, *b);

  // A replica started empty replays everything, the erasure included.
  std::unique_ptr<Replica> c = Replica::Open(dir_c.path(), log_options_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSameAndErased(*c, *a);
  std::cout << "3 replicas after the erasure at sequence " << last << ", revision "
            << a->store->CurrentRevision() << ", digest " << a->applier->GetStatus().digest_hex
            << "\n";
}

TEST_F(ReplicaErasureTest, TheErasureLeavesAJobNamingExactlyThePersonsOwnMessagesOnEveryReplica) {
  const TempDir dir_a("replica-a"), dir_b("replica-b");
  std::unique_ptr<Replica> a = Replica::Open(dir_a.path(), log_options_);
  std::unique_ptr<Replica> b = Replica::Open(dir_b.path(), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<uint64_t> victims;  // the person's own messages
  for (int n = 1; n <= 3; ++n) {
    victims.push_back(Publish(kVictim, n, kVictimPayload));
    Publish(kKeeper, n, "kept");
  }
  // A delivery with both people's events stays (deleting it would delete
  // the keeper's data too).
  log::v1::Delivery mixed;
  *mixed.add_events() = Sleep(kVictim, 4, kVictimPayload);
  *mixed.add_events() = Sleep(kKeeper, 4, "kept");
  absl::StatusOr<PublishResult> mixed_sequence =
      publisher_->PublishAndWait(std::move(mixed), absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(mixed_sequence.ok()) << mixed_sequence.status();
  // A delivery written in chunks: its commit entry and every chunk go.
  log::v1::Delivery large;
  *large.add_events() = Sleep(kVictim, 5, kVictimPayload);
  absl::StatusOr<log::v1::ChunkedDelivery> chunks = publisher_->WriteChunks(
      "victim-chunked-delivery", large.SerializeAsString(), absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GE(chunks->chunks_size(), 1);
  for (const log::v1::ChunkRef& chunk : chunks->chunks()) victims.push_back(chunk.stream_sequence());
  absl::StatusOr<PublishResult> committed =
      publisher_->CommitChunks(*chunks, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(committed.ok()) << committed.status();
  victims.push_back(committed->sequence);
  std::sort(victims.begin(), victims.end());

  absl::StatusOr<v1::EraseUserResponse> erased =
      a->applier->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->records_erased(), 5u);
  const uint64_t erasure = a->applier->GetStatus().applied_sequence;
  ASSERT_TRUE(b->applier->WaitForSequence(erasure, absl::Now() + absl::Seconds(60)));
  for (Replica* replica : {a.get(), b.get()}) {
    absl::StatusOr<std::vector<EventStore::StreamDeletionJob>> jobs =
        replica->store->ListStreamDeletionJobs(10);
    ASSERT_TRUE(jobs.ok()) << jobs.status();
    ASSERT_EQ(jobs->size(), 1u);
    EXPECT_EQ(jobs->front().erasure_sequence, erasure);
    EXPECT_EQ(jobs->front().sequences, victims);
  }
  // Erased again: nothing left to delete, no second job.
  ASSERT_TRUE(b->applier
                  ->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60))
                  .ok());
  ASSERT_TRUE(a->applier->WaitForSequence(b->applier->applied_sequence(),
                                          absl::Now() + absl::Seconds(60)));
  absl::StatusOr<std::vector<EventStore::StreamDeletionJob>> jobs =
      a->store->ListStreamDeletionJobs(10);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_EQ(jobs->size(), 1u);
  // Finishing a job removes it (the stream eraser does that after deleting).
  ASSERT_TRUE(a->store->FinishStreamDeletionJob(erasure).ok());
  jobs = a->store->ListStreamDeletionJobs(10);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_TRUE(jobs->empty());
}

}  // namespace
}  // namespace healthwire
