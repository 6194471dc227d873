// The subscription hub's synced/unsynced model, without RocksDB or sockets:
// the test plays the store (Publish) and the stream (Poll, and the change-log
// reads a real stream does on kCatchUp).
#include "storage/subscription_hub.h"

#include <atomic>
#include <deque>
#include <map>
#include <random>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace healthwire {
namespace {

using Kind = Subscription::Next::Kind;

class SubscriptionHubTest : public ::testing::Test {
 protected:
  // Commits one sleep event of `user` and publishes it.
  void Commit(const std::string& user, v1::EventType type = v1::EVENT_TYPE_SLEEP) {
    v1::Event event;
    event.set_revision(++revision_);
    event.set_type(type);
    event.mutable_user()->set_user_id(user);
    auto update = std::make_shared<const CommittedUpdate>(event);
    change_log_[revision_] = update;
    hub_.Publish({update}, revision_);
  }

  // Drains the subscription like a stream would, reading the change log on
  // kCatchUp; returns the revisions it would send.
  std::vector<uint64_t> Drain(Subscription& sub) {
    std::vector<uint64_t> sent;
    for (;;) {
      Subscription::Next next = sub.Poll();
      if (next.kind == Kind::kNothing) return sent;
      if (next.kind == Kind::kUpdate) {
        sent.push_back(next.update->revision());
        continue;
      }
      for (uint64_t r = next.catch_up_from; r <= next.catch_up_through; ++r) {
        if (sub.filter().Matches(change_log_[r]->event())) sent.push_back(r);
      }
      sub.CatchUpDone(next.catch_up_through);
    }
  }

