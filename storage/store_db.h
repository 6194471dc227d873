// The RocksDB side of the EventStore, shared by its parts (open, apply,
// commit, retention, reads): the column families, the mapping of RocksDB
// statuses onto absl, and a scoped read snapshot. Private to storage/.
//
// Everything here is stateless or owned by one caller; thread-compatible.
#ifndef HEALTHWIRE_STORAGE_STORE_DB_H_
#define HEALTHWIRE_STORAGE_STORE_DB_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/slice.h"

namespace healthwire {

// Column family names are part of the on-disk format. The default family is
// opened (RocksDB requires it) but not used.
inline constexpr char kRecordsFamily[] = "records";
inline constexpr char kByStartFamily[] = "by_start";
inline constexpr char kChangelogFamily[] = "changelog";
inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kUsersFamily[] = "users";
inline constexpr char kUserRefsFamily[] = "user_refs";
inline constexpr char kFetchesFamily[] = "fetches";
inline constexpr char kBackfillsFamily[] = "backfills";
inline constexpr char kUserChangesFamily[] = "user_changes";
inline constexpr char kLargeValuesFamily[] = "large_values";  // storage/large_values.h
inline constexpr char kLargeRefsFamily[] = "large_refs";

// The open column families (not owned: the store closes them).
struct StoreFamilies {
  rocksdb::ColumnFamilyHandle* records = nullptr;    // record key -> v1::Event
  rocksdb::ColumnFamilyHandle* by_start = nullptr;   // start-time index
  rocksdb::ColumnFamilyHandle* changelog = nullptr;  // revision -> v1::Event
  rocksdb::ColumnFamilyHandle* meta = nullptr;       // counters (keys.h)
  rocksdb::ColumnFamilyHandle* users = nullptr;      // user_id -> Connection
  rocksdb::ColumnFamilyHandle* user_refs = nullptr;  // (reference_id, user_id)
  rocksdb::ColumnFamilyHandle* fetches = nullptr;    // s3_payload fetches
  rocksdb::ColumnFamilyHandle* backfills = nullptr;  // backfills by reference
  rocksdb::ColumnFamilyHandle* user_changes = nullptr;  // (user_id, revision)
  rocksdb::ColumnFamilyHandle* large_values = nullptr;  // id -> raw JSON
  rocksdb::ColumnFamilyHandle* large_refs = nullptr;    // pending / committed ids

  // Every family, for whole-store operations (erasure's compaction and its
  // whole-store scans): a family missing here would keep an erased person's
  // rows on disk.
  std::vector<rocksdb::ColumnFamilyHandle*> All() const {
    return {records,   by_start,     changelog,    meta,      users,     user_refs,
            fetches,   backfills,    user_changes, large_values, large_refs};
  }
};

// Maps a RocksDB status onto absl. Transient conditions (I/O, busy, timeouts,
// shutdown) are Unavailable so callers (and Terra, through the gateway) retry;
// everything else is Internal.
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context);

// absl::string_view is not std::string_view in every Abseil build.
inline rocksdb::Slice ToSlice(absl::string_view view) {
  return rocksdb::Slice(view.data(), view.size());
}
inline absl::string_view ToView(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// A RocksDB snapshot for the duration of one read, released on scope exit.
class ScopedSnapshot {
 public:
  explicit ScopedSnapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~ScopedSnapshot() { db_->ReleaseSnapshot(snapshot_); }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;

  // Read options at this snapshot.
  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    return options;
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_STORE_DB_H_
