// The store's change log as StreamUpdates sees it: retention by count and by
// age, its persistence, and the publish hook that feeds subscriptions.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"

namespace healthwire {
namespace {

std::string FreshDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/changelog-XXXXXX");
  return mkdtemp(pattern.data());
}

v1::Event Sleep(int n, absl::Time received = absl::Now()) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.mutable_user()->set_user_id("u1");
  event.set_record_key(absl::StrCat("s", n));
  event.set_start_time("2026-07-01T23:00:00.000000+01:00");
  event.set_raw_json(absl::StrCat("{\"n\":", n, "}"));
  event.mutable_received_at()->set_seconds(absl::ToUnixSeconds(received));
  return event;
}

std::unique_ptr<EventStore> Open(EventStore::Options options) {
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::vector<uint64_t> ChangeLogRevisions(const EventStore& store) {
  std::vector<v1::Event> events;
  EXPECT_TRUE(store.ReadChangeLog(0, 1000, &events).ok());
  std::vector<uint64_t> revisions;
  for (const v1::Event& event : events) revisions.push_back(event.revision());
  return revisions;
}

TEST(ChangeLogTest, CountRetentionKeepsTheNewestEntries) {
  EventStore::Options options;
  options.path = FreshDir();
  options.changelog_max_entries = 10;
  auto store = Open(options);
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(store->Ingest({Sleep(i)}).ok());
  EXPECT_EQ(store->OldestRetainedRevision(), 21u);
  std::vector<uint64_t> expected;
  for (uint64_t r = 21; r <= 30; ++r) expected.push_back(r);
  EXPECT_EQ(ChangeLogRevisions(*store), expected);
}

TEST(ChangeLogTest, RetentionSurvivesReopening) {
  EventStore::Options options;
  options.path = FreshDir();
  options.changelog_max_entries = 5;
  {
    auto store = Open(options);
    for (int i = 1; i <= 12; ++i) ASSERT_TRUE(store->Ingest({Sleep(i)}).ok());
  }
  auto reopened = Open(options);
  EXPECT_EQ(reopened->OldestRetainedRevision(), 8u);
  EXPECT_EQ(ChangeLogRevisions(*reopened).front(), 8u);
}

TEST(ChangeLogTest, AgeRetentionDropsEntriesReceivedBeforeTheCutoff) {
  EventStore::Options options;
  options.path = FreshDir();
  options.changelog_max_age = absl::Hours(1);
  options.retention_interval = absl::Milliseconds(50);
  auto store = Open(options);
  const absl::Time long_ago = absl::Now() - absl::Hours(3);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(store->Ingest({Sleep(i, long_ago)}).ok());
  for (int i = 5; i <= 6; ++i) ASSERT_TRUE(store->Ingest({Sleep(i)}).ok());
  for (int i = 0; i < 100 && store->OldestRetainedRevision() < 5; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(store->OldestRetainedRevision(), 5u);
  EXPECT_EQ(ChangeLogRevisions(*store), (std::vector<uint64_t>{5, 6}));
}

TEST(ChangeLogTest, AgeRetentionNeverRemovesTheNewestEntry) {
  EventStore::Options options;
  options.path = FreshDir();
  options.changelog_max_age = absl::Hours(1);
  options.retention_interval = absl::Milliseconds(20);
  auto store = Open(options);
  const absl::Time long_ago = absl::Now() - absl::Hours(3);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(store->Ingest({Sleep(i, long_ago)}).ok());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(ChangeLogRevisions(*store), (std::vector<uint64_t>{3}));
}

TEST(ChangeLogTest, EveryCommitIsPublishedToSubscribersBeforeIngestReturns) {
  EventStore::Options options;
  options.path = FreshDir();
  auto store = Open(options);
  auto subscription = store->subscription_hub()->Subscribe(StreamFilter{}, std::nullopt, [] {});
  ASSERT_TRUE(store->Ingest({Sleep(1), Sleep(2)}).ok());
  Subscription::Next first = subscription->Poll();
  Subscription::Next second = subscription->Poll();
  ASSERT_EQ(first.kind, Subscription::Next::Kind::kUpdate);
  ASSERT_EQ(second.kind, Subscription::Next::Kind::kUpdate);
  EXPECT_EQ(first.update->revision(), 1u);
  EXPECT_EQ(second.update->revision(), 2u);
  EXPECT_EQ(second.update->event().record_key(), "s2");
  store->subscription_hub()->Unsubscribe(subscription);
}

TEST(ChangeLogTest, IdenticalAndStaleDeliveriesPublishNothing) {
  EventStore::Options options;
  options.path = FreshDir();
  auto store = Open(options);
  ASSERT_TRUE(store->Ingest({Sleep(1)}).ok());
  auto subscription = store->subscription_hub()->Subscribe(StreamFilter{}, std::nullopt, [] {});
  ASSERT_TRUE(store->Ingest({Sleep(1)}).ok());
  EXPECT_EQ(subscription->Poll().kind, Subscription::Next::Kind::kNothing);
  store->subscription_hub()->Unsubscribe(subscription);
}

TEST(CheckpointTest, ACheckpointOpensAsAStoreWithEverythingCommittedBeforeIt) {
  EventStore::Options options;
  options.path = FreshDir();
  std::string checkpoint_path;
  {
    auto store = Open(options);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(store->Ingest({Sleep(i)}).ok());
    absl::StatusOr<CheckpointResult> made = store->CreateCheckpoint("nightly");
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ(made->store_revision, 3u);
    EXPECT_EQ(made->path, options.path + ".checkpoints/nightly");
    checkpoint_path = made->path;
    EXPECT_EQ(store->CreateCheckpoint("nightly").status().code(),
              absl::StatusCode::kAlreadyExists);
  }
  EventStore::Options restored_options;
  restored_options.path = checkpoint_path;
  auto restored = Open(restored_options);
  EXPECT_EQ(restored->CurrentRevision(), 3u);
  EXPECT_EQ(ChangeLogRevisions(*restored), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(CheckpointTest, ANameThatIsAPathIsInvalidArgument) {
  EventStore::Options options;
  options.path = FreshDir();
  auto store = Open(options);
  EXPECT_EQ(store->CreateCheckpoint("../escape").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthwire
