#pragma once
// Commands: the only way to change the market. Each carries its timestamp; the
// engine never reads a clock (docs/architecture.md#engine), which makes replay exact. Strings are
// resolved to indices (pool, region, vendor) before a command reaches the engine.

#include <array>
#include <cstdint>
#include <variant>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/tariff.hpp"
#include "spotgrid/engine/types.hpp"

namespace spotgrid::engine {

enum class Strategy : std::uint8_t { kTimeFirst, kCostFirst };
// Its last value: a logged command or snapshot with a byte past it is refused (a value added
// above moves this line, or what carries the new value cannot be read back).
constexpr Strategy last_value(Strategy /*of*/) {
  return Strategy::kCostFirst;
}

// What an order buys: one model (priced per card-hour) or a class of models
// (priced per CU-hour, compared across every pool that satisfies it).
enum class TargetKind : std::uint8_t { kModel, kClass };
// Its last value: a logged command or snapshot with a byte past it is refused (a value added
// above moves this line, or what carries the new value cannot be read back).
constexpr TargetKind last_value(TargetKind /*of*/) {
  return TargetKind::kClass;
}
struct Target {
  TargetKind kind = TargetKind::kModel;
  PoolIndex pool = 0;                // kModel
  std::uint32_t min_memory_gib = 0;  // kClass
  MilliCu min_cu = 0;                // kClass: against the node's measured CU
  VendorMask vendors = 0;            // kClass; 0 = any vendor
};

// Opaque to the engine; echoed back so a client can correlate.
struct ClientOrderId {
  std::array<char, 32> bytes{};
  std::uint8_t length = 0;
  friend bool operator==(const ClientOrderId&, const ClientOrderId&) = default;
};

struct OrderSpec {
  AccountId buyer = 0;
  Target target;
  std::uint32_t cards = 0;
  std::uint32_t cards_per_node = 0;  // 0 = any split; k = every node slice holds exactly k cards
  Seconds duration = 0;
  Micros limit_micros_per_hour = 0;  // per card-hour (model) or per CU-hour (class)
  Strategy strategy = Strategy::kTimeFirst;
  RegionMask regions = 0;        // 0 = any region
  UnixSeconds latest_start = 0;  // cost_first only
  BasisPoints min_reliability = 0;
  bool immediate_or_cancel = false;
  ClientOrderId client_order_id;
};

struct Deposit {
  AccountId account = 0;
  Micros amount = 0;
};
struct Withdraw {
  AccountId account = 0;
  Micros amount = 0;
};
struct RegisterNode {
  AccountId supplier = 0;
  PoolIndex pool = 0;
  RegionIndex region = 0;
  std::uint16_t zone = 0;
  std::uint16_t cards = 0;
  MilliCu measured_cu = 0;  // 0 = the catalog's CU for the model
  BasisPoints reliability = kBasisPointsOne;
};
struct AddListing {
  AccountId supplier = 0;
  NodeId node = 0;
  std::uint16_t cards = 0;
  Micros reserve_micros_per_card_hour = 0;  // ignored when floating
  bool floating = false;                    // priced at the pool's index every second
  UnixSeconds from = 0;
  UnixSeconds until = 0;
};
struct WithdrawListing {
  AccountId supplier = 0;
  ListingId listing = 0;
};
struct PlaceOrder {
  OrderSpec spec;
};
struct CancelOrder {
  AccountId buyer = 0;
  OrderId order = 0;
};
// Reducing cards keeps time priority; a new limit loses it. 0 leaves a field as is.
struct AmendOrder {
  AccountId buyer = 0;
  OrderId order = 0;
  std::uint32_t cards = 0;
  Micros limit_micros_per_hour = 0;
};
struct StopLease {
  AccountId buyer = 0;
  LeaseId lease = 0;
};
struct ReclaimLease {
  AccountId supplier = 0;
  LeaseId lease = 0;
};
// From metering: the card stopped reporting or raised a fatal error.
struct InterruptLease {
  LeaseId lease = 0;
  UnixSeconds last_good_second = 0;
};
// From metering, cumulative since the lease started: "lease L had n healthy
// seconds worth w tariff-weighted seconds, up to second t".
struct SettleLease {
  LeaseId lease = 0;
  Seconds healthy_seconds = 0;
  std::int64_t weighted_bp_seconds = 0;
  UnixSeconds up_to = 0;
};
// A supplier's earnings out of the market (their receivable, to their bank).
struct Payout {
  AccountId supplier = 0;
  Micros amount = 0;
};
// A supplier's standing instruction: at each UTC midnight, pay the whole
// receivable out when it is at least `minimum`. daily = false ends it.
struct SetPayoutSchedule {
  AccountId supplier = 0;
  bool daily = false;
  Micros minimum = 0;
};
// Operator controls. A halted pool takes no new orders or listings and starts
// no leases (running ones continue); resuming it matches what rests there.
struct HaltPool {
  PoolIndex pool = 0;
  bool halted = true;
};
// A suspended account places, amends, lists, registers, withdraws and is paid
// out nothing; its open orders are cancelled and its listings withdrawn at once,
// and with stop_leases its running leases end too (a supplier's buyers are
// requeued elsewhere).
struct SuspendAccount {
  AccountId account = 0;
  bool suspended = true;
  bool stop_leases = false;
};
// A quarantined node gets no new leases or listings; running leases continue.
struct QuarantineNode {
  NodeId node = 0;
  bool quarantined = true;
};
// The platform's share of each settlement from this command on: leases that
// start later pay it; running ones keep the fee they started with.
struct SetPlatformFee {
  BasisPoints fee_bp = 0;
};
// A tariff schedule in force from its effective_from (an hour, in the future)
// on: leases that start later are priced by it from then; running ones keep
// the schedules they started with.
struct PublishTariffSchedule {
  TariffSchedule schedule;
};
// A GPU model joins the catalog as the next pool, open for listings and
// orders at once. Class orders already resting keep the pools they matched.
struct AddGpuModel {
  GpuModel model;
};
// Once a second: starts deferred orders, ends leases, expires listings,
// releases settled holds and publishes index prices.
struct Tick {};

using CommandBody =
    std::variant<Deposit, Withdraw, RegisterNode, AddListing, WithdrawListing, PlaceOrder,
                 CancelOrder, AmendOrder, StopLease, ReclaimLease, InterruptLease, SettleLease,
                 Tick, Payout, SetPayoutSchedule, HaltPool, SuspendAccount, QuarantineNode,
                 SetPlatformFee, PublishTariffSchedule, AddGpuModel>;

struct Command {
  UnixSeconds now = 0;
  CommandBody body;
};

}  // namespace spotgrid::engine
