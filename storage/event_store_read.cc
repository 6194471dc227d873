// EventStore reads: GetLatest, ListRecords, GetUser and the change log, each
// at one RocksDB snapshot, so the store_revision a read returns is exactly the
// state it read.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/event_store_impl.h"
#include "storage/large_values.h"
#include "storage/id_limits.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;

// "sleep", "planned_workout", ...: the Terra name of a data type, for messages.
std::string TypeName(v1::EventType type) {
  constexpr absl::string_view kPrefix = "EVENT_TYPE_";
  std::string name = v1::EventType_Name(type);
  if (name.empty()) return absl::StrCat("type ", static_cast<int>(type));
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  absl::AsciiStrToLower(&name);
  return name;
}

// The person a query is about, resolved to the index it scans.
struct QuerySubject {
  keys::SubjectKind kind;
  std::string id;
  // `user_id "abc"`, for messages.
  std::string description;
};

absl::StatusOr<QuerySubject> ResolveSubject(const StoreSubject& subject) {
  if (subject.id.empty()) {
    return absl::InvalidArgumentError("subject: set user_id or reference_id");
  }
  switch (subject.kind) {
    case StoreSubject::Kind::kUserId:
      if (absl::Status valid = ValidateIdLength("subject.user_id", subject.id); !valid.ok()) {
        return valid;
      }
      return QuerySubject{keys::SubjectKind::kUserId, subject.id,
                          absl::StrCat("user_id ", QuoteId(subject.id))};
    case StoreSubject::Kind::kReferenceId:
      if (absl::Status valid = ValidateIdLength("subject.reference_id", subject.id);
          !valid.ok()) {
        return valid;
      }
      return QuerySubject{keys::SubjectKind::kReferenceId, subject.id,
                          absl::StrCat("reference_id ", QuoteId(subject.id))};
    case StoreSubject::Kind::kUnset:
      break;
  }
  return absl::InvalidArgumentError("subject: set user_id or reference_id");
}

absl::Status ValidateDataType(v1::EventType type) {
  if (IsDataType(type)) {
    return absl::OkStatus();
  }
  std::string got = v1::EventType_Name(type);
  if (got.empty()) got = absl::StrCat(static_cast<int>(type));
  return absl::InvalidArgumentError(absl::StrCat(
      "type: must be a data type (EVENT_TYPE_ACTIVITY ... "
      "EVENT_TYPE_HEALTH_OBSERVATION), got ",
      got));
}

}  // namespace

absl::StatusOr<uint64_t> EventStore::Impl::ReadLastRevision(
    const rocksdb::ReadOptions& read) const {
  std::string value;
  const rocksdb::Status status =
      db_->Get(read, families_.meta, ToSlice(keys::kLastRevisionMetaKey), &value);
  if (status.IsNotFound()) return 0;
  if (!status.ok()) return FromRocksDb(status, "cannot read the store revision");
  uint64_t revision = 0;
  if (!keys::DecodeRevision(value, &revision)) {
    return absl::DataLossError("the stored revision counter is corrupt");
  }
  return revision;
}

absl::StatusOr<std::string> EventStore::Impl::LoadIndexedRecordBytes(
    const rocksdb::ReadOptions& read, absl::string_view index_key) const {
  keys::DecodedStartIndexKey entry;
  if (!keys::DecodeStartIndexKey(index_key, &entry)) {
    return absl::DataLossError("a start-time index entry does not decode");
  }
  std::string value;
  const rocksdb::Status status =
      db_->Get(read, families_.records,
               keys::RecordKey(entry.user_id, entry.type, entry.record_key), &value);
  if (status.IsNotFound()) {
    // Index and record are written in one batch; this is corruption.
    return absl::DataLossError(absl::StrCat(
        "the start-time index points at a missing record (user_id ", QuoteId(entry.user_id),
        ", record_key ", QuoteId(entry.record_key), ")"));
  }
  if (!status.ok()) return FromRocksDb(status, "cannot read a record");
  return value;
}

