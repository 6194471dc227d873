// ReplicaRegistry: which store replicas follow one commit log, and how far
// each has applied it; and how far the log's messages have been deleted by
// erasures. Kept in a JetStream key-value bucket beside the stream
// (`<stream>_REPLICAS`, as many copies as the stream).
//
// Why it exists: deleting an erased person's messages from the stream
// (StreamEraser) is only safe once every replica has applied the erasure. A
// replica that replayed the stream with those messages missing would apply
// other people's deliveries against a different state and end with other
// revisions and another digest. So
// - every replica reports its durable applied sequence here (Report);
// - before deleting the messages of erasure E, an eraser raises
//   `erased_through` to E (RaiseErasedThrough) and only then reads the
//   registry: it deletes when every registered replica has applied E;
// - a replica registers (Report) before it reads `erased_through`, and one
//   whose store is behind it refuses to start (StoreReplica::Start): it
//   could not catch up from the stream. It is seeded from a checkpoint of a
//   replica instead.
// Both sides write, then read, so at least one of them sees the other: a
// replica never starts behind a deletion, and no deletion happens while a
// registered replica is behind it. A registered replica that restarts
// behind erased_through (it held the deletion back) may: its entry, updated
// in place (Report with expected_revision), shows that nothing past it was
// deleted. A replica that is gone for good blocks
// deletions until it is forgotten (Forget; `hwctl replicas --forget`).
//
// Entries hold a replica's name (its --replica_id), sequences and times,
// never health data.
//
// Every read is answered by the bucket stream's leader (not a direct get,
// which a follower may answer with an older value): the write-then-read rule
// above needs each read to see every write acknowledged before it.
//
// Thread-safe: nats.c's key-value handle and JetStream context may be used
// from any thread.
#ifndef HEALTHWIRE_STORAGE_REPLICA_REPLICA_REGISTRY_H_
#define HEALTHWIRE_STORAGE_REPLICA_REPLICA_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/commit_log/commit_log.h"

typedef struct __kvStore kvStore;

namespace healthwire {

class ReplicaRegistry {
 public:
  struct Entry {
    std::string replica_id;
    uint64_t applied_sequence = 0;  // durable on that replica when reported
    absl::Time reported_at;
    uint64_t revision = 0;  // the key-value revision of this entry
  };

  // Opens the bucket of `log`'s stream, creating it when missing. `log`
  // must outlive the registry.
  static absl::StatusOr<std::unique_ptr<ReplicaRegistry>> Open(CommitLog* log);
  ~ReplicaRegistry();
  ReplicaRegistry(const ReplicaRegistry&) = delete;
  ReplicaRegistry& operator=(const ReplicaRegistry&) = delete;

  // The bucket's name for a stream.
  static std::string BucketName(absl::string_view stream);

  // Registers `replica_id` or moves its entry to `applied_sequence` (which
  // must be durable in its store: the eraser trusts it). With
  // `expected_revision`, only when the entry is still that revision
  // (FailedPrecondition when it was forgotten or changed meanwhile): the
  // entry then existed without a gap, so no eraser deleted past it.
  absl::Status Report(absl::string_view replica_id, uint64_t applied_sequence,
                      std::optional<uint64_t> expected_revision = std::nullopt);
  // The entry of `replica_id`; nullopt when it is not registered.
  absl::StatusOr<std::optional<Entry>> Lookup(absl::string_view replica_id);
  // Removes a replica; NotFound when it is not registered.
  absl::Status Forget(absl::string_view replica_id);
  // Every registered replica, by id.
  absl::StatusOr<std::vector<Entry>> List();

  // The highest erasure sequence whose messages may have been deleted (0:
  // none). A store whose applied sequence is below it cannot follow the log.
  absl::StatusOr<uint64_t> ErasedThrough();
  // Raises ErasedThrough to at least `erasure_sequence` (never lowers it,
  // also when several erasers race: one key per erasure, the highest counts).
  absl::Status RaiseErasedThrough(uint64_t erasure_sequence);

 private:
  // The keys under `key_prefix`, from the stream leader.
  absl::StatusOr<std::vector<std::string>> KeysWithPrefix(absl::string_view key_prefix);

  ReplicaRegistry(CommitLog* log, std::string bucket, kvStore* kv)
      : log_(log), bucket_(std::move(bucket)), kv_(kv) {}
  // Reads go to the bucket stream's leader through the log's JetStream
  // context; writes through nats.c's key-value handle.
  CommitLog* const log_;
  const std::string bucket_;
  kvStore* const kv_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_REPLICA_REPLICA_REGISTRY_H_
