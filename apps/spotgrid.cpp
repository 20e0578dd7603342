// spotgrid: the command-line client. See `spotgrid --help` and cli/.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "config.hpp"

int main(int argc, char** argv) {
  const auto from_environment = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  spotgrid::cli::Environment environment;
  environment.url = from_environment("SPOTGRID_URL");
  environment.api_key = from_environment("SPOTGRID_API_KEY");
  environment.config =
      spotgrid::cli::config_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
  environment.stderr_is_terminal = ::isatty(STDERR_FILENO) == 1;
  environment.input = &std::cin;
  const std::vector<std::string> args(argv + 1, argv + argc);
  return static_cast<int>(spotgrid::cli::run(args, environment, std::cout, std::cerr));
}
