#include "storage/replica/replica_registry.h"

#include <nats/nats.h>

#include <algorithm>

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace healthwire {
namespace {

constexpr char kReplicaKeyPrefix[] = "replica.";
constexpr char kErasedThroughKey[] = "erased_through";

// Key-value keys allow few characters; a replica id is any string (a host
// name and a folder), so its key is a hash of it and the value names it.
std::string ReplicaKey(absl::string_view replica_id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(replica_id.data(), replica_id.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::StrCat(kReplicaKeyPrefix,
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), 16)));
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
  kvEntry* kv_entry = nullptr;
  natsStatus s = kvStore_Get(&kv_entry, kv_, ReplicaKey(replica_id).c_str());
  if (s == NATS_NOT_FOUND) return std::optional<Entry>();
  if (s != NATS_OK) return KvStatus(s, "cannot read the replica's entry");
  Entry entry;
  const bool decoded =
      DecodeEntry(absl::string_view(static_cast<const char*>(kvEntry_Value(kv_entry)),
                                    static_cast<size_t>(kvEntry_ValueLen(kv_entry))),
                  &entry);
  entry.revision = kvEntry_Revision(kv_entry);
  kvEntry_Destroy(kv_entry);
  if (!decoded) return absl::DataLossError("a malformed entry in the replica registry");
  return std::optional<Entry>(std::move(entry));
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
    kvEntry* kv_entry = nullptr;
    s = kvStore_Get(&kv_entry, kv_, keys.Keys[i]);
    if (s == NATS_NOT_FOUND) continue;  // forgotten meanwhile
    if (s != NATS_OK) {
      listed = KvStatus(s, "cannot read a replica's entry");
      break;
    }
    Entry entry;
    const bool decoded = DecodeEntry(
        absl::string_view(static_cast<const char*>(kvEntry_Value(kv_entry)),
                          static_cast<size_t>(kvEntry_ValueLen(kv_entry))),
        &entry);
    entry.revision = kvEntry_Revision(kv_entry);
    kvEntry_Destroy(kv_entry);
    if (!decoded) {
      listed = absl::DataLossError(
          absl::StrCat("a malformed entry ", keys.Keys[i], " in the replica registry"));
      break;
    }
    entries.push_back(std::move(entry));
  }
  kvKeysList_Destroy(&keys);
  if (!listed.ok()) return listed;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.replica_id < b.replica_id; });
  return entries;
}

absl::StatusOr<uint64_t> ReplicaRegistry::ErasedThrough() {
  kvEntry* entry = nullptr;
  natsStatus s = kvStore_Get(&entry, kv_, kErasedThroughKey);
  if (s == NATS_NOT_FOUND) return 0;
  if (s != NATS_OK) return KvStatus(s, "cannot read how far erasures deleted the log");
  uint64_t sequence = 0;
  const bool parsed = absl::SimpleAtoi(
      absl::string_view(static_cast<const char*>(kvEntry_Value(entry)),
                        static_cast<size_t>(kvEntry_ValueLen(entry))),
      &sequence);
  kvEntry_Destroy(entry);
  if (!parsed) return absl::DataLossError("a malformed erased_through in the replica registry");
  return sequence;
}

absl::Status ReplicaRegistry::RaiseErasedThrough(uint64_t erasure_sequence) {
  const std::string value = absl::StrCat(erasure_sequence);
  // Compare-and-set: two erasers may race; the higher value stays.
  for (int attempt = 0; attempt < 100; ++attempt) {
    kvEntry* entry = nullptr;
    natsStatus s = kvStore_Get(&entry, kv_, kErasedThroughKey);
    uint64_t revision = 0;
    if (s == NATS_NOT_FOUND) {
      s = kvStore_Create(&revision, kv_, kErasedThroughKey, value.data(),
                         static_cast<int>(value.size()));
    } else if (s == NATS_OK) {
      uint64_t current = 0;
      const bool parsed = absl::SimpleAtoi(
          absl::string_view(static_cast<const char*>(kvEntry_Value(entry)),
                            static_cast<size_t>(kvEntry_ValueLen(entry))),
          &current);
      const uint64_t last = kvEntry_Revision(entry);
      kvEntry_Destroy(entry);
      if (!parsed) return absl::DataLossError("a malformed erased_through in the replica registry");
      if (current >= erasure_sequence) return absl::OkStatus();
      s = kvStore_Update(&revision, kv_, kErasedThroughKey, value.data(),
                         static_cast<int>(value.size()), last);
    } else {
      return KvStatus(s, "cannot read how far erasures deleted the log");
    }
    if (s == NATS_OK) return absl::OkStatus();
    // Another eraser wrote first (wrong last sequence / key exists): look again.
    if (s != NATS_ERR) return KvStatus(s, "cannot record how far erasures delete the log");
  }
  return absl::AbortedError("erased_through kept changing under this eraser");
}

}  // namespace healthwire
