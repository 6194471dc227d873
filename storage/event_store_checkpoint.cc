// CreateCheckpoint: a RocksDB checkpoint (hard links where possible) of the
// whole store, for backups and for starting a copy of the store elsewhere.
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/event_store_impl.h"

namespace healthwire {

absl::StatusOr<CheckpointResult> EventStore::Impl::CreateCheckpoint(const std::string& name_in) {
  std::string name = name_in;
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
  CheckpointResult result;
  result.path = path;
  result.store_revision = revision;
  return result;
}

}  // namespace healthwire
