// EventStore on RocksDB. This file, top to bottom:
//   helpers  status mapping, request/event validation, column-family options
//   open     Impl::Open (column families, revision counter), close
//   commit   queue -> writer thread -> GroupCommit: one WriteBatch per group
//   read     GetLatest, ListRecords, ReadChangeLog, each at one snapshot
// Key encodings live in keys.h; the data_enrichment rule in coalesce.h.
#include "storage/event_store.h"

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/coalesce.h"
#include "storage/connection_tracker.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

// ===========================================================================
// Shared helpers: column families, RocksDB status mapping, names.
// ===========================================================================

// Column family names are part of the on-disk format. The default family is
// opened (RocksDB requires it) but not used.
constexpr char kRecordsFamily[] = "records";
constexpr char kByStartFamily[] = "by_start";
constexpr char kChangelogFamily[] = "changelog";
constexpr char kMetaFamily[] = "meta";
constexpr char kUsersFamily[] = "users";
constexpr char kUserRefsFamily[] = "user_refs";

constexpr int32_t kDefaultPageSize = 100;
constexpr int32_t kMaxPageSize = 1000;

// Bloom filter bits per key, as RocksDB's tuning guide recommends (~1% false
// positives): point lookups of records that do not exist skip the SST files.
constexpr double kBloomBitsPerKey = 10;

// Maps a RocksDB status onto absl. Transient conditions (I/O, busy, timeouts,
// shutdown) are Unavailable so callers (and Terra, through the gateway) retry;
// everything else is Internal.
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsIOError() || status.IsBusy() || status.IsTimedOut() ||
      status.IsTryAgain() || status.IsIncomplete() || status.IsAborted() ||
      status.IsShutdownInProgress()) {
    return absl::UnavailableError(std::move(message));
  }
  return absl::InternalError(std::move(message));
}

// "sleep", "planned_workout", ...: the Terra name of a data type, for messages.
std::string TypeName(v1::EventType type) {
  constexpr absl::string_view kPrefix = "EVENT_TYPE_";
  std::string name = v1::EventType_Name(type);
  if (name.empty()) return absl::StrCat("type ", static_cast<int>(type));
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  absl::AsciiStrToLower(&name);
  return name;
}

// absl::string_view is not std::string_view in every Abseil build.
rocksdb::Slice ToSlice(absl::string_view view) {
  return rocksdb::Slice(view.data(), view.size());
}
absl::string_view ToView(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

uint32_t TypeNumber(v1::EventType type) { return static_cast<uint32_t>(type); }

bool IsDataType(v1::EventType type) {
  return type >= v1::EVENT_TYPE_ACTIVITY && type <= v1::EVENT_TYPE_HEALTH_OBSERVATION;
}

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
  return absl::OkStatus();
}

// The person a query is about, resolved to the index it scans.
struct QuerySubject {
  keys::SubjectKind kind;
  std::string id;
  // `user_id "abc"`, for messages.
  std::string description;
};

