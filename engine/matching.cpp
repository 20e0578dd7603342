// Matching: continuous double auction, price-time priority, per pool
// (docs/architecture.md#matching).
// Planning is pure (it only reads the book), so the same code answers quotes;
// applying a plan is the only step that changes state.

#include <algorithm>
#include <bit>
#include <iterator>
#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// What one walk of the asks may examine: asks visited and levels passed over
// both count, so passing over levels cannot make a walk longer than its bound.
struct ScanBudget {
  std::uint32_t left = limits::kMaxCandidatesScannedPerMatch;
  bool take() {
    if (left == 0) return false;
    --left;
    return true;
  }
};

// Walks one region's asks in one pool best first: fixed levels and the
// floating level (at the pool's index) merged by (price, arrival). Levels with
// no listing of reliability tier `floor` or above are passed over unvisited.
class AskCursor {
 public:
  AskCursor(const State& state, PoolIndex pool, RegionIndex region, ReliabilityTier floor,
            ScanBudget& budget)
      : listings_(&state.listings),
        asks_(&state.pools[pool].asks[region]),
        index_(state.pools[pool].index),
        pool_(pool),
        floor_(floor),
        budget_(&budget),
        level_(asks_->fixed.begin()) {
    enter_level();
    floating_ = asks_->floating.reaches(floor_) ? asks_->floating.head : kNil;
    choose();
  }
  bool done() const { return current_ == kNil; }
  std::uint32_t slot() const { return current_; }
  Micros price() const { return on_floating_ ? index_ : level_->first; }
  PoolIndex pool() const { return pool_; }
  std::uint64_t arrival() const { return (*listings_)[current_].arrival; }
  void advance() {
    if (on_floating_) {
      floating_ = (*listings_)[floating_].next;
    } else {
      fixed_ = (*listings_)[fixed_].next;
      if (fixed_ == kNil) {
        ++level_;
        enter_level();
      }
    }
    choose();
  }

 private:
  // Passes over levels below the floor while the budget lasts; spent, the
  // cursor ends.
  void enter_level() {
    while (level_ != asks_->fixed.end() && !level_->second.reaches(floor_))
      level_ = budget_->take() ? std::next(level_) : asks_->fixed.end();
    fixed_ = level_ == asks_->fixed.end() ? kNil : level_->second.head;
  }
  void choose() {
    if (fixed_ == kNil || floating_ == kNil) {
      on_floating_ = fixed_ == kNil;
    } else {
      const Micros fixed_price = level_->first;
      on_floating_ = index_ != fixed_price
                         ? index_ < fixed_price
                         : (*listings_)[floating_].arrival < (*listings_)[fixed_].arrival;
    }
    current_ = on_floating_ ? floating_ : fixed_;
  }

  // Pointers, not references: cursors are kept in a reused vector.
  const Slab<ListingRec>* listings_;
  const RegionAsks* asks_;
  Micros index_;
  PoolIndex pool_;
  ReliabilityTier floor_;
  ScanBudget* budget_;
  AskLevels::const_iterator level_;
  std::uint32_t fixed_ = kNil;
  std::uint32_t floating_ = kNil;
  std::uint32_t current_ = kNil;
  bool on_floating_ = false;
};

// Whether `a`'s current ask comes before `b`'s: cheaper per CU-hour (for one
// pool, simply cheaper), then earlier.
bool ask_before(const State& state, const AskCursor& a, const AskCursor& b) {
  if (a.pool() == b.pool()) {
    return a.price() != b.price() ? a.price() < b.price() : a.arrival() < b.arrival();
  }
  // per CU-hour, compared without division: a/ca < b/cb <=> a*cb < b*ca
  const std::int64_t lhs = a.price() * state.catalog.model(b.pool()).compute_units;
  const std::int64_t rhs = b.price() * state.catalog.model(a.pool()).compute_units;
  return lhs != rhs ? lhs < rhs : a.arrival() < b.arrival();
}

