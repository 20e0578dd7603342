#pragma once
// Events: everything the engine decided, in order. Each names the command that
// caused it. The same commands always yield byte-identical events.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/types.hpp"

namespace spotgrid::engine {

enum class Reject : std::uint8_t {
  kTimeWentBackwards,
  kUnknownAccount,
  kUnknownPool,
  kUnknownRegion,
  kUnknownNode,
  kUnknownListing,
  kUnknownOrder,
  kUnknownLease,
  kInvalidAmount,
  kInvalidCards,
  kInvalidCardsPerNode,
  kInvalidPrice,
  kInvalidDuration,
  kInvalidWindow,
  kWindowInPast,
  kInvalidLatestStart,
  kInvalidReliability,
  kInvalidComputeUnits,
  kInvalidClass,
  kInvalidSettlement,
  kNodeCardsExceeded,
  kInsufficientFunds,
  kBalanceLimit,
  kCannotIncreaseCards,
  kOrderNotOpen,
  kListingNotActive,
  kLeaseNotActive,
  kOverflow,
  kCapacityExhausted,
  kOrderQuotaExceeded,      // EngineConfig::max_orders_per_account
  kNodeQuotaExceeded,       // EngineConfig::max_nodes_per_account
  kListingQuotaExceeded,    // EngineConfig::max_listings_per_account
  kHoldBelowMinimum,        // EngineConfig::min_order_hold
  kInsufficientReceivable,  // a payout beyond what is payable (its wire name is older)
  kPoolHalted,
  kAccountSuspended,
  kNodeQuarantined,
  kInvalidTariffSchedule,
  kInvalidGpuModel,
  kTimeOutOfRange,  // a command's time past limits::kLatestTime
  // A new reason goes here, before none: kRejectCount counts from the last.
};
inline constexpr std::size_t kRejectCount = static_cast<std::size_t>(Reject::kTimeOutOfRange) + 1;
std::string_view to_string(Reject reason);

// Why a resting order is not (fully) filled.
enum class UnfilledReason : std::uint8_t {
  kNone,
  kNoSupplyMeetsConstraints,
  kLimitBelowBestAsk,
  kWaitingForCheaperTariff,
};
std::string_view to_string(UnfilledReason reason);

enum class LeaseEnd : std::uint8_t { kCompleted, kStopped, kReclaimed, kInterrupted };
std::string_view to_string(LeaseEnd reason);

enum class CancelCause : std::uint8_t { kBuyer, kImmediateOrCancel, kOperator };
std::string_view to_string(CancelCause cause);

struct CommandRejected {
  Reject reason;
};
struct FundsMoved {  // cash in or out of an account (deposit / withdrawal)
  AccountId account;
  Micros amount;  // positive = deposit
  Micros cash_after;
};
struct NodeRegistered {
  NodeId node;
  AccountId supplier;
  PoolIndex pool;
  std::uint16_t cards;
};
struct ListingAdded {
  ListingId listing;
  NodeId node;
  std::uint16_t cards;
  Micros price_micros_per_card_hour;  // the index at the time for a floating listing
  bool floating;
  UnixSeconds from;
  UnixSeconds until;
};
struct ListingClosed {
  ListingId listing;
  bool withdrawn;
  std::uint16_t cards_still_leased;
};
struct OrderAccepted {
  OrderId order;
  AccountId buyer;
  ClientOrderId client_order_id;
  Micros hold;           // reserved from cash: the worst case
  Micros expected_cost;  // tariff-weighted, at the expected start
  UnixSeconds expected_start;
};
struct OrderDeferred {
  OrderId order;
  UnixSeconds start_at;
};
struct OrderResting {
  OrderId order;
  std::uint32_t cards_open;
  UnfilledReason reason;
};
struct OrderFilled {
  OrderId order;
};
struct OrderCancelled {
  OrderId order;
  std::uint32_t cards_cancelled;
  CancelCause cause;
};
struct OrderAmended {
  OrderId order;
  std::uint32_t cards_open;
  Micros limit;
  bool lost_priority;
};
struct OrderRequeued {
  OrderId order;  // the new time-first order
  OrderId parent;
  LeaseId after_lease;
  std::uint32_t cards;
  Seconds duration;
};
struct RequeueFailed {
  OrderId parent;
  LeaseId after_lease;
  Reject reason;
};
struct LeaseStarted {  // a trade
  LeaseId lease;
  OrderId order;
  ListingId listing;
  NodeId node;
  AccountId buyer;
  AccountId supplier;
  PoolIndex pool;
  std::uint16_t cards;
  CardMask card_mask;
  Micros price_micros_per_card_hour;
  UnixSeconds start;
  UnixSeconds planned_end;
};
struct LeaseReclaimNotice {
  LeaseId lease;
  UnixSeconds ends_at;
};
struct LeaseEnded {
  LeaseId lease;
  LeaseEnd reason;
  UnixSeconds billable_end;
};
struct LeaseSettled {
  LeaseId lease;
  OrderId order;        // whose hold it draws on
  AccountId buyer;      // whose hold pays ...
  AccountId supplier;   // ... and whose receivable earns
  Micros charge;        // moved from the buyer's hold ...
  Micros platform_fee;  // ... of which this to the platform, the rest to the supplier
  Micros charged_total;
  bool clamped;  // metering reported more than the billable window allows
};
struct HoldChanged {  // cash <-> hold for one order; positive = reserved
  AccountId buyer;
  OrderId order;
  Micros amount;
};
struct LeaseClosed {  // its last settlement is in: it leaves the market, its hold released
  LeaseId lease;
  OrderId order;
  NodeId node;
  Micros charged_total;
};

// The events a command log row holds, and the rules that made them; a command
// is replayed in the format it was logged in (Engine::set_event_format).
// 1: before lease_closed existed. 2: before asks were kept per region (an
// order limited to some regions walked every region's asks, which counted
// against its scan bound and its unfilled-reason probe). 3: before ask levels
// counted their listings by reliability tier (an order needing a score visited,
// and counted, every ask of a level where no node had it). 4: before a node's
// score rising (a lease served to its end) matched the node's other booked
// listings again (a bid needing that score rested crossed with them).
inline constexpr int kEventFormat = 5;
struct IndexPublished {  // on a tick, when a pool's index moved
  PoolIndex pool;
  Micros index_micros_per_card_hour;
};

struct PayoutSent {  // receivable out of the market (ledger: receivable -> external)
  AccountId supplier;
  Micros amount;
  Micros receivable_after;
  bool scheduled;  // by the daily schedule, not on request
};
struct PayoutScheduleSet {
  AccountId supplier;
  bool daily;
  Micros minimum;
};
struct PoolHalted {
  PoolIndex pool;
  bool halted;
};
struct AccountSuspended {
  AccountId account;
  bool suspended;
  bool leases_stopped;
};
struct NodeQuarantined {
  NodeId node;
  AccountId supplier;
  bool quarantined;
};

struct PlatformFeeSet {
  BasisPoints fee_bp;
  BasisPoints previous_bp;
};
// The schedule is the book's version `version` (0 is the one the market began with).
struct TariffSchedulePublished {
  std::uint32_t version;
  UnixSeconds effective_from;
};
struct GpuModelAdded {
  PoolIndex pool;
};
using EventBody =
    std::variant<CommandRejected, FundsMoved, NodeRegistered, ListingAdded, ListingClosed,
                 OrderAccepted, OrderDeferred, OrderResting, OrderFilled, OrderCancelled,
                 OrderAmended, OrderRequeued, RequeueFailed, LeaseStarted, LeaseReclaimNotice,
                 LeaseEnded, LeaseSettled, HoldChanged, IndexPublished, LeaseClosed, PayoutSent,
                 PayoutScheduleSet, PoolHalted, AccountSuspended, NodeQuarantined, PlatformFeeSet,
                 TariffSchedulePublished, GpuModelAdded>;

struct Event {
  Event() = default;
  // From any alternative: the engine builds each event in place (emplace_back)
  // without a temporary variant.
  template <typename Body>
  Event(std::uint64_t command, std::uint64_t sequence, UnixSeconds when, const Body& what)
      : command_seq(command), event_seq(sequence), at(when), body(what) {}

  std::uint64_t command_seq;
  std::uint64_t event_seq;
  UnixSeconds at;
  EventBody body;
};

}  // namespace spotgrid::engine
