// Price levels: each is a FIFO of records linked through prev/next, kept in
// arrival order so time priority survives cards returning to a listing.

#include <algorithm>
#include <vector>

#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// Links `slot` into `level` by arrival: usually at the tail, earlier when a
// returning listing keeps its original place.
template <typename Record>
void link_by_arrival(Slab<Record>& slab, Level& level, std::int64_t& total, std::uint32_t slot,
                     std::uint32_t cards) {
  Record& record = slab[slot];
  std::uint32_t after = level.tail;
  while (after != kNil && slab[after].arrival > record.arrival)
    after = slab[after].prev;
  record.prev = after;
  record.next = after == kNil ? level.head : slab[after].next;
  (record.next == kNil ? level.tail : slab[record.next].prev) = slot;
  (after == kNil ? level.head : slab[after].next) = slot;
  level.cards += cards;
  total += cards;
  ++level.entries;
  record.in_book = true;
}

template <typename Record>
void unlink(Slab<Record>& slab, Level& level, std::int64_t& total, std::uint32_t slot,
            std::uint32_t cards) {
  Record& record = slab[slot];
  (record.prev == kNil ? level.head : slab[record.prev].next) = record.next;
  (record.next == kNil ? level.tail : slab[record.next].prev) = record.prev;
  record.prev = record.next = kNil;
  SPOTGRID_CHECK(level.cards >= cards && level.entries > 0);
  level.cards -= cards;
  total -= cards;
  --level.entries;
  record.in_book = false;
}

template <typename Levels>
void erase_if_empty(Levels& levels, typename Levels::iterator it) {
  if (it->second.entries == 0) levels.erase(it);
}

BidLevels& bid_levels(State& state, const OrderRec& order) {
  return order.spec.target.kind == TargetKind::kModel ? state.pools[order.spec.target.pool].bids
                                                      : state.class_bids;
}

std::int64_t& bid_total(State& state, const OrderRec& order) {
  return order.spec.target.kind == TargetKind::kModel
             ? state.pools[order.spec.target.pool].bid_cards
             : state.class_bid_cards;
}

RegionAsks& region_asks(State& state, const ListingRec& listing) {
  return state.pools[listing.pool].asks[listing.region];
}

// A booked record's level, as it linked it (check_levels in invariants.cpp
// checks each one against its book).
AskLevel& listing_level(State& state, const ListingRec& listing) {
  SPOTGRID_CHECK(listing.in_book);
  if (listing.floating) return region_asks(state, listing).floating;
  SPOTGRID_CHECK(listing.level->first == listing.price);
  return listing.level->second;
}

Level& order_level(const OrderRec& order) {
  SPOTGRID_CHECK(order.in_book && order.level->first == order.limit);
  return order.level->second;
}

// Sorts slots by arrival, for relinking them in time priority; false unless
// each arrival is there once, none is 0 (the first is 1) and none is yet to come.
template <typename Record>
bool sort_by_arrival(const Slab<Record>& slab, std::vector<std::uint32_t>& slots,
                     std::uint64_t arrival_seq) {
  const auto arrival = [&](std::uint32_t slot) { return slab[slot].arrival; };
  std::sort(slots.begin(), slots.end(),
            [&](std::uint32_t a, std::uint32_t b) { return arrival(a) < arrival(b); });
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if ((i > 0 && arrival(slots[i - 1]) == arrival(slots[i])) || arrival(slots[i]) == 0 ||
        arrival(slots[i]) > arrival_seq)
      return false;
  }
  return true;
}

// Whether the pools an order names exist: matching and holds go by its mask, the
// book by its model's pool (which its mask must be, alone).
bool pools_known(const State& state, const OrderRec& order) {
  const std::size_t count = state.pools.size();
  const PoolMask beyond = count >= 64 ? 0 : order.pools >> count;
  const bool model = order.spec.target.kind == TargetKind::kModel;
  return order.pools != 0 && beyond == 0 &&
         (!model ||
          (order.spec.target.pool < count && order.pools == PoolMask{1} << order.spec.target.pool));
}