// std::has_single_bit without its popcount: the baseline x86-64 the build
// targets has no popcnt instruction, so that is a library call.
constexpr bool one_bit(std::uint64_t mask) {
  return mask != 0 && (mask & (mask - 1)) == 0;
}

// An order's regions as a mask of those it may fill in (0: any). Asked where
// it is used: computed once ahead of for_each_ask's one-book test, add_only ran
// ~2.5 % slower (GCC laid the walk out otherwise; the same instructions).
constexpr RegionMask allowed_regions(RegionMask regions) {
  return regions == 0 ? ~RegionMask{0} : regions;
}

// Up to this many books are merged by a scan for the best; more, by a heap.
constexpr std::size_t kLinearMergeBooks = 8;

// The walk of a single book, which needs no merge: for_each_ask's two ways to
// find that there is only one share it.
template <typename Visit>
void walk_one_book(AskCursor& cursor, Visit& visit) {
  for (; !cursor.done(); cursor.advance()) {
    if (!visit(cursor.slot(), cursor.price(), cursor.pool())) return;
  }
}

// Calls visit(slot, price, pool) for the asks of every pool in `pools` and
// region in `regions` (0: any), best price per CU-hour first (for one pool that
// is simply best price per card-hour), until visit returns false. A region
// that is not allowed is never visited: its asks are in books of their own;
// nor is a level without an ask of reliability tier `floor` or above (each
// such level passed over takes one from `budget`; visit takes one per ask).
template <typename Visit>
void for_each_ask(const State& state, PoolMask pools, RegionMask regions, ReliabilityTier floor,
                  ScanBudget& budget, Visit&& visit) {
  // One pool with asks in one allowed region (as a model order's usually is):
  // walked without the merge's cursor list.
  if (one_bit(pools)) {
    const auto pool = static_cast<PoolIndex>(std::countr_zero(pools));
    const RegionMask in = state.pools[pool].regions_with_asks & allowed_regions(regions);
    if (in == 0) return;
    if (one_bit(in)) {
      AskCursor cursor(state, pool, static_cast<RegionIndex>(std::countr_zero(in)), floor, budget);
      walk_one_book(cursor, visit);
      return;
    }
  }
  // Reused, so planning allocates nothing once warm; the engine is one thread
  // and no visit plans again.
  thread_local std::vector<AskCursor> cursors;
  cursors.clear();
  for (PoolMask left = pools; left != 0; left &= left - 1) {
    const auto pool = static_cast<PoolIndex>(std::countr_zero(left));
    const PoolBook& book = state.pools[pool];
    for (RegionMask in = book.regions_with_asks & allowed_regions(regions); in != 0; in &= in - 1) {
      cursors.emplace_back(state, pool, static_cast<RegionIndex>(std::countr_zero(in)), floor,
                           budget);
      if (cursors.back().done()) cursors.pop_back();  // no level reaches the floor
    }
  }
  if (cursors.empty()) return;
  if (cursors.size() == 1) {  // one book: no merge
    walk_one_book(cursors.front(), visit);
    return;
  }
  if (cursors.size() <= kLinearMergeBooks) {  // a few books: a scan beats a heap
    while (!cursors.empty()) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < cursors.size(); ++i) {
        if (ask_before(state, cursors[i], cursors[best])) best = i;
      }
      AskCursor& cursor = cursors[best];
      if (!visit(cursor.slot(), cursor.price(), cursor.pool())) return;
      cursor.advance();
      if (cursor.done()) {
        cursor = cursors.back();
        cursors.pop_back();
      }
    }
    return;
  }
  // Many books (pools x regions, up to 4 096): a heap keeps each step
  // logarithmic, so a class order's scan bound costs what it says.
  const auto later = [&](const AskCursor& a, const AskCursor& b) {
    return ask_before(state, b, a);
  };
  std::make_heap(cursors.begin(), cursors.end(), later);
  while (!cursors.empty()) {
    std::pop_heap(cursors.begin(), cursors.end(), later);
    AskCursor& cursor = cursors.back();
    if (!visit(cursor.slot(), cursor.price(), cursor.pool())) return;
    cursor.advance();
    if (cursor.done()) {
      cursors.pop_back();
    } else {
      std::push_heap(cursors.begin(), cursors.end(), later);
    }
  }
}

