#include "storage/replica/replica_registry.h"

#include <nats/nats.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/commit_log/delivery_id.h"

namespace healthwire {
namespace {

constexpr char kReplicaKeyPrefix[] = "replica.";
constexpr char kErasedThroughKey[] = "erased_through";

// Key-value keys allow few characters; a replica id is any string (a host
// name and a folder), so its key is a hash of it and the value names it.
std::string ReplicaKey(absl::string_view replica_id) {
  return absl::StrCat(kReplicaKeyPrefix, absl::BytesToHexString(
                                             Sha256Bytes(std::string(replica_id)).substr(0, 16)));
}

absl::string_view ValueOf(kvEntry* entry) {
  return absl::string_view(static_cast<const char*>(kvEntry_Value(entry)),
                           static_cast<size_t>(kvEntry_ValueLen(entry)));
}

// "<applied_sequence> <reported unix ms> <replica id>"
std::string EncodeEntry(absl::string_view replica_id, uint64_t applied_sequence) {
  return absl::StrCat(applied_sequence, " ", absl::ToUnixMillis(absl::Now()), " ", replica_id);
}

bool DecodeEntry(absl::string_view value, ReplicaRegistry::Entry* entry) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, absl::MaxSplits(' ', 2));
  int64_t millis = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &entry->applied_sequence) ||
      !absl::SimpleAtoi(parts[1], &millis)) {
    return false;
  }
  entry->reported_at = absl::FromUnixMillis(millis);
  entry->replica_id = std::string(parts[2]);
  return true;
}

absl::Status KvStatus(natsStatus s, absl::string_view what) {
  return NatsStatus(s, 0, absl::StrCat(what, " (replica registry)"));
}

// The replica entry under `key`; nullopt when there is none.
absl::StatusOr<std::optional<ReplicaRegistry::Entry>> GetEntry(kvStore* kv, const char* key) {
  kvEntry* kv_entry = nullptr;
  natsStatus s = kvStore_Get(&kv_entry, kv, key);
  if (s == NATS_NOT_FOUND) return std::optional<ReplicaRegistry::Entry>();
  if (s != NATS_OK) return KvStatus(s, "cannot read a replica's entry");
  ReplicaRegistry::Entry entry;
  const bool decoded = DecodeEntry(ValueOf(kv_entry), &entry);
  entry.revision = kvEntry_Revision(kv_entry);
  kvEntry_Destroy(kv_entry);
  if (!decoded) {
    return absl::DataLossError(absl::StrCat("a malformed entry ", key, " in the replica registry"));
  }
  return std::optional<ReplicaRegistry::Entry>(std::move(entry));
}

// erased_through and its key-value revision; nullopt when it was never set.
struct ErasedThroughValue {
  uint64_t sequence = 0;
  uint64_t revision = 0;
};
absl::StatusOr<std::optional<ErasedThroughValue>> GetErasedThrough(kvStore* kv) {
  kvEntry* entry = nullptr;
  natsStatus s = kvStore_Get(&entry, kv, kErasedThroughKey);
  if (s == NATS_NOT_FOUND) return std::optional<ErasedThroughValue>();
  if (s != NATS_OK) return KvStatus(s, "cannot read how far erasures deleted the log");
  ErasedThroughValue value;
  const bool parsed = absl::SimpleAtoi(ValueOf(entry), &value.sequence);
  value.revision = kvEntry_Revision(entry);
  kvEntry_Destroy(entry);
  if (!parsed) return absl::DataLossError("a malformed erased_through in the replica registry");
  return std::optional<ErasedThroughValue>(value);
}

}  // namespace

std::string ReplicaRegistry::BucketName(absl::string_view stream) {
  return absl::StrCat(stream, "_REPLICAS");
}

absl::StatusOr<std::unique_ptr<ReplicaRegistry>> ReplicaRegistry::Open(CommitLog* log) {
  const std::string bucket = BucketName(log->options().stream);
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, log->jetstream(), bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = bucket.c_str();
    config.Description = "healthwire: store replicas of the commit log and how far each applied it";
    config.History = 1;
    config.StorageType = js_FileStorage;
    config.Replicas = log->options().replicas;
    s = js_CreateKeyValue(&kv, log->jetstream(), &config);
  }
  if (s != NATS_OK) {
    return KvStatus(s, absl::StrCat("cannot open the key-value bucket ", bucket));
  }
  return std::unique_ptr<ReplicaRegistry>(new ReplicaRegistry(kv));
}

