#pragma once
// The one wall clock: whole Unix seconds, UTC (time in spotgrid is integer
// seconds). Components take a clock function so tests can set the time.
#include <chrono>
#include <cstdint>

namespace spotgrid::util {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace spotgrid::util
