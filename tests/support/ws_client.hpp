#pragma once
// A blocking WebSocket client for tests, on Beast: plain or TLS (any
// certificate accepted), every wait bounded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spotgrid::testing {

class WsClient {
 public:
  // Connects and asks for the upgrade; refused_status() is non-zero when the
  // server answered with something other than 101.
  WsClient(std::uint16_t port, const std::string& bearer, const std::string& target = "/v1/stream",
           bool tls = false, const std::vector<std::pair<std::string, std::string>>& headers = {});
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  unsigned refused_status() const;
  void send_text(const std::string& text);
  void send_binary(const std::string& data);
  // The next message; nothing when none came within `timeout` or the
  // connection ended (then close_code() says how: 0 when without a close frame).
  std::optional<std::string> receive(std::chrono::milliseconds timeout);
  // Receives until a message contains `needle`; nothing if none did in time.
  std::optional<std::string> receive_containing(const std::string& needle,
                                                std::chrono::milliseconds timeout);
  bool closed() const;
  std::uint16_t close_code() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::testing
