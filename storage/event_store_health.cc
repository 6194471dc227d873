// Store health: the disk reserve that keeps RocksDB out of a full disk, and
// recovery after a failed write. RocksDB stops accepting writes after a
// failed WAL write (its error handler's "hard error"); the feeder thread then
// refuses commits with that error and, once the disk has room again, calls
// DB::Resume (RocksDB's documented recovery: it flushes the memtables and
// continues with a new WAL), every write_recovery_interval while idle and
// before every commit otherwise. Nothing acknowledged is lost: a failed write
// acknowledged nothing, and what was acknowledged before is in the WAL.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "rocksdb/env.h"
#include "storage/event_store_impl.h"

namespace healthwire {
namespace {

std::string MiB(uint64_t bytes) {
  return absl::StrCat(bytes >> 20, ".", ((bytes & ((1 << 20) - 1)) * 10) >> 20, " MiB");
}

}  // namespace

absl::Status EventStore::Impl::CheckDiskRoom(uint64_t bytes_to_write) const {
  if (options_.min_free_disk_bytes == 0) return absl::OkStatus();
  uint64_t free_bytes = 0;
  const rocksdb::Status asked = db_->GetEnv()->GetFreeSpace(options_.path, &free_bytes);
  if (!asked.ok()) return absl::OkStatus();  // cannot tell: RocksDB will find out
  if (free_bytes >= options_.min_free_disk_bytes &&
      free_bytes - options_.min_free_disk_bytes >= bytes_to_write) {
    return absl::OkStatus();
  }
  std::string message = absl::StrCat(
      "the disk of the data folder \"", options_.path, "\" is full: ", MiB(free_bytes),
      " free, ", MiB(options_.min_free_disk_bytes), " kept in reserve");
  if (bytes_to_write > 0) absl::StrAppend(&message, ", ", MiB(bytes_to_write), " to write");
  absl::StrAppend(&message, "; writes resume by themselves once space is freed");
  return absl::UnavailableError(std::move(message));
}

void EventStore::Impl::RecordWriteFailure(const absl::Status& failure) {
  write_failures_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    write_failure_ = failure;
  }
  if (!writes_stopped_.exchange(true, std::memory_order_acq_rel)) {
    logging::Error("healthwire: store writes stopped", {{"error", failure.ToString()}});
  }
}

absl::Status EventStore::Impl::TryRecoverWrites() {
  if (!writes_stopped()) return absl::OkStatus();
  if (absl::Status room = CheckDiskRoom(0); !room.ok()) return room;
  const rocksdb::Status resumed = db_->Resume();
  if (!resumed.ok()) {
    const absl::Status failure = FromRocksDb(
        resumed, absl::StrCat("the event store at \"", options_.path,
                              "\" could not resume writing after a failed write"));
    std::lock_guard<std::mutex> lock(health_mu_);
    write_failure_ = failure;
    return failure;
  }
  writes_stopped_.store(false, std::memory_order_release);
  logging::Info("healthwire: store writes resumed", {{"data_dir", options_.path}});
  return absl::OkStatus();
}

absl::Status EventStore::Impl::PrepareWrite(uint64_t bytes_to_write) {
  if (writes_stopped() && !TryRecoverWrites().ok()) return Health();
  absl::Status room = CheckDiskRoom(bytes_to_write);
  if (!room.ok()) {
    refused_disk_full_.fetch_add(1, std::memory_order_relaxed);
    refused_bytes_.store(bytes_to_write, std::memory_order_relaxed);
  } else {
    refused_bytes_.store(0, std::memory_order_relaxed);
  }
  return room;
}

absl::Status EventStore::Impl::Health() const {
  if (writes_stopped()) {
    std::lock_guard<std::mutex> lock(health_mu_);
    absl::Status room = CheckDiskRoom(0);
    return absl::UnavailableError(absl::StrCat(
        "store writes stopped after a failed write (", write_failure_.message(),
        "); retrying", room.ok() ? "" : absl::StrCat(" once space is freed: ", room.message())));
  }
  // Not ready while the commit refused last would still not fit, so a disk
  // that is full for the webhooks actually arriving reads as full.
  return CheckDiskRoom(refused_bytes_.load(std::memory_order_relaxed));
}

}  // namespace healthwire
