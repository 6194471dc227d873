#include "server/security/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/metrics_text.h"
#include "server/convert/record_key.h"

namespace healthwire {
namespace {

// A JSON string literal. Identifiers come from clients, so every control
// character and every byte outside ASCII is escaped: the line stays one line
// of valid JSON whatever an id holds.
void AppendJsonString(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(out, "\\u%04x", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

std::string TypeName(v1::EventType type) {
  const absl::string_view name = TerraTypeName(type);
  return name.empty() ? v1::EventType_Name(type) : std::string(name);
}

}  // namespace

std::string AuditLog::FormatLine(const AuditEntry& entry, absl::Time time) {
  std::string line = "{\"time\":";
  AppendJsonString(&line, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()));
  line += ",\"identity\":";
  AppendJsonString(&line, entry.identity);
  line += ",\"auth\":";
  AppendJsonString(&line, entry.authenticated_by);
  line += ",\"peer\":";
  AppendJsonString(&line, entry.peer);
  if (!entry.on_behalf_of.empty()) {
    line += ",\"on_behalf_of\":";
    AppendJsonString(&line, entry.on_behalf_of);
  }
  line += ",\"rpc\":";
  AppendJsonString(&line, entry.rpc);
  if (entry.subject.has_value()) {
    const v1::Subject& subject = *entry.subject;
    line += ",\"subject\":{";
    if (subject.id_case() == v1::Subject::kReferenceId) {
      line += "\"reference_id\":";
      AppendJsonString(&line, subject.reference_id());
    } else {
      line += "\"user_id\":";
      AppendJsonString(&line, subject.user_id());
    }
    line += "}";
  }
  if (!entry.types.empty()) {
    line += ",\"types\":[";
    for (size_t i = 0; i < entry.types.size(); ++i) {
      if (i > 0) line += ",";
      AppendJsonString(&line, TypeName(entry.types[i]));
    }
    line += "]";
  }
  if (entry.records.has_value()) absl::StrAppend(&line, ",\"records\":", *entry.records);
  if (entry.erased.has_value()) {
    absl::StrAppend(&line, ",\"changes\":", entry.erased->changes, ",\"connections\":",
                    entry.erased->connections, ",\"backfills\":", entry.erased->backfills,
                    ",\"fetches\":", entry.erased->fetches, ",\"tombstone_revision\":",
                    entry.erased->tombstone_revision);
  }
  line += ",\"result\":";
  AppendJsonString(&line, entry.result);
  line += "}";
  return line;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const Options& options) {
  const int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit_log=", options.path, ": cannot open it: ", std::strerror(errno)));
  }
  if (options.buffer_bytes < 4096) {
    ::close(fd);
    return absl::InvalidArgumentError("--audit_log_buffer_kb must be at least 4");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(options, fd));
  AuditLog* raw = log.get();
  log->writer_ = std::thread([raw] { raw->WriterLoop(); });
  return log;
}

AuditLog::~AuditLog() {
  Close();
  ::close(fd_);
}

absl::Status AuditLog::Record(const AuditEntry& entry) {
  std::string line = FormatLine(entry, absl::Now());
  line.push_back('\n');
  if (write_failed_.load()) {
    refused_.fetch_add(1);
    return absl::UnavailableError("the audit log cannot be written; access refused");
  }
  absl::MutexLock lock(&mu_);
  if (closed_ || buffer_.size() + line.size() > options_.buffer_bytes) {
    refused_.fetch_add(1);
    return absl::UnavailableError("the audit log is not keeping up; access refused");
  }
  buffer_ += line;
  lines_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status AuditLog::CheckWritable() const {
  if (write_failed_.load()) {
    return absl::UnavailableError("the audit log cannot be written; nothing done");
  }
  absl::MutexLock lock(&mu_);
  if (closed_ || buffer_.size() + kRoomForOneLine > options_.buffer_bytes) {
    return absl::UnavailableError("the audit log is not keeping up; nothing done");
  }
  return absl::OkStatus();
}

void AuditLog::RecordOrCountDrop(const AuditEntry& entry) {
  if (!Record(entry).ok()) dropped_.fetch_add(1);
}

bool AuditLog::WriteAll(const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errors_.fetch_add(1);
      if (!write_failed_.exchange(true)) {
        logging::Error("cannot write the audit log; data access is refused until it can",
                       {{"path", options_.path}, {"error", std::strerror(errno)}});
      }
      return false;
    }
    written += static_cast<size_t>(n);
  }
  write_failed_.store(false);
  return true;
}

bool AuditLog::FlushDue() const { return closing_ || buffer_.size() >= options_.buffer_bytes / 2; }

void AuditLog::WriterLoop() {
  std::string pending;
  while (true) {
    bool closing;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(this, &AuditLog::FlushDue), options_.flush_interval);
      if (pending.empty()) pending.swap(buffer_);
      closing = closing_;
    }
    // A failed write keeps its lines and retries them on the next round.
    if (!pending.empty() && WriteAll(pending)) pending.clear();
    if (closing) {
      absl::MutexLock lock(&mu_);
      if (buffer_.empty() && (pending.empty() || write_failed_.load())) break;
    }
  }
  ::fsync(fd_);
}

void AuditLog::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    closing_ = true;
  }
  writer_.join();
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

std::string AuditLog::RenderPrometheusText() const {
  uint64_t buffered;
  {
    absl::MutexLock lock(&mu_);
    buffered = buffer_.size();
  }
  std::string text;
  AppendCounter(&text, "healthwire_audit_lines_total", "Audit lines queued for --audit_log.",
                lines_.load());
  AppendCounter(&text, "healthwire_audit_refused_total",
                "Accesses refused because the audit log was full or failing.", refused_.load());
  AppendCounter(&text, "healthwire_audit_dropped_total",
                "Stream-end lines that found the audit buffer full.", dropped_.load());
  AppendCounter(&text, "healthwire_audit_write_errors_total",
                "Failed writes to the audit log file.", write_errors_.load());
  AppendGauge(&text, "healthwire_audit_buffered_bytes", "Audit bytes waiting for the writer.",
              buffered);
  AppendGauge(&text, "healthwire_audit_buffer_bytes",
              "The audit buffer's limit (--audit_log_buffer_kb).", options_.buffer_bytes);
  return text;
}

}  // namespace healthwire
