// A full disk under the EventStore: commits are refused with Unavailable
// (nothing written, revisions stay dense), Health() names the disk, and
// writes resume by themselves once space is freed, with every acknowledged
// record still there. Always through an injected file system (free space
// and failing WAL writes on demand); also on a real small tmpfs when the test
// may mount one.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/event_store.h"

namespace healthwire {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

v1::Event Sleep(const std::string& summary_id, size_t raw_bytes = 64) {
  v1::Event event;
  event.set_type(v1::EVENT_TYPE_SLEEP);
  event.set_terra_type("sleep");
  event.set_record_key(summary_id);
  event.mutable_user()->set_user_id("u1");
  event.set_start_time("2026-07-01T22:00:00+00:00");
  // Incompressible enough that the bytes reach the disk.
  std::string raw = absl::StrCat("{\"summary_id\":\"", summary_id, "\",\"pad\":\"");
  uint64_t x = std::hash<std::string>()(summary_id) | 1;
  while (raw.size() < raw_bytes) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    raw.push_back(static_cast<char>('a' + x % 26));
  }
  raw += "\"}";
  event.set_raw_json(raw);
  event.mutable_received_at()->set_seconds(1780000000);
  return event;
}

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/disk_full_", name);
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

// Waits (generously: the machine is shared) until `done` holds.
template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

// A file system whose free space is what the test says, and whose WAL
// appends fail with ENOSPC (IOStatus::NoSpace) while `wal_full` is set.
class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullDiskFileSystem"; }

  rocksdb::IOStatus GetFreeSpace(const std::string& /*path*/, const rocksdb::IOOptions&,
                                 uint64_t* free_bytes, rocksdb::IODebugContext*) override {
    *free_bytes = free_bytes_.load();
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
    if (status.ok() && absl::EndsWith(name, ".log")) {
      *file = std::make_unique<WalFile>(std::move(*file), &wal_full);
    }
    return status;
  }

  std::atomic<uint64_t> free_bytes_{uint64_t{1} << 40};
  std::atomic<bool> wal_full{false};

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(file)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* debug) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
      return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
    }

   private:
    std::atomic<bool>* full_;
  };
};

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = FreshDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    env_ = rocksdb::NewCompositeEnv(file_system_);
    Reopen();
  }
  void TearDown() override { store_.reset(); }

  void Reopen() {
    store_.reset();
    EventStore::Options options;
    options.path = path_ + "/db";
    options.env = env_.get();
    options.block_cache_bytes = 8 << 20;
    options.min_free_disk_bytes = 8 * kMiB;
    options.write_recovery_interval = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<EventStore>> opened = EventStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  std::string path_;
  std::shared_ptr<FullDiskFileSystem> file_system_ = std::make_shared<FullDiskFileSystem>();
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(DiskFullTest, AtTheReserveCommitsAreRefusedAndHealthNamesTheDisk) {
  ASSERT_TRUE(store_->Ingest({Sleep("s1")}).ok());
  EXPECT_TRUE(store_->Health().ok()) << store_->Health();

  file_system_->free_bytes_ = 5 * kMiB;  // below the 8 MiB reserve
  const absl::Status health = store_->Health();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(health.message()), HasSubstr(path_ + "/db"));
  EXPECT_THAT(std::string(health.message()), HasSubstr("full"));
  EXPECT_THAT(std::string(health.message()), HasSubstr("5.0 MiB free"));

  absl::StatusOr<v1::IngestResponse> refused = store_->Ingest({Sleep("s2")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(path_ + "/db"));
  EXPECT_EQ(store_->CurrentRevision(), 1u);
  EXPECT_EQ(store_->GetStats().refused_disk_full, 1u);
  // Reads keep working.
  LatestQuery latest;
  latest.subject = StoreSubject::UserId("u1");
  latest.type = v1::EVENT_TYPE_SLEEP;
  EXPECT_TRUE(store_->GetLatest(latest).ok());
}

TEST_F(DiskFullTest, WritesResumeByThemselvesOnceSpaceIsFreedWithDenseRevisions) {
  ASSERT_TRUE(store_->Ingest({Sleep("s1")}).ok());
  file_system_->free_bytes_ = 1 * kMiB;
  EXPECT_FALSE(store_->Ingest({Sleep("s2")}).ok());
  file_system_->free_bytes_ = 100 * kMiB;
  EXPECT_TRUE(store_->Health().ok()) << store_->Health();
  absl::StatusOr<v1::IngestResponse> resumed = store_->Ingest({Sleep("s2")});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->results(0).revision(), 2u);  // the refused call used no revision
}