absl::StatusOr<v1::Event> EventStore::Impl::LoadIndexedRecord(
    const rocksdb::ReadOptions& read, absl::string_view index_key,
    bool omit_raw_json) const {
  absl::StatusOr<std::string> value = LoadIndexedRecordBytes(read, index_key);
  if (!value.ok()) return value.status();
  v1::Event event;
  if (absl::Status parsed = ParseStoredEvent(db_.get(), families_, read, *value, !omit_raw_json, &event);
      !parsed.ok()) {
    return parsed;
  }
  return event;
}

absl::StatusOr<SerializedLatestResult> EventStore::Impl::ReadLatest(const LatestQuery& query,
                                                                    v1::Event* parsed) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(query.subject);
  if (!subject.ok()) return subject.status();
  if (absl::Status valid = ValidateDataType(query.type); !valid.ok()) return valid;

  const ScopedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read = snapshot.Options();
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();

  // The greatest start instant is the last key of the (subject, type) prefix.
  const std::string lower =
      keys::StartIndexPrefix(subject->kind, subject->id, TypeNumber(query.type));
  const std::string upper = keys::PrefixSuccessor(lower);
  const rocksdb::Slice lower_slice(lower), upper_slice(upper);
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.by_start));
  it->SeekToLast();
  if (!it->Valid()) {
    if (!it->status().ok()) {
      return FromRocksDb(it->status(), "cannot read the start-time index");
    }
    return absl::NotFoundError(absl::StrCat("no ", TypeName(query.type), " record for ",
                                            subject->description));
  }
  absl::StatusOr<std::string> value = LoadIndexedRecordBytes(read, ToView(it->key()));
  if (!value.ok()) return value.status();

  SerializedLatestResult result;
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;
  if (parsed != nullptr || query.omit_raw_json) {
    // Decoded: asked for, or to drop raw_json (a large record's is then not read).
    v1::Event event;
    v1::Event* target = parsed != nullptr ? parsed : &event;
    if (absl::Status ok = ParseStoredEvent(db_.get(), families_, read, *value,
                                           !query.omit_raw_json, target);
        !ok.ok()) {
      return ok;
    }
    if (parsed == nullptr) result.serialized_event = event.SerializeAsString();
    return result;
  }
  // As stored; a large record's reference becomes the bytes an inline record
  // would hold (at this read's snapshot).
  if (absl::Status resolved = ResolveStoredValue(db_.get(), families_, read, &*value);
      !resolved.ok()) {
    return resolved;
  }
  result.serialized_event = *std::move(value);
  return result;
}

absl::StatusOr<LatestResult> EventStore::Impl::GetLatest(const LatestQuery& query) const {
  LatestResult result;
  absl::StatusOr<SerializedLatestResult> read = ReadLatest(query, &result.event);
  if (!read.ok()) return read.status();
  result.store_revision = read->store_revision;
  result.store_timeline = std::move(read->store_timeline);
  return result;
}

absl::StatusOr<SerializedLatestResult> EventStore::Impl::GetLatestSerialized(
    const LatestQuery& query) const {
  return ReadLatest(query, nullptr);
}

