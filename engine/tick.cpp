// The tick: time's only way to act. Fires due timers in a fixed order (so replay
// is exact), bounded per tick, then publishes each pool's index price.

#include <algorithm>
#include <array>
#include <cassert>
#include <span>

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// Pops the next due timer, if any and if the tick still has budget.
std::optional<std::uint64_t> pop_due(TimerHeap& heap, UnixSeconds now, std::uint32_t& budget) {
  if (heap.empty() || heap.front().first > now || budget == 0) return std::nullopt;
  std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
  const std::uint64_t id = heap.back().second;
  heap.pop_back();
  --budget;
  return id;
}

void activate_listings(State& state, std::uint32_t& budget) {
  while (auto id = pop_due(state.pending_listings, state.now, budget)) {
    const auto slot = state.listings.slot_of(*id);
    // A timer before its record's time is none of its own: a restored
    // snapshot's, or one left by an earlier record under the same id (ids
    // repeat after 2^32 reuses of a slot). The record waits for its own.
    if (!slot || state.listings[*slot].state != ListingState::kPending ||
        state.listings[*slot].from > state.now)
      continue;
    open_listing(state, *slot);
  }
}

void expire_listings(State& state, std::uint32_t& budget) {
  while (auto id = pop_due(state.listing_expiries, state.now, budget)) {
    const auto slot = state.listings.slot_of(*id);
    if (!slot || state.listings[*slot].state == ListingState::kClosed ||
        state.listings[*slot].until > state.now)
      continue;
    close_listing(state, *slot, /*withdrawn=*/false);
  }
}

void end_due_leases(State& state, std::uint32_t& budget) {
  while (auto id = pop_due(state.lease_deadlines, state.now, budget)) {
    const auto slot = state.leases.slot_of(*id);
    if (!slot || !state.leases[*slot].active()) continue;
    const LeaseRec& lease = state.leases[*slot];
    if (lease.reclaim_at != 0 && lease.reclaim_at <= state.now) {
      end_lease(state, *slot, LeaseEnd::kReclaimed, lease.billable_end,
                lease.planned_end - lease.reclaim_at);
    } else if (lease.planned_end <= state.now) {
      end_lease(state, *slot, LeaseEnd::kCompleted, lease.planned_end, 0);
    }
  }
}

void close_settled_leases(State& state, std::uint32_t& budget) {
  while (auto id = pop_due(state.lease_closes, state.now, budget)) {
    const auto slot = state.leases.slot_of(*id);
    if (slot && !state.leases[*slot].active()) close_lease(state, *slot);
  }
}

void start_deferred_orders(State& state, std::uint32_t& budget) {
  while (auto id = pop_due(state.deferred_orders, state.now, budget)) {
    const auto slot = state.orders.slot_of(*id);
    if (!slot || state.orders[*slot].state != OrderState::kDeferred ||
        state.orders[*slot].start_at > state.now)
      continue;
    state.orders[*slot].state = OrderState::kResting;
    work_order(state, *slot);
  }
}

// A cheaper index can cross resting bids that floating listings could not reach
// before: they work in arrival order, whatever their region.
void rematch_floating(State& state, PoolIndex pool, std::uint32_t& budget) {
  // On the stack: a tick allocates nothing.
  std::array<std::uint32_t, limits::kMaxRegions> next_in_region{};
  const std::vector<RegionAsks>& regions = state.pools[pool].asks;
  SPOTGRID_CHECK(regions.size() <= next_in_region.size());
  for (std::size_t region = 0; region < regions.size(); ++region)
    next_in_region[region] = regions[region].floating.head;
  const std::span<std::uint32_t> heads(next_in_region.data(), regions.size());
  while (budget > 0) {
    std::uint32_t* earliest = nullptr;
    for (std::uint32_t& slot : heads) {
      if (slot != kNil &&
          (earliest == nullptr || state.listings[slot].arrival < state.listings[*earliest].arrival))
        earliest = &slot;
    }
    if (earliest == nullptr) return;
    const std::uint32_t slot = *earliest;
    *earliest = state.listings[slot].next;
    --budget;
    work_listing(state, slot);
  }
}

void publish_indices(State& state, std::uint32_t& budget) {
  for (std::size_t i = 0; i < state.pools.size(); ++i) {
    const auto pool = static_cast<PoolIndex>(i);
    const Micros previous = state.pools[i].index;
    state.pools[i].index = compute_index(state, pool);
    // Only changes are news: an unchanged index would be a row per pool per second.
    if (state.pools[i].index != previous) state.emit(IndexPublished{pool, state.pools[i].index});
    if (state.pools[i].index < previous) rematch_floating(state, pool, budget);
  }
}

}  // namespace

// Index = reference x (1 + band x pressure), pressure in [-1, 1] from utilisation
// (leased / listed) and the imbalance of open demand against free supply.
Micros compute_index(const State& state, PoolIndex pool) {
  const PoolBook& book = state.pools[pool];
  const std::int64_t free = book.ask_cards;
  const std::int64_t demand = book.bid_cards;
  const std::int64_t leased = book.cards_leased;
  const std::int64_t utilisation_bp =
      leased + free == 0 ? 0 : leased * kBasisPointsOne / (leased + free);
  const std::int64_t imbalance_bp =
      demand + free == 0 ? 0 : (demand - free) * kBasisPointsOne / (demand + free);
  const std::int64_t pressure_bp = std::clamp<std::int64_t>(
      (2 * utilisation_bp - kBasisPointsOne + imbalance_bp) / 2, -kBasisPointsOne, kBasisPointsOne);
  const Micros reference = state.catalog.model(pool).reference_price_micros_per_card_hour;
  const Int128 swing = Int128{reference} * state.config.index_band_bp * pressure_bp /
                       (Int128{kBasisPointsOne} * kBasisPointsOne);
  return std::max<Micros>(reference + static_cast<Micros>(swing), 1);
}

void apply_tick(State& state) {
  std::uint32_t budget = limits::kMaxTimersPerTick;
  activate_listings(state, budget);
  expire_listings(state, budget);
  end_due_leases(state, budget);
  close_settled_leases(state, budget);
  start_deferred_orders(state, budget);
  publish_indices(state, budget);
  pay_scheduled(state);
}

}  // namespace spotgrid::engine
