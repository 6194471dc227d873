#include "common/logging.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/async_logger.h"
#include "spdlog/details/thread_pool.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace healthwire {
namespace logging {
namespace {

// The time and level are spdlog's (taken when the line is written, formatted
// on the writer thread); the payload is ours.
constexpr char kTextPattern[] = "%Y-%m-%dT%H:%M:%S.%fZ %l %v";
constexpr char kJsonPattern[] = "{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}";

struct State {
  std::shared_ptr<spdlog::details::thread_pool> pool;  // null: synchronous
  std::shared_ptr<spdlog::logger> logger;
  Format format = Format::kText;
};

std::mutex& InitMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::shared_ptr<spdlog::logger> MakeSyncLogger() {
  auto logger = std::make_shared<spdlog::logger>(
      "healthwire", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(
      std::make_unique<spdlog::pattern_formatter>(kTextPattern, spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::info);
  return logger;
}

// The current state; replaced whole by Init/Shutdown, read without a lock.
std::shared_ptr<const State>& CurrentSlot() {
  static auto* slot = new std::shared_ptr<const State>([] {
    auto state = std::make_shared<State>();
    state->logger = MakeSyncLogger();
    return state;
  }());
  return *slot;
}

std::shared_ptr<const State> Current() { return std::atomic_load(&CurrentSlot()); }

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarning:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Escapes `s` into a JSON string body (no quotes): printable ASCII as is,
// everything else as \uXXXX of its byte, so a line is always valid JSON and
// always one line whatever bytes a request carried.
void AppendEscaped(std::string* out, absl::string_view s) {
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", u);
        } else {
          out->push_back(c);
        }
    }
  }
}

bool NeedsQuotes(absl::string_view s) {
  if (s.empty()) return true;
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

std::string Render(Format format, absl::string_view message, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + message.size() + fields.size() * 24);
  if (format == Format::kJson) {
    out.append("\"msg\":\"");
    AppendEscaped(&out, message);
    out.push_back('"');
    for (const Field& field : fields) {
      out.append(",\"");
      AppendEscaped(&out, field.key());
      out.append("\":");
      if (field.is_string()) {
        out.push_back('"');
        AppendEscaped(&out, field.value());
        out.push_back('"');
      } else {
        out.append(field.value());
      }
    }
    return out;
  }
  AppendEscaped(&out, message);
  for (const Field& field : fields) {
    out.push_back(' ');
    out.append(field.key().data(), field.key().size());
    out.push_back('=');
    if (field.is_string() && NeedsQuotes(field.value())) {
      out.push_back('"');
      AppendEscaped(&out, field.value());
      out.push_back('"');
    } else {
      out.append(field.value());
    }
  }
  return out;
}

}  // namespace

Field::Field(absl::string_view key, double value)
    : key_(key),
      value_(std::isfinite(value) ? absl::StrFormat("%.3f", value) : std::string("null")),
      is_string_(false) {}

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "text") return Format::kText;
  if (lower == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_format=", name, ": must be text or json"));
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warning" || lower == "warn") return Level::kWarning;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_level=", name, ": must be debug, info, warning or error"));
}

absl::Status Init(const Options& options) {
  if (options.queue_lines == 0) {
    return absl::InvalidArgumentError("--log_queue_lines must be at least 1");
  }
  std::lock_guard<std::mutex> lock(InitMutex());
  auto state = std::make_shared<State>();
  state->format = options.format;
  // One writer thread: lines stay in order.
  state->pool = std::make_shared<spdlog::details::thread_pool>(options.queue_lines, 1);
  // overrun_oldest: an I/O thread never waits for the log (DroppedLines
  // counts what a full queue cost).
  state->logger = std::make_shared<spdlog::async_logger>(
      "healthwire", std::make_shared<spdlog::sinks::stderr_sink_mt>(), state->pool,
      spdlog::async_overflow_policy::overrun_oldest);
  state->logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      options.format == Format::kJson ? kJsonPattern : kTextPattern,
      spdlog::pattern_time_type::utc));
  state->logger->set_level(ToSpdlog(options.level));
  state->logger->flush_on(spdlog::level::warn);
  g_min_level.store(static_cast<int>(options.level));
  std::shared_ptr<const State> previous =
      std::atomic_exchange(&CurrentSlot(), std::shared_ptr<const State>(std::move(state)));
  if (previous != nullptr && previous->pool != nullptr) previous->logger->flush();
  return absl::OkStatus();
}

void Shutdown() {
  std::lock_guard<std::mutex> lock(InitMutex());
  auto state = std::make_shared<State>();
  state->logger = MakeSyncLogger();
  std::shared_ptr<const State> previous =
      std::atomic_exchange(&CurrentSlot(), std::shared_ptr<const State>(std::move(state)));
  g_min_level.store(static_cast<int>(Level::kInfo));
  if (previous == nullptr || previous->pool == nullptr) return;
  // The pool's destructor writes what is queued, then joins its thread; lines
  // hold the logger (and it the pool) until written, so drop ours and wait
  // for the last owner to go.
  std::weak_ptr<spdlog::details::thread_pool> pool = previous->pool;
  previous.reset();
  while (!pool.expired()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::shared_ptr<const State> state = Current();
  const std::string payload = Render(state->format, message, fields);
  state->logger->log(ToSpdlog(level), spdlog::string_view_t(payload.data(), payload.size()));
}

uint64_t DroppedLines() {
  std::shared_ptr<const State> state = Current();
  return state->pool != nullptr ? state->pool->overrun_counter() : 0;
}

std::string RenderForTest(Format format, absl::string_view message,
                          std::initializer_list<Field> fields) {
  return Render(format, message, fields);
}

}  // namespace logging
}  // namespace healthwire
