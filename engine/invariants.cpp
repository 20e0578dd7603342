// Invariants of the whole state, checked from scratch: cards are conserved,
// the book is well-formed and never crossed, leases respect their orders, holds
// cover what may still be charged, and money is conserved. O(state); for tests
// and debug runs, never the hot path.

#include <algorithm>
#include <bit>
#include <memory_resource>
#include <sstream>

#include "state.hpp"

namespace spotgrid::engine {
namespace {

class Checker {
 public:
  explicit Checker(const State& state) : s_(state) {}

  // `crossed`: whether to look for a resting bid and ask that should have
  // traded, which compares every pair (quadratic); the rest is linear.
  std::vector<std::string> run(bool crossed) {
    check_leases();
    check_listings_and_nodes();
    check_book();
    if (crossed) check_not_crossed();
    check_money();
    check_payouts_and_controls();
    check_slabs();
    return std::move(problems_);
  }

 private:
  template <typename... Parts>
  void fail(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    problems_.push_back(out.str());
  }

  // Each slab's arrays describe a slab, and the free count it keeps agrees with them.
  void check_slabs() {
    const auto check = [&](const auto& slab, const char* name) {
      if (!slab.consistent()) fail("the ", name, " slab's arrays do not describe a slab");
      if (!slab.count_agrees()) fail("the ", name, " slab's free count disagrees with its arrays");
    };
    check(s_.nodes, "nodes");
    check(s_.listings, "listings");
    check(s_.orders, "orders");
    check(s_.leases, "leases");
  }

  void check_leases() {
    if (s_.config.platform_fee_bp < 0 || s_.config.platform_fee_bp > limits::kMaxPlatformFeeBp)
      fail("the platform fee ", s_.config.platform_fee_bp, " bp is out of range");
    lease_cards_by_listing_.assign(s_.listings.slot_count(), 0);
    lease_count_by_listing_.assign(s_.listings.slot_count(), 0);
    lease_count_by_order_.assign(s_.orders.slot_count(), 0);
    lease_hold_by_order_.assign(s_.orders.slot_count(), 0);
    busy_by_node_.assign(s_.nodes.slot_count(), 0);
    for (std::uint32_t slot = 0; slot < s_.leases.slot_count(); ++slot) {
      if (!s_.leases.is_live(slot)) continue;
      const LeaseRec& lease = s_.leases[slot];
      const auto order = s_.orders.slot_of(lease.order);
      const auto listing = s_.listings.slot_of(lease.listing);
      const auto node = s_.nodes.slot_of(lease.node);
      if (!order || !listing || !node) {
        fail("lease ", slot, " refers to a missing order, listing or node");
        continue;
      }
      ++lease_count_by_order_[*order];
      ++lease_count_by_listing_[*listing];
      lease_hold_by_order_[*order] += Int128{lease.max_charge} - lease.charged;
      if (lease.charged > lease.max_charge || lease.charged < 0)
        fail("lease ", slot, " charged beyond its maximum");
      // The platform's part is the lease's own fee of what it was charged.
      if (lease.fee_bp < 0 || lease.fee_bp > limits::kMaxPlatformFeeBp ||
          lease.fee_charged !=
              static_cast<Micros>(Int128{lease.charged} * lease.fee_bp / kBasisPointsOne))
        fail("lease ", slot, " fee ", lease.fee_charged, " is not ", lease.fee_bp,
             " bp of its charge");
      if (lease.price > lease.limit_at_match)
        fail("lease ", slot, " priced above its order's limit");
      const OrderSpec& spec = s_.orders[*order].spec;
      if (spec.regions != 0 && ((spec.regions >> lease.region) & 1u) == 0)
        fail("lease ", slot, " outside its regions");
      if (spec.cards_per_node != 0 && lease.cards % spec.cards_per_node != 0)
        fail("lease ", slot, " breaks the gang size");
      if (std::popcount(lease.card_mask) != lease.cards)
        fail("lease ", slot, " card mask does not match its cards");
      if (!lease.active()) continue;
      lease_cards_by_listing_[*listing] += lease.cards;
      if ((busy_by_node_[*node] & lease.card_mask) != 0)
        fail("lease ", slot, " shares a card with another lease");
      busy_by_node_[*node] |= lease.card_mask;
    }
  }