absl::StatusOr<QuerySubject> ResolveSubject(const v1::Subject& subject) {
  switch (subject.id_case()) {
    case v1::Subject::kUserId:
      if (subject.user_id().empty()) break;
      return QuerySubject{keys::SubjectKind::kUserId, subject.user_id(),
                          absl::StrCat("user_id \"", absl::CEscape(subject.user_id()), "\"")};
    case v1::Subject::kReferenceId:
      if (subject.reference_id().empty()) break;
      return QuerySubject{
          keys::SubjectKind::kReferenceId, subject.reference_id(),
          absl::StrCat("reference_id \"", absl::CEscape(subject.reference_id()), "\"")};
    case v1::Subject::ID_NOT_SET:
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

// Unix microseconds of a google.protobuf.Timestamp, which must be within the
// range the Timestamp type allows (years 1 to 9999).
absl::StatusOr<int64_t> TimestampMicros(const google::protobuf::Timestamp& timestamp,
                                        absl::string_view field) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  if (timestamp.seconds() < kMinSeconds || timestamp.seconds() > kMaxSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a valid timestamp (seconds ", timestamp.seconds(),
                     ", nanos ", timestamp.nanos(), ")"));
  }
  return timestamp.seconds() * 1000000 + timestamp.nanos() / 1000;
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

// Options for every column family the store uses: bloom filters on a shared
// LRU block cache; LZ4 above the bottommost level (cheap, fast) and ZSTD at
// the bottommost level (where most data lives, written once), each falling
// back to what this RocksDB build supports.
rocksdb::ColumnFamilyOptions StoreFamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& block_cache) {
  const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  auto first_supported = [&supported](std::initializer_list<rocksdb::CompressionType>
                                          preferred) {
    for (rocksdb::CompressionType type : preferred) {
      if (std::find(supported.begin(), supported.end(), type) != supported.end()) {
        return type;
      }
    }
    return rocksdb::kNoCompression;
  };

  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  table.block_cache = block_cache;

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression =
      first_supported({rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
  options.bottommost_compression = first_supported(
      {rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
  // Keys of one family share long prefixes (the encoded user id); scans use
  // iterate_lower_bound/iterate_upper_bound, which let RocksDB stop at the
  // prefix's end without a prefix extractor (the prefixes are variable-length).
  return options;
}

}  // namespace

// ===========================================================================
// EventStore::Impl
// ===========================================================================

class EventStore::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Open(const Options& options);
  ~Impl();

  void IngestAsync(std::vector<v1::Event> events, IngestCallback done);
  absl::StatusOr<v1::GetLatestResponse> GetLatest(const v1::GetLatestRequest& request) const;
  absl::StatusOr<v1::ListRecordsResponse> ListRecords(
      const v1::ListRecordsRequest& request) const;
  absl::Status ReadChangeLog(uint64_t from_revision, size_t max_events,
                             std::vector<v1::Event>* out) const;
  absl::Status ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                  std::vector<std::string>* out) const;
  absl::StatusOr<v1::GetUserResponse> GetUser(const v1::GetUserRequest& request) const;
  absl::StatusOr<v1::CreateCheckpointResponse> CreateCheckpoint(
      const v1::CreateCheckpointRequest& request);
  uint64_t CurrentRevision() const {
    return current_revision_.load(std::memory_order_acquire);
  }
  uint64_t OldestRetainedRevision() const {
    return oldest_retained_.load(std::memory_order_acquire);
  }
  SubscriptionHub* subscription_hub() { return &hub_; }
  Stats GetStats() const;

 private:
  struct Families {
    rocksdb::ColumnFamilyHandle* records = nullptr;
    rocksdb::ColumnFamilyHandle* by_start = nullptr;
    rocksdb::ColumnFamilyHandle* changelog = nullptr;
    rocksdb::ColumnFamilyHandle* meta = nullptr;
    rocksdb::ColumnFamilyHandle* users = nullptr;      // user_id -> Connection
    rocksdb::ColumnFamilyHandle* user_refs = nullptr;  // (reference_id, user_id)
  };

  // One IngestAsync call waiting for the writer.
  struct PendingCall {
    std::vector<v1::Event> events;
    IngestCallback done;
  };

  class GroupCommit;

  Impl(const Options& options, std::unique_ptr<rocksdb::DB> db,
       std::vector<rocksdb::ColumnFamilyHandle*> handles, Families families,
       uint64_t last_revision, uint64_t oldest_retained);

  // ---- commit (writer thread only) ----
  void WriterLoop();
  void CommitGroup(std::vector<PendingCall> calls);

  // ---- change-log retention ----
  // Removes change-log entries below `new_oldest` (one range tombstone) and
  // records the new oldest revision.
  void TrimChangeLog(uint64_t new_oldest);
  // Writer thread, after a commit: keeps at most changelog_max_entries.
  void ApplyCountRetention();
  // Retention thread: drops entries older than changelog_max_age.
  void RetentionLoop();

  // ---- read ----
  absl::StatusOr<uint64_t> ReadLastRevision(const rocksdb::ReadOptions& read) const;
  // Loads the record an index entry points at.
  absl::StatusOr<v1::Event> LoadIndexedRecord(const rocksdb::ReadOptions& read,
                                              absl::string_view index_key,
                                              bool omit_raw_json) const;

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; closed in ~Impl
  const Families families_;

  // The revision of the last durable commit. Written by the writer thread
  // after each successful write, read by anyone.
  std::atomic<uint64_t> current_revision_;
  // The oldest change-log revision still kept. Only TrimChangeLog raises it.
  std::atomic<uint64_t> oldest_retained_;
  std::mutex trim_mu_;  // serializes TrimChangeLog (writer and retention threads)

  SubscriptionHub hub_;
  // Writer-thread state: the revision the next group builds on. Equal to
  // current_revision_ between groups; a failed write leaves it unchanged, so
  // the revisions the failed group had assigned are handed out again.
  uint64_t durable_revision_;

  std::atomic<uint64_t> stored_{0};
  std::atomic<uint64_t> identical_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> commits_{0};

  // std::mutex rather than absl::Mutex: ThreadSanitizer understands it even
  // when Abseil is built without TSan annotations (Debian's is).
  std::mutex mu_;
  std::condition_variable queue_changed_;
  std::vector<PendingCall> queue_;  // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  std::thread writer_;
  std::condition_variable retention_wake_;  // with mu_; signalled when stopping
  std::thread retention_;
};

// ---------------------------------------------------------------------------
// Open / close
// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<EventStore::Impl>> EventStore::Impl::Open(
    const Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("EventStore::Options.path: must not be empty");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  if (options.env != nullptr) db_options.env = options.env;

  const std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions family_options = StoreFamilyOptions(block_cache);
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, family_options},
      {kRecordsFamily, family_options},
      {kByStartFamily, family_options},
      {kChangelogFamily, family_options},
      {kMetaFamily, family_options},
      {kUsersFamily, family_options},
      {kUserRefsFamily, family_options},
  };

  rocksdb::DB* raw_db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  const rocksdb::Status opened =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw_db);
  if (!opened.ok()) {
    std::string context = absl::StrCat("cannot open the event store at \"",
                                       options.path, "\"");
    if (opened.IsIOError() && absl::StrContains(opened.ToString(), "lock")) {
      absl::StrAppend(&context,
                      " (the folder is locked: is another healthwire process, or "
                      "another EventStore in this process, using it?)");
    }
    return FromRocksDb(opened, context);
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  const Families families{handles[1], handles[2], handles[3],
                          handles[4], handles[5], handles[6]};

  // Revisions continue where the last run stopped.
  std::string value;
  uint64_t last_revision = 0;
  const rocksdb::Status read = db->Get(rocksdb::ReadOptions(), families.meta,
                                       ToSlice(keys::kLastRevisionMetaKey), &value);
  absl::Status failure;
  if (read.ok()) {
    if (!keys::DecodeRevision(value, &last_revision)) {
      failure = absl::DataLossError(absl::StrCat(
          "event store at \"", options.path, "\": meta \"",
          keys::kLastRevisionMetaKey, "\" is corrupt (", value.size(), " bytes)"));
    }
  } else if (!read.IsNotFound()) {
    failure = FromRocksDb(read, absl::StrCat("cannot read the last revision of the "
                                             "event store at \"",
                                             options.path, "\""));
  }
  uint64_t oldest_retained = 1;
  if (failure.ok()) {
    const rocksdb::Status oldest = db->Get(rocksdb::ReadOptions(), families.meta,
                                           ToSlice(keys::kOldestRetainedMetaKey), &value);
    if (oldest.ok() && !keys::DecodeRevision(value, &oldest_retained)) {
      failure = absl::DataLossError(absl::StrCat("event store at \"", options.path, "\": meta \"",
                                                 keys::kOldestRetainedMetaKey, "\" is corrupt"));
    } else if (!oldest.ok() && !oldest.IsNotFound()) {
      failure = FromRocksDb(oldest, absl::StrCat("cannot read the change-log retention state of "
                                                 "the event store at \"",
                                                 options.path, "\""));
    }
  }
  if (!failure.ok()) {
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      db->DestroyColumnFamilyHandle(handle);
    }
    return failure;
  }
  return std::unique_ptr<Impl>(new Impl(options, std::move(db), std::move(handles), families,
                                        last_revision, oldest_retained));
}

