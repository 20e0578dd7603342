#pragma once
// The engine demo: a seeded market replayed through the engine, printing each
// trade as it happens and every pool's book at the end.

#include <cstdint>
#include <iosfwd>
#include <string>

namespace spotgrid::sim {

struct DemoOptions {
  std::string config_dir = "config";
  std::uint64_t seed = 7;
  std::uint32_t commands = 3'000;
  std::uint32_t trades_to_print = 40;
};

// Returns a process exit code: 0, or 1 with a message on `err` (bad config, broken invariant).
int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace spotgrid::sim
