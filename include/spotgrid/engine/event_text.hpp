#pragma once
// One line of canonical text per event, every field named: readable in the demo
// and in logs, and stable enough to hash when checking determinism.

#include <span>
#include <string>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::engine {

std::string to_text(const Event& event);
// A command's events, one line each, joined by newlines.
std::string to_text(std::span<const Event> events);

}  // namespace spotgrid::engine
