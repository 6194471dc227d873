// healthwire's one logging module: every line an operator reads, from every
// binary and library (server/, storage/), goes through here to spdlog.
//
// Every line carries a UTC timestamp (microseconds) and a level, and is
// either text
//   2026-12-02T15:20:01.123456Z info webhook status=200 type=sleep user=u1 ...
// or, with Format::kJson, one JSON object per line
//   {"time":"2026-12-02T15:20:01.123456Z","level":"info","msg":"webhook","status":200,...}
// Fields are key/value pairs (numbers stay numbers in JSON). Values are
// escaped so that a line is always one line and the JSON always parses, even
// for request-derived bytes (non-ASCII bytes become \u00XX).
//
// After Init, lines are formatted and written on spdlog's own thread from a
// bounded queue (Options::queue_lines): a caller (an HTTP I/O thread) only
// builds a short string and enqueues it. A full queue drops the oldest line
// rather than block the caller; DroppedLines counts them. Before Init (tests,
// tools) lines are written synchronously to stderr as text.
//
// What never goes into a line: health data (payload values), secrets,
// signatures. Callers log ids, counts, types.
//
// Thread-safe: Write and the helpers may be called from any thread,
// concurrently; Init and Shutdown from main only.
#ifndef HEALTHWIRE_COMMON_LOGGING_H_
#define HEALTHWIRE_COMMON_LOGGING_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthwire {
namespace logging {

enum class Level { kDebug = 1, kInfo = 2, kWarning = 3, kError = 4 };
enum class Format { kText, kJson };

struct Options {
  Format format = Format::kText;
  Level level = Level::kInfo;  // lines below it are not written
  size_t queue_lines = 8192;   // lines waiting for the writer thread at most
};

// "text" / "json"; InvalidArgument naming the choices otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view name);
// "debug" / "info" / "warning" (or "warn") / "error".
absl::StatusOr<Level> ParseLevel(absl::string_view name);

// Replaces the logger (the first call starts the writer thread). InvalidArgument
// for a zero queue.
absl::Status Init(const Options& options);
// Writes every queued line and returns to synchronous text on stderr. Call
// before the process exits (lines still queued would be lost otherwise).
void Shutdown();

// One key=value of a line.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value)
      : key_(key), value_(value), is_string_(true) {}
  Field(absl::string_view key, const char* value) : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, const std::string& value) : Field(key, absl::string_view(value)) {}
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int> &&
                                                      !std::is_same_v<Int, bool>>>
  Field(absl::string_view key, Int value)
      : key_(key), value_(std::to_string(value)), is_string_(false) {}
  Field(absl::string_view key, bool value)
      : key_(key), value_(value ? "true" : "false"), is_string_(false) {}
  // Milliseconds and the like, with three decimals.
  Field(absl::string_view key, double value);

  absl::string_view key() const { return key_; }
  const std::string& value() const { return value_; }
  bool is_string() const { return is_string_; }

 private:
  absl::string_view key_;  // always a literal
  std::string value_;
  bool is_string_;
};

// True when a line of `level` would be written (skip building expensive fields).
bool Enabled(Level level);

// One line: `message` (a fixed text, e.g. "webhook", or a sentence) and its fields.
void Write(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, message, fields);
}
inline void Info(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warning(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, message, fields);
}
inline void Error(absl::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}

// Lines dropped because the queue was full (since Init).
uint64_t DroppedLines();

// The payload of a line as Write renders it, without time and level (tests).
std::string RenderForTest(Format format, absl::string_view message,
                          std::initializer_list<Field> fields);

}  // namespace logging
}  // namespace healthwire

#endif  // HEALTHWIRE_COMMON_LOGGING_H_
