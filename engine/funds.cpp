// Money inside the engine: cash, holds and settlement. Every amount is integer
// micro-units; products go through 128-bit intermediates so nothing overflows
// silently, and every rounding is a floor on a cumulative total
// (docs/architecture.md#holds-and-settlement).

#include <bit>

#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {

Micros class_limit_per_card_hour(const State& state, Micros limit, PoolIndex pool) {
  return static_cast<Micros>(
      divide(Int128{limit} * state.catalog.model(pool).compute_units, kMilliCuOne));
}

std::optional<Micros> unit_hold_for(const State& state, const OrderSpec& spec, Micros limit,
                                    PoolMask pools) {
  Micros max_price = 0;
  for (PoolMask left = pools; left != 0; left &= left - 1) {
    const auto pool = static_cast<PoolIndex>(std::countr_zero(left));
    max_price = std::max(max_price, limit_per_card_hour(state, spec, limit, pool));
  }
  // The seconds it runs if it starts as planned; a lease it starts later
  // under a dearer schedule is capped at this hold (start_lease).
  const UnixSeconds start =
      spec.strategy == Strategy::kCostFirst ? std::max(spec.latest_start, state.now) : state.now;
  const Int128 worst =
      Int128{spec.duration} * max_price *
      state.tariffs.max_multiplier_bp(spec.regions, state.now, start + spec.duration);
  const Int128 unit = divide(worst + kBpSecondsPerHour - 1, kBpSecondsPerHour);  // round up
  if (unit * spec.cards > limits::kMaxAccountBalance) return std::nullopt;
  return static_cast<Micros>(unit);
}

void recount_derived(State& state) {
  for (AccountRec& rec : state.accounts) {
    rec.orders = rec.nodes = rec.listings = 0;
    rec.earnings_at_risk = 0;
  }
  for (std::uint32_t slot = 0; slot < state.orders.slot_count(); ++slot) {
    if (state.orders.is_live(slot)) ++account(state, state.orders[slot].spec.buyer).orders;
  }
  for (std::uint32_t slot = 0; slot < state.nodes.slot_count(); ++slot) {
    if (state.nodes.is_live(slot)) ++account(state, state.nodes[slot].supplier).nodes;
  }
  for (std::uint32_t slot = 0; slot < state.listings.slot_count(); ++slot) {
    if (state.listings.is_live(slot)) ++account(state, state.listings[slot].supplier).listings;
  }
  for (std::uint32_t slot = 0; slot < state.leases.slot_count(); ++slot) {
    if (!state.leases.is_live(slot)) continue;
    const LeaseRec& lease = state.leases[slot];
    account(state, lease.supplier).earnings_at_risk += earnings_at_risk(lease);
  }
}

void grow_accounts(State& state, AccountId id) {
  // Grown as vectors grow (geometrically), its pages touched as accounts arrive:
  // making every growth resident at once would stall the command that grows it.
  state.accounts.resize(std::size_t{id} + 1);
}

std::optional<Reject> apply_deposit(State& state, const Deposit& command) {
  if (!valid_account(command.account)) return Reject::kUnknownAccount;
  if (command.amount <= 0 || command.amount > limits::kMaxAccountBalance)
    return Reject::kInvalidAmount;
  const AccountRec current =
      command.account < state.accounts.size() ? state.accounts[command.account] : AccountRec{};
  if (current.cash + current.hold + command.amount > limits::kMaxAccountBalance)
    return Reject::kBalanceLimit;
  AccountRec& target = account(state, command.account);
  target.cash += command.amount;
  state.deposited_total += command.amount;
  state.emit(FundsMoved{command.account, command.amount, target.cash});
  return std::nullopt;
}

std::optional<Reject> apply_withdraw(State& state, const Withdraw& command) {
  if (!valid_account(command.account)) return Reject::kUnknownAccount;
  if (command.amount <= 0 || command.amount > limits::kMaxAccountBalance)
    return Reject::kInvalidAmount;
  if (is_suspended(state, command.account)) return Reject::kAccountSuspended;
  if (cash_of(state, command.account) < command.amount) return Reject::kInsufficientFunds;
  AccountRec& target = account(state, command.account);
  target.cash -= command.amount;
  state.withdrawn_total += command.amount;
  state.emit(FundsMoved{command.account, -command.amount, target.cash});
  return std::nullopt;
}

// Moves what metering says was consumed from the buyer's hold to the supplier
// and the platform. Totals are cumulative, so each call bills only the delta.
std::optional<Reject> apply_settle(State& state, const SettleLease& command) {
  const auto slot = state.leases.slot_of(command.lease);
  if (!slot) return Reject::kUnknownLease;
  LeaseRec& lease = state.leases[*slot];
  const bool regressed = command.weighted_bp_seconds < lease.weighted_settled ||
                         command.healthy_seconds < lease.healthy_settled ||
                         command.up_to < lease.settled_up_to;
  const bool impossible =
      command.up_to < lease.start || command.up_to > state.now ||
      command.healthy_seconds > command.up_to - lease.start ||
      command.weighted_bp_seconds > Int128{command.healthy_seconds} * limits::kMaxTariffMultiplier;
  if (regressed || impossible) return Reject::kInvalidSettlement;

  // Seconds after the billable end (reclaim notice, interruption) are free.
  const UnixSeconds billable_to = std::min(command.up_to, lease.billable_end);
  const std::int64_t ceiling = state.tariffs.weighted_bp_seconds(
      lease.region, lease.start, std::max(billable_to, lease.start), lease.tariff_versions);
  const std::int64_t weighted = std::min(command.weighted_bp_seconds, ceiling);
  const Micros charged_total =
      std::min(charge_for(lease.cards, lease.price, weighted), lease.max_charge);
  const Micros fee_total =
      static_cast<Micros>(Int128{charged_total} * lease.fee_bp / kBasisPointsOne);
  const Micros charge = std::max<Micros>(charged_total - lease.charged, 0);
  const Micros fee = std::max<Micros>(fee_total - lease.fee_charged, 0);

  OrderRec& order = *state.orders.find(lease.order);
  AccountRec& buyer = account(state, lease.buyer);
  SPOTGRID_CHECK(order.hold >= charge && buyer.hold >= charge);
  order.hold -= charge;
  buyer.hold -= charge;
  AccountRec& supplier = account(state, lease.supplier);
  supplier.receivable += charge - fee;
  if (lease.active()) supplier.earnings_at_risk += charge - fee;
  state.platform_revenue += fee;
  lease.charged += charge;
  lease.fee_charged += fee;
  lease.weighted_settled = command.weighted_bp_seconds;
  lease.healthy_settled = command.healthy_seconds;
  lease.settled_up_to = command.up_to;
  if (lease.status == LeaseStatus::kStarting && command.healthy_seconds > 0) {
    lease.status = LeaseStatus::kRunning;
  }
  state.emit(LeaseSettled{command.lease, lease.order, lease.buyer, lease.supplier, charge, fee,
                          lease.charged, weighted < command.weighted_bp_seconds});
  if (!lease.active() && lease.settled_up_to >= lease.billable_end) close_lease(state, *slot);
  return std::nullopt;
}

}  // namespace spotgrid::engine
