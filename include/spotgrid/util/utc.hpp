#pragma once
// Calendar arithmetic on Unix seconds, in UTC (months for usage partitions,
// billing periods and statements), and the text of times and amounts that
// exports, statements and the CLI print.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "spotgrid/engine/types.hpp"

namespace spotgrid::util {

// The first second of the month holding `at`, moved `months_later` months on.
inline UnixSeconds month_start(UnixSeconds at, int months_later = 0) {
  const std::chrono::year_month_day date{
      std::chrono::floor<std::chrono::days>(std::chrono::sys_seconds{std::chrono::seconds{at}})};
  const std::chrono::year_month month =
      date.year() / date.month() + std::chrono::months{months_later};
  return std::chrono::sys_seconds{std::chrono::sys_days{month / 1}}.time_since_epoch().count();
}

// "2026-12-01T19:20:00Z" (ISO 8601, UTC).
inline std::string format_utc(UnixSeconds at) {
  const auto seconds = std::chrono::sys_seconds{std::chrono::seconds{at}};
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss time{seconds - day};
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return text.data();
}

// Micro-units as a decimal with six places, exactly: "-1.500000".
inline std::string format_decimal(Micros micros) {
  const bool negative = micros < 0;
  const auto magnitude =
      negative ? 0 - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  std::array<char, 40> text{};
  std::snprintf(text.data(), text.size(), "%s%llu.%06llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / 1'000'000),
                static_cast<unsigned long long>(magnitude % 1'000'000));
  return text.data();
}

}  // namespace spotgrid::util