EventStore::Impl::Impl(const Options& options, std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles,
                       Families families, uint64_t last_revision, uint64_t oldest_retained)
    : options_(options),
      db_(std::move(db)),
      handles_(std::move(handles)),
      families_(families),
      current_revision_(last_revision),
      oldest_retained_(oldest_retained),
      hub_(SubscriptionHub::Options{options.max_buffered_updates_per_subscriber}, last_revision),
      durable_revision_(last_revision) {
  writer_ = std::thread([this] { WriterLoop(); });
  if (options_.changelog_max_age > absl::ZeroDuration()) {
    retention_ = std::thread([this] { RetentionLoop(); });
  }
}

EventStore::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_changed_.notify_one();
  retention_wake_.notify_all();
  writer_.join();  // the writer drains the queue before it exits
  if (retention_.joinable()) retention_.join();
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close().PermitUncheckedError();
}

EventStore::Stats EventStore::Impl::GetStats() const {
  Stats stats;
  stats.stored = stored_.load(std::memory_order_relaxed);
  stats.identical = identical_.load(std::memory_order_relaxed);
  stats.stale = stale_.load(std::memory_order_relaxed);
  stats.commits = commits_.load(std::memory_order_relaxed);
  return stats;
}

// ---------------------------------------------------------------------------
// commit: queue -> writer thread -> one WriteBatch per group
// ---------------------------------------------------------------------------

void EventStore::Impl::IngestAsync(std::vector<v1::Event> events, IngestCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(PendingCall{std::move(events), std::move(done)});
      queue_changed_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("the event store is closing"));
}

void EventStore::Impl::WriterLoop() {
  while (true) {
    std::vector<PendingCall> calls;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      calls.swap(queue_);
    }
    CommitGroup(std::move(calls));
  }
}

