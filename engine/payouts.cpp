// Suppliers' payouts: receivable out of the market, on request or by a daily
// plan (docs/architecture.md#payouts).

#include <algorithm>

#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {
namespace {

constexpr UnixSeconds kDay = 86'400;

void pay_out(State& state, AccountId supplier, Micros amount, bool scheduled) {
  SPOTGRID_CHECK(amount > 0 && amount % limits::kPayoutStepMicros == 0 &&
                 amount <= payable_of(state, supplier));
  AccountRec& rec = account(state, supplier);
  rec.receivable -= amount;
  state.withdrawn_total += amount;
  state.emit(PayoutSent{supplier, amount, rec.receivable, scheduled});
}

std::vector<PayoutPlan>::const_iterator plan_at_or_after(const std::vector<PayoutPlan>& plans,
                                                         AccountId supplier) {
  return std::lower_bound(
      plans.begin(), plans.end(), supplier,
      [](const PayoutPlan& plan, AccountId wanted) { return plan.supplier < wanted; });
}

// The UTC midnight at or before `at` (floor, also before 1970).
UnixSeconds midnight_of(UnixSeconds at) {
  return at - ((at % kDay) + kDay) % kDay;
}

}  // namespace

const PayoutPlan* find_plan(const State& state, AccountId supplier) {
  const std::vector<PayoutPlan>& plans = state.daily_payouts.plans;
  const auto plan = plan_at_or_after(plans, supplier);
  return plan != plans.end() && plan->supplier == supplier ? &*plan : nullptr;
}

Micros payable_of(const State& state, AccountId supplier) {
  const AccountRec rec = account_or_empty(state, supplier);
  return rec.receivable - rec.earnings_at_risk;
}

std::optional<Reject> apply_payout(State& state, const Payout& command) {
  if (!valid_account(command.supplier)) return Reject::kUnknownAccount;
  if (command.amount <= 0 || command.amount > limits::kMaxAccountBalance ||
      command.amount % limits::kPayoutStepMicros != 0) {
    return Reject::kInvalidAmount;
  }
  if (is_suspended(state, command.supplier)) return Reject::kAccountSuspended;
  if (payable_of(state, command.supplier) < command.amount) return Reject::kInsufficientReceivable;
  pay_out(state, command.supplier, command.amount, /*scheduled=*/false);
  return std::nullopt;
}

std::optional<Reject> apply_set_payout_schedule(State& state, const SetPayoutSchedule& command) {
  if (!valid_account(command.supplier)) return Reject::kUnknownAccount;
  if (command.minimum < 0 || command.minimum > limits::kMaxAccountBalance)
    return Reject::kInvalidAmount;
  std::vector<PayoutPlan>& plans = state.daily_payouts.plans;
  const auto at = plans.begin() + (plan_at_or_after(plans, command.supplier) - plans.cbegin());
  const bool exists = at != plans.end() && at->supplier == command.supplier;
  if (command.daily && exists) {
    at->minimum = command.minimum;
  } else if (command.daily) {
    plans.insert(at, PayoutPlan{command.supplier, command.minimum});
  } else if (exists) {
    plans.erase(at);
  }
  account(state, command.supplier);  // its view shows the plan from now on
  state.emit(
      PayoutScheduleSet{command.supplier, command.daily, command.daily ? command.minimum : 0});
  return std::nullopt;
}

void pay_scheduled(State& state) {
  DailyPayouts& daily = state.daily_payouts;
  const UnixSeconds midnight = midnight_of(state.now);
  if (midnight > daily.midnight) {
    // The market's first tick starts the calendar: it owes no run for earlier days.
    daily.next = daily.midnight == kNeverTicked ? kNoRunInProgress : 0;
    daily.midnight = midnight;
  }
  if (daily.next == kNoRunInProgress) return;
  auto plan = plan_at_or_after(daily.plans, daily.next);
  for (std::uint32_t looked = 0;
       plan != daily.plans.end() && looked < limits::kMaxPayoutPlansPerTick; ++plan, ++looked) {
    const Micros payable = payable_of(state, plan->supplier);
    const Micros due = payable - payable % limits::kPayoutStepMicros;
    if (due > 0 && due >= plan->minimum && !is_suspended(state, plan->supplier))
      pay_out(state, plan->supplier, due, /*scheduled=*/true);
  }
  daily.next = plan == daily.plans.end() ? kNoRunInProgress : plan->supplier;
}

bool payouts_sound(const State& state) {
  const std::vector<PayoutPlan>& plans = state.daily_payouts.plans;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!valid_account(plans[i].supplier) || plans[i].minimum < 0 ||
        plans[i].minimum > limits::kMaxAccountBalance ||
        (i > 0 && plans[i - 1].supplier >= plans[i].supplier)) {
      return false;
    }
  }
  return true;
}

}  // namespace spotgrid::engine
