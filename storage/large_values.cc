// See large_values.h.
#include "storage/large_values.h"

#include <openssl/evp.h>

#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "rocksdb/convenience.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

// 0 byte (never the first byte of a serialized message), format tag, id,
// size (big-endian), SHA-256, then the event without raw_json.
constexpr char kMagic[] = {'\0', 'H', 'W', 'L', 'V', '1'};
constexpr size_t kMagicBytes = sizeof(kMagic);
constexpr size_t kIdBytes = 16;
constexpr size_t kShaBytes = 32;
constexpr size_t kHeaderBytes = kMagicBytes + kIdBytes + 8 + kShaBytes;

constexpr char kPendingPrefix = 'p';
constexpr char kCommittedPrefix = 'c';

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

void AppendBigEndian(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

uint64_t ReadBigEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string PendingKey(absl::string_view id) { return absl::StrCat(std::string(1, kPendingPrefix), id); }
std::string CommittedKey(absl::string_view id) {
  return absl::StrCat(std::string(1, kCommittedPrefix), id);
}

absl::Status DecodeReference(absl::string_view stored, LargeValueRef* ref,
                             absl::string_view* event_bytes) {
  if (stored.size() < kHeaderBytes || !IsLargeValueReference(stored)) {
    return absl::DataLossError("a large-value reference is truncated");
  }
  absl::string_view rest = stored.substr(kMagicBytes);
  ref->id = std::string(rest.substr(0, kIdBytes));
  ref->size = ReadBigEndian(rest.substr(kIdBytes, 8));
  ref->sha256 = std::string(rest.substr(kIdBytes + 8, kShaBytes));
  *event_bytes = stored.substr(kHeaderBytes);
  return absl::OkStatus();
}

// The reference's raw JSON, checked against its size and digest.
absl::StatusOr<std::string> ReadLargeValue(rocksdb::DB* db, const StoreFamilies& families,
                                           const rocksdb::ReadOptions& read,
                                           const LargeValueRef& ref) {
  std::string bytes;
  const rocksdb::Status status = db->Get(read, families.large_values, ref.id, &bytes);
  if (status.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("the large value ", absl::BytesToHexString(ref.id),
                                            " a record references is missing"));
  }
  if (!status.ok()) return FromRocksDb(status, "cannot read a large value");
  if (bytes.size() != ref.size || Sha256(bytes) != ref.sha256) {
    return absl::DataLossError(absl::StrCat("the large value ", absl::BytesToHexString(ref.id),
                                            " does not match its size and SHA-256"));
  }
  return bytes;
}

// Whether `stored` (a records or change-log value) references `id`.
bool References(absl::string_view stored, absl::string_view id) {
  return IsLargeValueReference(stored) && stored.size() >= kHeaderBytes &&
         stored.substr(kMagicBytes, kIdBytes) == id;
}

// One SST file holding only `key` -> `value`, synced (SstFileWriter::Finish),
// for `family`'s options (large_values: uncompressed, so writing it needs no
// second buffer of the value's size).
rocksdb::Status WriteOneKeyFile(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                                const std::string& file, absl::string_view key,
                                absl::string_view value) {
  const rocksdb::Options options = db->GetOptions(family);
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(options), options, family);
  rocksdb::Status status = writer.Open(file);
  if (status.ok()) status = writer.Put(ToSlice(key), ToSlice(value));
  if (status.ok()) status = writer.Finish();
  return status;
}

// Drops the SST files that hold nothing but value `id` (a written value's
// own ingested file, while no compaction merged it): its bytes leave the disk
// now, without a compaction. Files holding other keys too are left to the
// tombstone and RocksDB's compactions.
rocksdb::Status DropValueFiles(rocksdb::DB* db, const StoreFamilies& families,
                               absl::string_view id) {
  const rocksdb::Slice key = ToSlice(id);
  return rocksdb::DeleteFilesInRange(db, families.large_values, &key, &key);
}

}  // namespace

bool IsLargeValueReference(absl::string_view stored) {
  return stored.size() >= kMagicBytes && stored.substr(0, kMagicBytes) ==
                                             absl::string_view(kMagic, kMagicBytes);
}

absl::StatusOr<std::string> EncodeWithReference(const LargeValueRef& ref, v1::Event& event) {
  std::string raw_json;
  raw_json.swap(*event.mutable_raw_json());
  std::string out(kMagic, kMagicBytes);
  out += ref.id;
  AppendBigEndian(ref.size, &out);
  out += ref.sha256;
  const bool serialized = event.AppendToString(&out);
  raw_json.swap(*event.mutable_raw_json());
  if (!serialized) return absl::InternalError("cannot serialize a record for the large-value path");
  return out;
}

