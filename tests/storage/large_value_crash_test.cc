// kill -9 between a large value's write and the commit that references it
// (storage/large_values.h): after the restart nothing of the record is
// stored (no record, no change-log entry, revision 0) and no orphan is left:
// the value and its pending key are gone from every column family and its
// bytes from every file of the folder. Real RocksDB, a real child process
// killed at the point (large_value_crash_child).
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/util/child_process.h"
#include "tests/util/database_scan.h"
#include "tests/util/temp_dir.h"

namespace healthwire {
namespace {

using ::healthwire::testing::ChildProcess;
using ::healthwire::testing::DatabaseBytes;
using ::healthwire::testing::ScanDatabase;
using ::healthwire::testing::TempDir;

constexpr char kMarker[] = "CRASHED-LARGE-VALUE-MARKER";

TEST(LargeValueCrashTest, AKillBetweenTheLargeValueWriteAndTheCommitLeavesNothingHalfStored) {
  const TempDir dir("large-crash");
  const std::string path = dir.path() + "/data";
  {
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
        "tests/storage/large_value_crash_child", {path, absl::StrCat(4 << 20), kMarker});
    ASSERT_TRUE(child.ok()) << child.status();
    ASSERT_TRUE((*child)->WaitForOutput(
        [](const std::string& out, const std::string&) {
          return absl::StrContains(out, "AT_COMMIT");
        },
        absl::Seconds(30)))
        << (*child)->Stderr();
    // The value is in the store now (the crash point is after its ingest).
    absl::StatusOr<int> killed = (*child)->Stop(SIGKILL);
    ASSERT_TRUE(killed.ok()) << killed.status();
    EXPECT_EQ(*killed, 128 + SIGKILL);
  }
  {
    // What the crash left, before the store's open cleans it up: the value
    // was written (else this test would prove nothing).
    absl::StatusOr<DatabaseBytes> before = ScanDatabase(path);
    ASSERT_TRUE(before.ok()) << before.status();
    ASSERT_TRUE(before->Contains(kMarker)) << "the child did not get to write the value";
  }
  EventStore::Options options;
  options.path = path;
  {
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->CurrentRevision(), 0u);
    EXPECT_EQ((*store)->GetStats().large_values_collected, 1u);  // removed at open
    LatestQuery query;
    query.subject = StoreSubject::UserId("crash-user");
    query.type = v1::EVENT_TYPE_SLEEP;
    EXPECT_EQ((*store)->GetLatest(query).status().code(), absl::StatusCode::kNotFound);
    std::vector<v1::Event> log;
    ASSERT_TRUE((*store)->ReadChangeLog(1, 10, &log).ok());
    EXPECT_TRUE(log.empty());
  }
  absl::StatusOr<DatabaseBytes> after = ScanDatabase(path);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->Contains(kMarker)) << after->WhereIs(kMarker);
  // No pending key survived either: a second open has nothing to remove.
  absl::StatusOr<std::unique_ptr<EventStore>> reopened = EventStore::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->GetStats().large_values_collected, 0u);
}

}  // namespace
}  // namespace healthwire