  SubscriptionHub hub_{SubscriptionHub::Options{.max_buffered_updates = 4}};
  uint64_t revision_ = 0;
  std::map<uint64_t, std::shared_ptr<const CommittedUpdate>> change_log_;
};

TEST_F(SubscriptionHubTest, LiveSubscriptionGetsOnlyChangesAfterItSubscribed) {
  Commit("a");
  auto sub = hub_.Subscribe(StreamFilter{}, std::nullopt, [] {});
  Commit("a");
  Commit("b");
  EXPECT_EQ(Drain(*sub), (std::vector<uint64_t>{2, 3}));
}

TEST_F(SubscriptionHubTest, StartRevisionReplaysFromTheChangeLogThenGoesLive) {
  Commit("a");
  Commit("a");
  Commit("a");
  auto sub = hub_.Subscribe(StreamFilter{}, 2, [] {});
  EXPECT_EQ(Drain(*sub), (std::vector<uint64_t>{2, 3}));
  Commit("a");
  EXPECT_EQ(Drain(*sub), (std::vector<uint64_t>{4}));
}

TEST_F(SubscriptionHubTest, FilterSelectsUsersAndTypes) {
  StreamFilter filter;
  filter.user_ids.insert("a");
  filter.types.insert(v1::EVENT_TYPE_SLEEP);
  auto sub = hub_.Subscribe(filter, std::nullopt, [] {});
  Commit("a");
  Commit("b");
  Commit("a", v1::EVENT_TYPE_ACTIVITY);
  Commit("a");
  EXPECT_EQ(Drain(*sub), (std::vector<uint64_t>{1, 4}));
}

TEST_F(SubscriptionHubTest, SlowSubscriberFallsBehindAndCatchesUpWithNoGapOrDuplicate) {
  auto sub = hub_.Subscribe(StreamFilter{}, std::nullopt, [] {});
  Commit("a");
  ASSERT_EQ(sub->Poll().update->revision(), 1u);  // sent one, then stalls
  for (int i = 0; i < 10; ++i) Commit("a");       // more than the buffer holds
  EXPECT_EQ(sub->times_fell_behind(), 1u);
  std::vector<uint64_t> rest = Drain(*sub);
  std::vector<uint64_t> expected;
  for (uint64_t r = 2; r <= 11; ++r) expected.push_back(r);
  EXPECT_EQ(rest, expected);
  Commit("a");
  EXPECT_EQ(Drain(*sub), (std::vector<uint64_t>{12}));
}

TEST_F(SubscriptionHubTest, StalledSubscriberBuffersAtMostTheLimit) {
  auto sub = hub_.Subscribe(StreamFilter{}, std::nullopt, [] {});
  for (int i = 0; i < 1000; ++i) Commit("a");
  // Nothing buffered once it fell behind: it reads the change log instead.
  Subscription::Next next = sub->Poll();
  EXPECT_EQ(next.kind, Kind::kCatchUp);
  EXPECT_EQ(next.catch_up_from, 1u);
  EXPECT_EQ(next.catch_up_through, 1000u);
}

TEST_F(SubscriptionHubTest, PublishWakesSubscribersThatHaveSomethingNew) {
  std::atomic<int> wakes{0};
  StreamFilter only_b;
  only_b.user_ids.insert("b");
  auto sub = hub_.Subscribe(only_b, std::nullopt, [&] { ++wakes; });
  Commit("a");
  EXPECT_EQ(wakes.load(), 0);
  Commit("b");
  EXPECT_EQ(wakes.load(), 1);
}

TEST_F(SubscriptionHubTest, ProgressRevisionCoversNonMatchingChanges) {
  StreamFilter only_b;
  only_b.user_ids.insert("b");
  auto sub = hub_.Subscribe(only_b, std::nullopt, [] {});
  Commit("a");
  Commit("a");
  EXPECT_EQ(sub->ProgressRevision(), std::optional<uint64_t>(2));
}

TEST_F(SubscriptionHubTest, UnsubscribeReleasesTheSubscription) {
  auto sub = hub_.Subscribe(StreamFilter{}, std::nullopt, [] {});
  Commit("a");
  hub_.Unsubscribe(sub);
  EXPECT_EQ(hub_.subscriber_count(), 0u);
  Commit("a");
  EXPECT_EQ(sub.use_count(), 1);
}

// A consumer that takes one step at a time, interleaved at random with
// commits, reading the change log in small chunks like UpdateStream does:
// whatever the interleaving, it sends every revision once, in order.
TEST_F(SubscriptionHubTest, RandomInterleavingsOfCommitsAndSlowReadsLoseNothing) {
  std::mt19937 random(7);
  for (int round = 0; round < 50; ++round) {
    auto sub = hub_.Subscribe(StreamFilter{}, revision_ + 1, [] {});
    const uint64_t first = revision_ + 1;
    std::vector<uint64_t> sent;
    std::deque<uint64_t> pending;  // chunk read from the log, not yet sent
    for (int step = 0; step < 400; ++step) {
      if (random() % 3 == 0) {
        Commit("a");
        continue;
      }
      if (!pending.empty()) {
        sent.push_back(pending.front());
        pending.pop_front();
        continue;
      }
      Subscription::Next next = sub->Poll();
      if (next.kind == Kind::kUpdate) sent.push_back(next.update->revision());
      if (next.kind == Kind::kCatchUp) {
        constexpr uint64_t kChunk = 3;
        uint64_t done = next.catch_up_through;
        for (uint64_t r = next.catch_up_from; r <= next.catch_up_through; ++r) {
          if (r - next.catch_up_from == kChunk) {
            done = r - 1;
            break;
          }
          pending.push_back(r);
        }
        sub->CatchUpDone(done);
      }
    }
    for (uint64_t r : pending) sent.push_back(r);
    std::vector<uint64_t> rest = Drain(*sub);
    sent.insert(sent.end(), rest.begin(), rest.end());
    ASSERT_EQ(sent, [&] {
      std::vector<uint64_t> all;
      for (uint64_t r = first; r <= revision_; ++r) all.push_back(r);
      return all;
    }()) << "round " << round;
    hub_.Unsubscribe(sub);
  }
}

TEST(StreamFilterTest, UnknownTypeIsInvalidArgumentNamingTheField) {
  v1::StreamUpdatesRequest request;
  request.add_types(static_cast<v1::EventType>(77));
  absl::StatusOr<StreamFilter> filter = StreamFilter::FromRequest(request);
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(filter.status().message().find("types[0]"), absl::string_view::npos);
}

TEST(StreamFilterTest, ReferenceIdMatchesEventsOfThatPerson) {
  v1::StreamUpdatesRequest request;
  request.add_reference_ids("person-1");
  StreamFilter filter = *StreamFilter::FromRequest(request);
  v1::Event event;
  event.mutable_user()->set_user_id("u");
  event.mutable_user()->set_reference_id("person-1");
  EXPECT_TRUE(filter.Matches(event));
  event.mutable_user()->set_reference_id("person-2");
  EXPECT_FALSE(filter.Matches(event));
}

}  // namespace
}  // namespace healthwire