absl::StatusOr<LargeValueRef> WriteLargeValue(rocksdb::DB* db, const StoreFamilies& families,
                                              const std::string& ingest_dir,
                                              absl::string_view bytes) {
  LargeValueRef ref;
  absl::BitGen random;
  ref.id.resize(kIdBytes);
  for (char& c : ref.id) c = static_cast<char>(absl::Uniform<unsigned int>(random, 0, 256));
  ref.size = bytes.size();
  ref.sha256 = Sha256(bytes);

  // The value and its pending key are ingested together, one SST file per
  // family recorded atomically in the MANIFEST (IngestExternalFiles): after a
  // crash either both are there (the next open finds the pending key and
  // removes the value) or neither. So the pending key needs no synced WAL
  // write of its own (it used to be one, and that write queued behind every
  // small commit's WAL sync), and the only syncs are the two files' and the
  // MANIFEST's.
  std::error_code error;
  std::filesystem::create_directories(ingest_dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create the large-value folder \"", ingest_dir,
                                               "\": ", error.message()));
  }
  const std::string name = absl::BytesToHexString(ref.id);
  const std::string value_file = absl::StrCat(ingest_dir, "/", name, ".value.sst");
  const std::string pending_file = absl::StrCat(ingest_dir, "/", name, ".pending.sst");
  rocksdb::Status status = WriteOneKeyFile(db, families.large_values, value_file, ref.id, bytes);
  if (status.ok()) {
    status = WriteOneKeyFile(db, families.large_refs, pending_file, PendingKey(ref.id), "");
  }
  if (status.ok()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;  // a hard link: the bytes are not copied again
    ingest.write_global_seqno = false;
    std::vector<rocksdb::IngestExternalFileArg> args(2);
    args[0].column_family = families.large_values;
    args[0].external_files = {value_file};
    args[0].options = ingest;
    args[1].column_family = families.large_refs;
    args[1].external_files = {pending_file};
    args[1].options = ingest;
    status = db->IngestExternalFiles(args);
  }
  // Moved (hard-linked) or failed: the names here go either way.
  std::filesystem::remove(value_file, error);
  std::filesystem::remove(pending_file, error);
  if (!status.ok()) return FromRocksDb(status, "cannot write a large value");
  return ref;
}

rocksdb::Status MarkLargeValueCommitted(const StoreFamilies& families, const LargeValueRef& ref,
                                        uint64_t revision, absl::string_view record_key,
                                        rocksdb::WriteBatch* batch) {
  std::string value;
  AppendBigEndian(revision, &value);
  value.append(record_key.data(), record_key.size());
  rocksdb::Status status = batch->Put(families.large_refs, CommittedKey(ref.id), value);
  if (status.ok()) status = batch->Delete(families.large_refs, PendingKey(ref.id));
  return status;
}

absl::StatusOr<bool> DiscardLargeValue(rocksdb::DB* db, const StoreFamilies& families,
                                       const LargeValueRef& ref) {
  std::string ignored;
  rocksdb::Status status =
      db->Get(rocksdb::ReadOptions(), families.large_refs, CommittedKey(ref.id), &ignored);
  if (status.ok()) return false;  // committed: not ours to remove
  if (!status.IsNotFound()) return FromRocksDb(status, "cannot check a large value");
  rocksdb::WriteBatch batch;
  status = batch.Delete(families.large_values, ref.id);
  if (status.ok()) status = batch.Delete(families.large_refs, PendingKey(ref.id));
  if (status.ok()) status = db->Write(rocksdb::WriteOptions(), &batch);
  if (status.ok()) status = DropValueFiles(db, families, ref.id);
  if (!status.ok()) return FromRocksDb(status, "cannot remove an uncommitted large value");
  return true;
}

absl::Status ResolveStoredValue(rocksdb::DB* db, const StoreFamilies& families,
                                const rocksdb::ReadOptions& read, std::string* stored) {
  if (!IsLargeValueReference(*stored)) return absl::OkStatus();
  v1::Event event;
  if (absl::Status parsed = ParseStoredEvent(db, families, read, *stored, true, &event);
      !parsed.ok()) {
    return parsed;
  }
  stored->clear();
  if (!event.SerializeToString(stored)) {
    return absl::InternalError("cannot serialize a record read through the large-value path");
  }
  return absl::OkStatus();
}

