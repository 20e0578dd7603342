// Stable names for the engine's enums: used in logs, the demo and API errors.

#include <array>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::engine {

namespace {

// In the order of Reject: a new reason adds its name here, or the build fails.
constexpr std::array<std::string_view, kRejectCount> kRejectNames = {
    "time_went_backwards",      // kTimeWentBackwards
    "unknown_account",          // kUnknownAccount
    "unknown_pool",             // kUnknownPool
    "unknown_region",           // kUnknownRegion
    "unknown_node",             // kUnknownNode
    "unknown_listing",          // kUnknownListing
    "unknown_order",            // kUnknownOrder
    "unknown_lease",            // kUnknownLease
    "invalid_amount",           // kInvalidAmount
    "invalid_cards",            // kInvalidCards
    "invalid_cards_per_node",   // kInvalidCardsPerNode
    "invalid_price",            // kInvalidPrice
    "invalid_duration",         // kInvalidDuration
    "invalid_window",           // kInvalidWindow
    "window_in_past",           // kWindowInPast
    "invalid_latest_start",     // kInvalidLatestStart
    "invalid_reliability",      // kInvalidReliability
    "invalid_compute_units",    // kInvalidComputeUnits
    "invalid_class",            // kInvalidClass
    "invalid_settlement",       // kInvalidSettlement
    "node_cards_exceeded",      // kNodeCardsExceeded
    "insufficient_funds",       // kInsufficientFunds
    "balance_limit",            // kBalanceLimit
    "cannot_increase_cards",    // kCannotIncreaseCards
    "order_not_open",           // kOrderNotOpen
    "listing_not_active",       // kListingNotActive
    "lease_not_active",         // kLeaseNotActive
    "overflow",                 // kOverflow
    "capacity_exhausted",       // kCapacityExhausted
    "order_quota_exceeded",     // kOrderQuotaExceeded
    "node_quota_exceeded",      // kNodeQuotaExceeded
    "listing_quota_exceeded",   // kListingQuotaExceeded
    "hold_below_minimum",       // kHoldBelowMinimum
    "insufficient_receivable",  // kInsufficientReceivable
    "pool_halted",              // kPoolHalted
    "account_suspended",        // kAccountSuspended
    "node_quarantined",         // kNodeQuarantined
    "invalid_tariff_schedule",  // kInvalidTariffSchedule
    "invalid_gpu_model",        // kInvalidGpuModel
    "time_out_of_range",        // kTimeOutOfRange
};
constexpr bool every_reject_named() {
  for (const std::string_view name : kRejectNames) {
    if (name.empty()) return false;
  }
  return true;
}
static_assert(every_reject_named());

}  // namespace

std::string_view to_string(Reject reason) {
  const auto index = static_cast<std::size_t>(reason);
  return index < kRejectNames.size() ? kRejectNames[index] : "unknown";
}

std::string_view to_string(UnfilledReason reason) {
  switch (reason) {
    case UnfilledReason::kNone:
      return "none";
    case UnfilledReason::kNoSupplyMeetsConstraints:
      return "no_supply_meets_constraints";
    case UnfilledReason::kLimitBelowBestAsk:
      return "limit_below_best_ask";
    case UnfilledReason::kWaitingForCheaperTariff:
      return "waiting_for_cheaper_tariff";
  }
  return "unknown";
}

std::string_view to_string(LeaseEnd reason) {
  switch (reason) {
    case LeaseEnd::kCompleted:
      return "completed";
    case LeaseEnd::kStopped:
      return "stopped";
    case LeaseEnd::kReclaimed:
      return "reclaimed";
    case LeaseEnd::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

std::string_view to_string(CancelCause cause) {
  switch (cause) {
    case CancelCause::kBuyer:
      return "buyer";
    case CancelCause::kImmediateOrCancel:
      return "immediate_or_cancel";
    case CancelCause::kOperator:
      return "operator";
  }
  return "unknown";
}

}  // namespace spotgrid::engine
