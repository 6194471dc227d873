// ApplyBatch: the store's apply rules, as one unit. It takes the prior state
// (the database at the last durable commit), applies calls (each a list of
// events) to it in order, and fills one rocksdb::WriteBatch with everything
// they change. It writes nothing itself: a feeder writes the sealed batch and
// publishes it (EventStore::Impl::CommitApplied). Today's feeder is the group
// commit writer thread (Ingest calls); a log consumer that applies a
// replicated log in sequence order is meant to be the second, adding its own
// bookkeeping (e.g. the last applied log sequence) to the same batch().
//
// The rules, per record (user_id, type, record_key):
// - ordering guard: when the stored and the incoming version both carry an
//   ordering timestamp and the incoming one is older: STALE, no change;
// - identical re-delivery (same raw JSON, same reference_id): IDENTICAL, no
//   revision;
// - data_enrichment COALESCE (coalesce.h) against the stored version;
// - the next dense revision, the record, its start-time index entries (by
//   user_id and reference_id) and its change-log entry;
// - the connection records it touches (connection_tracker.h);
// - an s3_payload ping starts its fetch (fetch_tracker.h), and a fetcher's
//   outcome passed with the call is recorded with the fetched records;
// - the backfill it belongs to (backfill_tracker.h); the call that stores a
//   backfill's last expected payload also stores its BACKFILL_COMPLETE change
//   (the next revision after the payload's).
// A call is all-or-nothing: an invalid event anywhere, or an error, leaves
// nothing of it in the batch and hands its revisions to the next call.
//
// Erasure (ApplyErasure, and with erase_on_deauth a stored deauth or
// access_revoked event) is applied in the same order as the calls around it,
// into the same batch: every record of the person's user_id(s), their index
// entries, connection records, reference links and user_changes entries are
// deleted; every change-log entry that held their data is rewritten in place
// as an EVENT_TYPE_ERASED placeholder (same revision, no data, so a replay
// never returns it and the revisions stay dense); the tombstone
// (EVENT_TYPE_ERASURE) is the next revision. Ids appear in the tombstone
// only as SHA-256. An error in the middle of an erasure poisons the batch:
// Seal fails and the feeder writes nothing of it (all or none).
//
// Deterministic: the outcome is a function of the prior state and the events
// alone. No wall clock and no randomness: when a record was received is the
// event's own received_at, set by whoever received the delivery, so two
// replicas applying the same calls to the same state fill the same batch and
// assign the same revisions.
//
// Thread-compatible: one ApplyBatch is used by one thread. The prior state
// must not change while it is in use (only the feeder writes).
#ifndef HEALTHWIRE_STORAGE_APPLY_BATCH_H_
#define HEALTHWIRE_STORAGE_APPLY_BATCH_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "healthwire/v1/healthwire.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/large_values.h"
#include "storage/store_db.h"

namespace healthwire {

class ApplyBatch {
 public:
  // Outcome counts of the calls applied so far.
  struct Tally {
    uint64_t stored = 0;
    uint64_t identical = 0;
    uint64_t stale = 0;
  };

  // `db`/`families`: the prior state, read at its latest version.
  // `base_revision`: the revision of the last durable commit; the first
  // stored version gets base_revision + 1. `collect_committed`: keep a copy of
  // every stored version (for the subscription hub; only worth it when
  // someone is subscribed).
  // `erase_on_deauth`: a stored deauth / access_revoked event also erases
  // its user's data (the same erasure as ApplyErasure, in the same call).
  // `reserved_bytes`: the write batch's initial capacity; a caller that
  // knows its calls are large reserves their size, so the batch is not
  // regrown (a regrow holds the old and the new buffer at once).
  ApplyBatch(rocksdb::DB* db, const StoreFamilies& families, uint64_t base_revision,
             bool collect_committed, bool erase_on_deauth = false, size_t reserved_bytes = 0);

  // What to erase (EventStore::EraseUser, or a log entry in cluster mode).
  struct ErasureRequest {
    enum class Kind { kUserId, kReferenceId };
    Kind kind = Kind::kUserId;
    std::string id;
    v1::Erasure::Trigger trigger = v1::Erasure::TRIGGER_ERASE_USER;
    // When the erasure was asked for: the tombstone's received_at (set by the
    // caller, never read from the clock here, so replicas agree).
    google::protobuf::Timestamp received_at;
    // false: the caller compacts the erased ranges itself (EraseUser waits
    // for it); true: the store's compaction thread does, after the commit.
    bool compact_in_background = true;
  };
  // What an erasure did, for the feeder: the answer, and the key ranges to
  // compact once it is durable.
  struct ErasureOutcome {
    v1::EraseUserResponse response;  // counts and tombstone_revision
    std::vector<std::string> user_ids;       // every user_id erased
    std::vector<std::string> reference_ids;  // every reference_id their data was filed under
    uint64_t first_redacted_revision = 0;    // 0 when no change was redacted
    uint64_t last_redacted_revision = 0;
    std::vector<std::string> backfill_references;  // backfills deleted
    std::vector<uint64_t> fetch_ping_revisions;    // fetches deleted
    bool compact_in_background = true;
  };

