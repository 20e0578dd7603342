#pragma once
// Market data for the streams: committed events become messages on channels
// (trades, index and book depth per pool; each account's order and lease
// events), fanned out through Redis pub/sub so that every spotgridd process
// serves every stream (docs/architecture.md#market-data-and-streams). Without
// Redis, or while it is down, this process delivers to its own subscribers
// directly (fail open: other processes miss those messages; market data carries
// no money).
//
// Threads: the persister hands events over (bounded queue: when it is full,
// events are dropped and counted, never blocking a commit); a feed thread turns
// them into messages and publishes them; a subscriber thread takes Redis's
// messages to the hub. Book depth is conflated: at most one snapshot per pool
// every `book_interval`, when it changed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "redis.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/ledger/read_model.hpp"
#include "spotgrid/util/bounded_queue.hpp"
#include "stream_hub.hpp"

namespace spotgrid::gateway {

class MarketFeed {
 public:
  static constexpr std::size_t kQueueCapacity = 65'536;  // events
  static constexpr const char* kRedisChannel = "spotgrid:stream";

  MarketFeed(StreamHub& hub, RedisOptions redis, const engine::Catalog& catalog);
  ~MarketFeed();  // stop()
  MarketFeed(const MarketFeed&) = delete;
  MarketFeed& operator=(const MarketFeed&) = delete;

  // Persister thread: copies the events into the queue, or drops them when full.
  void on_committed(std::span<const engine::Event> events);
  // Owners of orders and leases, and the books, come from `model`.
  void start(const ledger::ReadModel& model);
  void stop();

  std::uint64_t dropped_events() const { return dropped_.load(); }
  std::uint64_t published() const { return published_.load(); }
  bool redis_connected() const { return subscribed_.load(); }

 private:
  struct Message {
    std::string channel;  // internal name
    std::string text;
  };
  struct Owners {
    AccountId buyer = 0;
    AccountId supplier = 0;
  };

  void run_feed();
  void run_subscriber();
  void render(const engine::Event& event, std::vector<Message>& out);
  void render_books(std::vector<Message>& out);
  void dispatch(std::vector<Message>& messages);
  AccountId order_owner(OrderId order) const;
  Owners lease_owners(LeaseId lease) const;

  StreamHub& hub_;
  Redis redis_;
  RedisOptions redis_options_;
  const engine::Catalog& catalog_;
  const ledger::ReadModel* model_ = nullptr;

  util::BoundedQueue<engine::Event> queue_{kQueueCapacity};  // full: dropped, counted

  // Feed thread only.
  std::vector<std::string> last_books_;  // per pool, the last depth message
  std::vector<std::uint64_t> last_book_versions_;
  std::chrono::steady_clock::time_point books_due_{};

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> running_{false};
  std::thread feed_thread_;
  std::thread subscriber_thread_;
};

}  // namespace spotgrid::gateway