  void check_listings_and_nodes() {
    std::vector<std::uint32_t> listed_by_node(s_.nodes.slot_count(), 0);
    std::vector<std::uint32_t> listings_by_node(s_.nodes.slot_count(), 0);
    for (std::uint32_t slot = 0; slot < s_.listings.slot_count(); ++slot) {
      if (!s_.listings.is_live(slot)) continue;
      const ListingRec& listing = s_.listings[slot];
      if (listing.cards_leased > listing.cards_offered)
        fail("listing ", slot, " leases more cards than it offers");
      if (listing.cards_leased != lease_cards_by_listing_[slot])
        fail("listing ", slot, " leased cards disagree with its leases");
      if (listing.leases_open != lease_count_by_listing_[slot])
        fail("listing ", slot, " lease count disagrees");
      const bool should_be_in_book =
          listing.state == ListingState::kActive && listing.cards_free() > 0;
      if (listing.in_book != should_be_in_book) fail("listing ", slot, " book membership is wrong");
      if (auto node = s_.nodes.slot_of(listing.node)) {
        listed_by_node[*node] += listing.cards_offered;
        ++listings_by_node[*node];
        if (listing.node_reliability != s_.nodes[*node].reliability ||
            listing.node_cu != s_.nodes[*node].cu)
          fail("listing ", slot, " does not know its node's score or CU");
      } else {
        fail("listing ", slot, " names no node");
      }
    }
    for (std::uint32_t slot = 0; slot < s_.nodes.slot_count(); ++slot) {
      if (!s_.nodes.is_live(slot)) continue;
      const NodeRec& node = s_.nodes[slot];
      if (node.cards_listed != listed_by_node[slot])
        fail("node ", slot, " listed cards disagree with its listings");
      if (node.cards_listed > node.cards) fail("node ", slot, " lists more cards than it has");
      if (node.busy != busy_by_node_[slot])
        fail("node ", slot, " busy cards disagree with its leases");
      check_node_listings(node, slot, listings_by_node[slot]);
    }
  }

  // A node's list of listings holds each of its live listings once.
  void check_node_listings(const NodeRec& node, std::uint32_t node_slot, std::uint32_t expected) {
    std::uint32_t seen = 0;
    std::uint32_t prev = kNil;
    for (std::uint32_t slot = node.first_listing; slot != kNil && seen <= expected;
         slot = s_.listings[slot].next_on_node, ++seen) {
      const ListingRec& listing = s_.listings[slot];
      if (!s_.listings.is_live(slot) || s_.nodes.slot_of(listing.node) != node_slot ||
          listing.prev_on_node != prev)
        fail("node ", node_slot, " links listing ", slot, " wrongly");
      prev = slot;
    }
    if (seen != expected) fail("node ", node_slot, " links ", seen, " of its listings");
  }

  template <typename Record, typename Levels>
  void check_levels(const Slab<Record>& slab, const Levels& levels, const char* side) {
    for (auto it = levels.begin(); it != levels.end(); ++it) {
      // A copy's records still name the original's levels (ListingRec::level).
      check_level(slab, it->second, side, it->first, [&](const Record& record) {
        return s_.snapshot_only || names_level(record, levels, it);
      });
    }
  }

  // Whether a booked record names this entry of this map as its level: it has
  // the entry's price, it is in the map its kind belongs to, and its link
  // (ListingRec::level, OrderRec::level) is this entry.
  template <typename Levels>
  bool names_level(const ListingRec& listing, const Levels& /*levels*/,
                   typename Levels::const_iterator it) const {
    return !listing.floating && listing.price == it->first && listing.level == it;
  }
  template <typename Levels>
  bool names_level(const OrderRec& order, const Levels& levels,
                   typename Levels::const_iterator it) const {
    const bool model = order.spec.target.kind == TargetKind::kModel;
    const BidLevels* own = !model ? &s_.class_bids
                           : order.spec.target.pool < s_.pools.size()
                               ? &s_.pools[order.spec.target.pool].bids
                               : nullptr;
    return own == &levels && order.limit == it->first && order.level == it;
  }

