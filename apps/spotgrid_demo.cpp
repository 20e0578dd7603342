// spotgrid-demo: plays a seeded market through the matching engine, in memory
// or (with --conninfo) durably through PostgreSQL.
// Usage: spotgrid-demo [--config DIR] [--seed N] [--commands N] [--conninfo PG]

#include <charconv>
#include <cstring>
#include <iostream>
#include <string_view>

#include "spotgrid/sim/demo.hpp"

namespace {

bool parse_number(std::string_view text, auto& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  spotgrid::sim::DemoOptions options;
  for (int i = 1; i + 1 < argc + 1; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = i + 1 < argc ? argv[i + 1] : "";
    bool ok = i + 1 < argc;
    if (flag == "--config") {
      options.config_dir = std::string(value);
    } else if (flag == "--seed") {
      ok = ok && parse_number(value, options.seed);
    } else if (flag == "--conninfo") {
      options.conninfo = std::string(value);
    } else if (flag == "--commands") {
      ok = ok && parse_number(value, options.commands);
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr
          << "usage: spotgrid-demo [--config DIR] [--seed N] [--commands N] [--conninfo PG]\n";
      return 2;
    }
  }
  return spotgrid::sim::run_demo(options, std::cout, std::cerr);
}