absl::Status ParseStoredEvent(rocksdb::DB* db, const StoreFamilies& families,
                              const rocksdb::ReadOptions& read, absl::string_view stored,
                              bool with_raw_json, v1::Event* event) {
  if (!IsLargeValueReference(stored)) {
    if (!event->ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
      return absl::DataLossError("a stored record does not parse as healthwire.v1.Event");
    }
    if (!with_raw_json) event->clear_raw_json();
    return absl::OkStatus();
  }
  LargeValueRef ref;
  absl::string_view event_bytes;
  if (absl::Status decoded = DecodeReference(stored, &ref, &event_bytes); !decoded.ok()) {
    return decoded;
  }
  if (!event->ParseFromArray(event_bytes.data(), static_cast<int>(event_bytes.size()))) {
    return absl::DataLossError("a stored large record does not parse as healthwire.v1.Event");
  }
  if (!with_raw_json) return absl::OkStatus();
  absl::StatusOr<std::string> raw_json = ReadLargeValue(db, families, read, ref);
  if (!raw_json.ok()) return raw_json.status();
  *event->mutable_raw_json() = *std::move(raw_json);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RemoveUncommittedLargeValues(rocksdb::DB* db,
                                                      const StoreFamilies& families) {
  const std::string lower(1, kPendingPrefix);
  const std::string upper(1, kPendingPrefix + 1);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  std::vector<std::string> pending_ids;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, families.large_refs));
    for (it->Seek(lower); it->Valid(); it->Next()) {
      pending_ids.emplace_back(it->key().data() + 1, it->key().size() - 1);
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "cannot list pending large values");
  }
  uint64_t removed = 0;
  for (const std::string& id : pending_ids) {
    std::string ignored;
    const rocksdb::Status committed =
        db->Get(rocksdb::ReadOptions(), families.large_refs, CommittedKey(id), &ignored);
    if (!committed.ok() && !committed.IsNotFound()) {
      return FromRocksDb(committed, "cannot check a pending large value");
    }
    rocksdb::WriteBatch batch;
    rocksdb::Status status = batch.Delete(families.large_refs, PendingKey(id));
    if (committed.IsNotFound()) {
      if (status.ok()) status = batch.Delete(families.large_values, id);
      ++removed;
    }
    rocksdb::WriteOptions synced;
    synced.sync = true;
    if (status.ok()) status = db->Write(synced, &batch);
    if (status.ok() && committed.IsNotFound()) {
      // The bytes leave the disk now (at open, rare): the value's own file,
      // else a compaction of its key.
      status = DropValueFiles(db, families, id);
      const rocksdb::Slice key(id);
      rocksdb::CompactRangeOptions compact;
      compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
      if (status.ok()) status = db->CompactRange(compact, families.large_values, &key, &key);
    }
    if (!status.ok()) return FromRocksDb(status, "cannot remove an uncommitted large value");
  }
  return removed;
}

absl::StatusOr<uint64_t> CollectUnreferencedLargeValues(rocksdb::DB* db,
                                                        const StoreFamilies& families) {
  const std::string lower(1, kCommittedPrefix);
  const std::string upper(1, kCommittedPrefix + 1);
  const rocksdb::Slice upper_slice(upper);
  const ScopedSnapshot snapshot(db);
  rocksdb::ReadOptions read = snapshot.Options();
  read.iterate_upper_bound = &upper_slice;
  std::vector<std::string> unreferenced;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, families.large_refs));
    for (it->Seek(lower); it->Valid(); it->Next()) {
      const absl::string_view id = ToView(it->key()).substr(1);
      const absl::string_view value = ToView(it->value());
      if (value.size() < 8) return absl::DataLossError("a large value's commit key is truncated");
      const uint64_t revision = ReadBigEndian(value);
      const absl::string_view record_key = value.substr(8);
      std::string stored;
      rocksdb::ReadOptions point = snapshot.Options();
      rocksdb::Status status = db->Get(point, families.records, ToSlice(record_key), &stored);
      if (!status.ok() && !status.IsNotFound()) {
        return FromRocksDb(status, "cannot read a record to collect large values");
      }
      if (status.ok() && References(stored, id)) continue;
      status = db->Get(point, families.changelog, keys::RevisionKey(revision), &stored);
      if (!status.ok() && !status.IsNotFound()) {
        return FromRocksDb(status, "cannot read a change-log entry to collect large values");
      }
      if (status.ok() && References(stored, id)) continue;
      unreferenced.emplace_back(id);
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "cannot list large values");
  }
  for (const std::string& id : unreferenced) {
    rocksdb::WriteBatch batch;
    rocksdb::Status status = batch.Delete(families.large_values, id);
    if (status.ok()) status = batch.Delete(families.large_refs, CommittedKey(id));
    if (status.ok()) status = db->Write(rocksdb::WriteOptions(), &batch);
    if (!status.ok()) return FromRocksDb(status, "cannot remove an unreferenced large value");
    // The bytes leave the disk now, not at some later compaction (erasure).
    const rocksdb::Slice key(id);
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    status = db->CompactRange(compact, families.large_values, &key, &key);
    if (!status.ok()) return FromRocksDb(status, "cannot compact a removed large value away");
  }
  if (!unreferenced.empty()) {
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    const rocksdb::Status status = db->CompactRange(compact, families.large_refs, nullptr, nullptr);
    if (!status.ok()) return FromRocksDb(status, "cannot compact removed large-value keys away");
  }
  return static_cast<uint64_t>(unreferenced.size());
}

}  // namespace healthwire
