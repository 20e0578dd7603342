#pragma once
// GET /v1/market/{pool}/book answers, kept until a committed event moves a book.
// Reading a book means a round trip to the engine thread; most reads between two
// changes can share one. An answer is stored under the generation current before
// its read, and a commit that moves any book starts a new generation, so an
// answer is never served after a commit it may not reflect.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::gateway {

// Events whose effect shows in a book or its index.
bool moves_a_book(const engine::EventBody& body);

class BookCache {
 public:
  explicit BookCache(std::size_t pools) : entries_(pools) {}

  // After a commit (persister thread): a new generation if any event moved a book.
  void committed(std::span<const engine::Event> events);
  // After the engine was rebuilt: what it had applied but not committed is gone.
  void invalidate() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::optional<std::string> get(std::size_t pool, std::uint64_t generation);
  void put(std::size_t pool, std::uint64_t generation, std::string body);

 private:
  struct Entry {
    std::mutex mutex;
    std::uint64_t generation = 0;
    std::string body;  // empty: nothing cached
  };
  std::atomic<std::uint64_t> generation_{1};
  std::vector<Entry> entries_;
};

}  // namespace spotgrid::gateway