// The state of one group commit while the writer builds its batch: the batch,
// the versions this group has written so far (the overlay: later calls of the
// group read them instead of the database), the revisions assigned and the
// outcome counts. Each call is applied all-or-nothing on top of it.
class EventStore::Impl::GroupCommit {
 public:
  // `collect_committed`: keep a copy of every stored version for the
  // subscription hub (only worth it when someone is subscribed).
  GroupCommit(const Impl& store, uint64_t durable_revision, bool collect_committed)
      : store_(store), last_revision_(durable_revision), collect_committed_(collect_committed) {}

  // Applies one call's events; on error nothing of the call remains in the
  // group. The response's store_revision is left for the caller to fill in.
  absl::StatusOr<v1::IngestResponse> ApplyCall(std::vector<v1::Event>& events);

  // Whether the group assigned revisions (and so has a batch to write).
  bool HasChanges(uint64_t durable_revision) const {
    return last_revision_ != durable_revision;
  }
  // Adds the revision counter and hands out the batch to write.
  rocksdb::Status SealBatch(rocksdb::WriteBatch** batch);

  uint64_t last_revision() const { return last_revision_; }
  const Stats& tally() const { return tally_; }
  bool collected_committed() const { return collect_committed_; }
  // The versions the group stored, in revision order (when collected).
  std::vector<v1::Event> TakeCommitted() { return std::move(committed_); }

 private:
  using Overlay = absl::flat_hash_map<std::string, v1::Event>;
  using ConnectionOverlay = absl::flat_hash_map<std::string, v1::Connection>;

  // The connection record of `user_id` as this group sees it (call, group,
  // database); nullopt when the user has none.
  absl::StatusOr<std::optional<v1::Connection>> LookupConnection(
      const ConnectionOverlay& call_connections, const std::string& user_id) const;
  // Applies a stored event to the connection records it touches: the
  // records and their reference_id links go into the same batch.
  absl::Status UpdateConnections(const v1::Event& event, ConnectionOverlay& call_connections);

  // The stored version of `record_key` as this group sees it: the call's own
  // writes, then the group's, then the database (only the writer writes, so
  // the database is exactly the last durable state). nullopt when absent.
  absl::StatusOr<std::optional<v1::Event>> Lookup(const Overlay& call_overlay,
                                                  const std::string& record_key) const;
  // Puts `event` (revision assigned) as the latest version of its record:
  // the record, its index entries and its change-log entry.
  absl::Status PutVersion(const v1::Event& event, const std::string& record_key,
                          const v1::Event* previous);

  const Impl& store_;
  rocksdb::WriteBatch batch_;
  Overlay overlay_;
  uint64_t last_revision_;
  Stats tally_;
  const bool collect_committed_;
  std::vector<v1::Event> committed_;
  ConnectionOverlay connections_;
};

absl::StatusOr<std::optional<v1::Connection>> EventStore::Impl::GroupCommit::LookupConnection(
    const ConnectionOverlay& call_connections, const std::string& user_id) const {
  if (auto it = call_connections.find(user_id); it != call_connections.end()) return it->second;
  if (auto it = connections_.find(user_id); it != connections_.end()) return it->second;
  std::string value;
  const rocksdb::Status read = store_.db_->Get(rocksdb::ReadOptions(), store_.families_.users,
                                               keys::UserKey(user_id), &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) return FromRocksDb(read, "cannot read a connection record");
  v1::Connection stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("a stored connection does not parse as healthwire.v1.Connection");
  }
  return stored;
}

