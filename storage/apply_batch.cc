// The apply rules (see apply_batch.h). Key encodings live in keys.h, the
// data_enrichment rule in coalesce.h, connection records in
// connection_tracker.h.
#include "storage/apply_batch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "absl/container/flat_hash_set.h"
#include "storage/backfill_tracker.h"
#include "storage/coalesce.h"
#include "storage/connection_tracker.h"
#include "storage/fetch_tracker.h"
#include "storage/id_limits.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

// The index keys an event is filed under: by its user_id, and by its user's
// reference_id when it has one, so queries by either are straight scans.
// Only data records are indexed (GetLatest/ListRecords serve data types).
std::vector<std::string> StartIndexKeysOf(const v1::Event& event) {
  if (!IsDataType(event.type())) return {};
  const int64_t start = keys::StartInstantMicros(event.start_time());
  const std::string& user_id = event.user().user_id();
  std::vector<std::string> index_keys;
  index_keys.push_back(keys::StartIndexKey(keys::SubjectKind::kUserId, user_id,
                                           TypeNumber(event.type()), start, user_id,
                                           event.record_key()));
  if (!event.user().reference_id().empty()) {
    index_keys.push_back(keys::StartIndexKey(
        keys::SubjectKind::kReferenceId, event.user().reference_id(),
        TypeNumber(event.type()), start, user_id, event.record_key()));
  }
  return index_keys;
}

// What an event means, without how and when it was delivered.
v1::Event ContentOf(const v1::Event& event) {
  v1::Event content = event;
  content.clear_revision();
  content.clear_received_at();
  content.clear_ordering_timestamp_ms();
  content.clear_trace_id();
  content.clear_user();
  return content;
}

// Whether `incoming` is a re-delivery of `stored` that would change nothing.
// The raw JSON is what Terra sent, so equal raw JSON is the same record (the
// typed payload is derived from it). The reference_id is compared too: it is
// not part of a data record's JSON but decides where the record is indexed.
bool IsIdenticalRedelivery(const v1::Event& stored, const v1::Event& incoming) {
  if (stored.type() != incoming.type() ||
      stored.record_key() != incoming.record_key() ||
      stored.user().reference_id() != incoming.user().reference_id()) {
    return false;
  }
  if (!stored.raw_json().empty() || !incoming.raw_json().empty()) {
    return stored.raw_json() == incoming.raw_json();
  }
  // Neither carries raw JSON (events built in code): compare the content.
  return google::protobuf::util::MessageDifferencer::Equals(ContentOf(stored),
                                                            ContentOf(incoming));
}

absl::Status ValidateEvent(const v1::Event& event, size_t index) {
  // Data records belong to a user; connection and unknown events may come
  // without one (auth_cancelled, an unknown type) and are still kept.
  if (IsDataType(event.type()) && event.user().user_id().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("events[", index, "].user.user_id: must not be empty"));
  }
  if (event.type() <= v1::EVENT_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "events[", index, "].type: must be set (got ", static_cast<int>(event.type()),
        ")"));
  }
  if (event.record_key().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("events[", index, "].record_key: must not be empty"));
  }
  // An id longer than kMaxIdBytes could be stored but never queried (reads
  // refuse it). The gateway refuses such a body with 400 before it gets
  // here; this is the store's own rule, for every Ingest caller.
  const std::string at = absl::StrCat("events[", index, "]");
  const std::pair<const char*, const std::string*> ids[] = {
      {".user.user_id", &event.user().user_id()},
      {".user.reference_id", &event.user().reference_id()},
      {".record_key", &event.record_key()}};
  for (const auto& [field, id] : ids) {
    if (absl::Status valid = ValidateIdLength(absl::StrCat(at, field), *id); !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

}  // namespace

ApplyBatch::ApplyBatch(rocksdb::DB* db, const StoreFamilies& families, uint64_t base_revision,
                       bool collect_committed, bool erase_on_deauth, size_t reserved_bytes)
    : db_(db),
      families_(families),
      base_revision_(base_revision),
      collect_committed_(collect_committed),
      erase_on_deauth_(erase_on_deauth),
      batch_(reserved_bytes),
      last_revision_(base_revision) {}

absl::StatusOr<std::optional<v1::Connection>> ApplyBatch::LookupConnection(
    const ConnectionOverlay& call_connections, const std::string& user_id) const {
  if (auto it = call_connections.find(user_id); it != call_connections.end()) return it->second;
  if (auto it = connections_.find(user_id); it != connections_.end()) return it->second;
  if (erased_users_.contains(user_id)) return std::nullopt;  // erased earlier in this batch
  std::string value;
  const rocksdb::Status read =
      db_->Get(rocksdb::ReadOptions(), families_.users, keys::UserKey(user_id), &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) return FromRocksDb(read, "cannot read a connection record");
  v1::Connection stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("a stored connection does not parse as healthwire.v1.Connection");
  }
  return stored;
}

