// Erasure, as part of the apply rules (see apply_batch.h): one person's data
// out of every family, in the same WriteBatch as the calls around it.
//
// What goes, per erased user_id U:
//   records       every RecordKey of U (prefix scan + this batch's overlays)
//   by_start      the index entries of each of those records (by user_id and
//                 by reference_id)
//   changelog     every entry user_changes lists for U, rewritten in place as
//                 an EVENT_TYPE_ERASED placeholder at the same revision
//   user_changes  U's entries
//   users         U's connection record; user_refs its reference link; the
//                 user_reauth links of other connections that name U
//   backfills     every backfill whose user is U (its row, open and by-user
//                 keys)
//   fetches       the fetch of every s3_payload ping among U's changes, and
//                 of every ping a version of U's was fetched for
//                 (Event.s3_ping_revision), pending or not; a fetch in flight
//                 then finds its ping gone and its outcome is refused
// and then one tombstone at the next revision, naming the subject and U only
// as SHA-256.
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/apply_batch.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

// The same index keys PutVersion files a record under.
std::vector<std::string> IndexKeysOf(const v1::Event& event) {
  if (!IsDataType(event.type())) return {};
  const int64_t start = keys::StartInstantMicros(event.start_time());
  const std::string& user_id = event.user().user_id();
  std::vector<std::string> out;
  out.push_back(keys::StartIndexKey(keys::SubjectKind::kUserId, user_id,
                                    TypeNumber(event.type()), start, user_id,
                                    event.record_key()));
  if (!event.user().reference_id().empty()) {
    out.push_back(keys::StartIndexKey(keys::SubjectKind::kReferenceId,
                                      event.user().reference_id(), TypeNumber(event.type()),
                                      start, user_id, event.record_key()));
  }
  return out;
}

// Iterates the keys of `family` that start with `prefix`, at the prior state.
template <typename Visit>
absl::Status ScanPrefix(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                        const std::string& prefix, Visit visit) {
  const std::string upper = keys::PrefixSuccessor(prefix);
  const rocksdb::Slice lower_slice(prefix), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_slice;
  if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, family));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    if (absl::Status visited = visit(ToView(it->key()), ToView(it->value())); !visited.ok()) {
      return visited;
    }
  }
  return FromRocksDb(it->status(), "cannot scan the store for an erasure");
}

}  // namespace

absl::StatusOr<ApplyBatch::ErasureOutcome> ApplyBatch::ApplyErasure(
    const ErasureRequest& request) {
  Overlay no_call_overlay;
  ConnectionOverlay no_call_connections;
  BackfillOverlay no_call_backfills;
  return Erase(request, no_call_overlay, no_call_connections, no_call_backfills);
}

absl::StatusOr<ApplyBatch::ErasureOutcome> ApplyBatch::Erase(const ErasureRequest& request,
                                                             Overlay& call_overlay,
                                                             ConnectionOverlay& call_connections,
                                                             BackfillOverlay& call_backfills) {
  if (!poisoned_.ok()) return poisoned_;
  if (request.id.empty()) {
    return absl::InvalidArgumentError("subject: set user_id or reference_id");
  }
  absl::StatusOr<ErasureOutcome> outcome =
      EraseUnpoisoned(request, call_overlay, call_connections, call_backfills);
  if (!outcome.ok()) {
    // Half an erasure may be in the batch and in the overlays: nothing of
    // this batch may be written now.
    poisoned_ = absl::Status(outcome.status().code(),
                             absl::StrCat("erasure failed, nothing of its commit was written: ",
                                          outcome.status().message()));
    return poisoned_;
  }
  erasures_.push_back(*outcome);
  return outcome;
}

