#pragma once
// The engine's private state and the functions that change it, grouped by the
// source file that defines them. Only the engine thread touches any of this.

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory_resource>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "level_arena.hpp"
#include "slab.hpp"
#include "spotgrid/engine/engine.hpp"

namespace spotgrid::engine {

__extension__ using Int128 = __int128;  // products of money and time before division

// `product / divisor`, truncated as Int128 division is. A product that fits 64
// bits (most do) takes a 64-bit division, which a constant divisor turns into a
// multiplication; a 128-bit division is a library call.
inline Int128 divide(Int128 product, std::int64_t divisor) {
  if (product >= std::numeric_limits<std::int64_t>::min() &&
      product <= std::numeric_limits<std::int64_t>::max())
    return static_cast<std::int64_t>(product) / divisor;
  return product / divisor;
}

// ---- price levels ----------------------------------------------------------

// A FIFO of records (listings or orders) at one price, linked through prev/next.
struct Level {
  std::uint32_t head = kNil;
  std::uint32_t tail = kNil;
  std::uint32_t cards = 0;
  std::uint32_t entries = 0;
};

// Reliability tiers: the score floors that split asks into eight tiers. An
// order that needs a score of at least `m` can only take asks of `m`'s tier and
// above, so a level with none of those is passed over (docs/architecture.md#matching).
inline constexpr std::array<BasisPoints, 8> kReliabilityTierFloors{0,     5'000, 8'000, 9'000,
                                                                   9'500, 9'800, 9'900, 9'950};
using ReliabilityTier = std::uint8_t;
inline ReliabilityTier reliability_tier(BasisPoints score) {
  ReliabilityTier tier = 0;
  while (tier + 1u < kReliabilityTierFloors.size() && kReliabilityTierFloors[tier + 1u] <= score)
    ++tier;
  return tier;
}

// An ask level also counts its listings by their node's reliability tier.
struct AskLevel : Level {
  std::array<std::uint32_t, kReliabilityTierFloors.size()> by_tier{};
  std::uint8_t tiers = 0;  // bit t: by_tier[t] > 0

  // Whether any listing here could meet a score of tier `floor` or above.
  bool reaches(ReliabilityTier floor) const { return (tiers >> floor) != 0; }
  void add(ReliabilityTier tier, std::int32_t delta) {
    SPOTGRID_CHECK(delta >= 0 || by_tier[tier] >= static_cast<std::uint32_t>(-delta));
    by_tier[tier] = static_cast<std::uint32_t>(static_cast<std::int64_t>(by_tier[tier]) + delta);
    tiers =
        static_cast<std::uint8_t>(by_tier[tier] > 0 ? tiers | (1u << tier) : tiers & ~(1u << tier));
  }
};

// Nodes from the state's LevelArena (a copied state's, from the heap).
using AskLevels = std::pmr::map<Micros, AskLevel>;               // lowest price first
using BidLevels = std::pmr::map<Micros, Level, std::greater<>>;  // highest limit first

// ---- records ---------------------------------------------------------------

struct NodeRec {
  AccountId supplier = 0;
  PoolIndex pool = 0;
  RegionIndex region = 0;
  std::uint16_t zone = 0;
  std::uint16_t cards = 0;
  std::uint16_t cards_listed = 0;  // sum of its listings' cards_offered
  MilliCu cu = 0;
  BasisPoints reliability = 0;
  CardMask busy = 0;  // cards under a lease
  // Derived (not in the snapshot): the node's listings, linked through
  // ListingRec::next_on_node, so that a change of its score reaches them.
  std::uint32_t first_listing = kNil;
};

enum class ListingState : std::uint8_t { kPending, kActive, kClosed };
// Its last value: a snapshot with a byte past it is refused (a value added
// above moves this line, or what carries the new value cannot be read back).
constexpr ListingState last_value(ListingState /*of*/) {
  return ListingState::kClosed;
}

struct ListingRec {
  NodeId node = 0;
  AccountId supplier = 0;
  PoolIndex pool = 0;
  RegionIndex region = 0;
  std::uint16_t cards_offered = 0;  // leased + free
  std::uint16_t cards_leased = 0;
  Micros price = 0;  // fixed reserve; unused when floating
  bool floating = false;
  UnixSeconds from = 0;
  UnixSeconds until = 0;
  std::uint64_t arrival = 0;  // time priority
  ListingState state = ListingState::kPending;
  bool in_book = false;
  std::uint32_t prev = kNil;
  std::uint32_t next = kNil;
  std::uint32_t leases_open = 0;
  // Derived (not in the snapshot): its node's score and CU, so that matching
  // decides on a candidate without reading its node; and its neighbours among
  // its node's listings.
  BasisPoints node_reliability = 0;
  MilliCu node_cu = 0;
  std::uint32_t prev_on_node = kNil;
  std::uint32_t next_on_node = kNil;
  // Derived, not in the snapshot: its level while it is in the book at a fixed
  // price (book.cpp), so a fill or a resize finds it without a walk down the
  // book (README, "Benchmarks": +3.7 % on add_only). A map's node never moves; a
  // copied state (Engine::copy, a snapshot's) keeps naming the original's
  // levels, and takes no commands.
  AskLevels::iterator level{};