// Walks resting bids that may buy from `pool`, best per card-hour equivalent
// first: the pool's model bids merged with the class bids that accept the pool.
class BidCursor {
 public:
  BidCursor(const State& state, const BidLevels& levels, PoolIndex pool)
      : state_(state), levels_(levels), pool_(pool), level_(levels.begin()) {
    slot_ = level_ == levels_.end() ? kNil : level_->second.head;
    skip_foreign();
  }
  bool done() const { return slot_ == kNil; }
  std::uint32_t slot() const { return slot_; }
  const OrderRec& order() const { return state_.orders[slot_]; }
  Micros price() const { return limit_per_card_hour(state_, order().spec, level_->first, pool_); }
  void advance() {
    step();
    skip_foreign();
  }

 private:
  void step() {
    slot_ = state_.orders[slot_].next;
    if (slot_ == kNil && ++level_ != levels_.end()) slot_ = level_->second.head;
  }
  void skip_foreign() {
    while (slot_ != kNil && ((order().pools >> pool_) & 1u) == 0)
      step();
  }

  const State& state_;
  const BidLevels& levels_;
  PoolIndex pool_;
  BidLevels::const_iterator level_;
  std::uint32_t slot_ = kNil;
};

// The bids that may buy in a pool, best per card-hour first: its model bids
// merged with the class bids that accept it (price, then arrival).
class PoolBids {
 public:
  PoolBids(const State& state, PoolIndex pool)
      : model_(state, state.pools[pool].bids, pool), class_(state, state.class_bids, pool) {}
  BidCursor& best() {
    const bool model_first =
        !model_.done() &&
        (class_.done() || model_.price() > class_.price() ||
         (model_.price() == class_.price() && model_.order().arrival < class_.order().arrival));
    return model_first ? model_ : class_;
  }

 private:
  BidCursor model_;
  BidCursor class_;
};

std::uint32_t take_cards(std::uint32_t wanted, std::uint32_t available, std::uint32_t per_node) {
  const std::uint32_t most = std::min(wanted, available);
  return per_node == 0 ? most : most / per_node * per_node;
}

// Lease capacity: a placement is refused rather than half-matched; timers and
// re-matches trim the plan (what is left keeps resting).
void trim_to_lease_capacity(const State& state, Plan& plan) {
  const std::uint32_t free_slots = state.leases.free_slots();
  if (plan.legs.size() <= free_slots) return;
  plan.legs.resize(free_slots);
  plan.cards = 0;
  for (const Leg& leg : plan.legs)
    plan.cards += leg.cards;
}

void finish_working(State& state, std::uint32_t slot, UnfilledReason reason) {
  OrderRec& order = state.orders[slot];
  const OrderId id = state.orders.id_of(slot);
  if (order.cards_open == 0) {
    order.state = OrderState::kWorking;
    maybe_free_order(state, slot);
    return;
  }
  if (order.spec.immediate_or_cancel) {
    const std::uint32_t cancelled = order.cards_open;
    release_hold(state, id, order, order.unit_hold * cancelled);
    order.cards_open = 0;
    order.state = OrderState::kWorking;
    state.emit(OrderCancelled{id, cancelled, CancelCause::kImmediateOrCancel});
    maybe_free_order(state, slot);
    return;
  }
  order.state = OrderState::kResting;
  book_insert_order(state, slot);
  state.emit(OrderResting{id, order.cards_open, reason});
}

