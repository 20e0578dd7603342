#pragma once
// The market demo: a seeded market played through the engine, printing each
// trade as it happens and every pool's book at the end. Given a PostgreSQL
// connection it runs durably instead: recovered from and committed to the
// database, ending with the ledger's trial balance; run it again to see the
// market carry on from where it stopped.

#include <cstdint>
#include <iosfwd>
#include <string>

namespace spotgrid::sim {

struct DemoOptions {
  std::string config_dir = "config";
  std::uint64_t seed = 7;
  std::uint32_t commands = 3'000;
  std::uint32_t trades_to_print = 40;
  std::string conninfo;  // empty: in memory only
};

// Returns a process exit code: 0, or 1 with a message on `err` (bad config, broken invariant).
int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err);

}  // namespace spotgrid::sim
