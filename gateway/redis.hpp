#pragma once
// A small pool of synchronous hiredis connections, built to fail open: when
// Redis does not answer within the timeout, the call returns nothing and the
// connection is retried only after a pause, so a Redis outage costs requests a
// flag check rather than a connect attempt each (docs/architecture.md#redis: Redis
// holds nothing that cannot be rebuilt; the gateway serves without it).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spotgrid::gateway {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: no Redis configured
  std::chrono::milliseconds timeout{100};
  std::chrono::milliseconds reconnect_pause{500};
  unsigned connections = 4;
};

// A reply, flattened: what the gateway's few commands return.
struct RedisReply {
  enum class Type : std::uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string text;  // string, status or error
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
};

class Redis {
 public:
  explicit Redis(RedisOptions options);
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  bool configured() const { return options_.port != 0; }
  // One command, arguments sent binary-safe. Nothing when Redis is not
  // configured, down, or did not answer in time (the connection is dropped).
  std::optional<RedisReply> command(std::initializer_list<std::string_view> arguments);
  // Commands sent in one round trip; nothing when any failed to come back.
  std::optional<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands);
  std::uint64_t failures() const { return failures_.load(); }
  const RedisOptions& options() const { return options_; }

  struct Slot;

 private:
  Slot& acquire(std::unique_lock<std::mutex>& lock);

  RedisOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::uint64_t> failures_{0};
};

// A dedicated subscriber connection: blocks in `next_message` up to the timeout.
class RedisSubscriber {
 public:
  RedisSubscriber(RedisOptions options, std::string channel);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // Connects and subscribes if needed. A message's payload, or nothing on a
  // timeout or a failure (then connected() tells which).
  std::optional<std::string> next_message(std::chrono::milliseconds timeout);
  bool connected() const { return context_ != nullptr; }

 private:
  struct Context;
  RedisOptions options_;
  std::string channel_;
  std::unique_ptr<Context> context_;
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace spotgrid::gateway
