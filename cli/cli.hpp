#pragma once
// The `spotgrid` command-line client (apps/spotgrid.cpp is its main): verbs
// that mirror the API, human tables or --json, and exit codes that mean
// something to a script.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace spotgrid::cli {

enum class Exit : int {
  kOk = 0,
  kFailed = 1,       // something local: a file, the config
  kUsage = 2,        // the command line is wrong (see --help)
  kRefused = 3,      // the market refused the request; the reason is printed
  kAuth = 4,         // no key, a bad key, or a key whose role may not do that
  kUnreachable = 5,  // no answer from the server, or it is unavailable (5xx)
};

// What the process was started with, so tests can run the CLI in-process.
struct Environment {
  std::string url;                  // SPOTGRID_URL ("" when unset)
  std::string api_key;              // SPOTGRID_API_KEY
  std::string config;               // the config file's path
  int timeout_seconds = 30;         // SPOTGRID_TIMEOUT_SECONDS: each connect, write or read
  bool stderr_is_terminal = false;  // progress bars only for a person
  // Reads a key typed in for `login` (without echo on a terminal).
  std::function<std::string()> read_key;
};

Exit run(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
         std::ostream& err);

}  // namespace spotgrid::cli
