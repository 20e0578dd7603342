#include "private_redis.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace spotgrid::testing {

namespace {

const std::string kScript = std::string(SPOTGRID_SOURCE_DIR) + "/scripts/redis.sh";

// Runs `command`; its standard output, or throws when it failed.
std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 256> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe.get()) != nullptr)
    out += chunk.data();
  if (pclose(pipe.release()) != 0) throw std::runtime_error(command + " failed: " + out);
  return out;
}

}  // namespace

PrivateRedis::PrivateRedis() {
  std::string pattern = "/tmp/spotgrid-redis.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  state_dir_ = pattern;
  start();
}

PrivateRedis::~PrivateRedis() {
  try {
    stop();
    run("rm -rf " + state_dir_);
  } catch (const std::exception&) {
    // best effort at the end of a test
  }
}

void PrivateRedis::start() {
  port_ = static_cast<std::uint16_t>(std::stoi(run(kScript + " start " + state_dir_)));
}

void PrivateRedis::stop() {
  run(kScript + " stop " + state_dir_);
}

}  // namespace spotgrid::testing
