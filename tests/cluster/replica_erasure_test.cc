// Erasure in cluster mode on three real nats-servers: EraseThroughLog puts an
// erasure entry in the commit log, every replica applies it at the same
// place (same tombstone revision, same change log, same digest), the person
// is NOT_FOUND on every replica and no replica's change log holds their raw
// JSON. Then the person's own messages are deleted from the JetStream stream
// once every registered replica applied the erasure (StreamEraser,
// ReplicaRegistry): a stopped replica holds the deletion back until it is
// back or forgotten, and a store behind the deletion refuses to start (a
// replica's checkpoint seeds a new one instead).
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nats/nats.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"
#include "storage/event_store.h"
#include "storage/replica/replica_registry.h"
#include "storage/replica/store_replica.h"
#include "tests/cluster/nats_cluster.h"
#include "tests/util/polling.h"
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
  // `checkpoint_dir`: where CreateCheckpoint puts checkpoints (empty: the
  // store's default beside `dir`).
  static absl::StatusOr<std::unique_ptr<Replica>> TryOpen(const std::string& dir,
                                                          const CommitLogOptions& log,
                                                          bool delete_erased_messages = true,
                                                          const std::string& checkpoint_dir = "") {
    auto replica = std::make_unique<Replica>();
    EventStore::Options store_options;
    store_options.path = dir;
    store_options.log_replica = true;
    store_options.checkpoint_dir = checkpoint_dir;
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(store_options);
    if (!store.ok()) return store.status();
    replica->store = std::move(*store);
    StoreReplica::Options options;
    options.log = log;
    options.delete_erased_messages = delete_erased_messages;
    options.eraser.interval = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<StoreReplica>> applier =
        StoreReplica::Start(replica->store.get(), options);
    if (!applier.ok()) return applier.status();
    replica->applier = std::move(*applier);
    return replica;
  }
  static std::unique_ptr<Replica> Open(const std::string& dir, const CommitLogOptions& log,
                                       bool delete_erased_messages = true,
                                       const std::string& checkpoint_dir = "") {
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        TryOpen(dir, log, delete_erased_messages, checkpoint_dir);
    EXPECT_TRUE(replica.ok()) << replica.status();
    return replica.ok() ? *std::move(replica) : nullptr;
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

  // The person's own deliveries (3 single, one in chunks), the keeper's (3),
  // and one delivery with both people's events; returns the stream
  // sequences holding only the person's data, ascending (the mixed one is
  // in mixed_sequence_).
  std::vector<uint64_t> PublishBothPeople() {
    std::vector<uint64_t> victims;  // the person's own messages
    for (int n = 1; n <= 3; ++n) {
      victims.push_back(Publish(kVictim, n, kVictimPayload));
      keeper_sequences_.push_back(Publish(kKeeper, n, "kept"));
    }
    // A delivery with both people's events stays (deleting it would delete
    // the keeper's data too).
    log::v1::Delivery mixed;
    *mixed.add_events() = Sleep(kVictim, 4, kVictimPayload);
    *mixed.add_events() = Sleep(kKeeper, 4, "kept");
    absl::StatusOr<PublishResult> mixed_sequence =
        publisher_->PublishAndWait(std::move(mixed), absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(mixed_sequence.ok()) << mixed_sequence.status();
    if (mixed_sequence.ok()) mixed_sequence_ = mixed_sequence->sequence;
    // A delivery written in chunks: its commit entry and every chunk go.
    log::v1::Delivery large;
    *large.add_events() = Sleep(kVictim, 5, kVictimPayload);
    absl::StatusOr<log::v1::ChunkedDelivery> chunks = publisher_->WriteChunks(
        "victim-chunked-delivery", large.SerializeAsString(), absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(chunks.ok()) << chunks.status();
    if (!chunks.ok()) return victims;
    EXPECT_GE(chunks->chunks_size(), 1);
    for (const log::v1::ChunkRef& chunk : chunks->chunks()) victims.push_back(chunk.stream_sequence());
    absl::StatusOr<PublishResult> committed =
        publisher_->CommitChunks(*chunks, absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(committed.ok()) << committed.status();
    if (!committed.ok()) return victims;
    victims.push_back(committed->sequence);
    std::sort(victims.begin(), victims.end());
    return victims;
  }

  // Whether the stream still holds message `sequence`.
  bool InStream(uint64_t sequence) {
    natsMsg* msg = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&msg, log_->jetstream(), log_options_.stream.c_str(), sequence,
                             nullptr, &err);
    if (s == NATS_OK) natsMsg_Destroy(msg);
    EXPECT_TRUE(s == NATS_OK || s == NATS_NOT_FOUND || err == JSNoMessageFoundErr)
        << natsStatus_GetText(s) << " " << err;
    return s == NATS_OK;
  }

  // The sequences of every message in the stream whose bytes contain `text`
  // (a raw read of the whole stream, as anyone with access to it could do).
  std::vector<uint64_t> MessagesContaining(const std::string& text) {
    absl::StatusOr<StreamState> state = log_->GetStreamState();
    EXPECT_TRUE(state.ok()) << state.status();
    std::vector<uint64_t> found;
    if (!state.ok()) return found;
    for (uint64_t sequence = state->first_sequence; sequence <= state->last_sequence;
         ++sequence) {
      natsMsg* msg = nullptr;
      jsErrCode err = static_cast<jsErrCode>(0);
      if (js_GetMsg(&msg, log_->jetstream(), log_options_.stream.c_str(), sequence, nullptr,
                    &err) != NATS_OK) {
        continue;  // deleted
      }
      const std::string data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
      natsMsg_Destroy(msg);
      if (absl::StrContains(data, text)) found.push_back(sequence);
    }
    return found;
  }

  // Until the replica's eraser has no pending job.
  bool WaitForDeletions(Replica& replica) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      absl::StatusOr<std::vector<EventStore::StreamDeletionJob>> jobs =
          replica.store->ListStreamDeletionJobs(10);
      if (jobs.ok() && jobs->empty()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  CommitLogOptions log_options_;
  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
  uint64_t mixed_sequence_ = 0;
  std::vector<uint64_t> keeper_sequences_;
};

TEST_F(ReplicaErasureTest, EveryReplicaAppliesTheErasureEntryAlikeAndACheckpointSeedsTheSameState) {
  const TempDir dir_a("replica-a"), dir_b("replica-b"), checkpoints("checkpoints");
  std::unique_ptr<Replica> a =
      Replica::Open(dir_a.path(), log_options_, true, checkpoints.path());
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

  // A replica seeded from a checkpoint taken after the erasure follows the
  // log from there to the same state (one started empty is refused once the
  // erasure's messages are deleted: EveryRegisteredReplicaMust... below).
  absl::StatusOr<CheckpointResult> checkpoint = a->store->CreateCheckpoint("seed");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  last = Publish(kKeeper, 7, "kept");
  std::unique_ptr<Replica> c = Replica::Open(checkpoint->path, log_options_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(c->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSameAndErased(*c, *a);
  std::cout << "3 replicas after the erasure at sequence " << last << ", revision "
            << a->store->CurrentRevision() << ", digest " << a->applier->GetStatus().digest_hex
            << "\n";
}

TEST_F(ReplicaErasureTest, TheErasureLeavesAJobNamingExactlyThePersonsOwnMessagesOnEveryReplica) {
  const TempDir dir_a("replica-a"), dir_b("replica-b");
  // Erasers off: the jobs stay to be looked at.
  std::unique_ptr<Replica> a = Replica::Open(dir_a.path(), log_options_, false);
  std::unique_ptr<Replica> b = Replica::Open(dir_b.path(), log_options_, false);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<uint64_t> victims = PublishBothPeople();

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

TEST_F(ReplicaErasureTest, ThePersonsOwnMessagesLeaveTheStreamOnlyOnceEveryRegisteredReplicaAppliedTheErasure) {
  const TempDir dir_a("replica-a"), dir_b("replica-b"), dir_c("replica-c");
  std::unique_ptr<Replica> a = Replica::Open(dir_a.path(), log_options_);
  std::unique_ptr<Replica> b = Replica::Open(dir_b.path(), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<uint64_t> victims = PublishBothPeople();
  ASSERT_EQ(victims.size(), 5u);
  ASSERT_TRUE(b->applier->WaitForSequence(victims.back(), absl::Now() + absl::Seconds(60)));
  const std::string b_id = b->applier->GetStatus().replica_id;
  EXPECT_EQ(b_id, StoreReplica::DefaultReplicaId(dir_b.path()));
  b.reset();  // B is down while the erasure goes through A

  absl::StatusOr<v1::EraseUserResponse> erased =
      a->applier->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(erased.ok()) << erased.status();
  const uint64_t erasure = a->applier->applied_sequence();
  // B has not applied it: nothing is deleted, and A says whom it waits for.
  ASSERT_TRUE(testing::PollUntil([&] { return !a->applier->GetStatus().eraser.blocked_by.empty(); },
                               absl::Seconds(30)));
  StoreReplica::Status waiting = a->applier->GetStatus();
  EXPECT_EQ(waiting.eraser.jobs_pending, 1u);
  EXPECT_TRUE(absl::StrContains(waiting.eraser.blocked_by, b_id)) << waiting.eraser.blocked_by;
  absl::SleepFor(absl::Seconds(1));
  for (uint64_t sequence : victims) EXPECT_TRUE(InStream(sequence)) << sequence;

  // B back: it applies the erasure, then both erasers delete.
  b = Replica::Open(dir_b.path(), log_options_);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->applier->WaitForSequence(erasure, absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(WaitForDeletions(*a));
  ASSERT_TRUE(WaitForDeletions(*b));
  for (uint64_t sequence : victims) EXPECT_FALSE(InStream(sequence)) << sequence;
  for (uint64_t sequence : keeper_sequences_) EXPECT_TRUE(InStream(sequence)) << sequence;
  EXPECT_TRUE(InStream(erasure));  // the subject's id, no health data
  // A raw read of the whole stream: the person's payload only in the mixed
  // delivery (it holds the keeper's data too), their id besides only in the
  // erasure entry.
  EXPECT_EQ(MessagesContaining(kVictimPayload), std::vector<uint64_t>{mixed_sequence_});
  EXPECT_EQ(MessagesContaining(kVictim), (std::vector<uint64_t>{mixed_sequence_, erasure}));
  EXPECT_GE(a->applier->GetStatus().eraser.messages_deleted, victims.size());
  EXPECT_TRUE(a->applier->GetStatus().eraser.blocked_by.empty());
  ExpectSameAndErased(*a, *b);

  // A store that has not applied the log that far cannot follow it any more.
  absl::StatusOr<std::unique_ptr<Replica>> empty = Replica::TryOpen(dir_c.path(), log_options_);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(empty.status().message(), "cannot catch up from the log"))
      << empty.status();
  EXPECT_TRUE(absl::StrContains(empty.status().message(), "checkpoint")) << empty.status();
  // ...and is not left registered for erasures to wait on.
  std::unique_ptr<ReplicaRegistry> registry = *ReplicaRegistry::Open(log_.get());
  absl::StatusOr<std::vector<ReplicaRegistry::Entry>> entries = registry->List();
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::vector<std::string> ids;
  for (const ReplicaRegistry::Entry& entry : *entries) ids.push_back(entry.replica_id);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), StoreReplica::DefaultReplicaId(dir_c.path())) ==
              ids.end());
  EXPECT_EQ(*registry->ErasedThrough(), erasure);
}

TEST_F(ReplicaErasureTest, AForgottenReplicaNoLongerHoldsDeletionsBackAndCannotRejoinBehindThem) {
  const TempDir dir_a("replica-a"), dir_b("replica-b");
  std::unique_ptr<Replica> a = Replica::Open(dir_a.path(), log_options_);
  std::unique_ptr<Replica> b = Replica::Open(dir_b.path(), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<uint64_t> victims = PublishBothPeople();
  ASSERT_TRUE(b->applier->WaitForSequence(victims.back(), absl::Now() + absl::Seconds(60)));
  const std::string b_id = b->applier->GetStatus().replica_id;
  b.reset();
  ASSERT_TRUE(
      a->applier->EraseThroughLog(StoreSubject::UserId(kVictim), absl::Now() + absl::Seconds(60))
          .ok());
  ASSERT_TRUE(testing::PollUntil([&] { return !a->applier->GetStatus().eraser.blocked_by.empty(); },
                               absl::Seconds(30)));
  for (uint64_t sequence : victims) EXPECT_TRUE(InStream(sequence)) << sequence;

  std::unique_ptr<ReplicaRegistry> registry = *ReplicaRegistry::Open(log_.get());
  ASSERT_TRUE(registry->Forget(b_id).ok());
  EXPECT_EQ(registry->Forget(b_id).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(WaitForDeletions(*a));
  for (uint64_t sequence : victims) EXPECT_FALSE(InStream(sequence)) << sequence;

  absl::StatusOr<std::unique_ptr<Replica>> rejoined = Replica::TryOpen(dir_b.path(), log_options_);
  ASSERT_FALSE(rejoined.ok());
  EXPECT_EQ(rejoined.status().code(), absl::StatusCode::kFailedPrecondition) << rejoined.status();

  // A replica forgotten while it runs stops applying (erasers may delete
  // past it from then on) and says why.
  ASSERT_TRUE(registry->Forget(a->applier->GetStatus().replica_id).ok());
  const uint64_t after = Publish(kKeeper, 9, "kept");
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        return absl::StrContains(a->applier->GetStatus().last_error,
                                 "removed from the replica registry");
      },
      absl::Seconds(30)));
  EXPECT_FALSE(a->applier->GetStatus().applying);
  absl::SleepFor(absl::Seconds(1));
  const uint64_t stopped_at = a->applier->applied_sequence();
  EXPECT_TRUE(stopped_at <= after);
  Publish(kKeeper, 10, "kept");
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(a->applier->applied_sequence(), stopped_at);
}

}  // namespace
}  // namespace healthwire