absl::Status ApplyBatch::UpdateConnections(const v1::Event& event,
                                           ConnectionOverlay& call_connections) {
  for (const std::string& user_id : ConnectionsTouchedBy(event)) {
    absl::StatusOr<std::optional<v1::Connection>> stored =
        LookupConnection(call_connections, user_id);
    if (!stored.ok()) return stored.status();
    const std::string previous_reference =
        stored->has_value() ? (*stored)->reference_id() : std::string();
    std::optional<v1::Connection> updated = *stored;
    ApplyEventToConnection(event, user_id, &updated);
    if (!updated.has_value()) continue;
    rocksdb::Status status =
        batch_.Put(families_.users, keys::UserKey(user_id), updated->SerializeAsString());
    if (status.ok() && updated->reference_id() != previous_reference) {
      if (!previous_reference.empty()) {
        status = batch_.Delete(families_.user_refs,
                               keys::UserReferenceKey(previous_reference, user_id));
      }
      if (status.ok() && !updated->reference_id().empty()) {
        status = batch_.Put(families_.user_refs,
                            keys::UserReferenceKey(updated->reference_id(), user_id),
                            rocksdb::Slice());
      }
    }
    if (!status.ok()) return FromRocksDb(status, "cannot add a connection to the write batch");
    call_connections.insert_or_assign(user_id, *std::move(updated));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Backfill>> ApplyBatch::LookupBackfill(
    const BackfillOverlay& call_backfills, const std::string& reference) const {
  if (auto it = call_backfills.find(reference); it != call_backfills.end()) return it->second;
  if (auto it = backfills_.find(reference); it != backfills_.end()) return it->second;
  if (erased_backfills_.contains(reference)) return std::nullopt;  // erased earlier in this batch
  std::string value;
  const rocksdb::Status read =
      db_->Get(rocksdb::ReadOptions(), families_.backfills, keys::BackfillKey(reference), &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) return FromRocksDb(read, "cannot read a backfill");
  v1::Backfill stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("a stored backfill does not parse as healthwire.v1.Backfill");
  }
  return stored;
}

absl::Status ApplyBatch::PutBackfills(BackfillOverlay& call_backfills, Overlay& call_overlay,
                                      const google::protobuf::Timestamp& received_at) {
  // In reference order: the revisions of BACKFILL_COMPLETE changes must not
  // depend on hash order (replicas assign the same ones).
  std::vector<std::string> references;
  for (const auto& [reference, backfill] : call_backfills) references.push_back(reference);
  std::sort(references.begin(), references.end());
  for (const std::string& reference : references) {
    v1::Backfill& backfill = call_backfills[reference];
    if (backfill.complete_revision() == 0 && BackfillIsComplete(backfill)) {
      backfill.set_state(v1::Backfill::STATE_COMPLETE);
      *backfill.mutable_completed_at() = received_at;
      backfill.set_complete_revision(++last_revision_);
      v1::Event complete = BackfillCompleteEvent(backfill, received_at);
      complete.set_revision(backfill.complete_revision());
      const std::string record_key = keys::RecordKey(
          complete.user().user_id(), TypeNumber(complete.type()), complete.record_key());
      if (absl::Status put = PutVersion(complete, record_key, nullptr, nullptr); !put.ok()) return put;
      if (collect_committed_) committed_.push_back(complete);
      // Seen by an erasure later in this batch like any stored record.
      call_overlay.insert_or_assign(record_key, std::move(complete));
    }
    rocksdb::Status status = batch_.Put(families_.backfills, keys::BackfillKey(reference),
                                        backfill.SerializeAsString());
    if (status.ok()) {
      status = backfill.state() == v1::Backfill::STATE_COMPLETE
                   ? batch_.Delete(families_.backfills, keys::OpenBackfillKey(reference))
                   : batch_.Put(families_.backfills, keys::OpenBackfillKey(reference),
                                rocksdb::Slice());
    }
    if (status.ok() && !backfill.user_id().empty()) {
      status = batch_.Put(families_.backfills,
                          keys::UserBackfillKey(backfill.user_id(), reference), rocksdb::Slice());
    }
    if (!status.ok()) return FromRocksDb(status, "cannot add a backfill to the write batch");
  }
  return absl::OkStatus();
}

absl::Status ApplyBatch::PutFetch(const v1::S3Fetch& fetch) {
  fetch_states_[fetch.ping_revision()] = fetch.state();
  rocksdb::Status status = batch_.Put(families_.fetches, keys::FetchKey(fetch.ping_revision()),
                                      fetch.SerializeAsString());
  if (status.ok()) {
    status = fetch.state() == v1::S3Fetch::STATE_PENDING
                 ? batch_.Put(families_.fetches, keys::PendingFetchKey(fetch.ping_revision()),
                              rocksdb::Slice())
                 : batch_.Delete(families_.fetches, keys::PendingFetchKey(fetch.ping_revision()));
  }
  return FromRocksDb(status, "cannot add an s3_payload fetch to the write batch");
}

absl::StatusOr<std::optional<v1::Event>> ApplyBatch::Lookup(const Overlay& call_overlay,
                                                            const std::string& record_key) const {
  if (auto it = call_overlay.find(record_key); it != call_overlay.end()) {
    return it->second;
  }
  if (auto it = overlay_.find(record_key); it != overlay_.end()) return it->second;
  if (erased_records_.contains(record_key)) return std::nullopt;  // erased earlier in this batch

  std::string value;
  const rocksdb::Status read =
      db_->Get(rocksdb::ReadOptions(), families_.records, record_key, &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) return FromRocksDb(read, "cannot read the stored version of a record");
  v1::Event stored;
  if (absl::Status parsed =
          ParseStoredEvent(db_, families_, rocksdb::ReadOptions(), value, true, &stored);
      !parsed.ok()) {
    return parsed;
  }
  return stored;
}

absl::Status ApplyBatch::PutVersion(v1::Event& event, const std::string& record_key,
                                    const v1::Event* previous, const LargeValueRef* large_value) {
  std::string value;
  // (COALESCE may have changed the raw JSON since it was written: then it is
  // stored inline, and the written value is collected as unreferenced.)
  const bool by_reference =
      large_value != nullptr && event.raw_json().size() == large_value->size;
  if (by_reference) {
    absl::StatusOr<std::string> encoded = EncodeWithReference(*large_value, event);
    if (!encoded.ok()) return encoded.status();
    value = *std::move(encoded);
  } else if (!event.SerializeToString(&value)) {
    return absl::InternalError(
        absl::StrCat("cannot serialize the event for record ", QuoteId(event.record_key())));
  }
  rocksdb::Status status = batch_.Put(families_.records, record_key, value);
  if (status.ok() && by_reference) {
    status = MarkLargeValueCommitted(families_, *large_value, event.revision(), record_key, &batch_);
  }

  // Index entries move when the start instant or the reference_id changed.
  const std::vector<std::string> new_index_keys = StartIndexKeysOf(event);
  std::vector<std::string> old_index_keys;
  if (previous != nullptr) old_index_keys = StartIndexKeysOf(*previous);
  auto contains = [](const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  for (const std::string& old_key : old_index_keys) {
    if (status.ok() && !contains(new_index_keys, old_key)) {
      status = batch_.Delete(families_.by_start, old_key);
    }
  }
  for (const std::string& new_key : new_index_keys) {
    if (status.ok() && !contains(old_index_keys, new_key)) {
      status = batch_.Put(families_.by_start, new_key, rocksdb::Slice());
    }
  }

  if (status.ok()) {
    status = batch_.Put(families_.changelog, keys::RevisionKey(event.revision()), value);
  }
  batch_received_at_[event.revision()] = event.received_at();
  // Which users this change names, so an erasure finds it without reading
  // the whole change log.
  for (const std::string& user_id : ConnectionsTouchedBy(event)) {
    if (!status.ok()) break;
    status = batch_.Put(families_.user_changes, keys::UserChangeKey(user_id, event.revision()),
                        rocksdb::Slice());
    call_user_changes_[user_id].push_back(event.revision());
  }
  return FromRocksDb(status, "cannot add the record to the write batch");
}

absl::StatusOr<v1::IngestResponse> ApplyBatch::ApplyCall(
    std::vector<v1::Event>& events, const v1::S3Fetch* fetch_outcome,
    const std::vector<std::optional<LargeValueRef>>* large_values) {
  if (!poisoned_.ok()) return poisoned_;
  // Validate everything first: an invalid event anywhere rejects the call.
  for (size_t i = 0; i < events.size(); ++i) {
    if (absl::Status valid = ValidateEvent(events[i], i); !valid.ok()) return valid;
  }

  batch_.SetSavePoint();
  const uint64_t revision_before = last_revision_;
  const Tally tally_before = tally_;
  // (Only this batch's fetches: small.)
  const absl::flat_hash_map<uint64_t, v1::S3Fetch::State> fetch_states_before = fetch_states_;
  Overlay call_overlay;
  ConnectionOverlay call_connections;
  BackfillOverlay call_backfills;
  // References whose payload this call already counted (one webhook's
  // records are one payload).
  absl::flat_hash_set<std::string> counted_payloads;
  v1::IngestResponse response;
  const size_t committed_before = committed_.size();
  call_user_changes_.clear();
  // erase_on_deauth: the users whose stored deauth / access_revoked asks
  // for their data to go, with the event that asked.
  std::vector<ErasureRequest> erase_after;

  // When the call's delivery was received (its events share it), kept
  // before the loop moves the events: the completion time of a backfill.
  const google::protobuf::Timestamp call_received_at =
      events.empty() ? google::protobuf::Timestamp() : events.back().received_at();
  absl::Status failure;
  // Every event, whatever its outcome, tells its backfill that it arrived
  // (an identical re-delivery of a chunk is still that chunk).
  auto track_backfill = [&](const v1::Event& event, uint64_t stored_revision) -> absl::Status {
    std::optional<BackfillDelivery> delivery = BackfillDeliveryOf(event);
    if (!delivery.has_value()) return absl::OkStatus();
    absl::StatusOr<std::optional<v1::Backfill>> backfill =
        LookupBackfill(call_backfills, delivery->reference);
    if (!backfill.ok()) return backfill.status();
    bool first = true;
    if (delivery->kind == BackfillDelivery::Kind::kPayload) {
      first = counted_payloads.insert(delivery->reference).second;
    }
    ApplyDeliveryToBackfill(*delivery, event, stored_revision, first, &*backfill);
    call_backfills.insert_or_assign(delivery->reference, **std::move(backfill));
    return absl::OkStatus();
  };
  for (v1::Event& event : events) {
    const size_t index = static_cast<size_t>(&event - events.data());
    const LargeValueRef* large_value =
        large_values != nullptr && index < large_values->size() && (*large_values)[index].has_value()
            ? &*(*large_values)[index]
            : nullptr;
    const std::string record_key = keys::RecordKey(
        event.user().user_id(), TypeNumber(event.type()), event.record_key());
    absl::StatusOr<std::optional<v1::Event>> stored = Lookup(call_overlay, record_key);
    if (!stored.ok()) {
      failure = stored.status();
      break;
    }
    v1::IngestResult* result = response.add_results();
    const std::optional<v1::Event>& previous = *stored;

    // Ordering guard: a stale retry must not replace newer data.
    if (previous.has_value() && previous->has_ordering_timestamp_ms() &&
        event.has_ordering_timestamp_ms() &&
        event.ordering_timestamp_ms() < previous->ordering_timestamp_ms()) {
      result->set_outcome(v1::IngestResult::OUTCOME_STALE);
      result->set_revision(previous->revision());
      ++tally_.stale;
      if (failure = track_backfill(event, 0); !failure.ok()) break;
      continue;
    }
    if (previous.has_value() && IsIdenticalRedelivery(*previous, event)) {
      result->set_outcome(v1::IngestResult::OUTCOME_IDENTICAL);
      result->set_revision(previous->revision());
      ++tally_.identical;
      if (failure = track_backfill(event, 0); !failure.ok()) break;
      continue;
    }

    if (previous.has_value()) CoalesceDataEnrichment(*previous, &event);
    event.set_revision(++last_revision_);
    if (absl::Status put = PutVersion(event, record_key,
                                      previous.has_value() ? &*previous : nullptr, large_value);
        !put.ok()) {
      failure = put;
      break;
    }
    if (absl::Status tracked = UpdateConnections(event, call_connections); !tracked.ok()) {
      failure = tracked;
      break;
    }
    if (std::optional<v1::S3Fetch> fetch = FetchStartedBy(event); fetch.has_value()) {
      if (failure = PutFetch(*fetch); !failure.ok()) break;
    }
    if (failure = track_backfill(event, event.revision()); !failure.ok()) break;
    result->set_outcome(v1::IngestResult::OUTCOME_STORED);
    result->set_revision(event.revision());
    ++tally_.stored;
    if (collect_committed_) committed_.push_back(event);
    if (erase_on_deauth_ && !event.user().user_id().empty() &&
        (event.type() == v1::EVENT_TYPE_DEAUTH ||
         event.type() == v1::EVENT_TYPE_ACCESS_REVOKED)) {
      ErasureRequest& request = erase_after.emplace_back();
      request.kind = ErasureRequest::Kind::kUserId;
      request.id = event.user().user_id();
      request.trigger = event.type() == v1::EVENT_TYPE_DEAUTH ? v1::Erasure::TRIGGER_DEAUTH
                                                              : v1::Erasure::TRIGGER_ACCESS_REVOKED;
      request.received_at = event.received_at();
    }
    call_overlay.insert_or_assign(record_key, std::move(event));
  }
  if (failure.ok() && !call_backfills.empty()) {
    failure = PutBackfills(call_backfills, call_overlay, call_received_at);
  }
  if (failure.ok() && fetch_outcome != nullptr) {
    // Only a fetch still PENDING takes an outcome: one the person's erasure
    // removed meanwhile (or already recorded) must not come back.
    absl::StatusOr<v1::S3Fetch::State> state = LookupFetchState(fetch_outcome->ping_revision());
    if (!state.ok()) {
      failure = state.status();
    } else if (*state != v1::S3Fetch::STATE_PENDING) {
      failure = absl::FailedPreconditionError(absl::StrCat(
          "the s3_payload fetch of ping revision ", fetch_outcome->ping_revision(),
          " is not pending any more (erased, or its outcome is recorded already)"));
    }
  }
  if (failure.ok() && fetch_outcome != nullptr) {
    v1::S3Fetch fetch = *fetch_outcome;
    if (fetch.state() == v1::S3Fetch::STATE_FETCHED) {
      fetch.set_events(static_cast<int32_t>(events.size()));
      for (const v1::IngestResult& result : response.results()) {
        if (result.outcome() != v1::IngestResult::OUTCOME_STORED) continue;
        if (fetch.first_revision() == 0) fetch.set_first_revision(result.revision());
        fetch.set_last_revision(result.revision());
      }
    }
    failure = PutFetch(fetch);
  }

  // The call's user_changes entries count as the batch's from here on (an
  // erasure below must see them; a failed call never gets here).
  if (failure.ok()) {
    for (auto& [user_id, revisions] : call_user_changes_) {
      auto& into = batch_user_changes_[user_id];
      into.insert(into.end(), revisions.begin(), revisions.end());
    }
    call_user_changes_.clear();
  }
  for (const ErasureRequest& request : erase_after) {
    if (!failure.ok()) break;
    absl::StatusOr<ErasureOutcome> erased =
        Erase(request, call_overlay, call_connections, call_backfills);
    if (!erased.ok()) failure = erased.status();  // the batch is poisoned
  }

  if (!failure.ok()) {
    batch_.RollbackToSavePoint().PermitUncheckedError();
    last_revision_ = revision_before;
    tally_ = tally_before;
    fetch_states_ = fetch_states_before;
    committed_.resize(committed_before);
    return failure;
  }
  batch_.PopSavePoint().PermitUncheckedError();
  for (auto& [key, version] : call_overlay) {
    overlay_.insert_or_assign(key, std::move(version));
  }
  for (auto& [user_id, connection] : call_connections) {
    connections_.insert_or_assign(user_id, std::move(connection));
  }
  if (!call_backfills.empty() || fetch_outcome != nullptr) state_changed_ = true;
  for (auto& [reference, backfill] : call_backfills) {
    backfills_.insert_or_assign(reference, std::move(backfill));
  }
  return response;
}

absl::Status ApplyBatch::Seal() {
  if (!poisoned_.ok()) return poisoned_;
  return FromRocksDb(batch_.Put(families_.meta, ToSlice(keys::kLastRevisionMetaKey),
                                keys::EncodeRevision(last_revision_)),
                     "cannot add the revision counter to the write batch");
}

void ApplyBatch::ReleaseLookupState() {
  Overlay().swap(overlay_);
  ConnectionOverlay().swap(connections_);
}

}  // namespace healthwire