  std::uint16_t cards_free() const {
    return static_cast<std::uint16_t>(cards_offered - cards_leased);
  }
};

struct OrderRec {
  OrderSpec spec;
  PoolMask pools = 0;    // pools it may fill from
  Micros limit = 0;      // current limit (amend may change it)
  Micros unit_hold = 0;  // reserved per open card: the worst case of one card
  Micros hold = 0;       // open cards x unit_hold + what its leases may still charge
  std::uint32_t cards_open = 0;
  std::uint32_t leases_open = 0;
  std::uint64_t arrival = 0;
  OrderState state = OrderState::kResting;
  bool in_book = false;
  std::uint32_t prev = kNil;
  std::uint32_t next = kNil;
  UnixSeconds start_at = 0;
  NodeId avoid_node = 0;        // a re-queued remainder avoids the node that failed it
  BidLevels::iterator level{};  // derived, not in the snapshot: as ListingRec::level
};

struct LeaseRec {
  OrderId order = 0;
  ListingId listing = 0;
  NodeId node = 0;
  AccountId buyer = 0;
  AccountId supplier = 0;
  PoolIndex pool = 0;
  RegionIndex region = 0;
  std::uint16_t cards = 0;
  CardMask card_mask = 0;
  Micros price = 0;           // per card-hour, the resting side's price
  Micros limit_at_match = 0;  // per card-hour equivalent of the order's limit then
  UnixSeconds start = 0;
  UnixSeconds planned_end = 0;
  UnixSeconds billable_end = 0;
  UnixSeconds reclaim_at = 0;  // 0 = no reclaim pending
  LeaseStatus status = LeaseStatus::kStarting;
  Micros max_charge = 0;  // everything the billable window can cost
  Micros charged = 0;
  Micros fee_charged = 0;
  BasisPoints fee_bp = 0;             // the platform's share, as it was when the lease started
  std::uint32_t tariff_versions = 0;  // the tariff schedules published when it started
  std::int64_t weighted_settled = 0;
  Seconds healthy_settled = 0;
  UnixSeconds settled_up_to = 0;