absl::StatusOr<std::vector<std::string>> ApplyBatch::UsersToErase(
    const ErasureRequest& request, const Overlay& call_overlay,
    const ConnectionOverlay& call_connections) {
  std::set<std::string> users;
  if (request.kind == ErasureRequest::Kind::kUserId) {
    users.insert(request.id);
    return std::vector<std::string>(users.begin(), users.end());
  }
  const std::string& reference_id = request.id;
  // Connections linked to the reference (stored, and changed in this batch).
  absl::Status scanned = ScanPrefix(
      db_, families_.user_refs, keys::UserReferencePrefix(reference_id),
      [&](absl::string_view key, absl::string_view) {
        std::string user_id;
        if (keys::DecodeUserReferenceKey(key, &user_id)) users.insert(user_id);
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  for (const ConnectionOverlay* overlay :
       {static_cast<const ConnectionOverlay*>(&connections_), &call_connections}) {
    for (const auto& [user_id, connection] : *overlay) {
      if (connection.reference_id() == reference_id) users.insert(user_id);
    }
  }
  // Records filed under the reference (a user whose link moved since).
  scanned = ScanPrefix(db_, families_.by_start,
                       keys::StartIndexSubjectPrefix(keys::SubjectKind::kReferenceId, reference_id),
                       [&](absl::string_view key, absl::string_view) {
                         keys::DecodedStartIndexKey entry;
                         if (keys::DecodeStartIndexKey(key, &entry)) users.insert(entry.user_id);
                         return absl::OkStatus();
                       });
  if (!scanned.ok()) return scanned;
  for (const Overlay* overlay : {static_cast<const Overlay*>(&overlay_), &call_overlay}) {
    for (const auto& [key, event] : *overlay) {
      if (event.user().reference_id() == reference_id) users.insert(event.user().user_id());
    }
  }
  users.erase("");
  return std::vector<std::string>(users.begin(), users.end());
}

absl::Status ApplyBatch::EraseRecords(const std::string& user_id, Overlay& call_overlay,
                                      ErasureOutcome* outcome, std::set<uint64_t>* pings) {
  const std::string prefix = keys::RecordUserPrefix(user_id);
  // Every version this batch or the prior state holds, by record key (sorted,
  // so the batch is the same on every replica).
  std::map<std::string, std::vector<v1::Event>> found;
  absl::Status scanned = ScanPrefix(
      db_, families_.records, prefix, [&](absl::string_view key, absl::string_view value) {
        const std::string record_key(key);
        if (erased_records_.contains(record_key)) return absl::OkStatus();
        v1::Event stored;
        if (absl::Status parsed =
                ParseStoredEvent(db_, families_, rocksdb::ReadOptions(), value, false, &stored);
            !parsed.ok()) {
          return parsed;
        }
        found[record_key].push_back(std::move(stored));
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  for (Overlay* overlay : {&overlay_, &call_overlay}) {
    for (const auto& [key, event] : *overlay) {
      if (absl::StartsWith(key, prefix)) found[key].push_back(event);
    }
  }
  for (const auto& [record_key, versions] : found) {
    rocksdb::Status status = batch_.Delete(families_.records, record_key);
    for (const v1::Event& version : versions) {
      if (version.s3_ping_revision() != 0) pings->insert(version.s3_ping_revision());
      for (const std::string& index_key : IndexKeysOf(version)) {
        if (status.ok()) status = batch_.Delete(families_.by_start, index_key);
      }
      if (!version.user().reference_id().empty()) {
        outcome->reference_ids.push_back(version.user().reference_id());
      }
    }
    if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
    erased_records_.insert(record_key);
    overlay_.erase(record_key);
    call_overlay.erase(record_key);
    outcome->response.set_records_erased(outcome->response.records_erased() + 1);
  }
  return absl::OkStatus();
}

absl::Status ApplyBatch::EraseChanges(const std::string& user_id, uint64_t tombstone_revision,
                                      ErasureOutcome* outcome, std::set<uint64_t>* pings) {
  std::set<uint64_t> revisions;
  rocksdb::Status status;
  absl::Status scanned = ScanPrefix(db_, families_.user_changes, keys::UserChangePrefix(user_id),
                                    [&](absl::string_view key, absl::string_view) {
                                      uint64_t revision = 0;
                                      if (keys::DecodeUserChangeKey(key, &revision)) {
                                        revisions.insert(revision);
                                      }
                                      if (status.ok()) {
                                        status = batch_.Delete(families_.user_changes, ToSlice(key));
                                      }
                                      return absl::OkStatus();
                                    });
  if (!scanned.ok()) return scanned;
  if (auto it = batch_user_changes_.find(user_id); it != batch_user_changes_.end()) {
    for (uint64_t revision : it->second) {
      revisions.insert(revision);
      if (status.ok()) {
        status = batch_.Delete(families_.user_changes, keys::UserChangeKey(user_id, revision));
      }
    }
    batch_user_changes_.erase(it);
  }
  if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
  // Any of them may be a ping that named the user (trimmed from the change
  // log or not, its fetch row stays until erased).
  pings->insert(revisions.begin(), revisions.end());

  for (uint64_t revision : revisions) {
    if (redacted_revisions_.contains(revision)) continue;
    v1::Event placeholder;
    if (revision > base_revision_) {
      // Written by this batch (a record stored and erased in one commit).
      if (auto it = batch_received_at_.find(revision); it != batch_received_at_.end()) {
        *placeholder.mutable_received_at() = it->second;
      }
    } else {
      std::string value;
      const rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), families_.changelog,
                                            keys::RevisionKey(revision), &value);
      if (read.IsNotFound()) continue;  // trimmed by retention already
      if (!read.ok()) return FromRocksDb(read, "cannot read a change-log entry to erase");
      v1::Event stored;  // (its raw JSON is not needed: a reference is not followed)
      if (absl::Status parsed =
              ParseStoredEvent(db_, families_, rocksdb::ReadOptions(), value, false, &stored);
          !parsed.ok()) {
        return parsed;
      }
      if (stored.type() == v1::EVENT_TYPE_ERASED) continue;  // erased before
      if (stored.s3_ping_revision() != 0) pings->insert(stored.s3_ping_revision());
      // Kept so age retention still trims the placeholder when it would
      // have trimmed the change.
      *placeholder.mutable_received_at() = stored.received_at();
    }
    placeholder.set_revision(revision);
    placeholder.set_type(v1::EVENT_TYPE_ERASED);
    placeholder.set_terra_type("erased");
    placeholder.set_record_key("erased");
    placeholder.mutable_erasure()->set_tombstone_revision(tombstone_revision);
    status = batch_.Put(families_.changelog, keys::RevisionKey(revision),
                        placeholder.SerializeAsString());
    if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
    redacted_revisions_.insert(revision);
    outcome->response.set_changes_erased(outcome->response.changes_erased() + 1);
    if (outcome->first_redacted_revision == 0 || revision < outcome->first_redacted_revision) {
      outcome->first_redacted_revision = revision;
    }
    outcome->last_redacted_revision = std::max(outcome->last_redacted_revision, revision);
    // Subscribers of this very commit get the placeholder, not the data.
    auto it = std::lower_bound(
        committed_.begin(), committed_.end(), revision,
        [](const v1::Event& event, uint64_t r) { return event.revision() < r; });
    if (it != committed_.end() && it->revision() == revision) *it = placeholder;
  }
  return absl::OkStatus();
}

absl::Status ApplyBatch::EraseConnection(const std::string& user_id,
                                         const std::vector<std::string>& erased_users,
                                         ConnectionOverlay& call_connections,
                                         ErasureOutcome* outcome) {
  absl::StatusOr<std::optional<v1::Connection>> stored =
      LookupConnection(call_connections, user_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::OkStatus();
  const v1::Connection connection = **stored;
  rocksdb::Status status = batch_.Delete(families_.users, keys::UserKey(user_id));
  if (status.ok() && !connection.reference_id().empty()) {
    status = batch_.Delete(families_.user_refs,
                           keys::UserReferenceKey(connection.reference_id(), user_id));
    outcome->reference_ids.push_back(connection.reference_id());
  }
  // Other connections of the person keep no link to the erased user_id.
  for (const std::string& linked : {connection.replaced_by_user_id(), connection.previous_user_id()}) {
    if (!status.ok() || linked.empty() || linked == user_id ||
        std::find(erased_users.begin(), erased_users.end(), linked) != erased_users.end()) {
      continue;
    }
    absl::StatusOr<std::optional<v1::Connection>> other = LookupConnection(call_connections, linked);
    if (!other.ok()) return other.status();
    if (!other->has_value()) continue;
    v1::Connection unlinked = **other;
    if (unlinked.previous_user_id() == user_id) unlinked.clear_previous_user_id();
    if (unlinked.replaced_by_user_id() == user_id) unlinked.clear_replaced_by_user_id();
    status = batch_.Put(families_.users, keys::UserKey(linked), unlinked.SerializeAsString());
    call_connections.insert_or_assign(linked, std::move(unlinked));
  }
  if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
  erased_users_.insert(user_id);
  connections_.erase(user_id);
  call_connections.erase(user_id);
  outcome->response.set_connections_erased(outcome->response.connections_erased() + 1);
  return absl::OkStatus();
}

absl::StatusOr<v1::S3Fetch::State> ApplyBatch::LookupFetchState(uint64_t ping_revision) const {
  if (auto it = fetch_states_.find(ping_revision); it != fetch_states_.end()) return it->second;
  std::string value;
  const rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), families_.fetches,
                                        keys::FetchKey(ping_revision), &value);
  if (read.IsNotFound()) return v1::S3Fetch::STATE_UNSPECIFIED;
  if (!read.ok()) return FromRocksDb(read, "cannot read an s3_payload fetch");
  v1::S3Fetch stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("a stored fetch does not parse as healthwire.v1.S3Fetch");
  }
  return stored.state();
}