  ApplyBatch(const ApplyBatch&) = delete;
  ApplyBatch& operator=(const ApplyBatch&) = delete;

  // Applies one call's events on top of the prior state and every call
  // applied before it; assigns the revisions of the stored versions into
  // `events`. On error nothing of the call remains. The response's
  // store_revision is left for the feeder to fill in once the batch is
  // durable.
  //
  // `fetch_outcome` (the store's s3_payload fetcher only): the new state of
  // the fetch of ping fetch_outcome->ping_revision, recorded in the same
  // batch as `events` (the fetched body's; empty for a failed attempt). When
  // FETCHED, its events/first_revision/last_revision are filled in here.
  //
  // `large_values` (the group-commit writer only; parallel to `events`): the
  // raw JSON of events[i] already written by WriteLargeValue; the record and
  // its change-log entry then hold a reference to it (storage/large_values.h).
  absl::StatusOr<v1::IngestResponse> ApplyCall(
      std::vector<v1::Event>& events, const v1::S3Fetch* fetch_outcome = nullptr,
      const std::vector<std::optional<LargeValueRef>>* large_values = nullptr);

  // Applies an erasure on top of the prior state and every call applied
  // before it. Nothing found: all counts zero, no tombstone, nothing
  // written. InvalidArgument for an empty id.
  absl::StatusOr<ErasureOutcome> ApplyErasure(const ErasureRequest& request);

  // Whether the calls assigned revisions or changed fetch or backfill state
  // (and so there is a batch to write).
  bool HasChanges() const { return last_revision_ != base_revision_ || state_changed_; }

  // Adds the revision counter to the batch: it becomes durable exactly when
  // the changes it counts do. Call once, after the last ApplyCall. Fails
  // (and the batch must not be written) when an erasure failed half-way.
  absl::Status Seal();

  // Frees the stored versions this batch kept to answer later calls' lookups
  // (the write itself needs only batch()): a large record is then not held
  // beside its write batch and memtable copies while it is written. Call
  // after Seal; no ApplyCall or ApplyErasure may follow.
  void ReleaseLookupState();

  // The erasures the calls triggered (erase_on_deauth) and ApplyErasure
  // did, in order; for compaction after the commit.
  const std::vector<ErasureOutcome>& erasures() const { return erasures_; }

  // The batch. Feeders may add their own bookkeeping to it (after the last
  // ApplyCall), so it is durable together with the changes.
  rocksdb::WriteBatch* batch() { return &batch_; }

  uint64_t base_revision() const { return base_revision_; }
  // The revision of the last stored version (base_revision() when none).
  uint64_t last_revision() const { return last_revision_; }
  const Tally& tally() const { return tally_; }
  bool collects_committed() const { return collect_committed_; }
  // The versions stored, in revision order (when collected).
  std::vector<v1::Event> TakeCommitted() { return std::move(committed_); }

 private:
  using Overlay = absl::flat_hash_map<std::string, v1::Event>;
  using ConnectionOverlay = absl::flat_hash_map<std::string, v1::Connection>;
  using BackfillOverlay = absl::flat_hash_map<std::string, v1::Backfill>;

  // The stored version of `record_key` as this batch sees it: the call's own
  // writes, then earlier calls', then (unless erased in this batch) the
  // prior state. nullopt when absent.
  absl::StatusOr<std::optional<v1::Event>> Lookup(const Overlay& call_overlay,
                                                  const std::string& record_key) const;
  // Puts `event` (revision assigned) as the latest version of its record:
  // the record, its index entries and its change-log entry.
  // With `large_value` (its raw JSON written already) the record and the
  // entry hold a reference instead of the raw JSON.
  absl::Status PutVersion(v1::Event& event, const std::string& record_key,
                          const v1::Event* previous, const LargeValueRef* large_value);

  // The connection record of `user_id` as this batch sees it; nullopt when
  // the user has none.
  absl::StatusOr<std::optional<v1::Connection>> LookupConnection(
      const ConnectionOverlay& call_connections, const std::string& user_id) const;
  // Applies a stored event to the connection records it touches: the
  // records and their reference_id links go into the same batch.
  absl::Status UpdateConnections(const v1::Event& event, ConnectionOverlay& call_connections);

