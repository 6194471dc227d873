// The replica digest (EventStore::LogPosition::digest) covers what was
// stored, not only the revisions: two stores applying the same number of
// versions with different content end with different digests, the same
// content gives the same digest. (ApplyBatch moves the stored events out of
// the call, so the feeder must take what it hashes before applying.)
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using testing::TempDir;

v1::Event Sleep(const std::string& user, const std::string& raw_json) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.set_record_key("night-1");
  event.mutable_user()->set_user_id(user);
  event.mutable_received_at()->set_seconds(1'700'000'000);
  event.set_start_time("2026-07-10T01:00:00Z");
  event.set_raw_json(raw_json);
  return event;
}

std::string DigestAfter(const std::string& dir, const std::vector<v1::Event>& events) {
  EventStore::Options options;
  options.path = dir;
  options.log_replica = true;
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return "";
  std::vector<EventStore::LogCall> calls;
  uint64_t sequence = 0;
  for (const v1::Event& event : events) {
    EventStore::LogCall& call = calls.emplace_back();
    call.sequence = ++sequence;
    call.events.push_back(event);
  }
  absl::StatusOr<EventStore::LogApplyResult> applied = (*store)->ApplyLogCalls(std::move(calls));
  EXPECT_TRUE(applied.ok()) << applied.status();
  if (!applied.ok()) return "";
  EXPECT_EQ(applied->store_revision, events.size());
  return applied->position.digest;
}

TEST(LogDigestTest, TheDigestCoversTheStoredContentNotOnlyTheRevisions) {
  const TempDir a("a"), b("b"), c("c"), d("d");
  const std::string first = DigestAfter(a.path(), {Sleep("user-1", "{\"hr\":60}")});
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(DigestAfter(b.path(), {Sleep("user-1", "{\"hr\":60}")}), first);
  EXPECT_NE(DigestAfter(c.path(), {Sleep("user-1", "{\"hr\":61}")}), first) << "raw JSON";
  EXPECT_NE(DigestAfter(d.path(), {Sleep("user-2", "{\"hr\":60}")}), first) << "user_id";
}

}  // namespace
}  // namespace healthwire
