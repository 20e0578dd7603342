#pragma once
// One line of canonical text per event, every field named: readable in the demo
// and in logs, and stable enough to hash when checking determinism.

#include <string>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::engine {

std::string to_text(const Event& event);

}  // namespace spotgrid::engine