  // A level's records: live, booked, each as `belongs` says, in time order, and
  // adding up to the level's totals.
  template <typename Record, typename Belongs>
  void check_level(const Slab<Record>& slab, const Level& level, const char* side, Micros price,
                   Belongs belongs) {
    std::uint32_t cards = 0;
    std::uint32_t entries = 0;
    std::uint64_t last_arrival = 0;
    for (std::uint32_t slot = level.head; slot != kNil && entries <= slab.slot_count();
         slot = slab[slot].next) {
      if (slot >= slab.slot_count()) {
        fail(side, " level ", price, " links slot ", slot, ", past the records");
        return;
      }
      const Record& record = slab[slot];
      if (!slab.is_live(slot) || !record.in_book) {
        fail(side, " level ", price, " links a record not in the book");
      } else if (!belongs(record)) {
        fail(side, " level ", price, " links a record of another level");
      }
      if (record.arrival <= last_arrival) fail(side, " level ", price, " is out of time order");
      last_arrival = record.arrival;
      if constexpr (std::is_same_v<Record, ListingRec>) {
        cards += record.cards_free();
      } else {
        cards += record.cards_open;
      }
      ++entries;
    }
    if (cards != level.cards || entries != level.entries || (entries == 0 && price != 0)) {
      fail(side, " level ", price, " totals disagree with its records");
    }
  }

  // Every ask in a region's book is a listing of that pool and region, and each
  // level counts its listings by their node's reliability tier.
  void check_region(const RegionAsks& asks, std::size_t pool, std::size_t region) {
    const auto check = [&](const AskLevel& level) {
      AskLevel counted;
      // Bounded as check_level's walk, which reports what stops this one early.
      for (std::uint32_t slot = level.head, seen = 0;
           slot != kNil && seen <= level.entries && seen <= s_.listings.slot_count() &&
           slot < s_.listings.slot_count();
           slot = s_.listings[slot].next, ++seen) {
        const ListingRec& listing = s_.listings[slot];
        if (listing.pool != pool || listing.region != region)
          fail("listing ", slot, " is booked in another pool's or region's asks");
        counted.add(reliability_tier(listing.node_reliability), +1);
      }
      if (counted.by_tier != level.by_tier || counted.tiers != level.tiers)
        fail("pool ", pool, " region ", region, " has a level miscounting its reliability tiers");
    };
    check(asks.floating);
    for (const auto& [price, level] : asks.fixed)
      check(level);
  }

  // A count summed over a map's levels: their cards or their entries.
  template <typename Levels>
  static std::int64_t level_sum(const Levels& levels, std::uint32_t Level::*count) {
    std::int64_t sum = 0;
    for (const auto& [price, level] : levels)
      sum += level.*count;
    return sum;
  }

  // A level map made without the state's arena still works, on the heap: slowly,
  // and allocating while it matches. A snapshot's copy is the one state whose
  // maps are meant to be on the heap.
  template <typename Levels>
  void check_on_arena(const Levels& levels, const char* side) {
    const std::pmr::memory_resource* arena = &s_.level_arena;
    if (!s_.snapshot_only && levels.get_allocator().resource() != arena)
      fail("a map of ", side, " levels is not on the engine's arena");
  }

  void check_book() {
    check_on_arena(s_.class_bids, "class bid");
    for (std::size_t p = 0; p < s_.pools.size(); ++p) {
      const PoolBook& pool = s_.pools[p];
      std::int64_t ask_cards = 0;
      for (std::size_t region = 0; region < pool.asks.size(); ++region) {
        const RegionAsks& asks = pool.asks[region];
        check_on_arena(asks.fixed, "ask");
        check_levels(s_.listings, asks.fixed, "ask");
        check_level(s_.listings, asks.floating, "floating ask", 0,
                    [](const ListingRec& listing) { return listing.floating; });
        check_region(asks, p, region);
        if (asks.empty() == (((pool.regions_with_asks >> region) & 1u) != 0))
          fail("pool ", p, " region ", region, " is not marked as its asks say");
        ask_cards += asks.floating.cards + level_sum(asks.fixed, &Level::cards);
      }
      if (pool.asks.size() != s_.tariffs.region_count())
        fail("pool ", p, " has asks for other regions than the market's");
      const RegionMask beyond =
          pool.asks.size() >= limits::kMaxRegions ? 0 : pool.regions_with_asks >> pool.asks.size();
      if (beyond != 0) fail("pool ", p, " marks a region it has no asks for");
      check_on_arena(pool.bids, "bid");
      check_levels(s_.orders, pool.bids, "bid");
      if (pool.ask_cards != ask_cards) fail("a pool's ask total disagrees with its levels");
      if (pool.bid_cards != level_sum(pool.bids, &Level::cards))
        fail("a pool's bid total disagrees with its levels");
    }
    check_levels(s_.orders, s_.class_bids, "class bid");
    if (s_.class_bid_cards != level_sum(s_.class_bids, &Level::cards))
      fail("the class bid total disagrees with its levels");
    check_every_booked_record_is_linked();
  }

