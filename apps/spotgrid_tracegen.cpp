// spotgrid-tracegen: a seeded synthetic GPU cluster trace for spotgrid-replay.
#include <iostream>

#include "spotgrid/replay/command_line.hpp"

int main(int argc, char** argv) {
  return spotgrid::replay::tracegen_command({argv + 1, argv + argc}, std::cout, std::cerr);
}
