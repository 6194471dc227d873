// EventStore open and close: RocksDB options, the column families, the
// counters a store continues from, the writer and retention threads.
#include <algorithm>
#include <filesystem>
#include <system_error>
#include <random>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "storage/event_store_impl.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

// Bloom filter bits per key, as RocksDB's tuning guide recommends (~1% false
// positives): point lookups of records that do not exist skip the SST files.
constexpr double kBloomBitsPerKey = 10;

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

// 128 random bits as 32 hex digits.
std::string NewTimelineId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  return id;
}

// The store's timeline: the stored one, or a new one (written, synced) for a
// new store or a store opened from a checkpoint for the first time.
// A fixed timeline (a commit log replica's) is kept as given.
absl::StatusOr<std::string> LoadOrStartTimeline(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                                                const std::string& path,
                                                const std::string& fixed) {
  rocksdb::Env* env = db->GetEnv();
  const std::string marker = absl::StrCat(path, "/", keys::kNewTimelineMarkerFile);
  const bool restored = env->FileExists(marker).ok();
  std::string value;
  const rocksdb::Status read =
      db->Get(rocksdb::ReadOptions(), meta, ToSlice(keys::kTimelineMetaKey), &value);
  if (read.ok() && !restored && (fixed.empty() || value == fixed)) return value;
  if (!read.ok() && !read.IsNotFound()) {
    return FromRocksDb(read, absl::StrCat("cannot read the timeline of the event store at \"",
                                          path, "\""));
  }
  const std::string timeline = fixed.empty() ? NewTimelineId() : fixed;
  rocksdb::WriteOptions write;
  write.sync = true;
  const rocksdb::Status written =
      db->Put(write, meta, ToSlice(keys::kTimelineMetaKey), timeline);
  if (!written.ok()) {
    return FromRocksDb(written, absl::StrCat("cannot start a timeline for the event store at \"",
                                             path, "\""));
  }
  if (restored) env->DeleteFile(marker).PermitUncheckedError();
  if (restored && fixed.empty()) {
    logging::Info(
        "healthwire: opened a checkpoint: new store timeline (streams resuming from the old "
        "one are told to re-sync)",
        {{"data_dir", path}, {"timeline", timeline}});
  }
  return timeline;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore::Impl>> EventStore::Impl::Open(
    const Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("EventStore::Options.path: must not be empty");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  if (options.env != nullptr) db_options.env = options.env;
  // Reopening must not need much disk: the WAL is replayed into memtables
  // and flushed later, as usual, instead of being flushed during open (which
  // writes SST files as large as the WAL, and fails on a full disk).
  db_options.avoid_flush_during_recovery = true;
  if (options.max_open_files < 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EventStore::Options.max_open_files must be at least 16 (got ", options.max_open_files,
        ")"));
  }
  db_options.max_open_files = options.max_open_files;
  if (options.large_value_bytes > 0 &&
      (options.large_write_threads < 1 || options.large_write_threads > 64)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EventStore::Options.large_write_threads must be 1..64 (got ",
        options.large_write_threads, ")"));
  }
  if (options.large_value_bytes > 0 && options.large_write_max_queued < 1) {
    return absl::InvalidArgumentError(
        "EventStore::Options.large_write_max_queued must be at least 1");
  }

  const std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions family_options = StoreFamilyOptions(block_cache);
  // Large raw JSON is written as one SST file per value (SstFileWriter):
  // uncompressed, so writing it needs no second buffer of its size.
  rocksdb::ColumnFamilyOptions large_value_options = family_options;
  large_value_options.compression = rocksdb::kNoCompression;
  large_value_options.bottommost_compression = rocksdb::kNoCompression;
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, family_options},
      {kRecordsFamily, family_options},
      {kByStartFamily, family_options},
      {kChangelogFamily, family_options},
      {kMetaFamily, family_options},
      {kUsersFamily, family_options},
      {kUserRefsFamily, family_options},
      // RocksDB matches families by name, so this order is free to differ
      // from the one a database was created with; it must match StoreFamilies.
      {kFetchesFamily, family_options},
      {kBackfillsFamily, family_options},
      {kUserChangesFamily, family_options},
      {kLargeValuesFamily, large_value_options},
      {kLargeRefsFamily, family_options},
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
  const StoreFamilies families{handles[1], handles[2], handles[3], handles[4],
                               handles[5], handles[6], handles[7], handles[8],
                               handles[9], handles[10], handles[11]};

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
  if (failure.ok()) failure = BackfillUserChanges(db.get(), families, last_revision);
  uint64_t uncommitted_removed = 0;
  if (failure.ok()) {
    // What a crash (or a refused call whose cleanup failed) left between a
    // large value's write and its commit. Not fatal: on a full disk the
    // removal may fail, and the next open retries.
    absl::StatusOr<uint64_t> removed = RemoveUncommittedLargeValues(db.get(), families);
    if (removed.ok()) {
      uncommitted_removed = *removed;
    } else {
      logging::Warning("healthwire: cannot remove uncommitted large values (next open retries)",
                       {{"error", removed.status().ToString()}});
    }
    std::error_code ignored;
    std::filesystem::remove_all(LargeValueIngestDir(options.path), ignored);
  }
  std::string timeline_id;
  if (failure.ok()) {
    absl::StatusOr<std::string> timeline = LoadOrStartTimeline(db.get(), families.meta, options.path, options.timeline_id);
    if (timeline.ok()) {
      timeline_id = *std::move(timeline);
    } else {
      failure = timeline.status();
    }
  }
  if (!failure.ok()) {
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      db->DestroyColumnFamilyHandle(handle);
    }
    return failure;
  }
  std::unique_ptr<Impl> impl(new Impl(options, std::move(db), std::move(handles), families,
                                      last_revision, oldest_retained, std::move(timeline_id)));
  impl->large_values_collected_.store(uncommitted_removed, std::memory_order_relaxed);
  return impl;
}

