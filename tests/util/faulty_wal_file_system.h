// FaultyWalFileSystem: RocksDB's default file system, except that WAL files
// (*.log) fail their writes and syncs while `fail_wal_writes` is set, and
// stall their syncs (up to 10 s) while `stall_wal_syncs` is set: the way to see
// what a failed or slow commit does to the store and to the answers above it,
// on a real RocksDB. The same for the files the store's large-value writer
// builds (in <data>/large_value_ingest/, storage/large_values.h):
// `fail_large_value_writes` fails their writes with ENOSPC (a full disk),
// `stall_large_value_syncs` stalls their syncs (up to 10 s). Use it through rocksdb::NewCompositeEnv and
// EventStore::Options::env.
//
// Thread-safe: the flags are atomics, flipped by the test while RocksDB's
// threads write.
#ifndef HEALTHWIRE_TESTS_UTIL_FAULTY_WAL_FILE_SYSTEM_H_
#define HEALTHWIRE_TESTS_UTIL_FAULTY_WAL_FILE_SYSTEM_H_

#include <atomic>
#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace healthwire {
namespace testing {

class FaultyWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyWalFileSystem();
  const char* Name() const override { return "FaultyWalFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override;

  std::atomic<bool> fail_wal_writes{false};
  std::atomic<bool> stall_wal_syncs{false};
  std::atomic<bool> fail_large_value_writes{false};
  std::atomic<bool> stall_large_value_syncs{false};
  // Syncs of large-value files that started (a test sees when a write has
  // reached its stall).
  std::atomic<int> large_value_syncs{0};
};

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_FAULTY_WAL_FILE_SYSTEM_H_
