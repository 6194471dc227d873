// Cluster mode: the pending jobs of deleting erased people's messages from
// the commit log (written by the log feeder, see stream_index.h), read and
// finished by the replica's stream eraser (storage/replica/stream_eraser.h).
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/options.h"
#include "storage/event_store_impl.h"
#include "storage/keys.h"

namespace healthwire {

absl::StatusOr<std::vector<EventStore::StreamDeletionJob>>
EventStore::Impl::ListStreamDeletionJobs(size_t max_jobs) const {
  const std::string prefix(keys::kStreamDeletionMetaPrefix);
  const std::string upper = keys::PrefixSuccessor(prefix);
  const rocksdb::Slice lower_slice(prefix), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, families_.meta));
  std::vector<StreamDeletionJob> jobs;
  for (it->Seek(prefix); it->Valid() && jobs.size() < max_jobs; it->Next()) {
    StreamDeletionJob job;
    if (!keys::DecodeStreamDeletionKey(ToView(it->key()), &job.erasure_sequence) ||
        !keys::DecodeSequences(ToView(it->value()), &job.sequences)) {
      return absl::DataLossError("a malformed stream deletion job in the store's meta family");
    }
    jobs.push_back(std::move(job));
  }
  if (absl::Status scanned = FromRocksDb(it->status(), "cannot read the stream deletion jobs");
      !scanned.ok()) {
    return scanned;
  }
  return jobs;
}

absl::Status EventStore::Impl::FinishStreamDeletionJob(uint64_t erasure_sequence) {
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  return FromRocksDb(db_->Delete(write_options, families_.meta,
                                 ToSlice(keys::StreamDeletionKey(erasure_sequence))),
                     absl::StrCat("cannot remove the stream deletion job of erasure ",
                                  erasure_sequence));
}

}  // namespace healthwire