ReplicaRegistry::~ReplicaRegistry() { kvStore_Destroy(kv_); }

absl::Status ReplicaRegistry::Report(absl::string_view replica_id, uint64_t applied_sequence,
                                     std::optional<uint64_t> expected_revision) {
  const std::string value = EncodeEntry(replica_id, applied_sequence);
  const std::string key = ReplicaKey(replica_id);
  uint64_t revision = 0;
  natsStatus s =
      expected_revision.has_value()
          ? kvStore_Update(&revision, kv_, key.c_str(), value.data(),
                           static_cast<int>(value.size()), *expected_revision)
          : kvStore_Put(&revision, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_ERR && expected_revision.has_value()) {
    return absl::FailedPreconditionError(
        "the replica's registry entry was forgotten or changed meanwhile");
  }
  if (s != NATS_OK) return KvStatus(s, "cannot report the replica's applied sequence");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ReplicaRegistry::Entry>> ReplicaRegistry::Lookup(
    absl::string_view replica_id) {
  return GetEntry(kv_, ReplicaKey(replica_id).c_str());
}

absl::Status ReplicaRegistry::Forget(absl::string_view replica_id) {
  const std::string key = ReplicaKey(replica_id);
  kvEntry* entry = nullptr;
  natsStatus s = kvStore_Get(&entry, kv_, key.c_str());
  if (s == NATS_NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("no replica \"", replica_id.substr(0, 200),
                                            "\" is registered (hwctl replicas lists them)"));
  }
  if (s != NATS_OK) return KvStatus(s, "cannot read the replica's entry");
  kvEntry_Destroy(entry);
  s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK) return KvStatus(s, "cannot remove the replica's entry");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ReplicaRegistry::Entry>> ReplicaRegistry::List() {
  kvKeysList keys;
  natsStatus s = kvStore_Keys(&keys, kv_, nullptr);
  std::vector<Entry> entries;
  if (s == NATS_NOT_FOUND) return entries;  // an empty bucket
  if (s != NATS_OK) return KvStatus(s, "cannot list the replicas");
  absl::Status listed;
  for (int i = 0; i < keys.Count && listed.ok(); ++i) {
    if (!absl::StartsWith(keys.Keys[i], kReplicaKeyPrefix)) continue;
    absl::StatusOr<std::optional<Entry>> entry = GetEntry(kv_, keys.Keys[i]);
    if (!entry.ok()) {
      listed = entry.status();
      break;
    }
    if (entry->has_value()) entries.push_back(**std::move(entry));  // else forgotten meanwhile
  }
  kvKeysList_Destroy(&keys);
  if (!listed.ok()) return listed;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.replica_id < b.replica_id; });
  return entries;
}

absl::StatusOr<uint64_t> ReplicaRegistry::ErasedThrough() {
  absl::StatusOr<std::optional<ErasedThroughValue>> current = GetErasedThrough(kv_);
  if (!current.ok()) return current.status();
  return current->has_value() ? (*current)->sequence : 0;
}

absl::Status ReplicaRegistry::RaiseErasedThrough(uint64_t erasure_sequence) {
  const std::string value = absl::StrCat(erasure_sequence);
  // Compare-and-set: two erasers may race; the higher value stays.
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<std::optional<ErasedThroughValue>> current = GetErasedThrough(kv_);
    if (!current.ok()) return current.status();
    uint64_t revision = 0;
    natsStatus s;
    if (!current->has_value()) {
      s = kvStore_Create(&revision, kv_, kErasedThroughKey, value.data(),
                         static_cast<int>(value.size()));
    } else if ((*current)->sequence >= erasure_sequence) {
      return absl::OkStatus();
    } else {
      s = kvStore_Update(&revision, kv_, kErasedThroughKey, value.data(),
                         static_cast<int>(value.size()), (*current)->revision);
    }
    if (s == NATS_OK) return absl::OkStatus();
    // Another eraser wrote first (wrong last sequence / key exists): look again.
    if (s != NATS_ERR) return KvStatus(s, "cannot record how far erasures delete the log");
  }
  return absl::AbortedError("erased_through kept changing under this eraser");
}

}  // namespace healthwire
