// spotgrid: the command-line client. See `spotgrid --help` and cli/.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

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
  const std::string timeout = from_environment("SPOTGRID_TIMEOUT_SECONDS");
  environment.timeout_seconds = std::clamp(std::atoi(timeout.c_str()), 0, 3'600);
  if (environment.timeout_seconds == 0) environment.timeout_seconds = 30;
  environment.stderr_is_terminal = ::isatty(STDERR_FILENO) == 1;
  environment.read_key = [] {
    // Not echoed when typed at a terminal: a key is a secret.
    termios saved{};
    const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (terminal) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string key;
    std::getline(std::cin, key);
    if (terminal) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
      std::cerr << '\n';
    }
    return key;
  };
  const std::vector<std::string> args(argv + 1, argv + argc);
  return static_cast<int>(spotgrid::cli::run(args, environment, std::cout, std::cerr));
}
