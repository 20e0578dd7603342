#pragma once
// Calendar arithmetic on Unix seconds, in UTC (months for usage partitions,
// billing periods and statements).
#include <chrono>

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

}  // namespace spotgrid::util
