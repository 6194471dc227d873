#include "tests/util/faulty_wal_file_system.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace healthwire {
namespace testing {
namespace {

class FaultyFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultyWalFileSystem* fs)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
    if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, options, debug);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* debug) override {
    if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* debug) override {
    if (fs_->fail_wal_writes) return rocksdb::IOStatus::IOError("injected WAL sync failure");
    // Stalls a bounded time: long enough to pass any test deadline.
    for (int i = 0; i < 200 && fs_->stall_wal_syncs; ++i) absl::SleepFor(absl::Milliseconds(50));
    return FSWritableFileOwnerWrapper::Sync(options, debug);
  }

 private:
  FaultyWalFileSystem* const fs_;
};

}  // namespace

FaultyWalFileSystem::FaultyWalFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

rocksdb::IOStatus FaultyWalFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* file, rocksdb::IODebugContext* debug) {
  rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
  if (status.ok() && absl::EndsWith(name, ".log")) {
    *file = std::make_unique<FaultyFile>(std::move(*file), this);
  }
  return status;
}

}  // namespace testing
}  // namespace healthwire
