#include "spotgrid/util/log.hpp"

#include "spotgrid/util/text.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>

namespace spotgrid::util::log {

namespace {

constexpr std::size_t kQueuedLines = 8'192;  // beyond: the oldest are dropped

std::mutex& logger_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<spdlog::logger>& current() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Valid UTF-8 (each byte of a broken sequence becomes '?'), so every line is
// valid JSON whatever a cause or an address holds; only the first line of a
// multi-line text (libpq's DETAIL lines can quote row data).
std::string printable(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xe  ? 3
                               : (lead >> 3) == 0x1e ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size() || !util::is_utf8(text.substr(i, length))) {
      out += '?';
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::shared_ptr<spdlog::logger> make_logger(const Options& options) {
  static std::once_flag pool_once;
  std::call_once(pool_once, [] { spdlog::init_thread_pool(kQueuedLines, 1); });
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
  }
  auto logger =
      std::make_shared<spdlog::async_logger>("spotgrid", std::move(sink), spdlog::thread_pool(),
                                             spdlog::async_overflow_policy::overrun_oldest);
  // The message is the rest of the object, already JSON (see write()).
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::err);
  return logger;
}

std::shared_ptr<spdlog::logger> logger() {
  const std::lock_guard lock(logger_mutex());
  if (!current()) current() = make_logger(Options{});
  return current();
}

}  // namespace

void init(const Options& options) {
  auto made = make_logger(options);
  const std::lock_guard lock(logger_mutex());
  if (current()) current()->flush();
  current() = std::move(made);
}

void flush() {
  // An async logger's flush is queued like a line: wait until the writer
  // thread has taken everything, then for the write it is doing.
  logger()->flush();
  for (int i = 0; i < 200 && spdlog::thread_pool()->queue_size() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  const auto shared = logger();
  if (!shared->should_log(to_spdlog(level))) return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  // Members of the line's object, without its braces (the pattern adds them).
  w.StartObject();
  w.Key("event");
  w.String(event.data(), static_cast<rapidjson::SizeType>(event.size()));
  for (const Field& field : fields) {
    w.Key(field.name.data(), static_cast<rapidjson::SizeType>(field.name.size()));
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            const std::string text = printable(value);
            w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
          } else if constexpr (std::is_same_v<T, bool>) {
            w.Bool(value);
          } else if constexpr (std::is_signed_v<T>) {
            w.Int64(value);
          } else {
            w.Uint64(value);
          }
        },
        field.value);
  }
  w.EndObject();
  const std::string_view members(buffer.GetString() + 1, buffer.GetSize() - 2);
  shared->log(to_spdlog(level), "{}", members);
}

}  // namespace spotgrid::util::log
