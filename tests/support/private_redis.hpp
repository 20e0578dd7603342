#pragma once
// A Redis of a test's own (scripts/redis.sh): started on a free loopback port,
// stoppable and restartable on the same port, stopped and deleted at the end.
#include <cstdint>
#include <string>

namespace spotgrid::testing {

class PrivateRedis {
 public:
  PrivateRedis();  // starts it
  ~PrivateRedis();
  PrivateRedis(const PrivateRedis&) = delete;
  PrivateRedis& operator=(const PrivateRedis&) = delete;

  std::uint16_t port() const { return port_; }
  void stop();
  void start();

 private:
  std::string state_dir_;
  std::uint16_t port_ = 0;
};

}  // namespace spotgrid::testing
