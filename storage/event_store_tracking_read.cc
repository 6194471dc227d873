// EventStore reads of issue 13's state: s3_payload fetches and backfills,
// each at one RocksDB snapshot with the store revision it saw.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/backfill_tracker.h"
#include "storage/event_store_impl.h"
#include "storage/fetch_tracker.h"
#include "storage/id_limits.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;

}  // namespace

absl::StatusOr<std::vector<v1::S3Fetch>> EventStore::Impl::PendingFetches(size_t limit) const {
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  std::vector<v1::S3Fetch> pending;
  const std::string prefix(1, keys::kPendingFetchKeyPrefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.fetches));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && pending.size() < limit;
       it->Next()) {
    uint64_t ping_revision = 0;
    if (!keys::DecodeFetchKey(ToView(it->key()), keys::kPendingFetchKeyPrefix, &ping_revision)) {
      continue;
    }
    std::string value;
    const rocksdb::Status status =
        db_->Get(read, families_.fetches, keys::FetchKey(ping_revision), &value);
    if (status.IsNotFound()) continue;
    if (!status.ok()) return FromRocksDb(status, "cannot read an s3_payload fetch");
    if (!pending.emplace_back().ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("the s3_payload fetch of ping revision ", ping_revision, " does not parse"));
    }
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the pending fetches");
  return pending;
}

absl::StatusOr<FetchListResult> EventStore::Impl::ListS3Fetches(const FetchListQuery& query) const {
  if (query.page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative (got ", query.page_size, ")"));
  }
  const size_t page_size =
      query.page_size == 0 ? kDefaultPageSize : std::min(query.page_size, kMaxPageSize);
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  FetchListResult result;
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;
  const std::string prefix(1, keys::kFetchKeyPrefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.fetches));
  for (it->Seek(keys::FetchKey(query.after_ping_revision + 1));
       it->Valid() && it->key().starts_with(prefix) && result.fetches.size() < page_size;
       it->Next()) {
    v1::S3Fetch fetch;
    if (!fetch.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a stored s3_payload fetch does not parse");
    }
    if (query.state != v1::S3Fetch::STATE_UNSPECIFIED && fetch.state() != query.state) continue;
    result.fetches.push_back(RedactedFetch(fetch));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the s3_payload fetches");
  return result;
}

absl::StatusOr<BackfillResult> EventStore::Impl::GetBackfill(const std::string& reference) const {
  if (reference.empty()) return absl::InvalidArgumentError("reference: must not be empty");
  if (absl::Status valid = ValidateIdLength("reference", reference); !valid.ok()) return valid;
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  BackfillResult result;
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;
  std::string value;
  const rocksdb::Status status =
      db_->Get(read, families_.backfills, keys::BackfillKey(reference), &value);
  if (status.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("no backfill with reference ", QuoteId(reference)));
  }
  if (!status.ok()) return FromRocksDb(status, "cannot read a backfill");
  v1::Backfill& backfill = result.backfills.emplace_back();
  if (!backfill.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("the backfill ", QuoteId(reference), " does not parse"));
  }
  backfill.set_state(
      ReportedBackfillState(backfill, absl::Now(), options_.backfill_stall_after));
  return result;
}

absl::StatusOr<std::vector<std::string>> EventStore::Impl::UserIdsOf(
    const rocksdb::ReadOptions& read, const StoreSubject& subject) const {
  if (subject.id.empty() || subject.kind == StoreSubject::Kind::kUnset) {
    return absl::InvalidArgumentError("subject: set user_id or reference_id");
  }
  if (absl::Status valid = ValidateIdLength(subject.kind == StoreSubject::Kind::kUserId
                                                ? "subject.user_id"
                                                : "subject.reference_id",
                                            subject.id);
      !valid.ok()) {
    return valid;
  }
  if (subject.kind == StoreSubject::Kind::kUserId) return std::vector<std::string>{subject.id};
  std::vector<std::string> user_ids;
  const std::string prefix = keys::UserReferencePrefix(subject.id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.user_refs));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string user_id;
    if (keys::DecodeUserReferenceKey(ToView(it->key()), &user_id)) user_ids.push_back(user_id);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the reference index");
  return user_ids;
}

absl::StatusOr<BackfillResult> EventStore::Impl::ListBackfills(
    const StoreSubject& subject) const {
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  absl::StatusOr<std::vector<std::string>> user_ids = UserIdsOf(read, subject);
  if (!user_ids.ok()) return user_ids.status();
  BackfillResult result;
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();
  result.store_revision = *revision;
  result.store_timeline = timeline_id_;
  const absl::Time now = absl::Now();
  for (const std::string& user_id : *user_ids) {
    const std::string prefix = keys::UserBackfillPrefix(user_id);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.backfills));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string reference;
      if (!keys::DecodeUserBackfillKey(ToView(it->key()), &reference)) continue;
      std::string value;
      const rocksdb::Status status =
          db_->Get(read, families_.backfills, keys::BackfillKey(reference), &value);
      if (status.IsNotFound()) continue;
      if (!status.ok()) return FromRocksDb(status, "cannot read a backfill");
      v1::Backfill& backfill = result.backfills.emplace_back();
      if (!backfill.ParseFromString(value)) {
        return absl::DataLossError(
            absl::StrCat("the backfill ", QuoteId(reference), " does not parse"));
      }
      backfill.set_state(ReportedBackfillState(backfill, now, options_.backfill_stall_after));
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the backfill index");
  }
  return result;
}

absl::StatusOr<OpenBackfillCounts> EventStore::Impl::CountOpenBackfills(size_t limit) const {
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  OpenBackfillCounts counts;
  const absl::Time now = absl::Now();
  const std::string prefix(1, keys::kOpenBackfillKeyPrefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.backfills));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && counts.open < limit;
       it->Next()) {
    std::string reference;
    if (!keys::DecodeOpenBackfillKey(ToView(it->key()), &reference)) continue;
    std::string value;
    const rocksdb::Status status =
        db_->Get(read, families_.backfills, keys::BackfillKey(reference), &value);
    if (!status.ok()) continue;
    v1::Backfill backfill;
    if (!backfill.ParseFromString(value)) continue;
    ++counts.open;
    if (ReportedBackfillState(backfill, now, options_.backfill_stall_after) ==
        v1::Backfill::STATE_STALLED) {
      ++counts.stalled;
    }
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "cannot read the open backfills");
  return counts;
}

}  // namespace healthwire
