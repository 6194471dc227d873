// CreateCheckpoint: a RocksDB checkpoint (hard links where possible) of the
// whole store, for backups and for starting a copy of the store elsewhere.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/event_store_impl.h"
#include "storage/keys.h"

namespace healthwire {
namespace {

// Copies `from` to `to` (which must not exist) with mode 0600, synced: the
// files copied are secrets.
absl::Status CopyPrivateFile(rocksdb::Env* env, const std::string& from, const std::string& to) {
  std::string contents;
  if (rocksdb::Status read = rocksdb::ReadFileToString(env, from, &contents); !read.ok()) {
    return absl::InternalError(absl::StrCat("cannot read \"", from, "\": ", read.ToString()));
  }
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create \"", to, "\": ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == contents.size() && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot write \"", to, "\": ", std::strerror(saved_errno)));
  }
  return absl::OkStatus();
}

}  // namespace

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
  if (status.ok()) {
    // The first open of the checkpoint starts a new timeline.
    status = rocksdb::WriteStringToFile(
        db_->GetEnv(), "a store opened from this checkpoint starts a new timeline\n",
        absl::StrCat(path, "/", keys::kNewTimelineMarkerFile), /*should_sync=*/true);
  }
  if (!status.ok()) {
    return FromRocksDb(status, absl::StrCat("cannot create checkpoint \"", path, "\""));
  }
  // The files beside RocksDB's that a restored store needs (the generated
  // signing secret: without it, webhooks signed for this store get 401).
  for (const std::string& file : options_.checkpoint_extra_files) {
    const std::string from = absl::StrCat(options_.path, "/", file);
    if (!db_->GetEnv()->FileExists(from).ok()) continue;
    absl::Status copied = CopyPrivateFile(db_->GetEnv(), from, absl::StrCat(path, "/", file));
    if (!copied.ok()) {
      return absl::Status(copied.code(), absl::StrCat("checkpoint \"", path, "\" is incomplete: ",
                                                      copied.message()));
    }
  }
  CheckpointResult result;
  result.path = path;
  result.store_revision = revision;
  result.store_timeline = timeline_id_;
  return result;
}

}  // namespace healthwire
