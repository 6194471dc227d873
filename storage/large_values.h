// The large-value path of the EventStore (issue 10): a record whose raw JSON
// is above EventStore::Options.large_value_bytes keeps that JSON once, in the
// `large_values` column family under a fresh id, written BEFORE and OUTSIDE
// the group-commit writer as an ingested SST file (no WAL, no memtable). The
// record and its change-log entry then hold a reference (id, size, SHA-256 of
// the bytes) followed by the event without its raw JSON, so
//  - the 60 MB never goes through the shared WAL that small commits fsync
//    (a small webhook no longer waits for a large one's write), and
//  - the bytes exist once in memory and on disk (not record + change-log
//    entry + two memtables).
// Readers resolve the reference (ResolveStoredValue / ParseStoredEvent) so
// every answer is the same bytes as an inline record.
//
// Bookkeeping in the small `large_refs` family:
//   "p" + id  pending: ingested in the same atomic ingest as the value (so a
//             value never exists without it, and it costs no WAL sync); a
//             value whose id still has a pending key and no commit key at
//             open was never committed (crash or 503) and is removed
//             (RemoveUncommitted). The commit's batch deletes it.
//   "c" + id  committed: 8-byte big-endian revision + record key, written in
//             the commit's batch; lets CollectUnreferenced check with two
//             point reads whether the record or its change-log entry still
//             references the value (overwrite + retention, erasure).
//
// Stateless functions over a DB the caller owns; thread-safe as RocksDB is.
#ifndef HEALTHWIRE_STORAGE_LARGE_VALUES_H_
#define HEALTHWIRE_STORAGE_LARGE_VALUES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "healthwire/v1/healthwire.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/store_db.h"

namespace healthwire {

// Where a large raw JSON is stored and how to check it.
struct LargeValueRef {
  std::string id;       // 16 random bytes
  uint64_t size = 0;    // bytes of the raw JSON
  std::string sha256;   // 32 bytes
};

// True when a records / change-log value is a reference, not an inline
// serialized v1::Event (a serialized message never starts with a 0 byte:
// field number 0 does not exist).
bool IsLargeValueReference(absl::string_view stored);

// The records / change-log value for `event` whose raw JSON is held by `ref`:
// header + the event serialized without its raw JSON. `event`'s raw_json is
// swapped out and back (no copy of the large bytes).
absl::StatusOr<std::string> EncodeWithReference(const LargeValueRef& ref, v1::Event& event);

// Writes `bytes` as a new large value: two one-key SST files (the value for
// `large_values`, its pending key for `large_refs`) ingested atomically.
// `ingest_dir` is a scratch folder for those files (created when missing).
// Blocks for the files' writes and syncs and the ingest (which waits for the
// commit writer's current write): call it off any thread that must stay
// responsive (EventStore's large-value writer threads). Unavailable for I/O
// failures (a full disk): then nothing of the value is in the store.
absl::StatusOr<LargeValueRef> WriteLargeValue(rocksdb::DB* db, const StoreFamilies& families,
                                              const std::string& ingest_dir,
                                              absl::string_view bytes);

// The batch entries that mark `ref` committed for `revision` / `record_key`.
rocksdb::Status MarkLargeValueCommitted(const StoreFamilies& families, const LargeValueRef& ref,
                                        uint64_t revision, absl::string_view record_key,
                                        rocksdb::WriteBatch* batch);

// Removes a value that was written but not committed (the call was refused
// or failed, or stored nothing) unless its commit key exists. True when it
// removed the value.
absl::StatusOr<bool> DiscardLargeValue(rocksdb::DB* db, const StoreFamilies& families,
                               const LargeValueRef& ref);

// In place: a reference becomes the inline serialized v1::Event it stands
// for (byte-identical to what an inline record would have stored); an inline
// value is left alone.
absl::Status ResolveStoredValue(rocksdb::DB* db, const StoreFamilies& families,
                                const rocksdb::ReadOptions& read, std::string* stored);

// Parses a records / change-log value, inline or a reference. With
// `with_raw_json` false a reference is not followed (raw_json left empty):
// for readers that need only the event's other fields.
absl::Status ParseStoredEvent(rocksdb::DB* db, const StoreFamilies& families,
                              const rocksdb::ReadOptions& read, absl::string_view stored,
                              bool with_raw_json, v1::Event* event);

// At open: removes every value whose pending key has no commit key, and the
// pending keys of committed ones. Returns how many values were removed.
absl::StatusOr<uint64_t> RemoveUncommittedLargeValues(rocksdb::DB* db,
                                                      const StoreFamilies& families);

// Removes every committed value that neither its record nor its change-log
// entry references any more (the record was overwritten or erased and the
// entry trimmed by retention or redacted by an erasure), with its commit key,
// and compacts the removed ids' ranges away. Returns how many were removed.
absl::StatusOr<uint64_t> CollectUnreferencedLargeValues(rocksdb::DB* db,
                                                        const StoreFamilies& families);

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_LARGE_VALUES_H_