absl::Status EventStore::Impl::GroupCommit::UpdateConnections(
    const v1::Event& event, ConnectionOverlay& call_connections) {
  const Families& families = store_.families_;
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
        batch_.Put(families.users, keys::UserKey(user_id), updated->SerializeAsString());
    if (status.ok() && updated->reference_id() != previous_reference) {
      if (!previous_reference.empty()) {
        status = batch_.Delete(families.user_refs,
                               keys::UserReferenceKey(previous_reference, user_id));
      }
      if (status.ok() && !updated->reference_id().empty()) {
        status = batch_.Put(families.user_refs,
                            keys::UserReferenceKey(updated->reference_id(), user_id),
                            rocksdb::Slice());
      }
    }
    if (!status.ok()) return FromRocksDb(status, "cannot add a connection to the write batch");
    call_connections.insert_or_assign(user_id, *std::move(updated));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Event>> EventStore::Impl::GroupCommit::Lookup(
    const Overlay& call_overlay, const std::string& record_key) const {
  if (auto it = call_overlay.find(record_key); it != call_overlay.end()) {
    return it->second;
  }
  if (auto it = overlay_.find(record_key); it != overlay_.end()) return it->second;

  std::string value;
  const rocksdb::Status read = store_.db_->Get(
      rocksdb::ReadOptions(), store_.families_.records, record_key, &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) return FromRocksDb(read, "cannot read the stored version of a record");
  v1::Event stored;
  if (!stored.ParseFromString(value)) {
    return absl::DataLossError("a stored record does not parse as healthwire.v1.Event");
  }
  return stored;
}

absl::Status EventStore::Impl::GroupCommit::PutVersion(const v1::Event& event,
                                                       const std::string& record_key,
                                                       const v1::Event* previous) {
  std::string value;
  if (!event.SerializeToString(&value)) {
    return absl::InternalError(absl::StrCat("cannot serialize the event for record \"",
                                            absl::CEscape(event.record_key()), "\""));
  }
  const Families& families = store_.families_;
  rocksdb::Status status = batch_.Put(families.records, record_key, value);

  // Index entries move when the start instant or the reference_id changed.
  const std::vector<std::string> new_index_keys = StartIndexKeysOf(event);
  std::vector<std::string> old_index_keys;
  if (previous != nullptr) old_index_keys = StartIndexKeysOf(*previous);
  auto contains = [](const std::vector<std::string>& keys, const std::string& key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  for (const std::string& old_key : old_index_keys) {
    if (status.ok() && !contains(new_index_keys, old_key)) {
      status = batch_.Delete(families.by_start, old_key);
    }
  }
  for (const std::string& new_key : new_index_keys) {
    if (status.ok() && !contains(old_index_keys, new_key)) {
      status = batch_.Put(families.by_start, new_key, rocksdb::Slice());
    }
  }

  if (status.ok()) {
    status = batch_.Put(families.changelog, keys::RevisionKey(event.revision()), value);
  }
  return FromRocksDb(status, "cannot add the record to the write batch");
}

absl::StatusOr<v1::IngestResponse> EventStore::Impl::GroupCommit::ApplyCall(
    std::vector<v1::Event>& events) {
  // Validate everything first: an invalid event anywhere rejects the call.
  for (size_t i = 0; i < events.size(); ++i) {
    if (absl::Status valid = ValidateEvent(events[i], i); !valid.ok()) return valid;
  }

  batch_.SetSavePoint();
  const uint64_t revision_before = last_revision_;
  const Stats tally_before = tally_;
  Overlay call_overlay;
  ConnectionOverlay call_connections;
  v1::IngestResponse response;
  const size_t committed_before = committed_.size();

  absl::Status failure;
  for (v1::Event& event : events) {
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
      continue;
    }
    if (previous.has_value() && IsIdenticalRedelivery(*previous, event)) {
      result->set_outcome(v1::IngestResult::OUTCOME_IDENTICAL);
      result->set_revision(previous->revision());
      ++tally_.identical;
      continue;
    }

    if (previous.has_value()) CoalesceDataEnrichment(*previous, &event);
    event.set_revision(++last_revision_);
    if (absl::Status put = PutVersion(event, record_key,
                                      previous.has_value() ? &*previous : nullptr);
        !put.ok()) {
      failure = put;
      break;
    }
    if (absl::Status tracked = UpdateConnections(event, call_connections); !tracked.ok()) {
      failure = tracked;
      break;
    }
    result->set_outcome(v1::IngestResult::OUTCOME_STORED);
    result->set_revision(event.revision());
    ++tally_.stored;
    if (collect_committed_) committed_.push_back(event);
    call_overlay.insert_or_assign(record_key, std::move(event));
  }

  if (!failure.ok()) {
    batch_.RollbackToSavePoint().PermitUncheckedError();
    last_revision_ = revision_before;
    tally_ = tally_before;
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
  return response;
}

rocksdb::Status EventStore::Impl::GroupCommit::SealBatch(rocksdb::WriteBatch** batch) {
  // The counter goes into the same batch: it is durable exactly when the
  // changes it counts are.
  *batch = &batch_;
  return batch_.Put(store_.families_.meta, ToSlice(keys::kLastRevisionMetaKey),
                    keys::EncodeRevision(last_revision_));
}

void EventStore::Impl::CommitGroup(std::vector<PendingCall> calls) {
  GroupCommit group(*this, durable_revision_, hub_.subscriber_count() > 0);
  std::vector<absl::StatusOr<v1::IngestResponse>> results;
  results.reserve(calls.size());
  for (PendingCall& call : calls) results.push_back(group.ApplyCall(call.events));

  if (group.HasChanges(durable_revision_)) {
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync_writes;
    rocksdb::WriteBatch* batch = nullptr;
    rocksdb::Status written = group.SealBatch(&batch);
    if (written.ok()) written = db_->Write(write_options, batch);
    if (written.ok()) {
      durable_revision_ = group.last_revision();
      current_revision_.store(durable_revision_, std::memory_order_release);
      stored_.fetch_add(group.tally().stored, std::memory_order_relaxed);
      identical_.fetch_add(group.tally().identical, std::memory_order_relaxed);
      stale_.fetch_add(group.tally().stale, std::memory_order_relaxed);
      commits_.fetch_add(1, std::memory_order_relaxed);
      // Subscribers hear of the commit before the callers are answered.
      std::vector<std::shared_ptr<const CommittedUpdate>> updates;
      for (v1::Event& event : group.TakeCommitted()) {
        updates.push_back(std::make_shared<const CommittedUpdate>(std::move(event)));
      }
      hub_.Publish(updates, durable_revision_, group.collected_committed());
      ApplyCountRetention();
    } else {
      // The whole group is one batch: none of it is durable. durable_revision_
      // is unchanged, so the next group reuses the revisions.
      const absl::Status failure = FromRocksDb(
          written, absl::StrCat("cannot commit to the event store at \"",
                                options_.path, "\""));
      for (absl::StatusOr<v1::IngestResponse>& result : results) {
        if (result.ok()) result = failure;
      }
    }
  } else {
    // Nothing new: identical/stale re-deliveries and empty calls.
    identical_.fetch_add(group.tally().identical, std::memory_order_relaxed);
    stale_.fetch_add(group.tally().stale, std::memory_order_relaxed);
  }

  for (size_t i = 0; i < calls.size(); ++i) {
    if (results[i].ok()) results[i]->set_store_revision(durable_revision_);
    if (calls[i].done) calls[i].done(std::move(results[i]));
  }
}

// ---------------------------------------------------------------------------
// change-log retention
// ---------------------------------------------------------------------------

void EventStore::Impl::TrimChangeLog(uint64_t new_oldest) {
  std::lock_guard<std::mutex> lock(trim_mu_);
  const uint64_t oldest = oldest_retained_.load(std::memory_order_acquire);
  if (new_oldest <= oldest) return;
  // One range tombstone, not one delete per entry. Not synced: a trim lost
  // in a crash is redone by the next one.
  rocksdb::WriteBatch batch;
  rocksdb::Status status = batch.DeleteRange(families_.changelog, keys::RevisionKey(oldest),
                                             keys::RevisionKey(new_oldest));
  if (status.ok()) {
    status = batch.Put(families_.meta, ToSlice(keys::kOldestRetainedMetaKey),
                       keys::EncodeRevision(new_oldest));
  }
  if (status.ok()) status = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) {
    std::fprintf(stderr, "healthwire: change-log retention failed (will retry): %s\n",
                 status.ToString().c_str());
    return;
  }
  oldest_retained_.store(new_oldest, std::memory_order_release);
}

void EventStore::Impl::ApplyCountRetention() {
  const uint64_t max_entries = options_.changelog_max_entries;
  if (max_entries == 0 || durable_revision_ < max_entries) return;
  const uint64_t keep_from = durable_revision_ - max_entries + 1;
  // Trim in steps of about 1% of the limit, so a busy store writes one range
  // tombstone per thousands of commits rather than one per commit.
  const uint64_t step = std::max<uint64_t>(1, max_entries / 100);
  if (keep_from >= OldestRetainedRevision() + step) TrimChangeLog(keep_from);
}

void EventStore::Impl::RetentionLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      retention_wake_.wait_for(lock, absl::ToChronoSeconds(options_.retention_interval),
                               [this] { return stopping_; });
      if (stopping_) return;
    }
    // Walk the oldest entries until one is young enough; everything before
    // it goes. Bounded per pass so a huge backlog is trimmed over several.
    const absl::Time cutoff = absl::Now() - options_.changelog_max_age;
    const ScopedSnapshot snapshot(db_.get());
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot.Options(), families_.changelog));
    uint64_t keep_from = 0;
    size_t scanned = 0;
    for (it->Seek(keys::RevisionKey(OldestRetainedRevision())); it->Valid() && scanned < 100000;
         it->Next(), ++scanned) {
      v1::Event event;
      if (!event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) break;
      const absl::Time received = absl::FromUnixSeconds(event.received_at().seconds()) +
                                  absl::Nanoseconds(event.received_at().nanos());
      // Never trims the newest entry: the log always shows where it is.
      if (received >= cutoff || event.revision() >= CurrentRevision()) {
        keep_from = event.revision();
        break;
      }
      keep_from = event.revision() + 1;
    }
    if (keep_from > 0) TrimChangeLog(keep_from);
  }
}

