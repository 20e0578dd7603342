// spotgrid-replay: a GPU cluster trace through the real engine in virtual
// time, against a first-come-first-served baseline (README "Market replay").
#include <iostream>

#include "spotgrid/replay/command_line.hpp"

int main(int argc, char** argv) {
  return spotgrid::replay::replay_command({argv + 1, argv + argc}, std::cout, std::cerr);
}