// The start minimising the tariff-weighted duration: now or an hour boundary up
// to the latest start (tariffs only change on the hour); ties go to the earliest.
// The hour to start at that makes `spec` cheapest, by the tariffs of the regions
// whose supply can serve it now (the plan's legs), else of the regions it
// allows: a region with no supply cannot make the order cheaper.
UnixSeconds cheapest_start(const State& state, const OrderSpec& spec, const Plan& plan) {
  RegionMask regions = 0;
  for (const Leg& leg : plan.legs)
    regions |= RegionMask{1} << state.listings[leg.listing_slot].region;
  if (regions == 0) regions = spec.regions == 0 ? state.tariffs.all_regions() : spec.regions;
  UnixSeconds best_start = state.now;
  std::int64_t best_weight = INT64_MAX;
  for (UnixSeconds start = state.now; start <= spec.latest_start;
       start = (start / kSecondsPerHour + 1) * kSecondsPerHour) {
    for (std::size_t region = 0; region < state.tariffs.region_count(); ++region) {
      if (((regions >> region) & 1u) == 0) continue;
      const std::int64_t weight = state.tariffs.weighted_bp_seconds(
          static_cast<RegionIndex>(region), start, start + spec.duration);
      if (weight < best_weight) {
        best_weight = weight;
        best_start = start;
      }
    }
  }
  return best_start;
}

bool starts_later(const State& state, const OrderSpec& spec) {
  return spec.strategy == Strategy::kCostFirst && spec.latest_start > state.now;
}

}  // namespace

std::uint16_t cards_compatible(const State& state, const OrderSpec& spec, NodeId avoid_node,
                               const ListingRec& listing, std::uint16_t cards_free,
                               std::uint32_t cards_wanted) {
  if (spec.regions != 0 && ((spec.regions >> listing.region) & 1u) == 0) return 0;
  if (listing.supplier == spec.buyer || listing.node == avoid_node) return 0;
  if (state.now < listing.from || state.now + spec.duration > listing.until) return 0;
  if (listing.node_reliability < spec.min_reliability) return 0;
  if (spec.target.kind == TargetKind::kClass && listing.node_cu < spec.target.min_cu) return 0;
  return static_cast<std::uint16_t>(take_cards(cards_wanted, cards_free, spec.cards_per_node));
}

void plan_order(const State& state, const OrderSpec& spec, PoolMask pools, Micros limit,
                NodeId avoid_node, std::uint32_t cards_wanted, Plan& plan,
                std::uint32_t reason_probe) {
  plan.legs.clear();
  plan.cards = 0;
  plan.remainder_reason = UnfilledReason::kNone;
  bool priced_out = false;
  ScanBudget budget;
  // Asked once: a quarantine is rare, and this loop is the engine's hottest.
  const bool any_quarantined = !state.controls.quarantined_nodes.empty();
  // Format 2 walked every region (cards_compatible skipped the others): a
  // command logged then replays as it ran.
  const RegionMask walk = state.event_format >= 3 ? spec.regions : 0;
  // Format 3 visited every level, however reliable its nodes.
  const ReliabilityTier floor =
      state.event_format >= 4 ? reliability_tier(spec.min_reliability) : 0;
  for_each_ask(state, pools & ~state.controls.halted_pools, walk, floor, budget,
               [&](std::uint32_t slot, Micros price, PoolIndex pool) {
                 if (!budget.take()) return false;
                 const ListingRec& listing = state.listings[slot];
                 if (any_quarantined && is_quarantined(state, listing.node)) return true;
                 // Asks come best first, so once one is too dear every later one is too.
                 priced_out = priced_out || price > limit_per_card_hour(state, spec, limit, pool);
                 if (priced_out && reason_probe-- == 0) return false;
                 const std::uint16_t take =
                     cards_compatible(state, spec, avoid_node, listing, listing.cards_free(),
                                      cards_wanted - plan.cards);
                 if (take == 0) return true;
                 if (priced_out) {  // only looking for why the rest will not fill
                   plan.remainder_reason = UnfilledReason::kLimitBelowBestAsk;
                   return false;
                 }
                 plan.legs.push_back(Leg{slot, kNil, take, price});
                 plan.cards += take;
                 // The lease will read the ask's node and id: fetched now, the
                 // misses of the plan's legs overlap.
                 state.listings.prefetch(slot);
                 state.nodes.prefetch(static_cast<std::uint32_t>(listing.node));
                 return plan.cards < cards_wanted;
               });
  if (plan.cards < cards_wanted && plan.remainder_reason == UnfilledReason::kNone) {
    plan.remainder_reason = UnfilledReason::kNoSupplyMeetsConstraints;
  }
}

