#pragma once
// Invariant checks that stay on in Release builds (as TigerBeetle keeps its
// assertions in production): each is an O(1) comparison on the engine's own
// state, so a broken invariant stops the process at the first wrong step
// instead of corrupting the market. The failure path is out of line and cold,
// so a check costs one predictable branch; README "Benchmarks" shows the cost.
#include <cstdio>
#include <cstdlib>

namespace spotgrid::util {

[[noreturn]] [[gnu::noinline]] [[gnu::cold]] inline void invariant_broken(const char* file,
                                                                          int line,
                                                                          const char* condition) {
  std::fprintf(stderr, "spotgrid: invariant broken at %s:%d: %s\n", file, line, condition);
  std::abort();
}

}  // namespace spotgrid::util

#define SPOTGRID_CHECK(condition)                                         \
  do {                                                                    \
    if (!(condition)) [[unlikely]]                                        \
      ::spotgrid::util::invariant_broken(__FILE__, __LINE__, #condition); \
  } while (false)
