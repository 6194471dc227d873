#include "server/flags/logging_flags.h"

#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "common/logging.h"

ABSL_FLAG(std::string, log_format, "text",
          "Log lines as text (\"<UTC time> <level> <message> key=value ...\") or json (one "
          "object per line: time, level, msg and the fields).");
ABSL_FLAG(std::string, log_level, "info",
          "Lowest level written: debug, info, warning or error (info includes one access line "
          "per webhook).");
ABSL_FLAG(uint64_t, log_queue_lines, 8192,
          "Log lines waiting for the log writer thread at most; when it is full the oldest "
          "line is dropped (healthwire_log_dropped_lines_total) so no request waits for the log.");

namespace healthwire {

absl::Status ApplyLoggingFlags() {
  logging::Options options;
  absl::StatusOr<logging::Format> format = logging::ParseFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) return format.status();
  absl::StatusOr<logging::Level> level = logging::ParseLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return level.status();
  options.format = *format;
  options.level = *level;
  options.queue_lines = absl::GetFlag(FLAGS_log_queue_lines);
  return logging::Init(options);
}

}  // namespace healthwire