namespace {

// validate_order_shape's body, apart so that placement inlines it: with two
// callers GCC kept it out of line, ~20 more instructions an order.
[[gnu::always_inline]] inline std::optional<Reject> order_shape_refusal(const State& state,
                                                                        const OrderSpec& spec,
                                                                        PoolMask* pools) {
  if (!valid_account(spec.buyer)) return Reject::kUnknownAccount;
  if (spec.target.kind == TargetKind::kModel) {
    if (spec.target.pool >= state.catalog.pool_count()) return Reject::kUnknownPool;
    *pools = PoolMask{1} << spec.target.pool;
  } else {
    const std::size_t vendors = state.catalog.vendors().size();
    const VendorMask known =
        vendors >= 32 ? ~VendorMask{0} : static_cast<VendorMask>((VendorMask{1} << vendors) - 1);
    if ((spec.target.vendors & ~known) != 0 || spec.target.min_cu < 0) return Reject::kInvalidClass;
    *pools = state.catalog.pools_matching(spec.target.min_memory_gib, spec.target.min_cu,
                                          spec.target.vendors);
    if (*pools == 0) return Reject::kInvalidClass;
  }
  if ((spec.regions & ~state.tariffs.all_regions()) != 0) return Reject::kUnknownRegion;
  if (spec.cards == 0 || spec.cards > limits::kMaxCardsPerOrder) return Reject::kInvalidCards;
  if (spec.cards_per_node > limits::kMaxCardsPerNode ||
      (spec.cards_per_node != 0 && spec.cards % spec.cards_per_node != 0)) {
    return Reject::kInvalidCardsPerNode;
  }
  if (spec.duration <= 0 || spec.duration > limits::kMaxLeaseDuration)
    return Reject::kInvalidDuration;
  if (spec.limit_micros_per_hour <= 0 ||
      spec.limit_micros_per_hour > limits::kMaxPriceMicrosPerHour) {
    return Reject::kInvalidPrice;
  }
  if (spec.min_reliability < 0 || spec.min_reliability > kBasisPointsOne)
    return Reject::kInvalidReliability;
  return std::nullopt;
}

}  // namespace

std::optional<Reject> validate_order_shape(const State& state, const OrderSpec& spec,
                                           PoolMask* pools) {
  return order_shape_refusal(state, spec, pools);
}

std::optional<Reject> validate_order_spec(const State& state, const OrderSpec& spec,
                                          PoolMask* pools) {
  if (auto reject = order_shape_refusal(state, spec, pools)) return reject;
  if (spec.strategy == Strategy::kCostFirst &&
      (spec.latest_start < state.now ||
       spec.latest_start - state.now > limits::kMaxCostFirstDeferral)) {
    return Reject::kInvalidLatestStart;
  }
  return std::nullopt;
}

Micros expected_cost(State& state, const OrderSpec& spec, const Plan& plan,
                     std::uint32_t cards_total, UnixSeconds start, Micros unit_hold) {
  Micros cost = 0;
  for (const Leg& leg : plan.legs) {
    const ListingRec& listing = state.listings[leg.listing_slot];
    const std::int64_t weight = window_weight(state, listing.region, start, start + spec.duration);
    cost += charge_for(leg.cards, leg.price, weight);
  }
  // What does not fill now is shown at its worst case: it may fill anywhere up to the limit.
  return cost + static_cast<Micros>(cards_total - plan.cards) * unit_hold;
}

std::uint32_t add_order_record(State& state, const OrderSpec& spec, PoolMask pools, Micros limit,
                               Micros unit_hold, UnixSeconds start, NodeId avoid_node) {
  const std::uint64_t arrival = ++state.arrival_seq;
  const std::uint32_t slot = state.orders.allocate([&] {
    return OrderRec{.spec = spec,
                    .pools = pools,
                    .limit = limit,
                    .unit_hold = unit_hold,
                    .cards_open = spec.cards,
                    .arrival = arrival,
                    .start_at = start,
                    .avoid_node = avoid_node};
  });
  ++account(state, spec.buyer).orders;
  return slot;
}

