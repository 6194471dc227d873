// AuditLog: the --audit_log file, one JSON line per data access and per
// erasure: when, who (identity and how it authenticated), from where, which
// RPC, which subject, which types, how many records, and the result. Never a
// record's content: lines carry identifiers and counts only.
//
//   {"time":"2026-12-02T16:01:02.345Z","identity":"sleep-scorer","auth":"token",
//    "peer":"ipv4:127.0.0.1:40112","rpc":"ListRecords","subject":{"user_id":"u1"},
//    "types":["sleep"],"records":20,"result":"OK"}
// A read API request's line also has "on_behalf_of":"http:<client address>"
// after "peer".
//
// Bounded: lines wait in a memory buffer of at most `buffer_bytes` that a
// writer thread appends to the file every `flush_interval` (and at once when
// half full). Record never blocks; when the buffer is full (the disk stalls)
// it returns Unavailable and the caller refuses the access: nothing is read
// without its line. Lines that cannot be refused (a stream's final count)
// are counted as dropped instead. Close (and the destructor) writes
// everything buffered and fsyncs.
//
// Thread-safe.
#ifndef HEALTHWIRE_SERVER_SECURITY_AUDIT_LOG_H_
#define HEALTHWIRE_SERVER_SECURITY_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "healthwire/v1/healthwire.pb.h"

namespace healthwire {

struct AuditEntry {
  std::string identity;
  std::string authenticated_by;  // token, cert, none
  std::string peer;              // grpc's peer string
  // A front end's client the call was made for (the read API's HTTP peer,
  // delegated_call.h), as that front end claims it; empty for direct calls.
  std::string on_behalf_of;
  std::string rpc;
  // The person the call is about, when it names one.
  std::optional<v1::Subject> subject;
  // Stream filters: how many ids were asked for (the ids themselves are in
  // `subject` when there is exactly one).
  std::vector<v1::EventType> types;
  // Reads: records sent. EraseUser: records erased.
  std::optional<uint64_t> records;
  // EraseUser only: the rest of what it removed, and its tombstone (0 when
  // there was nothing to erase).
  struct Erased {
    uint64_t changes = 0;
    uint64_t connections = 0;
    uint64_t backfills = 0;  // backfill records (issue 13)
    uint64_t fetches = 0;    // s3_payload fetch records
    uint64_t tombstone_revision = 0;
  };
  std::optional<Erased> erased;
  std::string result;  // "OK", "OPEN" (a stream started), or a status code name
};

class AuditLog {
 public:
  struct Options {
    std::string path;
    uint64_t buffer_bytes = 4 << 20;
    absl::Duration flush_interval = absl::Milliseconds(200);
  };

  // Opens (creating, mode 0600, appending) the file and starts the writer.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const Options& options);
  ~AuditLog();

  // Queues the entry's line. Unavailable when the buffer is full or the file
  // failed to take the last lines.
  absl::Status Record(const AuditEntry& entry);
  // Unavailable when a line queued now would be refused (the file failed, or
  // the buffer has no room for one more line): for calls that cannot be
  // refused once done (EraseUser), checked before doing them.
  absl::Status CheckWritable() const;
  // Record for lines that cannot be refused; counts a drop on failure.
  void RecordOrCountDrop(const AuditEntry& entry);

  // Writes what is buffered, fsyncs, stops the writer. Idempotent.
  void Close();

  // healthwire_audit_* Prometheus text.
  std::string RenderPrometheusText() const;

  // The JSON line of `entry` (with `time`), without the newline.
  static std::string FormatLine(const AuditEntry& entry, absl::Time time);

 private:
  AuditLog(const Options& options, int fd) : options_(options), fd_(fd) {}
  void WriterLoop();
  bool FlushDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `bytes` to the file; false on an error (logged once).
  bool WriteAll(const std::string& bytes);

  // Room CheckWritable asks for: a line with ordinary ids fits easily; a
  // longer one only makes CheckWritable optimistic (the line is then a drop).
  static constexpr size_t kRoomForOneLine = 4096;

  const Options options_;
  const int fd_;
  mutable absl::Mutex mu_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> write_failed_{false};
  std::atomic<uint64_t> lines_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::thread writer_;
};

}  // namespace healthwire

#endif  // HEALTHWIRE_SERVER_SECURITY_AUDIT_LOG_H_