  // The levels link only booked records (check_level); and as many as are booked.
  void check_every_booked_record_is_linked() {
    std::int64_t ask_entries = 0;
    std::int64_t bid_entries = level_sum(s_.class_bids, &Level::entries);
    for (const PoolBook& pool : s_.pools) {
      for (const RegionAsks& asks : pool.asks)
        ask_entries += asks.floating.entries + level_sum(asks.fixed, &Level::entries);
      bid_entries += level_sum(pool.bids, &Level::entries);
    }
    if (const std::int64_t listings = booked(s_.listings); ask_entries != listings)
      fail("the ask levels hold ", ask_entries, " listings, not the ", listings, " booked");
    if (const std::int64_t orders = booked(s_.orders); bid_entries != orders)
      fail("the bid levels hold ", bid_entries, " orders, not the ", orders, " booked");
  }
  template <typename Record>
  static std::int64_t booked(const Slab<Record>& slab) {
    std::int64_t count = 0;
    for (std::uint32_t slot = 0; slot < slab.slot_count(); ++slot)
      count += slab.is_live(slot) && slab[slot].in_book;
    return count;
  }

  // No resting bid could trade with a booked ask it is compatible with.
  void check_not_crossed() {
    for (std::uint32_t o = 0; o < s_.orders.slot_count(); ++o) {
      if (!s_.orders.is_live(o) || !s_.orders[o].in_book) continue;
      const OrderRec& order = s_.orders[o];
      for (std::uint32_t l = 0; l < s_.listings.slot_count(); ++l) {
        if (!s_.listings.is_live(l) || !s_.listings[l].in_book) continue;
        const ListingRec& listing = s_.listings[l];
        // A halted pool or a quarantined node may rest crossed: it matches again
        // when it resumes or is released.
        if (((order.pools >> listing.pool) & 1u) == 0 || is_halted(s_, listing.pool) ||
            is_quarantined(s_, listing.node)) {
          continue;
        }
        const bool price_crosses = ask_price(s_, listing) <=
                                   limit_per_card_hour(s_, order.spec, order.limit, listing.pool);
        if (price_crosses && cards_compatible(s_, order.spec, order.avoid_node, listing,
                                              listing.cards_free(), order.cards_open) > 0) {
          fail("book crossed: order ", o, " and listing ", l);
        }
      }
    }
  }

  void check_money() {
    // Sums in 128 bits: a restore runs these checks on values it has not
    // bounded, where a 64-bit sum could overflow.
    std::vector<Int128> hold_by_buyer(s_.accounts.size(), 0);
    std::vector<std::uint32_t> orders_by_buyer(s_.accounts.size(), 0);
    for (std::uint32_t slot = 0; slot < s_.orders.slot_count(); ++slot) {
      if (!s_.orders.is_live(slot)) continue;
      const OrderRec& order = s_.orders[slot];
      if (order.spec.buyer < orders_by_buyer.size()) ++orders_by_buyer[order.spec.buyer];
      if (order.leases_open != lease_count_by_order_[slot])
        fail("order ", slot, " lease count disagrees");
      const Int128 expected =
          Int128{order.unit_hold} * order.cards_open + lease_hold_by_order_[slot];
      if (order.hold != expected)
        fail("order ", slot, " hold ", order.hold, " is not what it covers");
      if (order.in_book != (order.state == OrderState::kResting && order.cards_open > 0))
        fail("order ", slot, " book membership is wrong");
      if (order.spec.buyer < hold_by_buyer.size()) hold_by_buyer[order.spec.buyer] += order.hold;
    }
    const std::vector<std::uint32_t> nodes_by_supplier = count_by_supplier(s_.nodes);
    const std::vector<std::uint32_t> listings_by_supplier = count_by_supplier(s_.listings);
    Int128 total = s_.platform_revenue;
    for (std::size_t id = 0; id < s_.accounts.size(); ++id) {
      const AccountRec& account = s_.accounts[id];
      if (account.cash < 0 || account.hold < 0 || account.receivable < 0)
        fail("account ", id, " is negative");
      if (account.hold != hold_by_buyer[id])
        fail("account ", id, " hold disagrees with its orders");
      if (account.orders != orders_by_buyer[id])
        fail("account ", id, " order count disagrees with its orders");
      if (account.nodes != nodes_by_supplier[id])
        fail("account ", id, " node count disagrees with its nodes");
      if (account.listings != listings_by_supplier[id])
        fail("account ", id, " listing count disagrees with its listings");
      total += Int128{account.cash} + account.hold + account.receivable;
    }
    if (total != Int128{s_.deposited_total} - s_.withdrawn_total) fail("money not conserved");
  }

