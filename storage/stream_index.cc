#include "storage/stream_index.h"

#include <algorithm>
#include <memory>

#include "storage/keys.h"
#include "storage/store_db.h"

namespace healthwire {

std::optional<std::string> StreamIndexWriter::OnlyUser(const std::vector<v1::Event>& events) {
  if (events.empty()) return std::nullopt;
  const std::string& user_id = events.front().user().user_id();
  if (user_id.empty()) return std::nullopt;
  for (const v1::Event& event : events) {
    if (event.user().user_id() != user_id) return std::nullopt;  // several people: kept
  }
  return user_id;
}

void StreamIndexWriter::RecordDelivery(uint64_t sequence, const std::string& user_id,
                                       const std::vector<uint64_t>& chunk_sequences) {
  batch_->Put(meta_, ToSlice(keys::StreamIndexKey(user_id, sequence)),
              ToSlice(keys::EncodeSequences(chunk_sequences)));
  batch_entries_[user_id].emplace_back(sequence, chunk_sequences);
}

absl::Status StreamIndexWriter::RecordErasure(uint64_t erasure_sequence,
                                              const std::vector<std::string>& user_ids,
                                              size_t* job_sequences) {
  std::vector<uint64_t> sequences;
  auto take = [&](const std::string& user_id, uint64_t sequence,
                  const std::vector<uint64_t>& chunks) {
    batch_->Delete(meta_, ToSlice(keys::StreamIndexKey(user_id, sequence)));
    sequences.push_back(sequence);
    sequences.insert(sequences.end(), chunks.begin(), chunks.end());
  };
  for (const std::string& user_id : user_ids) {
    if (erased_in_batch_.insert(user_id).second) {
      const std::string prefix = keys::StreamIndexPrefix(user_id);
      const std::string upper = keys::PrefixSuccessor(prefix);
      const rocksdb::Slice lower_slice(prefix), upper_slice(upper);
      rocksdb::ReadOptions read;
      read.iterate_lower_bound = &lower_slice;
      if (!upper.empty()) read.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, meta_));
      for (it->Seek(prefix); it->Valid(); it->Next()) {
        absl::string_view rest = ToView(it->key());
        rest.remove_prefix(prefix.size());
        uint64_t sequence = 0;
        std::vector<uint64_t> chunks;
        if (!keys::ConsumeUint64BigEndian(&rest, &sequence) || !rest.empty() ||
            !keys::DecodeSequences(ToView(it->value()), &chunks)) {
          return absl::DataLossError("a malformed stream index entry in the store's meta family");
        }
        take(user_id, sequence, chunks);
      }
      if (absl::Status scanned = FromRocksDb(it->status(), "cannot scan the stream index");
          !scanned.ok()) {
        return scanned;
      }
    }
    auto in_batch = batch_entries_.find(user_id);
    if (in_batch != batch_entries_.end()) {
      for (const auto& [sequence, chunks] : in_batch->second) take(user_id, sequence, chunks);
      batch_entries_.erase(in_batch);
    }
  }
  std::sort(sequences.begin(), sequences.end());
  sequences.erase(std::unique(sequences.begin(), sequences.end()), sequences.end());
  *job_sequences = sequences.size();
  if (sequences.empty()) return absl::OkStatus();
  batch_->Put(meta_, ToSlice(keys::StreamDeletionKey(erasure_sequence)),
              ToSlice(keys::EncodeSequences(sequences)));
  return absl::OkStatus();
}

}  // namespace healthwire