// Books each of `booked` (in arrival order) afresh, as if it had just come.
template <typename Record, typename Insert>
void rebook(Slab<Record>& slab, const std::vector<std::uint32_t>& booked, Insert insert) {
  for (const std::uint32_t slot : booked) {
    Record& record = slab[slot];
    record.in_book = false;
    record.prev = record.next = kNil;
    insert(slot);
  }
}

void resize(Level& level, std::int64_t& total, std::int64_t delta) {
  SPOTGRID_CHECK(level.cards + delta >= 0);
  level.cards = static_cast<std::uint32_t>(level.cards + delta);
  total += delta;
}

}  // namespace

void book_resize_listing(State& state, const ListingRec& listing, std::int64_t delta) {
  resize(listing_level(state, listing), state.pools[listing.pool].ask_cards, delta);
}

void book_resize_order(State& state, const OrderRec& order, std::int64_t delta) {
  resize(order_level(order), bid_total(state, order), delta);
}

Micros ask_price(const State& state, const ListingRec& listing) {
  return listing.floating ? state.pools[listing.pool].index : listing.price;
}

void book_insert_listing(State& state, std::uint32_t slot) {
  ListingRec& listing = state.listings[slot];
  SPOTGRID_CHECK(!listing.in_book && listing.state == ListingState::kActive &&
                 listing.cards_free() > 0);
  PoolBook& pool = state.pools[listing.pool];
  RegionAsks& asks = region_asks(state, listing);
  if (!listing.floating) listing.level = asks.fixed.try_emplace(listing.price).first;
  AskLevel& level = listing.floating ? asks.floating : listing.level->second;
  link_by_arrival(state.listings, level, pool.ask_cards, slot, listing.cards_free());
  level.add(reliability_tier(listing.node_reliability), +1);
  pool.regions_with_asks |= RegionMask{1} << listing.region;
}

void book_remove_listing(State& state, std::uint32_t slot) {
  ListingRec& listing = state.listings[slot];
  SPOTGRID_CHECK(listing.in_book);
  PoolBook& pool = state.pools[listing.pool];
  RegionAsks& asks = region_asks(state, listing);
  if (listing.floating) {
    unlink(state.listings, asks.floating, pool.ask_cards, slot, listing.cards_free());
    asks.floating.add(reliability_tier(listing.node_reliability), -1);
  } else {
    const auto it = listing.level;
    SPOTGRID_CHECK(it->first == listing.price);
    unlink(state.listings, it->second, pool.ask_cards, slot, listing.cards_free());
    it->second.add(reliability_tier(listing.node_reliability), -1);
    erase_if_empty(asks.fixed, it);
    listing.level = {};  // names no level it may have erased
  }
  if (asks.empty()) pool.regions_with_asks &= ~(RegionMask{1} << listing.region);
}

void link_to_node(State& state, std::uint32_t listing_slot) {
  ListingRec& listing = state.listings[listing_slot];
  NodeRec& node = *state.nodes.find(listing.node);
  listing.node_reliability = node.reliability;
  listing.node_cu = node.cu;
  listing.prev_on_node = kNil;
  listing.next_on_node = node.first_listing;
  if (node.first_listing != kNil) state.listings[node.first_listing].prev_on_node = listing_slot;
  node.first_listing = listing_slot;
}

void unlink_from_node(State& state, std::uint32_t listing_slot) {
  ListingRec& listing = state.listings[listing_slot];
  NodeRec& node = *state.nodes.find(listing.node);
  (listing.prev_on_node == kNil ? node.first_listing
                                : state.listings[listing.prev_on_node].next_on_node) =
      listing.next_on_node;
  if (listing.next_on_node != kNil)
    state.listings[listing.next_on_node].prev_on_node = listing.prev_on_node;
  listing.prev_on_node = listing.next_on_node = kNil;
}