  // The erasure itself (ApplyErasure, erase_on_deauth), seeing the current
  // call's overlays too. On error the batch is poisoned.
  absl::StatusOr<ErasureOutcome> Erase(const ErasureRequest& request, Overlay& call_overlay,
                                       ConnectionOverlay& call_connections,
                                       BackfillOverlay& call_backfills);
  absl::StatusOr<ErasureOutcome> EraseUnpoisoned(const ErasureRequest& request,
                                                 Overlay& call_overlay,
                                                 ConnectionOverlay& call_connections,
                                                 BackfillOverlay& call_backfills);
  // The user_ids an erasure request covers, sorted.
  absl::StatusOr<std::vector<std::string>> UsersToErase(const ErasureRequest& request,
                                                        const Overlay& call_overlay,
                                                        const ConnectionOverlay& call_connections);
  // Erases one user's records (and their index entries); adds the pings
  // their versions were fetched for to `pings`.
  absl::Status EraseRecords(const std::string& user_id, Overlay& call_overlay,
                            ErasureOutcome* outcome, std::set<uint64_t>* pings);
  // Rewrites the user's change-log entries as placeholders; adds their
  // revisions (a ping that named the user) and the pings they were fetched
  // for to `pings`.
  absl::Status EraseChanges(const std::string& user_id, uint64_t tombstone_revision,
                            ErasureOutcome* outcome, std::set<uint64_t>* pings);
  // Deletes the fetch rows of `pings` that exist (in this batch or before).
  absl::Status EraseFetches(const std::set<uint64_t>& pings, ErasureOutcome* outcome);
  // Deletes the user's backfill rows (and their open / by-user index keys).
  absl::Status EraseBackfills(const std::string& user_id, BackfillOverlay& call_backfills,
                              ErasureOutcome* outcome);
  // The state of the fetch of `ping_revision` as this batch sees it
  // (STATE_UNSPECIFIED: no such fetch, or erased).
  absl::StatusOr<v1::S3Fetch::State> LookupFetchState(uint64_t ping_revision) const;
  // Deletes the user's connection record and its links.
  absl::Status EraseConnection(const std::string& user_id,
                               const std::vector<std::string>& erased_users,
                               ConnectionOverlay& call_connections, ErasureOutcome* outcome);
  // The backfill of `reference` as this batch sees it; nullopt when none.
  absl::StatusOr<std::optional<v1::Backfill>> LookupBackfill(
      const BackfillOverlay& call_backfills, const std::string& reference) const;
  // Writes the call's changed backfills (and the BACKFILL_COMPLETE change of
  // each one the call completed) into the batch.
  absl::Status PutBackfills(BackfillOverlay& call_backfills, Overlay& call_overlay,
                            const google::protobuf::Timestamp& received_at);
  absl::Status PutFetch(const v1::S3Fetch& fetch);

  rocksdb::DB* const db_;
  const StoreFamilies families_;
  const uint64_t base_revision_;
  const bool collect_committed_;
  const bool erase_on_deauth_;

  rocksdb::WriteBatch batch_;
  Overlay overlay_;
  ConnectionOverlay connections_;
  BackfillOverlay backfills_;
  bool state_changed_ = false;
  uint64_t last_revision_;
  Tally tally_;
  std::vector<v1::Event> committed_;

  // Erasure state of this batch: what it deleted from the prior state (so
  // later calls do not see it), which revisions it redacted, the user_changes
  // entries it added per user, and the erasures done.
  absl::flat_hash_set<std::string> erased_records_;
  absl::flat_hash_set<std::string> erased_users_;
  absl::flat_hash_set<uint64_t> redacted_revisions_;
  absl::flat_hash_set<std::string> erased_backfills_;
  // Fetch states this batch wrote (PutFetch), STATE_UNSPECIFIED once erased.
  absl::flat_hash_map<uint64_t, v1::S3Fetch::State> fetch_states_;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> batch_user_changes_;
  // When each version this batch stored was received (a placeholder keeps
  // it, whichever batch the change was in, so replicas agree).
  absl::flat_hash_map<uint64_t, google::protobuf::Timestamp> batch_received_at_;
  // The same, of the call being applied (dropped when it fails).
  absl::flat_hash_map<std::string, std::vector<uint64_t>> call_user_changes_;
  std::vector<ErasureOutcome> erasures_;
  absl::Status poisoned_;
};

// Whether an event's type is a data type (served by GetLatest/ListRecords).
inline bool IsDataType(v1::EventType type) {
  return type >= v1::EVENT_TYPE_ACTIVITY && type <= v1::EVENT_TYPE_HEALTH_OBSERVATION;
}

// The number a type is stored under in keys (keys.h).
inline uint32_t TypeNumber(v1::EventType type) { return static_cast<uint32_t>(type); }

}  // namespace healthwire

#endif  // HEALTHWIRE_STORAGE_APPLY_BATCH_H_
