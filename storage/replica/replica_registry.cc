#include "storage/replica/replica_registry.h"

#include <nats/nats.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "storage/commit_log/delivery_id.h"

namespace healthwire {
namespace {

constexpr char kReplicaKeyPrefix[] = "replica.";
// One key per erasure that may delete messages, "erased.<E>", written with a
// plain put: the highest is erased_through. Not a single key updated by
// compare-and-set: nats-server 2.9 checks Nats-Expected-Last-Subject-Sequence
// before the RAFT proposal, so two concurrent updates at the same revision can
// both succeed in a clustered stream (nats-server issue 4320, seen here with
// four racing erasers) and a lower value could overwrite a higher one.
constexpr char kErasedKeyPrefix[] = "erased.";

// Key-value keys allow few characters; a replica id is any string (a host
// name and a folder), so its key is a hash of it and the value names it.
std::string ReplicaKey(absl::string_view replica_id) {
  return absl::StrCat(kReplicaKeyPrefix, absl::BytesToHexString(
                                             Sha256Bytes(std::string(replica_id)).substr(0, 16)));
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

// The value and revision (stream sequence) of `key`, read from the bucket
// stream's leader (STREAM.MSG.GET, js_GetLastMsg): kvStore_Get uses direct
// gets (nats.c 3.4 creates buckets with allow_direct), which a follower may
// answer with an older value, and the registry's write-then-read rule needs
// every read to see the writes acknowledged before it. nullopt when the key
// is missing or deleted.
struct KvValue {
  std::string value;
  uint64_t revision = 0;
};
absl::StatusOr<std::optional<KvValue>> LeaderGet(CommitLog* log, const std::string& bucket,
                                                 absl::string_view key) {
  const std::string stream = absl::StrCat("KV_", bucket);
  const std::string subject = absl::StrCat("$KV.", bucket, ".", key);
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = absl::ToInt64Milliseconds(log->options().api_timeout);
  natsMsg* msg = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetLastMsg(&msg, log->jetstream(), stream.c_str(), subject.c_str(), &options, &err);
  if (s == NATS_NOT_FOUND || err == JSNoMessageFoundErr) return std::optional<KvValue>();
  if (s != NATS_OK) return NatsStatus(s, err, "cannot read the replica registry");
  const char* operation = nullptr;
  if (natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK && operation != nullptr &&
      (absl::string_view(operation) == "DEL" || absl::string_view(operation) == "PURGE")) {
    natsMsg_Destroy(msg);
    return std::optional<KvValue>();
  }
  KvValue value;
  value.value.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  value.revision = natsMsg_GetSequence(msg);
  natsMsg_Destroy(msg);
  return std::optional<KvValue>(std::move(value));
}

// The replica entry under `key`; nullopt when there is none.
absl::StatusOr<std::optional<ReplicaRegistry::Entry>> GetEntry(CommitLog* log,
                                                               const std::string& bucket,
                                                               absl::string_view key) {
  absl::StatusOr<std::optional<KvValue>> got = LeaderGet(log, bucket, key);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return std::optional<ReplicaRegistry::Entry>();
  ReplicaRegistry::Entry entry;
  if (!DecodeEntry((*got)->value, &entry)) {
    return absl::DataLossError(absl::StrCat("a malformed entry ", key, " in the replica registry"));
  }
  entry.revision = (*got)->revision;
  return std::optional<ReplicaRegistry::Entry>(std::move(entry));
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
  return std::unique_ptr<ReplicaRegistry>(new ReplicaRegistry(log, bucket, kv));
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
  return GetEntry(log_, bucket_, ReplicaKey(replica_id));
}

absl::Status ReplicaRegistry::Forget(absl::string_view replica_id) {
  const std::string key = ReplicaKey(replica_id);
  absl::StatusOr<std::optional<KvValue>> got = LeaderGet(log_, bucket_, key);
  if (!got.ok()) return got.status();
  if (!got->has_value()) {
    return absl::NotFoundError(absl::StrCat("no replica \"", replica_id.substr(0, 200),
                                            "\" is registered (hwctl replicas lists them)"));
  }
  natsStatus s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK) return KvStatus(s, "cannot remove the replica's entry");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ReplicaRegistry::KeysWithPrefix(
    absl::string_view key_prefix) {
  // From the stream leader's subject list (kvStore_Keys reads through a
  // consumer, which may run on a follower behind the leader).
  const std::string subject_prefix = absl::StrCat("$KV.", bucket_, ".");
  const std::string filter = absl::StrCat(subject_prefix, key_prefix, ">");
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = absl::ToInt64Milliseconds(log_->options().api_timeout);
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, log_->jetstream(), absl::StrCat("KV_", bucket_).c_str(),
                                  &options, &err);
  if (s != NATS_OK) return NatsStatus(s, err, "cannot list the replica registry's keys");
  std::vector<std::string> keys;
  if (info->State.Subjects != nullptr) {
    for (int i = 0; i < info->State.Subjects->Count; ++i) {
      absl::string_view subject = info->State.Subjects->List[i].Subject;
      if (absl::ConsumePrefix(&subject, subject_prefix)) keys.emplace_back(subject);
    }
  }
  jsStreamInfo_Destroy(info);
  return keys;
}

absl::StatusOr<std::vector<ReplicaRegistry::Entry>> ReplicaRegistry::List() {
  absl::StatusOr<std::vector<std::string>> keys = KeysWithPrefix(kReplicaKeyPrefix);
  if (!keys.ok()) return keys.status();
  std::vector<Entry> entries;
  for (const std::string& key : *keys) {
    absl::StatusOr<std::optional<Entry>> entry = GetEntry(log_, bucket_, key);
    if (!entry.ok()) return entry.status();
    if (entry->has_value()) entries.push_back(**std::move(entry));  // else forgotten
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.replica_id < b.replica_id; });
  return entries;
}

absl::StatusOr<uint64_t> ReplicaRegistry::ErasedThrough() {
  absl::StatusOr<std::vector<std::string>> keys = KeysWithPrefix(kErasedKeyPrefix);
  if (!keys.ok()) return keys.status();
  uint64_t highest = 0;
  for (absl::string_view key : *keys) {
    uint64_t sequence = 0;
    if (!absl::ConsumePrefix(&key, kErasedKeyPrefix) || !absl::SimpleAtoi(key, &sequence)) {
      return absl::DataLossError("a malformed erased key in the replica registry");
    }
    highest = std::max(highest, sequence);
  }
  return highest;
}

absl::Status ReplicaRegistry::RaiseErasedThrough(uint64_t erasure_sequence) {
  const std::string key = absl::StrCat(kErasedKeyPrefix, erasure_sequence);
  const std::string value = absl::StrCat(erasure_sequence);
  uint64_t revision = 0;
  natsStatus s = kvStore_Put(&revision, kv_, key.c_str(), value.data(),
                             static_cast<int>(value.size()));
  if (s != NATS_OK) return KvStatus(s, "cannot record how far erasures delete the log");
  return absl::OkStatus();
}

}  // namespace healthwire