  void check_payouts_and_controls() {
    if (!payouts_sound(s_)) fail("payout plans are not one valid plan per supplier in order");
    if (!controls_sound(s_)) fail("operator controls name unknown or repeated ids");
    if (!TariffBook::well_formed(s_.tariffs.schedules()))
      fail("the tariff book's schedules are not well formed");
    if (!tariff_versions_sound(s_)) fail("a live lease is priced by schedules the book dropped");
    if (!s_.window_weights.agrees_with(s_.tariffs))
      fail("a remembered tariff weight disagrees with the tariff book");
    std::vector<Micros> at_risk(s_.accounts.size(), 0);
    for (std::uint32_t slot = 0; slot < s_.leases.slot_count(); ++slot) {
      if (s_.leases.is_live(slot) && s_.leases[slot].supplier < at_risk.size())
        at_risk[s_.leases[slot].supplier] += earnings_at_risk(s_.leases[slot]);
    }
    for (std::size_t id = 0; id < s_.accounts.size(); ++id) {
      const AccountRec& rec = s_.accounts[id];
      if (rec.earnings_at_risk != at_risk[id])
        fail("account ", id, " earnings at risk disagree with its active leases");
      if (rec.earnings_at_risk > rec.receivable)
        fail("account ", id, " was paid out earnings a lease may still credit back");
    }
    // A suspended account has nothing open on the market.
    for (std::uint32_t slot = 0; slot < s_.orders.slot_count(); ++slot) {
      if (s_.orders.is_live(slot) && s_.orders[slot].cards_open > 0 &&
          is_suspended(s_, s_.orders[slot].spec.buyer)) {
        fail("order ", slot, " is open for a suspended account");
      }
    }
    for (std::uint32_t slot = 0; slot < s_.listings.slot_count(); ++slot) {
      if (s_.listings.is_live(slot) && s_.listings[slot].state != ListingState::kClosed &&
          is_suspended(s_, s_.listings[slot].supplier)) {
        fail("listing ", slot, " is open for a suspended account");
      }
    }
  }

  // Live records of `slab` per owning account.
  template <typename T>
  std::vector<std::uint32_t> count_by_supplier(const Slab<T>& slab) const {
    std::vector<std::uint32_t> counts(s_.accounts.size(), 0);
    for (std::uint32_t slot = 0; slot < slab.slot_count(); ++slot) {
      if (slab.is_live(slot) && slab[slot].supplier < counts.size()) ++counts[slab[slot].supplier];
    }
    return counts;
  }

  const State& s_;
  std::vector<std::string> problems_;
  std::vector<std::uint32_t> lease_cards_by_listing_;
  std::vector<std::uint32_t> lease_count_by_listing_;
  std::vector<std::uint32_t> lease_count_by_order_;
  std::vector<Int128> lease_hold_by_order_;
  std::vector<CardMask> busy_by_node_;
};

}  // namespace

std::vector<std::string> Engine::check_invariants() const {
  return Checker(*state_).run(/*crossed=*/true);
}

bool holds_together(const State& state) {
  return Checker(state).run(/*crossed=*/false).empty();
}

}  // namespace spotgrid::engine