  bool active() const {
    return status == LeaseStatus::kStarting || status == LeaseStatus::kRunning;
  }
};

struct AccountRec {
  Micros cash = 0;
  Micros hold = 0;
  Micros receivable = 0;
  // Derived from the slabs, so not in the snapshot: recount_derived() rebuilds
  // them after a restore. Slots held, for the per-account quotas:
  std::uint32_t orders = 0;
  std::uint32_t nodes = 0;
  std::uint32_t listings = 0;
  // A supplier's share of what its active leases were charged: an interruption
  // may still credit it back, so it is receivable but not yet payable.
  Micros earnings_at_risk = 0;
};

// What an interruption of `lease` could still take back from its supplier.
inline Micros earnings_at_risk(const LeaseRec& lease) {
  return lease.active() ? lease.charged - lease.fee_charged : 0;
}

// A supplier's daily payout: what is payable, in whole cents, at each UTC
// midnight when that is at least `minimum`.
struct PayoutPlan {
  AccountId supplier = 0;
  Micros minimum = 0;
};
inline constexpr AccountId kNoRunInProgress = ~AccountId{0};
inline constexpr UnixSeconds kNeverTicked = std::numeric_limits<UnixSeconds>::min();
struct DailyPayouts {
  std::vector<PayoutPlan> plans;        // by supplier, one each
  UnixSeconds midnight = kNeverTicked;  // of the latest run
  AccountId next = kNoRunInProgress;    // the run resumes at this supplier on the next tick
};

// What the operator has switched off (controls.cpp).
struct OperatorControls {
  PoolMask halted_pools = 0;
  std::vector<AccountId> suspended_accounts;  // sorted
  std::vector<NodeId> quarantined_nodes;      // sorted
};

// ---- books -----------------------------------------------------------------

// One region's asks in a pool.
struct RegionAsks {
  AskLevels fixed;    // fixed-price listings
  AskLevel floating;  // floating listings, all at the pool's index price
  bool empty() const { return fixed.empty() && floating.entries == 0; }
};

struct PoolBook {
  // Asks by the region of their node, so that an order limited to some regions
  // never visits another region's asks; an order that takes any region walks
  // them merged by (price, arrival), the same order as one book would give.
  std::vector<RegionAsks> asks;      // by RegionIndex, one for each of the market's regions
  RegionMask regions_with_asks = 0;  // the regions whose RegionAsks is not empty
  BidLevels bids;                    // model orders, per card-hour
  Micros index = 0;
  std::uint32_t cards_leased = 0;
  // Totals over the levels above, kept as they change so the index is O(1).
  std::int64_t ask_cards = 0;  // every region's asks
  std::int64_t bid_cards = 0;  // bids
};

// Growing `pools` or a pool's `asks` must move the maps (keeping their arena and
// their nodes, which booked records name), never copy them (new nodes, on the heap).
static_assert(std::is_nothrow_move_constructible_v<RegionAsks> &&
              std::is_nothrow_move_constructible_v<PoolBook>);

// A timer: fires at `at` for record `id`; stale entries are skipped when popped.
using Timer = std::pair<UnixSeconds, std::uint64_t>;
using TimerHeap = HugeVector<Timer>;  // a min-heap through std::push_heap(greater)

// ---- matching plans ---------------------------------------------------------

// One planned fill: `cards` from listing `listing_slot` for order `order_slot`.
struct Leg {
  std::uint32_t listing_slot;
  std::uint32_t order_slot;
  std::uint16_t cards;
  Micros price;  // per card-hour
};
struct Plan {
  std::vector<Leg> legs;
  std::uint32_t cards = 0;
  UnfilledReason remainder_reason = UnfilledReason::kNone;
};
// ---- tariff weights ----------------------------------------------------------

// The tariff weight of one window per region, as last asked. An order's expected
// cost and then each of its leases ask for the same window (start, start +
// duration), and so do the orders of one second with one duration (README,
// "Benchmarks": -3.4 % of add_only's instructions). A pure function of the book:
// the key holds the published count, so a publish never meets an older entry,
// and it is cleared wherever the book changes anyway (controls.cpp,
// snapshot.cpp). A new engine starts empty and a copy (Engine::copy) copies it
// with its book; the invariant checks recompute every entry.
class WindowWeights {
 public:
  std::int64_t get(const TariffBook& tariffs, RegionIndex region, UnixSeconds from, UnixSeconds to,
                   std::uint32_t versions) {
    SPOTGRID_CHECK(region < tariffs.region_count() && region < by_region_.size());
    // Every count at or past the published one means "every schedule": an
    // order's expected cost (kAll) and its leases (published()) share an entry.
    versions = std::min(versions, tariffs.published());
    Entry& entry = by_region_[region];
    if (entry.known && entry.from == from && entry.to == to && entry.versions == versions)
      return entry.weight;
    entry = {from, to, tariffs.weighted_bp_seconds(region, from, to, versions), versions, true};
    return entry.weight;
  }
  void clear() { by_region_ = {}; }
  // Whether every remembered weight is what the book says now.
  bool agrees_with(const TariffBook& tariffs) const {
    for (std::size_t region = 0; region < by_region_.size(); ++region) {
      const Entry& entry = by_region_[region];
      if (entry.known &&
          (region >= tariffs.region_count() ||
           entry.weight != tariffs.weighted_bp_seconds(static_cast<RegionIndex>(region), entry.from,
                                                       entry.to, entry.versions)))
        return false;
    }
    return true;
  }