std::optional<Reject> apply_place_order(State& state, const PlaceOrder& command) {
  const OrderSpec& spec = command.spec;
  PoolMask pools = 0;
  if (auto reject = validate_order_spec(state, spec, &pools)) return reject;
  if (is_suspended(state, spec.buyer)) return Reject::kAccountSuspended;
  if ((pools & ~state.controls.halted_pools) == 0) return Reject::kPoolHalted;
  const auto unit_hold = unit_hold_for(state, spec, spec.limit_micros_per_hour, pools);
  if (!unit_hold) return Reject::kOverflow;
  const Micros hold = *unit_hold * spec.cards;
  if (hold < state.config.min_order_hold) return Reject::kHoldBelowMinimum;
  if (cash_of(state, spec.buyer) < hold) return Reject::kInsufficientFunds;
  if (!within_quota(account_or_empty(state, spec.buyer).orders,
                    state.config.max_orders_per_account))
    return Reject::kOrderQuotaExceeded;
  if (state.orders.free_slots() == 0) return Reject::kCapacityExhausted;

  Plan& plan = state.scratch;
  plan_order(state, spec, pools, spec.limit_micros_per_hour, 0, spec.cards, plan);
  const UnixSeconds start =
      starts_later(state, spec) ? cheapest_start(state, spec, plan) : state.now;
  if (start == state.now && plan.legs.size() > state.leases.free_slots())
    return Reject::kCapacityExhausted;

  const std::uint32_t slot =
      add_order_record(state, spec, pools, spec.limit_micros_per_hour, *unit_hold, start, 0);
  const OrderId id = state.orders.id_of(slot);
  OrderRec& order = state.orders[slot];
  state.emit(OrderAccepted{id, spec.buyer, spec.client_order_id, hold,
                           expected_cost(state, spec, plan, spec.cards, start, *unit_hold), start});
  reserve_hold(state, id, order, hold);

  if (start > state.now) {
    order.state = OrderState::kDeferred;
    push_timer(state.deferred_orders, start, id);
    state.emit(OrderDeferred{id, start});
    return std::nullopt;
  }
  for (Leg& leg : plan.legs) {
    leg.order_slot = slot;
    start_lease(state, leg);
  }
  finish_working(state, slot, plan.remainder_reason);
  return std::nullopt;
}

void work_order(State& state, std::uint32_t slot) {
  OrderRec& order = state.orders[slot];
  SPOTGRID_CHECK(!order.in_book && order.cards_open > 0);
  Plan& plan = state.scratch;
  plan_order(state, order.spec, order.pools, order.limit, order.avoid_node, order.cards_open, plan);
  trim_to_lease_capacity(state, plan);
  for (Leg& leg : plan.legs) {
    leg.order_slot = slot;
    start_lease(state, leg);
  }
  finish_working(state, slot, plan.remainder_reason);
}

namespace {

// Matches a listing's free cards against the resting bids (the caller has checked
// that its pool and node may trade).
void match_listing(State& state, std::uint32_t listing_slot) {
  const ListingRec& listing = state.listings[listing_slot];
  const Micros ask = ask_price(state, listing);
  Plan& plan = state.scratch;
  plan.legs.clear();
  plan.cards = 0;
  std::uint32_t free = listing.cards_free();
  PoolBids bids(state, listing.pool);
  for (std::uint32_t scanned = 0; free > 0 && scanned < limits::kMaxCandidatesScannedPerMatch;
       ++scanned) {
    BidCursor& best = bids.best();
    if (best.done() || best.price() < ask) break;
    const OrderRec& order = best.order();
    const std::uint16_t take = cards_compatible(state, order.spec, order.avoid_node, listing,
                                                static_cast<std::uint16_t>(free), order.cards_open);
    if (take > 0) {
      plan.legs.push_back(Leg{listing_slot, best.slot(), take, best.price()});
      free -= take;
      state.orders.prefetch(best.slot());  // its id, for the lease: see plan_order
    }
    best.advance();
  }
  trim_to_lease_capacity(state, plan);
  for (const Leg& leg : plan.legs)
    start_lease(state, leg);
}

bool may_trade(const State& state, const ListingRec& listing) {
  return !is_halted(state, listing.pool) && !is_quarantined(state, listing.node);
}

}  // namespace

