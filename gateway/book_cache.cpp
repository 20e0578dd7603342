#include "book_cache.hpp"

#include <variant>

namespace spotgrid::gateway {

bool moves_a_book(const engine::EventBody& body) {
  return std::holds_alternative<engine::ListingAdded>(body) ||
         std::holds_alternative<engine::ListingClosed>(body) ||
         std::holds_alternative<engine::OrderResting>(body) ||
         std::holds_alternative<engine::OrderFilled>(body) ||
         std::holds_alternative<engine::OrderCancelled>(body) ||
         std::holds_alternative<engine::OrderAmended>(body) ||
         std::holds_alternative<engine::LeaseStarted>(body) ||
         std::holds_alternative<engine::LeaseEnded>(body) ||
         std::holds_alternative<engine::IndexPublished>(body);
}

void BookCache::committed(std::span<const engine::Event> events) {
  for (const engine::Event& event : events) {
    if (moves_a_book(event.body)) {
      generation_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
  }
}

std::optional<std::string> BookCache::get(std::size_t pool, std::uint64_t generation) {
  Entry& entry = entries_[pool];
  std::lock_guard lock(entry.mutex);
  if (entry.generation != generation || entry.body.empty()) return std::nullopt;
  return entry.body;
}

void BookCache::put(std::size_t pool, std::uint64_t generation, std::string body) {
  Entry& entry = entries_[pool];
  std::lock_guard lock(entry.mutex);
  if (generation < entry.generation) return;  // a newer answer is already there
  entry.generation = generation;
  entry.body = std::move(body);
}

}  // namespace spotgrid::gateway
