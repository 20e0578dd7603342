#pragma once
// The command lines of spotgrid-replay and spotgrid-tracegen (README "Market
// replay"), as functions so that the executables stay thin and tests and
// benchmarks can run them.
#include <ostream>
#include <string_view>
#include <vector>

#include "spotgrid/replay/replay.hpp"

namespace spotgrid::replay {

// Exit codes: 0 done, 1 a file could not be read or is not a trace, 2 usage.
int replay_command(const std::vector<std::string_view>& args, std::ostream& out, std::ostream& err);
int tracegen_command(const std::vector<std::string_view>& args, std::ostream& out,
                     std::ostream& err);

// The market, the baseline and (when asked) the shared FIFO over one trace.
std::vector<RunResult> replay_all(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                                  const Trace& trace, const ReplayOptions& options);
// This process's peak resident memory, KiB.
std::int64_t peak_rss_kib();

}  // namespace spotgrid::replay
