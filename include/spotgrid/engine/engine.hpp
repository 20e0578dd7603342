#pragma once
// The matching engine: one thread, all market state in memory, commands in,
// events out (docs/architecture.md#engine). Deterministic: the same command stream always
// yields the same events, byte for byte, and snapshot + replay rebuild the same
// state. Nothing here knows about HTTP, SQL or clocks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/event.hpp"
#include "spotgrid/engine/tariff.hpp"

namespace spotgrid::engine {

struct EngineConfig {
  BasisPoints platform_fee_bp = 500;   // 5 % of each settlement
  Seconds reclaim_notice = 120;        // a supplier's notice before taking cards back
  Seconds settle_grace = 30;           // how long an ended lease waits for its last metering
  BasisPoints index_band_bp = 4'000;   // index within +/-40 % of the reference price
  std::uint32_t max_nodes = 1u << 16;  // slab capacities, up to limits::kMax*
  std::uint32_t max_listings = 1u << 16;
  std::uint32_t max_orders = 1u << 18;
  std::uint32_t max_leases = 1u << 18;
  // Per account, so that one account cannot fill the slabs every account
  // shares (0: no quota). Orders count while they hold a slot (open, or with
  // leases still running); requeued orders count but are never refused.
  std::uint32_t max_orders_per_account = 0;
  std::uint32_t max_nodes_per_account = 0;
  std::uint32_t max_listings_per_account = 0;
  Micros min_order_hold = 0;  // an order must hold at least this much
};

struct SubmitResult {
  std::uint64_t command_seq;
  std::optional<Reject> rejected;  // set when the command changed nothing
};

struct QuoteLeg {
  ListingId listing;
  NodeId node;
  PoolIndex pool;
  RegionIndex region;
  std::uint16_t cards;
  Micros price_micros_per_card_hour;
  Micros cost;  // tariff-weighted for the full duration from the expected start
};
struct Quote {
  std::optional<Reject> rejected;  // the order itself is invalid
  std::uint32_t cards_fillable = 0;
  Micros cost = 0;  // of the fillable part
  Micros hold = 0;  // what placing it would reserve
  UnixSeconds expected_start = 0;
  UnfilledReason remainder_reason = UnfilledReason::kNone;
  std::vector<QuoteLeg> legs;
};

enum class OrderState : std::uint8_t { kDeferred, kResting, kWorking };
// Its last value: a snapshot with a byte past it is refused (a value added
// above moves this line, or what carries the new value cannot be read back).
constexpr OrderState last_value(OrderState /*of*/) {
  return OrderState::kWorking;
}
struct OrderView {
  OrderId id;
  OrderSpec spec;
  OrderState state;  // kWorking: nothing open, leases still running or settling
  std::uint32_t cards_open;
  std::uint32_t leases_open;
  Micros limit_micros_per_hour;
  Micros hold;
  UnixSeconds start_at;
  UnfilledReason unfilled_reason;  // computed against the book now
};

enum class LeaseStatus : std::uint8_t { kStarting, kRunning, kEnded, kInterrupted };
// Its last value: a snapshot with a byte past it is refused (a value added
// above moves this line, or what carries the new value cannot be read back).
constexpr LeaseStatus last_value(LeaseStatus /*of*/) {
  return LeaseStatus::kInterrupted;
}
struct LeaseView {
  LeaseId id;
  OrderId order;
  ListingId listing;
  NodeId node;
  AccountId buyer;
  AccountId supplier;
  std::uint16_t cards;
  CardMask card_mask;
  Micros price_micros_per_card_hour;
  UnixSeconds start;
  UnixSeconds planned_end;
  UnixSeconds billable_end;  // planned_end until it ends early
  LeaseStatus status;
  bool reclaim_pending;
  Micros charged;
  RegionIndex region;
  // Metering's cumulative totals so far (SettleLease), for a meter resuming.
  Seconds healthy_settled;
  std::int64_t weighted_settled;
  UnixSeconds settled_up_to;
  std::uint32_t tariff_versions;  // the tariff schedules that price it (TariffBook)
};

struct NodeView {
  NodeId id;
  AccountId supplier;
  PoolIndex pool;
  RegionIndex region;
  std::uint16_t cards;
  MilliCu measured_cu;
  BasisPoints reliability;   // falls with each interruption, recovers with completed leases
  bool quarantined = false;  // by the operator: no new leases
};

struct BookLevel {
  Micros price_micros_per_hour;
  std::uint32_t cards;
  std::uint32_t entries;
};
struct BookView {
  std::vector<BookLevel> asks;  // best (lowest) first; floating listings at the index
  std::vector<BookLevel> bids;  // best (highest) first; model orders only
  bool halted = false;          // by the operator: no new orders, listings or leases
};

struct AccountView {
  Micros cash = 0;
  Micros hold = 0;
  Micros receivable = 0;
  Micros payable = 0;           // receivable less what running leases may still credit back
  bool pays_out_daily = false;  // a supplier's payout schedule
  Micros payout_minimum = 0;
  bool suspended = false;  // by the operator
  friend bool operator==(const AccountView&, const AccountView&) = default;
};

class Engine {
 public:
  Engine(const Catalog& catalog, TariffBook tariffs, EngineConfig config);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Applies one command and appends its events to `out`. Never throws for bad
  // input: a rejected command emits CommandRejected and changes nothing else.
  SubmitResult submit(const Command& command, std::vector<Event>& out);

  // What `spec` would fill and cost now; changes nothing.
  Quote quote(const OrderSpec& spec) const;

  UnixSeconds now() const;
  std::uint64_t last_command_seq() const;
  const Catalog& catalog() const;
  const TariffBook& tariffs() const;
  // kSkip leaves unfilled_reason kNone: computing it plans against the book.
  enum class ReasonNow : std::uint8_t { kCompute, kSkip };
  std::optional<OrderView> order(OrderId id, ReasonNow reason = ReasonNow::kCompute) const;
  // Every open order, node and lease, and how many account ids exist: for
  // projections of the whole state (O(state)).
  std::vector<OrderView> open_orders(ReasonNow reason) const;
  // Replays a command logged in an older event format with that format's events.
  void set_event_format(int format);
  std::vector<NodeView> nodes() const;
  AccountId account_count() const;
  std::optional<LeaseView> lease(LeaseId id) const;
  // Leases metering still bills: running, or ended and waiting for their last
  // settlement. O(lease slots).
  std::vector<LeaseView> billable_leases() const;
  std::optional<NodeView> node(NodeId id) const;
  BookView book(PoolIndex pool, std::size_t max_levels) const;
  Micros index_price(PoolIndex pool) const;
  AccountView account(AccountId id) const;
  Micros platform_revenue() const;
  // The fee leases starting now pay (SetPlatformFee; at first the config's).
  BasisPoints platform_fee_bp() const;

  // The full state as canonical bytes; equal states give equal bytes.
  std::string snapshot() const;
  // A copy of the whole state: taken on the engine thread (a fraction of what
  // serializing costs), so that its snapshot can be serialized on another. The
  // copy is for snapshot() and reads: submitting to it stops the process.
  Engine copy() const;
  static std::optional<Engine> restore(const Catalog& catalog, TariffBook tariffs,
                                       EngineConfig config, std::string_view snapshot);

  // Every broken invariant, described; empty when the state is sound. O(state): for tests.
  std::vector<std::string> check_invariants() const;

  struct State;

 private:
  explicit Engine(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace spotgrid::engine