TEST_F(DiskFullTest, ACommitLargerThanTheRoomAboveTheReserveIsRefused) {
  file_system_->free_bytes_ = 8 * kMiB + 512 * 1024;  // 512 KiB above the reserve
  EXPECT_TRUE(store_->Ingest({Sleep("small", 1000)}).ok());
  absl::StatusOr<v1::IngestResponse> large = store_->Ingest({Sleep("large", 2 * kMiB)});
  EXPECT_EQ(large.status().code(), absl::StatusCode::kUnavailable) << large.status();
  EXPECT_THAT(std::string(large.status().message()), HasSubstr("to write"));
  // Not ready while that commit would still not fit; small commits still
  // fit, and after one the store reads as ready again.
  EXPECT_EQ(store_->Health().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store_->Ingest({Sleep("small2", 1000)}).ok());
  EXPECT_TRUE(store_->Health().ok()) << store_->Health();
}

// The disk filled under RocksDB anyway (another process wrote to it): the
// failed WAL write stops RocksDB's writes; the store refuses commits, says
// so in Health(), and resumes (DB::Resume) by itself once writes work again.
TEST_F(DiskFullTest, AFailedWalWriteStopsWritesAndTheStoreRecoversByItself) {
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 5; ++i) {
    const std::string key = absl::StrCat("before", i);
    ASSERT_TRUE(store_->Ingest({Sleep(key)}).ok());
    acknowledged.push_back(key);
  }
  file_system_->wal_full = true;
  absl::StatusOr<v1::IngestResponse> failed = store_->Ingest({Sleep("lost")});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  const absl::Status health = store_->Health();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(health.message()), HasSubstr("stopped"));

  file_system_->wal_full = false;
  EXPECT_TRUE(PollUntil([&] { return store_->Health().ok(); })) << store_->Health();
  absl::StatusOr<v1::IngestResponse> after = store_->Ingest({Sleep("after")});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->results(0).revision(), 6u);
  acknowledged.push_back("after");

  Reopen();
  std::vector<v1::Event> log;
  ASSERT_TRUE(store_->ReadChangeLog(0, 100, &log).ok());
  std::vector<std::string> keys;
  for (const v1::Event& event : log) keys.push_back(event.record_key());
  EXPECT_EQ(keys, acknowledged);
  EXPECT_EQ(store_->CurrentRevision(), 6u);
}

// A real small tmpfs, filled by commits: refused before the disk is full, no
// crash, a restart on the full disk opens, and freeing space resumes writes
// with every acknowledged record there.
TEST(DiskFullOnTmpfsTest, FillingASmallTmpfsRefusesCommitsAndFreeingSpaceResumesThem) {
  const std::string mount_point = FreshDir("tmpfs");
  if (mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=24m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); the injected-file-system tests above cover the behaviour";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};

  // Ballast to free later.
  const std::string ballast = mount_point + "/ballast";
  { std::ofstream(ballast) << std::string(8 * kMiB, 'x'); }

  EventStore::Options options;
  options.path = mount_point + "/db";
  options.block_cache_bytes = 8 << 20;
  options.min_free_disk_bytes = 4 * kMiB;
  std::vector<std::string> acknowledged;
  {
    absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::Status refused;
    for (int i = 0; i < 1000 && refused.ok(); ++i) {
      const std::string key = absl::StrCat("r", i);
      absl::StatusOr<v1::IngestResponse> response = (*store)->Ingest({Sleep(key, 100 * 1024)});
      if (response.ok()) {
        acknowledged.push_back(key);
      } else {
        refused = response.status();
      }
    }
    ASSERT_FALSE(refused.ok()) << "24 MiB never filled";
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
    EXPECT_THAT(std::string(refused.message()), HasSubstr(options.path));
    EXPECT_FALSE((*store)->Health().ok());
    EXPECT_GT(acknowledged.size(), 10u);
  }
  // A restart on the full disk opens, and says it is full.
  absl::StatusOr<std::unique_ptr<EventStore>> store = EventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->CurrentRevision(), acknowledged.size());
  EXPECT_EQ((*store)->Ingest({Sleep("again", 100 * 1024)}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Health().code(), absl::StatusCode::kUnavailable);

  std::filesystem::remove(ballast);
  EXPECT_TRUE((*store)->Health().ok()) << (*store)->Health();
  absl::StatusOr<v1::IngestResponse> resumed =
      (*store)->Ingest({Sleep("resumed", 100 * 1024)});
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  acknowledged.push_back("resumed");

  std::vector<v1::Event> log;
  ASSERT_TRUE((*store)->ReadChangeLog(0, 10000, &log).ok());
  std::vector<std::string> keys;
  for (const v1::Event& event : log) keys.push_back(event.record_key());
  EXPECT_EQ(keys, acknowledged);
}

}  // namespace
}  // namespace healthwire