void work_listing(State& state, std::uint32_t listing_slot) {
  const ListingRec& listing = state.listings[listing_slot];
  if (listing.in_book && may_trade(state, listing)) match_listing(state, listing_slot);
}

void open_listing(State& state, std::uint32_t listing_slot) {
  ListingRec& listing = state.listings[listing_slot];
  SPOTGRID_CHECK(!listing.in_book && listing.state == ListingState::kPending);
  listing.state = ListingState::kActive;
  if (may_trade(state, listing)) match_listing(state, listing_slot);
  if (listing.cards_free() > 0) book_insert_listing(state, listing_slot);
}

void cancel_order_slot(State& state, std::uint32_t slot, CancelCause cause) {
  OrderRec& order = state.orders[slot];
  const OrderId id = state.orders.id_of(slot);
  SPOTGRID_CHECK(order.cards_open > 0);
  if (order.in_book) book_remove_order(state, slot);
  const std::uint32_t cancelled = order.cards_open;
  release_hold(state, id, order, order.unit_hold * cancelled);
  order.cards_open = 0;
  order.state = OrderState::kWorking;
  state.emit(OrderCancelled{id, cancelled, cause});
  maybe_free_order(state, slot);
}

void rematch_pool(State& state, PoolIndex pool) {
  std::vector<std::uint32_t> slots;
  PoolBids bids(state, pool);
  const auto best_ask = [&] {
    std::optional<Micros> price;
    ScanBudget budget;
    for_each_ask(state, PoolMask{1} << pool, 0, 0, budget,
                 [&](std::uint32_t, Micros ask, PoolIndex) {
                   price = ask;
                   return false;
                 });
    return price;
  }();
  for (BidCursor* best = &bids.best(); !best->done() && slots.size() < limits::kMaxRematchedBids;
       best->advance(), best = &bids.best()) {
    if (!best_ask || best->price() < *best_ask) break;  // no worse bid crosses either
    slots.push_back(best->slot());
  }
  Plan& plan = state.scratch;
  for (const std::uint32_t slot : slots) {
    OrderRec& order = state.orders[slot];
    if (!order.in_book || order.cards_open == 0) continue;  // filled by an earlier one
    // Planning is pure: only a bid that can fill leaves its place in the book.
    plan_order(state, order.spec, order.pools, order.limit, order.avoid_node, order.cards_open,
               plan);
    if (plan.cards == 0) continue;
    book_remove_order(state, slot);
    work_order(state, slot);
  }
}

std::optional<Reject> apply_cancel_order(State& state, const CancelOrder& command) {
  const auto slot = state.orders.slot_of(command.order);
  if (!slot || state.orders[*slot].spec.buyer != command.buyer) return Reject::kUnknownOrder;
  if (state.orders[*slot].cards_open == 0) return Reject::kOrderNotOpen;
  cancel_order_slot(state, *slot, CancelCause::kBuyer);
  return std::nullopt;
}

