#pragma once
// Structured logs: one JSON object per line, {"ts","level","event",...fields},
// written by a background thread (spdlog's async logger over a bounded queue
// that drops the oldest line when full), so a log call never waits on the
// terminal or the disk. Nothing secret goes in a field: no API keys, no
// signatures, no request bodies; callers pass what an operator needs (codes,
// causes, ids, sizes).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace spotgrid::util::log {

enum class Level : std::uint8_t { kDebug, kInfo, kWarn, kError };

struct Options {
  Level level = Level::kInfo;
  std::string file;  // empty: standard error
};

// Once, before the threads that log start; later calls replace the sink.
void init(const Options& options);
// Writes out what is queued (tests, and before exit).
void flush();

using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, bool>;
struct Field {
  std::string_view name;
  Value value;
};

void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kInfo, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kWarn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::kError, event, fields);
}

}  // namespace spotgrid::util::log
