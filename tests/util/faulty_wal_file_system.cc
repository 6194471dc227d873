#include "tests/util/faulty_wal_file_system.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace healthwire {
namespace testing {
namespace {

// A WAL file, or a large-value file (its own flags).
class FaultyFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultyWalFileSystem* fs,
             bool large_value)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), large_value_(large_value) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
    if (rocksdb::IOStatus failed = Injected(); !failed.ok()) return failed;
    return FSWritableFileOwnerWrapper::Append(data, options, debug);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* debug) override {
    if (rocksdb::IOStatus failed = Injected(); !failed.ok()) return failed;
    return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* debug) override {
    if (rocksdb::IOStatus failed = Injected(); !failed.ok()) return failed;
    std::atomic<bool>& stall = large_value_ ? fs_->stall_large_value_syncs : fs_->stall_wal_syncs;
    if (large_value_) ++fs_->large_value_syncs;
    // Stalls a bounded time: long enough to pass any test deadline.
    for (int i = 0; i < 200 && stall; ++i) absl::SleepFor(absl::Milliseconds(50));
    return FSWritableFileOwnerWrapper::Sync(options, debug);
  }

 private:
  rocksdb::IOStatus Injected() const {
    if (large_value_) {
      if (!fs_->fail_large_value_writes) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus full = rocksdb::IOStatus::NoSpace("injected large-value write failure");
      return full;
    }
    if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return rocksdb::IOStatus::OK();
  }

  FaultyWalFileSystem* const fs_;
  const bool large_value_;
};

}  // namespace

FaultyWalFileSystem::FaultyWalFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

rocksdb::IOStatus FaultyWalFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* file, rocksdb::IODebugContext* debug) {
  rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
  if (status.ok() && absl::EndsWith(name, ".log")) {
    *file = std::make_unique<FaultyFile>(std::move(*file), this, /*large_value=*/false);
  } else if (status.ok() && absl::StrContains(name, "/large_value_ingest/")) {
    *file = std::make_unique<FaultyFile>(std::move(*file), this, /*large_value=*/true);
  }
  return status;
}

}  // namespace testing
}  // namespace healthwire
