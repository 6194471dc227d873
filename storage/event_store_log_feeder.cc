// Feeder 2 of the commit path (cluster mode): a store replica applies the
// commit log's deliveries in stream order (storage/replica). Same rules as
// feeder 1 (ApplyBatch), same commit step (CommitApplied); what it adds to
// the batch is its LogPosition, so the data and "how far in the log it is"
// become durable together: after a crash the replica resumes exactly after
// the last entry whose changes survived.
//
// The running digest is chained here over the versions the batch stored, in
// revision order, so two replicas that applied the same log compare equal,
// and one that diverged shows it.
#include <openssl/evp.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/options.h"
#include "storage/event_store_impl.h"
#include "storage/keys.h"
#include "storage/stream_index.h"

namespace healthwire {
namespace {

void AppendUint64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

void AppendField(const std::string& value, std::string* out) {
  AppendUint64(value.size(), out);
  out->append(value);
}

std::string Sha256(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// value = 8-byte big-endian applied sequence, then the digest bytes.
std::string EncodeLogPosition(const EventStore::LogPosition& position) {
  std::string out;
  AppendUint64(position.applied_sequence, &out);
  out += position.digest;
  return out;
}

bool DecodeLogPosition(absl::string_view value, EventStore::LogPosition* position) {
  if (value.size() < 8) return false;
  uint64_t sequence = 0;
  for (int i = 0; i < 8; ++i) sequence = (sequence << 8) | static_cast<unsigned char>(value[i]);
  position->applied_sequence = sequence;
  position->digest = std::string(value.substr(8));
  return true;
}

}  // namespace

absl::StatusOr<EventStore::LogPosition> EventStore::Impl::ReadLogPosition() const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), families_.meta, ToSlice(keys::kLogPositionMetaKey), &value);
  if (s.IsNotFound()) return LogPosition{};
  if (!s.ok()) return FromRocksDb(s, "cannot read the log position");
  LogPosition position;
  if (!DecodeLogPosition(value, &position)) {
    return absl::DataLossError("the stored log position is malformed");
  }
  return position;
}

absl::StatusOr<EventStore::LogPosition> EventStore::Impl::ReadDurableLogPosition() {
  // Read first, then sync: everything written up to what was read is then on
  // disk (a later write may be too; that is not reported).
  absl::StatusOr<LogPosition> position = ReadLogPosition();
  if (!position.ok()) return position;
  if (absl::Status synced = FromRocksDb(db_->FlushWAL(/*sync=*/true), "cannot sync the WAL");
      !synced.ok()) {
    return synced;
  }
  return position;
}