// ---------------------------------------------------------------------------
// read: everything at one snapshot
// ---------------------------------------------------------------------------

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

absl::StatusOr<v1::Event> EventStore::Impl::LoadIndexedRecord(
    const rocksdb::ReadOptions& read, absl::string_view index_key,
    bool omit_raw_json) const {
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
        "the start-time index points at a missing record (user_id \"",
        absl::CEscape(entry.user_id), "\", record_key \"",
        absl::CEscape(entry.record_key), "\")"));
  }
  if (!status.ok()) return FromRocksDb(status, "cannot read a record");
  v1::Event event;
  if (!event.ParseFromString(value)) {
    return absl::DataLossError("a stored record does not parse as healthwire.v1.Event");
  }
  if (omit_raw_json) event.clear_raw_json();
  return event;
}

absl::StatusOr<v1::GetLatestResponse> EventStore::Impl::GetLatest(
    const v1::GetLatestRequest& request) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(request.subject());
  if (!subject.ok()) return subject.status();
  if (absl::Status valid = ValidateDataType(request.type()); !valid.ok()) return valid;

  const ScopedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read = snapshot.Options();
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();

  // The greatest start instant is the last key of the (subject, type) prefix.
  const std::string lower =
      keys::StartIndexPrefix(subject->kind, subject->id, TypeNumber(request.type()));
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
    return absl::NotFoundError(absl::StrCat("no ", TypeName(request.type()),
                                            " record for ", subject->description));
  }
  absl::StatusOr<v1::Event> event =
      LoadIndexedRecord(read, ToView(it->key()), request.omit_raw_json());
  if (!event.ok()) return event.status();

  v1::GetLatestResponse response;
  *response.mutable_event() = *std::move(event);
  response.set_store_revision(*revision);
  return response;
}