void share_reliability(State& state, const NodeRec& node) {
  const ReliabilityTier tier = reliability_tier(node.reliability);
  for (std::uint32_t slot = node.first_listing; slot != kNil;
       slot = state.listings[slot].next_on_node) {
    ListingRec& listing = state.listings[slot];
    const ReliabilityTier was = reliability_tier(listing.node_reliability);
    listing.node_reliability = node.reliability;
    if (!listing.in_book || was == tier) continue;
    AskLevel& level = listing_level(state, listing);
    level.add(was, -1);
    level.add(tier, +1);
  }
}

bool rebuild_asks(State& state) {
  // A listing is in the book exactly when it is active with free cards; a
  // snapshot that says otherwise, or names a pool, region or node that does
  // not exist, does not restore. Checked for every listing, booked or not: a
  // pending one is booked later, without these checks.
  std::vector<std::uint32_t> slots;  // every live one, then the booked ones
  for (std::uint32_t slot = 0; slot < state.listings.slot_count(); ++slot) {
    if (!state.listings.is_live(slot)) continue;
    const ListingRec& listing = state.listings[slot];
    if (listing.cards_leased > listing.cards_offered || state.nodes.find(listing.node) == nullptr ||
        listing.pool >= state.pools.size() || listing.region >= state.tariffs.region_count())
      return false;
    const bool bookable = listing.state == ListingState::kActive && listing.cards_free() > 0;
    if (listing.in_book != bookable) return false;
    slots.push_back(slot);
  }
  if (!sort_by_arrival(state.listings, slots, state.arrival_seq)) return false;
  std::erase_if(slots, [&](std::uint32_t slot) { return !state.listings[slot].in_book; });
  for (NodeRec& node : state.nodes.items())
    node.first_listing = kNil;
  for (std::uint32_t slot = 0; slot < state.listings.slot_count(); ++slot) {
    if (state.listings.is_live(slot)) link_to_node(state, slot);
  }
  for (PoolBook& pool : state.pools) {
    if (pool.asks.size() != state.tariffs.region_count()) return false;
    for (RegionAsks& region : pool.asks) {  // emptied in place: the maps keep the arena
      region.fixed.clear();
      region.floating = AskLevel{};
    }
    pool.regions_with_asks = 0;
    pool.ask_cards = 0;
  }
  rebook(state.listings, slots, [&](std::uint32_t slot) { book_insert_listing(state, slot); });
  return true;
}

void book_insert_order(State& state, std::uint32_t slot) {
  OrderRec& order = state.orders[slot];
  SPOTGRID_CHECK(!order.in_book && order.cards_open > 0);
  order.level = bid_levels(state, order).try_emplace(order.limit).first;
  link_by_arrival(state.orders, order.level->second, bid_total(state, order), slot,
                  order.cards_open);
}

void book_remove_order(State& state, std::uint32_t slot) {
  OrderRec& order = state.orders[slot];
  const auto it = order.level;
  SPOTGRID_CHECK(order.in_book && it->first == order.limit);
  unlink(state.orders, it->second, bid_total(state, order), slot, order.cards_open);
  erase_if_empty(bid_levels(state, order), it);
  order.level = {};
}

bool rebuild_bids(State& state) {
  // A booked order rests with cards open; the pools it names exist. Checked for
  // every order: a deferred one is booked later, without these checks.
  std::vector<std::uint32_t> slots;  // every live one, then the booked ones
  for (std::uint32_t slot = 0; slot < state.orders.slot_count(); ++slot) {
    if (!state.orders.is_live(slot)) continue;
    const OrderRec& order = state.orders[slot];
    const bool bookable = order.state == OrderState::kResting && order.cards_open > 0;
    if (order.in_book != bookable || !pools_known(state, order)) return false;
    slots.push_back(slot);
  }
  if (!sort_by_arrival(state.orders, slots, state.arrival_seq)) return false;
  std::erase_if(slots, [&](std::uint32_t slot) { return !state.orders[slot].in_book; });
  for (PoolBook& pool : state.pools) {  // emptied in place: the maps keep the arena
    pool.bids.clear();
    pool.bid_cards = 0;
  }
  state.class_bids.clear();
  state.class_bid_cards = 0;
  rebook(state.orders, slots, [&](std::uint32_t slot) { book_insert_order(state, slot); });
  return true;
}

}  // namespace spotgrid::engine
