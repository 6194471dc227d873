// Store replicas (storage/replica) applying one commit log on three real
// nats-servers: the same records under the same revisions and the same
// digest on every replica, also after a replica was stopped and caught up,
// and for a replica started empty.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "gtest/gtest.h"
#include "storage/commit_log/commit_log.h"
#include "storage/commit_log/log_publisher.h"
#include "storage/event_store.h"
#include "storage/replica/store_replica.h"
#include "tests/cluster/nats_cluster.h"

namespace healthwire {
namespace {

using testing::NatsCluster;

std::string TempDir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/", name, "-XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// A sleep record of `user` under `key`, with `raw` as its JSON and an
// optional ordering timestamp; received at `received` (unix seconds).
v1::Event SleepEvent(const std::string& user, const std::string& key, const std::string& raw,
                     std::optional<int64_t> ordering_ms, int64_t received) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.set_record_key(key);
  event.mutable_user()->set_user_id(user);
  event.mutable_user()->set_reference_id(absl::StrCat("ref-", user));
  event.mutable_received_at()->set_seconds(received);
  event.set_start_time(absl::StrCat("2026-07-", 10 + key.size() % 18, "T01:00:00Z"));
  if (ordering_ms.has_value()) event.set_ordering_timestamp_ms(*ordering_ms);
  event.set_raw_json(raw);
  return event;
}

// A file system whose free space is what the test says (the disk reserve
// check asks it; nothing is really full).
class SettableFreeSpaceFileSystem : public rocksdb::FileSystemWrapper {
 public:
  SettableFreeSpaceFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "SettableFreeSpaceFileSystem"; }
  rocksdb::IOStatus GetFreeSpace(const std::string& /*path*/, const rocksdb::IOOptions&,
                                 uint64_t* free_bytes, rocksdb::IODebugContext*) override {
    *free_bytes = free_bytes_.load();
    return rocksdb::IOStatus::OK();
  }
  std::atomic<uint64_t> free_bytes_{uint64_t{1} << 40};
};

class Replica {
 public:
  // Opens (or reopens) the store in `dir` and starts applying the log.
  static std::unique_ptr<Replica> Open(const std::string& dir, const CommitLogOptions& log,
                                       rocksdb::Env* env = nullptr) {
    auto replica = std::make_unique<Replica>();
    EventStore::Options store_options;
    store_options.path = dir;
    store_options.env = env;
    store_options.log_replica = true;
    store_options.sync_writes = false;  // the log is the durable copy
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
    applier.reset();  // before the store it writes to
    store.reset();
  }

  std::vector<std::string> ChangeLog() {
    std::vector<std::string> all, page;
    uint64_t from = 1;
    do {
      EXPECT_TRUE(store->ReadChangeLogBytes(from, 1000, &page).ok());
      all.insert(all.end(), page.begin(), page.end());
      from += page.size();
    } while (page.size() == 1000);
    return all;
  }

  std::unique_ptr<EventStore> store;
  std::unique_ptr<StoreReplica> applier;
};

class ReplicaTest : public ::testing::Test {
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

