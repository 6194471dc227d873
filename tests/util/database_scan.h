// DatabaseScan: every byte a closed RocksDB folder can still give back, for
// tests that prove data is gone (erasure): each column family's live keys and
// values, each SST file's keys and values read on its own (so a value that a
// newer file deletes still shows until compaction drops it), and the raw
// bytes of every WAL file.
//
// The folder must not be open in another process (RocksDB's lock).
// Stateless; thread-compatible.
#ifndef HEALTHWIRE_TESTS_UTIL_DATABASE_SCAN_H_
#define HEALTHWIRE_TESTS_UTIL_DATABASE_SCAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthwire {
namespace testing {

struct DatabaseBytes {
  std::vector<std::string> family_names;
  // key '\n' value '\n' of every live entry of every family.
  std::string keys_and_values;
  // The same of every entry of every SST file, each file read alone.
  std::string sst_files;
  // The WAL files (*.log) as they are on disk.
  std::string wal_files;

  // Whether `needle` occurs in any of the three.
  bool Contains(const std::string& needle) const;
  // Where it occurs ("families", "sst", "wal"), for failure messages.
  std::string WhereIs(const std::string& needle) const;
};

absl::StatusOr<DatabaseBytes> ScanDatabase(const std::string& path);

}  // namespace testing
}  // namespace healthwire

#endif  // HEALTHWIRE_TESTS_UTIL_DATABASE_SCAN_H_
