// StreamIndexWriter: cluster mode's index of which commit-log messages hold
// one person's data, kept so that erasing the person can also delete those
// messages from the JetStream stream (storage/replica/stream_eraser.h does
// the deleting).
//
// The log feeder (event_store_log_feeder.cc) makes one per ApplyLogCalls
// batch and tells it, in log order, every delivery it applied and every
// erasure. Into that batch's WriteBatch it puts
// - for a delivery whose events all have the same non-empty user_id:
//   keys::StreamIndexKey(user_id, sequence) -> its chunk sequences;
// - for an erasure at sequence E: the deletion of the erased users'
//   index keys (earlier batches' and this batch's) and, when there were any,
//   keys::StreamDeletionKey(E) -> every sequence they named (commit entries
//   and chunks), the job of deleting those messages.
// Deliveries with events of several people are not indexed: deleting them
// would delete other people's data too (their events of the erased person
// stay in the stream; README "Cluster").
//
// The index is a function of the log alone (sequences, user_ids), so every
// replica writes the same keys. It holds user_ids (as the records do) and
// sequences, never health data.
//
// Thread-compatible: one batch, one thread; the database must not change
// while it is used (the feeder is the only writer of these keys besides
// EventStore::FinishStreamDeletionJob, which removes finished jobs only).
#ifndef HEALTHWIRE_STORAGE_STREAM_INDEX_H_
#define HEALTHWIRE_STORAGE_STREAM_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "healthwire/v1/healthwire.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace healthwire {

class StreamIndexWriter {
 public:
  // `meta`: the family the index lives in; `batch`: the feeder's batch.
  StreamIndexWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                    rocksdb::WriteBatch* batch)
      : db_(db), meta_(meta), batch_(batch) {}

  // The user_id every one of `events` has; nullopt when they are several
  // people, none, or events without a user_id (such deliveries are not
  // indexed). Ask before applying: ApplyBatch moves stored events away.
  static std::optional<std::string> OnlyUser(const std::vector<v1::Event>& events);

  // The delivery committed at `sequence` (with `chunk_sequences`), all of
  // whose events are `user_id`'s, was applied.
  void RecordDelivery(uint64_t sequence, const std::string& user_id,
                      const std::vector<uint64_t>& chunk_sequences);

  // The log entry at `erasure_sequence` erased `user_ids`: their indexed
  // messages become the job of that erasure. `*job_sequences` gets how many
  // messages it names (0: no job written).
  absl::Status RecordErasure(uint64_t erasure_sequence, const std::vector<std::string>& user_ids,
                             size_t* job_sequences);

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_;
  rocksdb::WriteBatch* const batch_;
  // Index entries put by this batch and not erased yet, per user_id, as
  // (commit sequence, chunk sequences): the prior state does not show them.
  absl::flat_hash_map<std::string, std::vector<std::pair<uint64_t, std::vector<uint64_t>>>>
      batch_entries_;
  // Users erased earlier in this batch: their prior-state entries are
  // already deleted (and in that erasure's job).
  absl::flat_hash_set<std::string> erased_in_batch_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_STREAM_INDEX_H_