absl::StatusOr<EventStore::LogApplyResult> EventStore::Impl::ApplyLogCalls(
    std::vector<LogCall> calls) {
  if (!options_.log_replica) {
    return absl::FailedPreconditionError("ApplyLogCalls needs a store opened with log_replica");
  }
  absl::StatusOr<LogPosition> prior = ReadLogPosition();
  if (!prior.ok()) return prior.status();
  LogApplyResult out;
  out.position = *std::move(prior);
  ApplyBatch batch = NewApplyBatch();
  // Which messages hold one person's data, and at an erasure the job of
  // deleting them from the stream: in this batch, so durable with the apply.
  StreamIndexWriter stream_index(db_.get(), families_.meta, batch.batch());
  size_t erasures_indexed = 0;
  auto index_erasures = [&](uint64_t sequence) -> absl::Status {
    for (; erasures_indexed < batch.erasures().size(); ++erasures_indexed) {
      size_t messages = 0;
      absl::Status recorded = stream_index.RecordErasure(
          sequence, batch.erasures()[erasures_indexed].user_ids, &messages);
      if (!recorded.ok()) return recorded;
      if (messages > 0) ++out.stream_deletion_jobs;
    }
    return absl::OkStatus();
  };
  std::string chain;
  for (LogCall& call : calls) {
    if (call.sequence <= out.position.applied_sequence) {
      return absl::InvalidArgumentError(
          absl::StrCat("log sequence ", call.sequence, " is not after the applied ",
                       out.position.applied_sequence));
    }
    if (call.erase_subject.has_value()) {
      // An erasure entry: the same erasure on every replica, its tombstone
      // chained into the digest like a stored version.
      ApplyBatch::ErasureRequest request;
      request.kind = call.erase_subject->kind == StoreSubject::Kind::kReferenceId
                         ? ApplyBatch::ErasureRequest::Kind::kReferenceId
                         : ApplyBatch::ErasureRequest::Kind::kUserId;
      request.id = call.erase_subject->id;
      request.trigger = v1::Erasure::TRIGGER_ERASE_USER;
      request.received_at = call.erase_received_at;
      request.compact_in_background = true;
      absl::StatusOr<ApplyBatch::ErasureOutcome> erased = batch.ApplyErasure(request);
      if (!erased.ok() && erased.status().code() != absl::StatusCode::kInvalidArgument) {
        return erased.status();  // the batch is poisoned: nothing is written, retry
      }
      if (absl::Status indexed = index_erasures(call.sequence); !indexed.ok()) return indexed;
      if (erased.ok() && erased->response.tombstone_revision() > 0) {
        const v1::EraseUserResponse& counts = erased->response;
        chain = out.position.digest;
        AppendUint64(counts.tombstone_revision(), &chain);
        AppendField("erasure", &chain);
        AppendField(request.id, &chain);
        AppendUint64(counts.records_erased(), &chain);
        AppendUint64(counts.changes_erased(), &chain);
        AppendUint64(counts.connections_erased(), &chain);
        out.position.digest = Sha256(chain);
      }
      out.position.applied_sequence = call.sequence;
      if (erased.ok()) {
        out.erasures.push_back(erased->response);
        out.results.push_back(v1::IngestResponse());
      } else {
        // An entry every replica refuses alike (no id): skipped, said once.
        out.erasures.push_back(std::nullopt);
        out.results.push_back(erased.status());
      }
      continue;
    }
    out.erasures.push_back(std::nullopt);
    // ApplyCall moves the stored events out of call.events: what the digest
    // and the stream index need of them is taken first.
    std::vector<std::string> digest_fields;
    digest_fields.reserve(call.events.size());
    for (const v1::Event& event : call.events) {
      std::string& fields = digest_fields.emplace_back();
      AppendField(event.user().user_id(), &fields);
      AppendUint64(static_cast<uint64_t>(event.type()), &fields);
      AppendField(event.record_key(), &fields);
      fields += Sha256(event.raw_json());
    }
    const std::optional<std::string> owner = StreamIndexWriter::OnlyUser(call.events);
    absl::StatusOr<v1::IngestResponse> result = batch.ApplyCall(
        call.events, call.fetch_outcome.has_value() ? &*call.fetch_outcome : nullptr);
    if (result.ok() && owner.has_value()) {
      stream_index.RecordDelivery(call.sequence, *owner, call.chunk_sequences);
    }
    // erase_on_deauth: the call's own erasure (its message included).
    if (absl::Status indexed = index_erasures(call.sequence); !indexed.ok()) return indexed;
    if (result.ok()) {
      for (int i = 0; i < result->results_size() && i < static_cast<int>(digest_fields.size());
           ++i) {
        if (result->results(i).outcome() != v1::IngestResult::OUTCOME_STORED) continue;
        chain = out.position.digest;
        AppendUint64(result->results(i).revision(), &chain);
        chain += digest_fields[i];
        out.position.digest = Sha256(chain);
      }
    }
    out.position.applied_sequence = call.sequence;
    out.results.push_back(std::move(result));
  }
  batch.batch()->Put(families_.meta, ToSlice(keys::kLogPositionMetaKey),
                     ToSlice(EncodeLogPosition(out.position)));

  absl::StatusOr<uint64_t> committed;
  if (batch.HasChanges()) {
    committed = CommitApplied(batch);
  } else {
    // Only re-deliveries: no revision, but the position still moves (so a
    // restart does not re-read them). The batch holds just the position.
    // Same disk reserve as any commit: a replica on a full disk stops here
    // (the log keeps the entries) instead of letting RocksDB fill the disk.
    absl::Status written = PrepareWrite(batch.batch()->GetDataSize());
    if (written.ok()) {
      rocksdb::WriteOptions write_options;
      write_options.sync = options_.sync_writes;
      written = FromRocksDb(db_->Write(write_options, batch.batch()),
                            "cannot write the log position");
      if (!written.ok()) RecordWriteFailure(written);
    }
    if (written.ok()) {
      committed = CommitApplied(batch);  // counts identical/stale, writes nothing
    } else {
      committed = written;
    }
  }
  if (!committed.ok()) return committed.status();
  out.store_revision = *committed;
  for (absl::StatusOr<v1::IngestResponse>& result : out.results) {
    if (result.ok()) result->set_store_revision(*committed);
  }
  for (std::optional<v1::EraseUserResponse>& erasure : out.erasures) {
    if (erasure.has_value()) erasure->set_store_revision(*committed);
  }
  return out;
}

}  // namespace healthwire
