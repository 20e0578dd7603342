#pragma once
// What each engine refusal means to the person who sent the request, and what
// to change: the API, the console and the CLI all show these words.
#include <string_view>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::gateway {

struct Refusal {
  std::string_view field;    // the request field to change ("" when none)
  std::string_view explain;  // a whole sentence: what was wrong and what to do
};

Refusal refusal_of(engine::Reject reason);

}  // namespace spotgrid::gateway