 private:
  struct Entry {
    UnixSeconds from = 0;
    UnixSeconds to = 0;
    std::int64_t weight = 0;
    std::uint32_t versions = 0;
    bool known = false;
  };
  std::array<Entry, limits::kMaxRegions> by_region_{};
};

// ---- the state ---------------------------------------------------------------

struct Engine::State {
  // `level_slots`: how many records (listings and orders) could each open a price level.
  explicit State(std::size_t level_slots) : level_arena(level_slots) {}
  // A copy (Engine::copy, for a snapshot) has its own empty arena, and its maps
  // take their nodes from the heap (polymorphic_allocator's copy rule). A move
  // would leave the maps pointing into the moved-from state's arena: none.
  State(const State&) = default;
  State(State&&) = delete;
  State& operator=(const State&) = delete;
  State& operator=(State&&) = delete;
  ~State() = default;

  Catalog catalog;
  TariffBook tariffs;
  EngineConfig config;

  UnixSeconds now = 0;
  std::uint64_t command_seq = 0;
  std::uint64_t event_seq = 0;
  std::uint64_t arrival_seq = 0;
  int event_format = kEventFormat;  // not state: which events a replayed command emits
  // Not state: a copy for a snapshot (Engine::copy), whose slabs are not
  // preallocated (records are referred to across allocations), so it takes no commands.
  bool snapshot_only = false;

  Slab<NodeRec> nodes;
  Slab<ListingRec> listings;
  Slab<OrderRec> orders;
  Slab<LeaseRec> leases;
  HugeVector<AccountRec> accounts;  // indexed by AccountId, grown on first use
  Micros platform_revenue = 0;
  Micros deposited_total = 0;  // cash that entered; for the conservation check
  Micros withdrawn_total = 0;  // cash withdrawn and receivables paid out
  DailyPayouts daily_payouts;
  OperatorControls controls;

  LevelArena level_arena;  // before every map that takes nodes from it: it outlives them
  std::vector<PoolBook> pools;
  BidLevels class_bids{level_arena.resource()};  // class orders, per CU-hour, across pools
  std::int64_t class_bid_cards = 0;

  TimerHeap pending_listings;  // listing becomes active at `from`
  TimerHeap listing_expiries;  // listing closes at `until`
  TimerHeap lease_deadlines;   // planned end or end of reclaim notice
  TimerHeap lease_closes;      // settle grace over: release what is left
  TimerHeap deferred_orders;   // cost-first start

  // Not state: where this command's events go, and reusable scratch space.
  std::vector<Event>* out = nullptr;
  Plan scratch;
  WindowWeights window_weights;  // of `tariffs`: window_weight()