absl::StatusOr<v1::ListRecordsResponse> EventStore::Impl::ListRecords(
    const v1::ListRecordsRequest& request) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(request.subject());
  if (!subject.ok()) return subject.status();
  if (absl::Status valid = ValidateDataType(request.type()); !valid.ok()) return valid;
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must not be negative (got ", request.page_size(), ")"));
  }
  const int32_t page_size = request.page_size() == 0
                                ? kDefaultPageSize
                                : std::min(request.page_size(), kMaxPageSize);

  // The scan range [lower, upper) over the (subject, type) prefix.
  const uint32_t type = TypeNumber(request.type());
  const std::string prefix = keys::StartIndexPrefix(subject->kind, subject->id, type);
  std::string lower = prefix;
  std::string upper = keys::PrefixSuccessor(prefix);
  if (request.has_start_time_from() || request.has_start_time_to()) {
    // A time range only matches records whose start time is known.
    lower = keys::StartIndexBound(subject->kind, subject->id, type,
                                  keys::kUnknownStartMicros + 1);
  }
  if (request.has_start_time_from()) {
    absl::StatusOr<int64_t> from =
        TimestampMicros(request.start_time_from(), "start_time_from");
    if (!from.ok()) return from.status();
    lower = std::max(lower, keys::StartIndexBound(subject->kind, subject->id, type, *from));
  }
  if (request.has_start_time_to()) {
    absl::StatusOr<int64_t> to = TimestampMicros(request.start_time_to(), "start_time_to");
    if (!to.ok()) return to.status();
    upper = keys::StartIndexBound(subject->kind, subject->id, type, *to);
  }
  // The token is the last index key of the previous page; this page continues
  // below it. It must belong to this (subject, type).
  if (!request.page_token().empty()) {
    std::string token_key;
    keys::DecodedStartIndexKey entry;
    if (!absl::WebSafeBase64Unescape(request.page_token(), &token_key) ||
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

  v1::ListRecordsResponse response;
  response.set_store_revision(*revision);
  if (lower >= upper) return response;  // empty range

  const rocksdb::Slice lower_slice(lower), upper_slice(upper);
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.by_start));
  std::string last_key;
  for (it->SeekToLast(); it->Valid() && response.events_size() < page_size; it->Prev()) {
    last_key.assign(it->key().data(), it->key().size());
    absl::StatusOr<v1::Event> event =
        LoadIndexedRecord(read, last_key, request.omit_raw_json());
    if (!event.ok()) return event.status();
    *response.add_events() = *std::move(event);
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), "cannot read the start-time index");
  }
  // A token only when another record follows, so the last page has none.
  if (it->Valid()) response.set_next_page_token(absl::WebSafeBase64Escape(last_key));
  return response;
}