absl::Status ApplyBatch::EraseFetches(const std::set<uint64_t>& pings, ErasureOutcome* outcome) {
  for (uint64_t ping : pings) {
    absl::StatusOr<v1::S3Fetch::State> state = LookupFetchState(ping);
    if (!state.ok()) return state.status();
    if (*state == v1::S3Fetch::STATE_UNSPECIFIED) continue;  // not a ping, or erased
    rocksdb::Status status = batch_.Delete(families_.fetches, keys::FetchKey(ping));
    if (status.ok()) status = batch_.Delete(families_.fetches, keys::PendingFetchKey(ping));
    if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
    fetch_states_[ping] = v1::S3Fetch::STATE_UNSPECIFIED;
    outcome->fetch_ping_revisions.push_back(ping);
    outcome->response.set_fetches_erased(outcome->response.fetches_erased() + 1);
  }
  return absl::OkStatus();
}

absl::Status ApplyBatch::EraseBackfills(const std::string& user_id,
                                        BackfillOverlay& call_backfills,
                                        ErasureOutcome* outcome) {
  // Sorted: the batch is the same on every replica.
  std::set<std::string> references;
  absl::Status scanned = ScanPrefix(db_, families_.backfills, keys::UserBackfillPrefix(user_id),
                                    [&](absl::string_view key, absl::string_view) {
                                      std::string reference;
                                      if (keys::DecodeUserBackfillKey(key, &reference) &&
                                          !erased_backfills_.contains(reference)) {
                                        references.insert(std::move(reference));
                                      }
                                      return absl::OkStatus();
                                    });
  if (!scanned.ok()) return scanned;
  for (const BackfillOverlay* overlay :
       {static_cast<const BackfillOverlay*>(&backfills_),
        static_cast<const BackfillOverlay*>(&call_backfills)}) {
    for (const auto& [reference, backfill] : *overlay) {
      if (backfill.user_id() == user_id) references.insert(reference);
    }
  }
  for (const std::string& reference : references) {
    rocksdb::Status status = batch_.Delete(families_.backfills, keys::BackfillKey(reference));
    if (status.ok()) status = batch_.Delete(families_.backfills, keys::OpenBackfillKey(reference));
    if (status.ok()) {
      status = batch_.Delete(families_.backfills, keys::UserBackfillKey(user_id, reference));
    }
    if (!status.ok()) return FromRocksDb(status, "cannot add an erasure to the write batch");
    erased_backfills_.insert(reference);
    backfills_.erase(reference);
    call_backfills.erase(reference);
    outcome->backfill_references.push_back(reference);
    outcome->response.set_backfills_erased(outcome->response.backfills_erased() + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<ApplyBatch::ErasureOutcome> ApplyBatch::EraseUnpoisoned(
    const ErasureRequest& request, Overlay& call_overlay, ConnectionOverlay& call_connections,
    BackfillOverlay& call_backfills) {
  absl::StatusOr<std::vector<std::string>> users =
      UsersToErase(request, call_overlay, call_connections);
  if (!users.ok()) return users.status();
  ErasureOutcome outcome;
  outcome.user_ids = *users;
  outcome.compact_in_background = request.compact_in_background;
  if (request.kind == ErasureRequest::Kind::kReferenceId) {
    outcome.reference_ids.push_back(request.id);
  }
  // The tombstone's revision, if anything is erased: placeholders name it.
  const uint64_t tombstone_revision = last_revision_ + 1;
  std::set<uint64_t> pings;
  for (const std::string& user_id : *users) {
    if (absl::Status erased = EraseRecords(user_id, call_overlay, &outcome, &pings);
        !erased.ok()) {
      return erased;
    }
    if (absl::Status erased = EraseChanges(user_id, tombstone_revision, &outcome, &pings);
        !erased.ok()) {
      return erased;
    }
    if (absl::Status erased = EraseBackfills(user_id, call_backfills, &outcome); !erased.ok()) {
      return erased;
    }
    if (absl::Status erased = EraseConnection(user_id, *users, call_connections, &outcome);
        !erased.ok()) {
      return erased;
    }
  }
  if (absl::Status erased = EraseFetches(pings, &outcome); !erased.ok()) return erased;
  std::sort(outcome.reference_ids.begin(), outcome.reference_ids.end());
  outcome.reference_ids.erase(
      std::unique(outcome.reference_ids.begin(), outcome.reference_ids.end()),
      outcome.reference_ids.end());

  const v1::EraseUserResponse& counts = outcome.response;
  if (counts.records_erased() == 0 && counts.changes_erased() == 0 &&
      counts.connections_erased() == 0 && counts.backfills_erased() == 0 &&
      counts.fetches_erased() == 0) {
    return outcome;  // nothing (left) to erase: no tombstone, no revision
  }
  v1::Event tombstone;
  tombstone.set_revision(++last_revision_);
  tombstone.set_type(v1::EVENT_TYPE_ERASURE);
  tombstone.set_terra_type("erasure");
  tombstone.set_record_key("erasure");
  *tombstone.mutable_received_at() = request.received_at;
  v1::Erasure* erasure = tombstone.mutable_erasure();
  erasure->set_subject_kind(request.kind == ErasureRequest::Kind::kUserId
                                ? v1::Erasure::SUBJECT_KIND_USER_ID
                                : v1::Erasure::SUBJECT_KIND_REFERENCE_ID);
  erasure->set_subject_sha256(Sha256Hex(request.id));
  for (const std::string& user_id : *users) erasure->add_user_id_sha256(Sha256Hex(user_id));
  erasure->set_records_erased(counts.records_erased());
  erasure->set_changes_erased(counts.changes_erased());
  erasure->set_connections_erased(counts.connections_erased());
  erasure->set_trigger(request.trigger);
  const rocksdb::Status status = batch_.Put(
      families_.changelog, keys::RevisionKey(tombstone.revision()), tombstone.SerializeAsString());
  if (!status.ok()) return FromRocksDb(status, "cannot add the erasure's tombstone to the batch");
  outcome.response.set_tombstone_revision(tombstone.revision());
  if (collect_committed_) committed_.push_back(std::move(tombstone));
  return outcome;
}

}  // namespace healthwire
