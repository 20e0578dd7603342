#pragma once
// One command as the engine applied it: what the persister writes and what
// recovery replays against.
#include <cstdint>
#include <optional>
#include <vector>

#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/event.hpp"

namespace spotgrid::ledger {

struct Applied {
  engine::Command command;
  std::uint64_t command_seq = 0;
  std::optional<engine::Reject> rejected;
  std::vector<engine::Event> events;  // empty only for a tick that changed nothing
};

}  // namespace spotgrid::ledger