absl::StatusOr<v1::GetUserResponse> EventStore::Impl::GetUser(
    const v1::GetUserRequest& request) const {
  absl::StatusOr<QuerySubject> subject = ResolveSubject(request.subject());
  if (!subject.ok()) return subject.status();
  const ScopedSnapshot snapshot(db_.get());
  const rocksdb::ReadOptions read = snapshot.Options();
  v1::GetUserResponse response;
  absl::StatusOr<uint64_t> revision = ReadLastRevision(read);
  if (!revision.ok()) return revision.status();
  response.set_store_revision(*revision);

  std::vector<std::string> user_ids;
  if (request.subject().has_user_id()) {
    user_ids.push_back(request.subject().user_id());
  } else {
    const std::string prefix = keys::UserReferencePrefix(request.subject().reference_id());
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
    if (!response.add_connections()->ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("the connection record of user_id \"",
                                              absl::CEscape(user_id), "\" does not parse"));
    }
  }
  if (response.connections_size() == 0) {
    return absl::NotFoundError(absl::StrCat("no connection for ", subject->description));
  }
  return response;
}

absl::StatusOr<v1::CreateCheckpointResponse> EventStore::Impl::CreateCheckpoint(
    const v1::CreateCheckpointRequest& request) {
  std::string name = request.name();
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.') {
      return absl::InvalidArgumentError(
          "name: only letters, digits, '-', '_' and '.' (a folder name, not a path)");
    }
  }
  if (name == "." || name == "..") return absl::InvalidArgumentError("name: not a folder name");
  // The revision is read first: the checkpoint holds at least everything up
  // to it (later commits may be in it too; their revisions are above it).
  const uint64_t revision = CurrentRevision();
  if (name.empty()) name = absl::StrCat("revision-", revision, "-", absl::ToUnixSeconds(absl::Now()));
  const std::string root =
      options_.checkpoint_dir.empty() ? options_.path + ".checkpoints" : options_.checkpoint_dir;
  if (rocksdb::Status made = db_->GetEnv()->CreateDirIfMissing(root); !made.ok()) {
    return FromRocksDb(made, absl::StrCat("cannot create the checkpoint folder \"", root, "\""));
  }
  const std::string path = absl::StrCat(root, "/", name);
  if (db_->GetEnv()->FileExists(path).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("checkpoint \"", path, "\" already exists"));
  }
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  rocksdb::Status status = rocksdb::Checkpoint::Create(db_.get(), &raw_checkpoint);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  if (status.ok()) status = checkpoint->CreateCheckpoint(path);
  if (!status.ok()) {
    return FromRocksDb(status, absl::StrCat("cannot create checkpoint \"", path, "\""));
  }
  v1::CreateCheckpointResponse response;
  response.set_path(path);
  response.set_store_revision(revision);
  return response;
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

// ===========================================================================
// EventStore: forwards to Impl
// ===========================================================================

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const Options& options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Open(options);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<EventStore>(new EventStore(*std::move(impl)));
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() = default;

void EventStore::IngestAsync(std::vector<v1::Event> events, IngestCallback done) {
  impl_->IngestAsync(std::move(events), std::move(done));
}

absl::StatusOr<v1::IngestResponse> EventStore::Ingest(std::vector<v1::Event> events) {
  std::promise<absl::StatusOr<v1::IngestResponse>> committed;
  std::future<absl::StatusOr<v1::IngestResponse>> result = committed.get_future();
  impl_->IngestAsync(std::move(events),
                     [&committed](absl::StatusOr<v1::IngestResponse> response) {
                       committed.set_value(std::move(response));
                     });
  return result.get();
}

absl::StatusOr<v1::GetLatestResponse> EventStore::GetLatest(
    const v1::GetLatestRequest& request) const {
  return impl_->GetLatest(request);
}

uint64_t EventStore::OldestRetainedRevision() const { return impl_->OldestRetainedRevision(); }

absl::StatusOr<v1::CreateCheckpointResponse> EventStore::CreateCheckpoint(
    const v1::CreateCheckpointRequest& request) {
  return impl_->CreateCheckpoint(request);
}

absl::StatusOr<v1::GetUserResponse> EventStore::GetUser(const v1::GetUserRequest& request) const {
  return impl_->GetUser(request);
}

SubscriptionHub* EventStore::subscription_hub() { return impl_->subscription_hub(); }

absl::StatusOr<v1::ListRecordsResponse> EventStore::ListRecords(
    const v1::ListRecordsRequest& request) const {
  return impl_->ListRecords(request);
}

absl::Status EventStore::ReadChangeLog(uint64_t from_revision, size_t max_events,
                                       std::vector<v1::Event>* out) const {
  return impl_->ReadChangeLog(from_revision, max_events, out);
}

absl::Status EventStore::ReadChangeLogBytes(uint64_t from_revision, size_t max_events,
                                            std::vector<std::string>* out) const {
  return impl_->ReadChangeLogBytes(from_revision, max_events, out);
}

uint64_t EventStore::CurrentRevision() const { return impl_->CurrentRevision(); }

EventStore::Stats EventStore::GetStats() const { return impl_->GetStats(); }

}  // namespace healthwire