std::optional<Reject> apply_amend_order(State& state, const AmendOrder& command) {
  const auto slot = state.orders.slot_of(command.order);
  if (!slot || state.orders[*slot].spec.buyer != command.buyer) return Reject::kUnknownOrder;
  OrderRec& order = state.orders[*slot];
  if (order.cards_open == 0) return Reject::kOrderNotOpen;
  if (is_suspended(state, command.buyer)) return Reject::kAccountSuspended;
  const std::uint32_t cards = command.cards == 0 ? order.cards_open : command.cards;
  const Micros limit =
      command.limit_micros_per_hour == 0 ? order.limit : command.limit_micros_per_hour;
  if (cards > order.cards_open) return Reject::kCannotIncreaseCards;
  if (order.spec.cards_per_node != 0 && cards % order.spec.cards_per_node != 0) {
    return Reject::kInvalidCardsPerNode;
  }
  if (limit <= 0 || limit > limits::kMaxPriceMicrosPerHour) return Reject::kInvalidPrice;
  auto unit_hold = unit_hold_for(state, order.spec, limit, order.pools);
  if (!unit_hold) return Reject::kOverflow;
  // A schedule published since may have raised the worst case: an amend that
  // does not raise the limit keeps the hold it had (start_lease caps at it).
  if (limit <= order.limit) unit_hold = std::min(*unit_hold, order.unit_hold);
  const Micros old_hold = order.unit_hold * order.cards_open;
  const Micros new_hold = *unit_hold * cards;
  if (new_hold < state.config.min_order_hold) return Reject::kHoldBelowMinimum;
  if (new_hold - old_hold > cash_of(state, order.spec.buyer)) return Reject::kInsufficientFunds;

  const bool lost_priority = limit != order.limit;
  if (order.in_book) {
    if (lost_priority) {
      book_remove_order(state, *slot);
    } else {
      book_resize_order(state, order, -std::int64_t{order.cards_open - cards});
    }
  }
  if (new_hold > old_hold) reserve_hold(state, command.order, order, new_hold - old_hold);
  if (new_hold < old_hold) release_hold(state, command.order, order, old_hold - new_hold);
  order.cards_open = cards;
  order.limit = limit;
  order.unit_hold = *unit_hold;
  state.emit(OrderAmended{command.order, cards, limit, lost_priority});
  if (lost_priority && order.state == OrderState::kResting) {
    order.arrival = ++state.arrival_seq;
    work_order(state, *slot);  // a higher limit may cross now
  }
  return std::nullopt;
}

UnfilledReason unfilled_reason_now(const State& state, const OrderRec& order) {
  if (order.state == OrderState::kDeferred) return UnfilledReason::kWaitingForCheaperTariff;
  if (order.cards_open == 0) return UnfilledReason::kNone;
  Plan plan;
  plan_order(state, order.spec, order.pools, order.limit, order.avoid_node, order.cards_open, plan,
             limits::kMaxCandidatesScannedPerMatch);
  return plan.remainder_reason;
}

Quote make_quote(const State& state, const OrderSpec& spec) {
  Quote quote;
  PoolMask pools = 0;
  quote.rejected = validate_order_spec(state, spec, &pools);
  if (quote.rejected) return quote;
  const auto unit_hold = unit_hold_for(state, spec, spec.limit_micros_per_hour, pools);
  if (!unit_hold) {
    quote.rejected = Reject::kOverflow;
    return quote;
  }
  Plan plan;
  plan_order(state, spec, pools, spec.limit_micros_per_hour, 0, spec.cards, plan);
  quote.expected_start = starts_later(state, spec) ? cheapest_start(state, spec, plan) : state.now;
  quote.cards_fillable = plan.cards;
  quote.hold = *unit_hold * spec.cards;
  quote.remainder_reason = quote.expected_start > state.now
                               ? UnfilledReason::kWaitingForCheaperTariff
                               : plan.remainder_reason;
  const UnixSeconds start = quote.expected_start;
  for (const Leg& leg : plan.legs) {
    const ListingRec& listing = state.listings[leg.listing_slot];
    const Micros cost =
        charge_for(leg.cards, leg.price,
                   state.tariffs.weighted_bp_seconds(listing.region, start, start + spec.duration));
    quote.legs.push_back(QuoteLeg{state.listings.id_of(leg.listing_slot), listing.node,
                                  listing.pool, listing.region, leg.cards, leg.price, cost});
    quote.cost += cost;
  }
  return quote;
}

}  // namespace spotgrid::engine