  // Built in place from the concrete event: no temporary variant or event is
  // copied (an event is 112 bytes).
  template <typename Body>
  void emit(const Body& body) {
    out->emplace_back(command_seq, ++event_seq, now, body);
  }
};
using State = Engine::State;

// The tariff weight of [from, to) in `region` by the first `versions` schedules
// (TariffBook::weighted_bp_seconds), remembered per region.
inline std::int64_t window_weight(State& state, RegionIndex region, UnixSeconds from,
                                  UnixSeconds to, std::uint32_t versions = TariffBook::kAll) {
  return state.window_weights.get(state.tariffs, region, from, to, versions);
}

// ---- arithmetic (funds.cpp) --------------------------------------------------

// floor(cards x price x weighted / (3600 x 10'000)): the cumulative charge rule.
// Inline, as the other small steps of a lease below: a call costs more than it.
inline constexpr std::int64_t kBpSecondsPerHour = std::int64_t{kSecondsPerHour} * kBasisPointsOne;
inline Micros charge_for(std::uint32_t cards, Micros price_per_card_hour,
                         std::int64_t weighted_bp_seconds) {
  const Int128 total = Int128{cards} * price_per_card_hour * weighted_bp_seconds;
  return static_cast<Micros>(divide(total, kBpSecondsPerHour));
}
// A class order's limit (per CU-hour) as a price per card-hour in `pool`.
Micros class_limit_per_card_hour(const State& state, Micros limit, PoolIndex pool);
// The price per card-hour an order's limit allows in `pool`. Inline: asked for
// every ask and bid a walk visits, and a model order's is its limit.
inline Micros limit_per_card_hour(const State& state, const OrderSpec& spec, Micros limit,
                                  PoolIndex pool) {
  return spec.target.kind == TargetKind::kModel ? limit
                                                : class_limit_per_card_hour(state, limit, pool);
}
// Per-card worst case: duration x highest limit equivalent x highest multiplier; nullopt on
// overflow.
std::optional<Micros> unit_hold_for(const State& state, const OrderSpec& spec, Micros limit,
                                    PoolMask pools);
inline bool valid_account(AccountId id) {
  return id != 0 && id < limits::kMaxAccounts;
}
// A listing's window as AddListing takes it (and restore checks it): from 0 on,
// not empty, at most kMaxListingWindow long.
inline bool valid_listing_window(UnixSeconds from, UnixSeconds until) {
  return from >= 0 && until > from && until - from <= limits::kMaxListingWindow;
}
// Makes room for account `id` (out of line: rare, and kept off the inlined path).
void grow_accounts(State& state, AccountId id);
// An account's record, created on first use. Inline: several calls a command.
inline AccountRec& account(State& state, AccountId id) {
  SPOTGRID_CHECK(valid_account(id));
  if (id >= state.accounts.size()) [[unlikely]]
    grow_accounts(state, id);
  return state.accounts[id];
}
// An account's record, or an empty one: reads that must create nothing (a
// refused command changes no state, not even the list of accounts). Read it at
// once: account() may grow the accounts and move the record.
inline const AccountRec& account_or_empty(const State& state, AccountId id) {
  static const AccountRec kNone{};
  return id < state.accounts.size() ? state.accounts[id] : kNone;
}
// The per-account slot counts and earnings at risk, from the slabs (after a
// snapshot restore).
void recount_derived(State& state);
// Whether `used` slots may grow by one under `quota` (0: no quota).
inline bool within_quota(std::uint32_t used, std::uint32_t quota) {
  return quota == 0 || used < quota;
}
// Cash available to spend, without creating the account (safe on paths that may reject).
inline Micros cash_of(const State& state, AccountId id) {
  return account_or_empty(state, id).cash;
}
// Cash -> hold for an order; the caller has checked the cash is there.
inline void reserve_hold(State& state, OrderId order_id, OrderRec& order, Micros amount) {
  SPOTGRID_CHECK(amount >= 0);
  if (amount == 0) return;
  AccountRec& buyer = account(state, order.spec.buyer);
  SPOTGRID_CHECK(buyer.cash >= amount);
  buyer.cash -= amount;
  buyer.hold += amount;
  order.hold += amount;
  state.emit(HoldChanged{order.spec.buyer, order_id, amount});
}
// Hold -> cash for an order.
inline void release_hold(State& state, OrderId order_id, OrderRec& order, Micros amount) {
  SPOTGRID_CHECK(amount >= 0 && amount <= order.hold);
  if (amount == 0) return;
  AccountRec& buyer = account(state, order.spec.buyer);
  buyer.hold -= amount;
  buyer.cash += amount;
  order.hold -= amount;
  state.emit(HoldChanged{order.spec.buyer, order_id, -amount});
}
std::optional<Reject> apply_deposit(State& state, const Deposit& command);
std::optional<Reject> apply_withdraw(State& state, const Withdraw& command);
std::optional<Reject> apply_settle(State& state, const SettleLease& command);
std::optional<Reject> apply_payout(State& state, const Payout& command);
std::optional<Reject> apply_set_payout_schedule(State& state, const SetPayoutSchedule& command);
// `supplier`'s plan, if it has one.
const PayoutPlan* find_plan(const State& state, AccountId supplier);
// What a supplier may be paid out now: its receivable less its earnings at risk.
Micros payable_of(const State& state, AccountId supplier);
// On a tick: from each UTC midnight, the scheduled payouts, at most
// kMaxPayoutPlansPerTick plans a tick.
void pay_scheduled(State& state);
// Plans and controls restored from a snapshot are well formed.
bool payouts_sound(const State& state);
bool controls_sound(const State& state);
// Each live lease is priced by schedules the book still keeps.
bool tariff_versions_sound(const State& state);

// ---- books (book.cpp) --------------------------------------------------------

void book_insert_listing(State& state, std::uint32_t slot);
void book_remove_listing(State& state, std::uint32_t slot);
void book_insert_order(State& state, std::uint32_t slot);
void book_remove_order(State& state, std::uint32_t slot);
// Changes a booked record's cards in place (keeping its place in the queue).
void book_resize_listing(State& state, const ListingRec& listing, std::int64_t delta);
void book_resize_order(State& state, const OrderRec& order, std::int64_t delta);
// A listing's price now: its reserve, or the index when it floats.
Micros ask_price(const State& state, const ListingRec& listing);
// Relinks every booked listing (in_book) into its pool's and region's asks, in
// arrival order: the asks are derived from the listings, so a snapshot does not
// carry them. False when a booked listing could not be booked.
bool rebuild_asks(State& state);
// The same for the bids: a snapshot carries them, but they are rebuilt from the
// orders, so that every level and each order's link to it (OrderRec::level)
// comes from book_insert_order. False when a booked order could not be booked.
bool rebuild_bids(State& state);
// A listing joins or leaves its node's list of listings, and takes its node's
// score and CU.
void link_to_node(State& state, std::uint32_t listing_slot);
void unlink_from_node(State& state, std::uint32_t listing_slot);
// After a node's score moved: its listings learn it.
void share_reliability(State& state, const NodeRec& node);

// ---- matching (matching.cpp) -------------------------------------------------

// An order (not yet in the book) against the asks, best first; pure.
// `reason_probe` bounds the asks examined past the limit to find why the rest won't fill.
void plan_order(const State& state, const OrderSpec& spec, PoolMask pools, Micros limit,
                NodeId avoid_node, std::uint32_t cards_wanted, Plan& plan,
                std::uint32_t reason_probe = limits::kMaxReasonProbe);
// Can `listing` serve `spec` now at all (price aside), and how many cards.
std::uint16_t cards_compatible(const State& state, const OrderSpec& spec, NodeId avoid_node,
                               const ListingRec& listing, std::uint16_t cards_free,
                               std::uint32_t cards_wanted);
std::optional<Reject> apply_place_order(State& state, const PlaceOrder& command);
// A new order's record, counted against its buyer's quota: neither held for
// (reserve_hold follows) nor booked. The caller has checked the slab has room.
std::uint32_t add_order_record(State& state, const OrderSpec& spec, PoolMask pools, Micros limit,
                               Micros unit_hold, UnixSeconds start, NodeId avoid_node);
std::optional<Reject> apply_cancel_order(State& state, const CancelOrder& command);
std::optional<Reject> apply_amend_order(State& state, const AmendOrder& command);
// Match a working order now; what is left rests (or is cancelled when IOC).
void work_order(State& state, std::uint32_t order_slot);
// Match a booked listing's free cards against the resting bids.
void work_listing(State& state, std::uint32_t listing_slot);
// A listing becomes active: matched against the resting bids first, then booked
// with what is left, so a listing that fills at once never enters the book.
void open_listing(State& state, std::uint32_t listing_slot);
// After a pool resumes or a node is released: the resting bids that may buy in
// `pool`, best first, plan again as if they arrived now (paying the asks'
// prices), at most limits::kMaxRematchedBids, stopping at the first bid below
// the best ask.
void rematch_pool(State& state, PoolIndex pool);
// Cancels what is open of an order (it has some), releasing its hold.
void cancel_order_slot(State& state, std::uint32_t slot, CancelCause cause);
UnfilledReason unfilled_reason_now(const State& state, const OrderRec& order);
Quote make_quote(const State& state, const OrderSpec& spec);
// Expected cost of a plan started at `start` (legs at their price, the rest at the limit).
Micros expected_cost(State& state, const OrderSpec& spec, const Plan& plan,
                     std::uint32_t cards_total, UnixSeconds start, Micros unit_hold);
// What an order must be at any time (restore checks each live order by it);
// and that, with a latest start within reach of now, for a new one.
std::optional<Reject> validate_order_shape(const State& state, const OrderSpec& spec,
                                           PoolMask* pools);
std::optional<Reject> validate_order_spec(const State& state, const OrderSpec& spec,
                                          PoolMask* pools);

// ---- supply (supply.cpp) -----------------------------------------------------

std::optional<Reject> apply_register_node(State& state, const RegisterNode& command);
std::optional<Reject> apply_add_listing(State& state, const AddListing& command);
std::optional<Reject> apply_withdraw_listing(State& state, const WithdrawListing& command);
void close_listing(State& state, std::uint32_t slot, bool withdrawn);
// Frees records that nothing refers to any more.
void maybe_free_listing(State& state, std::uint32_t slot);
void maybe_free_order(State& state, std::uint32_t slot);

// ---- leases (leases.cpp) -----------------------------------------------------

void start_lease(State& state, const Leg& leg);
void end_lease(State& state, std::uint32_t slot, LeaseEnd reason, UnixSeconds billable_end,
               Seconds remainder_to_requeue);
void close_lease(State& state, std::uint32_t slot);
std::optional<Reject> apply_stop_lease(State& state, const StopLease& command);
std::optional<Reject> apply_reclaim_lease(State& state, const ReclaimLease& command);
std::optional<Reject> apply_interrupt_lease(State& state, const InterruptLease& command);

// ---- operator controls (controls.cpp) ------------------------------------------

std::optional<Reject> apply_halt_pool(State& state, const HaltPool& command);
std::optional<Reject> apply_set_platform_fee(State& state, const SetPlatformFee& command);
std::optional<Reject> apply_publish_tariff_schedule(State& state,
                                                    const PublishTariffSchedule& command);
std::optional<Reject> apply_add_gpu_model(State& state, const AddGpuModel& command);
// Appends a pool's empty book for `model` (an engine's catalog, a snapshot's, or a
// model that joined): asks for each of the market's regions, the index at the
// model's reference price, every level map on the state's arena.
void add_pool_book(State& state, const GpuModel& model);
std::optional<Reject> apply_suspend_account(State& state, const SuspendAccount& command);
std::optional<Reject> apply_quarantine_node(State& state, const QuarantineNode& command);
inline bool is_halted(const State& state, PoolIndex pool) {
  return ((state.controls.halted_pools >> pool) & 1u) != 0;
}
// Inline: asked for every candidate in matching, and almost always of an empty list.
inline bool is_suspended(const State& state, AccountId account) {
  const std::vector<AccountId>& ids = state.controls.suspended_accounts;
  return !ids.empty() && std::binary_search(ids.begin(), ids.end(), account);
}
inline bool is_quarantined(const State& state, NodeId node) {
  const std::vector<NodeId>& ids = state.controls.quarantined_nodes;
  return !ids.empty() && std::binary_search(ids.begin(), ids.end(), node);
}

// ---- invariants (invariants.cpp) ---------------------------------------------

// Whether cards, books, holds and money add up (Engine::check_invariants less
// its quadratic test for a book that should have traded): a restore's last check.
bool holds_together(const State& state);

// ---- time (tick.cpp) ---------------------------------------------------------

void apply_tick(State& state);
Micros compute_index(const State& state, PoolIndex pool);
inline void push_timer(TimerHeap& heap, UnixSeconds at, std::uint64_t id) {
  heap.emplace_back(at, id);
  std::push_heap(heap.begin(), heap.end(), std::greater<>{});
}
// Asks for the entry a push will compare first (the new entry's parent), some
// work before the push: in a large heap that entry is a cold cache line, and a
// push usually stops there (timers mostly arrive in time order).
inline void prefetch_timer_push(const TimerHeap& heap) {
  if (!heap.empty()) __builtin_prefetch(&heap[(heap.size() - 1) / 2]);
}

}  // namespace spotgrid::engine