EventStore::Impl::Impl(const Options& options, std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles,
                       StoreFamilies families, uint64_t last_revision,
                       uint64_t oldest_retained, std::string timeline_id)
    : options_(options),
      db_(std::move(db)),
      handles_(std::move(handles)),
      families_(families),
      timeline_id_(std::move(timeline_id)),
      current_revision_(last_revision),
      oldest_retained_(oldest_retained),
      hub_(SubscriptionHub::Options{options.max_buffered_updates_per_subscriber}, last_revision),
      durable_revision_(last_revision) {
  writer_ = std::thread([this] { WriterLoop(); });
  if (options_.large_value_bytes > 0) {
    for (int i = 0; i < options_.large_write_threads; ++i) {
      large_writers_.emplace_back([this] { LargeWriteLoop(); });
    }
  }
  if (options_.changelog_max_age > absl::ZeroDuration()) {
    retention_ = std::thread([this] { RetentionLoop(); });
  }
  compactor_ = std::thread([this] { CompactionLoop(); });
}

EventStore::Impl::~Impl() {
  // The large-value writers first: they finish the calls queued for them and
  // hand them to the commit writer, which then drains the queue.
  {
    std::lock_guard<std::mutex> lock(mu_);
    large_writers_stopping_ = true;
  }
  large_write_wake_.notify_all();
  for (std::thread& thread : large_writers_) thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_changed_.notify_one();
  retention_wake_.notify_all();
  writer_.join();  // the writer drains the queue before it exits
  if (retention_.joinable()) retention_.join();
  // A compaction of erased ranges in progress stops (RocksDB's own
  // compactions finish the job after the next open).
  db_->DisableManualCompaction();
  compact_wake_.notify_all();
  compactor_.join();
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
  stats.refused_disk_full = refused_disk_full_.load(std::memory_order_relaxed);
  stats.write_failures = write_failures_.load(std::memory_order_relaxed);
  stats.erasures = erasures_.load(std::memory_order_relaxed);
  stats.erasure_compaction_failures = compaction_failures_.load(std::memory_order_relaxed);
  stats.erasure_compactions_pending = compactions_pending_.load(std::memory_order_relaxed);
  stats.refused_late = refused_late_.load(std::memory_order_relaxed);
  stats.large_values_written = large_values_written_.load(std::memory_order_relaxed);
  stats.large_values_collected = large_values_collected_.load(std::memory_order_relaxed);
  stats.large_writes_waiting = large_writes_waiting_.load(std::memory_order_relaxed);
  stats.large_writes_refused = large_writes_refused_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace healthwire