  // Publishes `count` deliveries starting at `first`: new records, new
  // versions of earlier ones, identical re-deliveries (under other delivery
  // ids, past the duplicate window as far as the store knows), stale ones.
  uint64_t PublishMix(int first, int count) {
    uint64_t last = 0;
    for (int i = first; i < first + count; ++i) {
      log::v1::Delivery delivery;
      const std::string user = absl::StrCat("user-", i % 7);
      const std::string key = absl::StrCat("night-", i % 23);
      std::string raw = absl::StrCat("{\"summary_id\":\"", key, "\",\"v\":", i / 23, "}");
      std::optional<int64_t> ordering = 1'000'000 + i;
      if (i % 13 == 0) ordering = 5;  // older than what is stored: stale
      *delivery.add_events() = SleepEvent(user, key, raw, ordering, 1'700'000'000 + i);
      if (i % 5 == 0) {
        *delivery.add_events() =
            SleepEvent(user, absl::StrCat("nap-", i), "{\"nap\":true}", std::nullopt, 1'700'000'000 + i);
      }
      delivery.set_delivery_id(absl::StrCat("delivery-", i));
      log::v1::Delivery redelivery = delivery;
      absl::StatusOr<PublishResult> result =
          publisher_->PublishAndWait(std::move(delivery), absl::Now() + absl::Seconds(10));
      EXPECT_TRUE(result.ok()) << result.status();
      if (result.ok()) last = result->sequence;
      if (i % 11 == 0) {
        // Terra re-sends it later: identical content, another received_at.
        redelivery.set_delivery_id(absl::StrCat("redelivery-", i));
        for (v1::Event& event : *redelivery.mutable_events()) {
          event.mutable_received_at()->set_seconds(event.received_at().seconds() + 3600);
        }
        result = publisher_->PublishAndWait(std::move(redelivery), absl::Now() + absl::Seconds(10));
        EXPECT_TRUE(result.ok()) << result.status();
        if (result.ok()) last = result->sequence;
      }
    }
    return last;
  }

  void ExpectSame(Replica& a, Replica& b) {
    const StoreReplica::Status sa = a.applier->GetStatus();
    const StoreReplica::Status sb = b.applier->GetStatus();
    EXPECT_EQ(sa.applied_sequence, sb.applied_sequence);
    EXPECT_EQ(sa.digest_hex, sb.digest_hex);
    EXPECT_FALSE(sa.digest_hex.empty());
    EXPECT_EQ(a.store->CurrentRevision(), b.store->CurrentRevision());
    EXPECT_TRUE(a.ChangeLog() == b.ChangeLog()) << "change logs differ";
  }

  CommitLogOptions log_options_;
  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<CommitLog> log_;
  std::unique_ptr<LogPublisher> publisher_;
};

TEST_F(ReplicaTest, TwoReplicasStoreTheSameRevisionsAndDigest) {
  std::unique_ptr<Replica> a = Replica::Open(TempDir("replica-a"), log_options_);
  std::unique_ptr<Replica> b = Replica::Open(TempDir("replica-b"), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const uint64_t last = PublishMix(0, 300);
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSame(*a, *b);
  // The mix exercised the rules: some stored, some identical, some stale.
  const EventStore::Stats stats = a->store->GetStats();
  EXPECT_GT(stats.stored, 100u);
  EXPECT_GT(stats.identical, 0u);
  EXPECT_GT(stats.stale, 0u);
  // Dense revisions: the change log holds 1..N without gaps.
  EXPECT_EQ(a->ChangeLog().size(), a->store->CurrentRevision());

  // A replica's store refuses writes that bypass the log.
  absl::StatusOr<v1::IngestResponse> bypass =
      a->store->Ingest({SleepEvent("u", "k", "{}", std::nullopt, 1)});
  EXPECT_EQ(bypass.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReplicaTest, StoppedReplicaCatchesUpAndAnEmptyOneReplaysToTheSameDigest) {
  const std::string dir_a = TempDir("replica-a");
  std::unique_ptr<Replica> a = Replica::Open(dir_a, log_options_);
  std::unique_ptr<Replica> b = Replica::Open(TempDir("replica-b"), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  uint64_t last = PublishMix(0, 150);
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  const uint64_t a_stopped_at = a->applier->GetStatus().applied_sequence;
  a.reset();  // replica A goes away ...
  last = PublishMix(150, 150);  // ... while the log moves on
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));

  a = Replica::Open(dir_a, log_options_);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->store->ReadLogPosition()->applied_sequence >= a_stopped_at, true);
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSame(*a, *b);

  std::unique_ptr<Replica> c = Replica::Open(TempDir("replica-c"), log_options_);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  ExpectSame(*c, *b);
  std::cout << "3 replicas at sequence " << last << ", revision " << b->store->CurrentRevision()
            << ", digest " << b->applier->GetStatus().digest_hex << "\n";
}

TEST_F(ReplicaTest, ReplicaOnAFullDiskStopsApplyingSaysWhyAndResumesWhenSpaceIsFreed) {
  auto file_system = std::make_shared<SettableFreeSpaceFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  std::unique_ptr<Replica> a = Replica::Open(TempDir("replica-full"), log_options_, env.get());
  std::unique_ptr<Replica> b = Replica::Open(TempDir("replica-b"), log_options_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  uint64_t last = PublishMix(0, 60);
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  const uint64_t applied_before = a->applier->GetStatus().applied_sequence;
  const uint64_t revision_before = a->store->CurrentRevision();

  file_system->free_bytes_ = 1 << 20;  // below the 32 MiB reserve
  last = PublishMix(60, 60);
  ASSERT_TRUE(b->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  StoreReplica::Status stopped;
  ASSERT_TRUE([&] {
    for (const absl::Time give_up = absl::Now() + absl::Seconds(30); absl::Now() < give_up;) {
      stopped = a->applier->GetStatus();
      if (!stopped.applying) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }()) << "the replica kept applying on a full disk";
  EXPECT_TRUE(absl::StrContains(stopped.last_error, "is full")) << stopped.last_error;
  absl::SleepFor(absl::Seconds(1));  // and it stays stopped
  EXPECT_EQ(a->applier->GetStatus().applied_sequence, applied_before);
  EXPECT_EQ(a->store->CurrentRevision(), revision_before);
  EXPECT_FALSE(a->store->Health().ok());

  file_system->free_bytes_ = uint64_t{1} << 40;  // space freed
  ASSERT_TRUE(a->applier->WaitForSequence(last, absl::Now() + absl::Seconds(60)));
  EXPECT_TRUE(a->applier->GetStatus().applying);
  EXPECT_TRUE(a->applier->GetStatus().last_error.empty()) << a->applier->GetStatus().last_error;
  ExpectSame(*a, *b);
  a.reset();  // before the env it uses
}

TEST_F(ReplicaTest, ReplicasOfOneLogShareTheLogsTimeline) {
  StoreReplica::Options options;
  options.log = log_options_;
  absl::StatusOr<std::string> first = StoreReplica::LogTimeline(options);
  absl::StatusOr<std::string> second = StoreReplica::LogTimeline(options);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(*first, *second);
  // Another stream on the same servers is another history.
  options.log.stream = "OTHER";
  options.log.subject_prefix = "other.log";
  absl::StatusOr<std::string> other = StoreReplica::LogTimeline(options);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(*first, *other);
}

}  // namespace
}  // namespace healthwire