absl::StatusOr<ListResult> EventStore::Impl::ListRecords(const ListQuery& query) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(query.subject);
  if (!subject.ok()) return subject.status();
  if (absl::Status valid = ValidateDataType(query.type); !valid.ok()) return valid;
  if (query.page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must not be negative (got ", query.page_size, ")"));
  }
  const int32_t page_size =
      query.page_size == 0 ? kDefaultPageSize : std::min(query.page_size, kMaxPageSize);

  // The scan range [lower, upper) over the (subject, type) prefix.
  const uint32_t type = TypeNumber(query.type);
  const std::string prefix = keys::StartIndexPrefix(subject->kind, subject->id, type);
  std::string lower = prefix;
  std::string upper = keys::PrefixSuccessor(prefix);
  if (query.start_time_from.has_value() || query.start_time_to.has_value()) {
    // A time range only matches records whose start time is known.
    lower = keys::StartIndexBound(subject->kind, subject->id, type,
                                  keys::kUnknownStartMicros + 1);
  }
  if (query.start_time_from.has_value()) {
    lower = std::max(lower, keys::StartIndexBound(subject->kind, subject->id, type,
                                                  absl::ToUnixMicros(*query.start_time_from)));
  }
  if (query.start_time_to.has_value()) {
    upper = keys::StartIndexBound(subject->kind, subject->id, type,
                                  absl::ToUnixMicros(*query.start_time_to));
  }
  // The token is the last index key of the previous page; this page continues
  // below it. It must belong to this (subject, type).
  if (!query.page_token.empty()) {
    std::string token_key;
    keys::DecodedStartIndexKey entry;
    if (!absl::WebSafeBase64Unescape(query.page_token, &token_key) ||
        !absl::StartsWith(token_key, prefix) ||
        !keys::DecodeStartIndexKey(token_key, &entry)) {
      return absl::InvalidArgumentError("page_token is not valid");
    }
    upper = std::min(upper, token_key);
  }

  const ScopedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read = snapshot.Options();
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();

  ListResult result;
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;
  if (lower >= upper) return result;  // empty range

  const rocksdb::Slice lower_slice(lower), upper_slice(upper);
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.by_start));
  std::string last_key;
  for (it->SeekToLast();
       it->Valid() && result.events.size() < static_cast<size_t>(page_size); it->Prev()) {
    last_key.assign(it->key().data(), it->key().size());
    absl::StatusOr<v1::Event> event = LoadIndexedRecord(read, last_key, query.omit_raw_json);
    if (!event.ok()) return event.status();
    result.events.push_back(*std::move(event));
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), "cannot read the start-time index");
  }
  // A token only when another record follows, so the last page has none.
  if (it->Valid()) result.next_page_token = absl::WebSafeBase64Escape(last_key);
  return result;
}

absl::StatusOr<UserResult> EventStore::Impl::GetUser(const StoreSubject& query) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(query);
  if (!subject.ok()) return subject.status();
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  UserResult result;
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;

  std::vector<std::string> user_ids;
  if (subject->kind == keys::SubjectKind::kUserId) {
    user_ids.push_back(subject->id);
  } else {
    const std::string prefix = keys::UserReferencePrefix(subject->id);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.user_refs));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string user_id;
      if (keys::DecodeUserReferenceKey(ToView(it->key()), &user_id)) user_ids.push_back(user_id);
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the reference index");
  }
  for (const std::string& user_id : user_ids) {
    std::string value;
    const rocksdb::Status status = db_->Get(read, families_.users, keys::UserKey(user_id), &value);
    if (status.IsNotFound()) continue;
    if (!status.ok()) return FromRocksDb(status, "cannot read a connection record");
    if (!result.connections.emplace_back().ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("the connection record of user_id ",
                                              QuoteId(user_id), " does not parse"));
    }
  }
  if (result.connections.empty()) {
    return absl::NotFoundError(absl::StrCat("no connection for ", subject->description));
  }
  return result;
}

absl::Status EventStore::Impl::ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                                  std::vector<std::string>* out) const {
  out->clear();
  if (max_events == 0) return absl::OkStatus();
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.changelog));
  for (it->Seek(keys::RevisionKey(std::max<uint64_t>(from_revision, 1)));
       it->Valid() && out->size() < max_events; it->Next()) {
    out->emplace_back(it->value().data(), it->value().size());
    // A large record's entry is a reference: readers get the bytes an
    // inline entry would have held.
    if (absl::Status resolved = ResolveStoredValue(db_.get(), families_, read, &out->back());
        !resolved.ok()) {
      return resolved;
    }
  }
  return FromRocksDb(it->status(), "cannot read the change log");
}

absl::Status EventStore::Impl::ReadChangeLog(uint64_t from_revision, size_t max_events,
                                             std::vector<v1::Event>* out) const {
  out->clear();
  std::vector<std::string> entries;
  if (absl::Status read = ReadChangeLogBytes(from_revision, max_events, &entries); !read.ok()) {
    return read;
  }
  out->reserve(entries.size());
  for (const std::string& entry : entries) {
    if (!out->emplace_back().ParseFromString(entry)) {
      out->pop_back();
      return absl::DataLossError(absl::StrCat("the change-log entry after revision ",
                                              out->empty() ? from_revision : out->back().revision(),
                                              " does not parse as healthwire.v1.Event"));
    }
  }
  return absl::OkStatus();
}

}  // namespace healthwire
