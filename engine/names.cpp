// Stable names for the engine's enums: used in logs, the demo and API errors.

#include "spotgrid/engine/event.hpp"

namespace spotgrid::engine {

std::string_view to_string(Reject reason) {
  switch (reason) {
    case Reject::kTimeWentBackwards:
      return "time_went_backwards";
    case Reject::kUnknownAccount:
      return "unknown_account";
    case Reject::kUnknownPool:
      return "unknown_pool";
    case Reject::kUnknownRegion:
      return "unknown_region";
    case Reject::kUnknownNode:
      return "unknown_node";
    case Reject::kUnknownListing:
      return "unknown_listing";
    case Reject::kUnknownOrder:
      return "unknown_order";
    case Reject::kUnknownLease:
      return "unknown_lease";
    case Reject::kInvalidAmount:
      return "invalid_amount";
    case Reject::kInvalidCards:
      return "invalid_cards";
    case Reject::kInvalidCardsPerNode:
      return "invalid_cards_per_node";
    case Reject::kInvalidPrice:
      return "invalid_price";
    case Reject::kInvalidDuration:
      return "invalid_duration";
    case Reject::kInvalidWindow:
      return "invalid_window";
    case Reject::kWindowInPast:
      return "window_in_past";
    case Reject::kInvalidLatestStart:
      return "invalid_latest_start";
    case Reject::kInvalidReliability:
      return "invalid_reliability";
    case Reject::kInvalidComputeUnits:
      return "invalid_compute_units";
    case Reject::kInvalidClass:
      return "invalid_class";
    case Reject::kInvalidSettlement:
      return "invalid_settlement";
    case Reject::kNodeCardsExceeded:
      return "node_cards_exceeded";
    case Reject::kInsufficientFunds:
      return "insufficient_funds";
    case Reject::kBalanceLimit:
      return "balance_limit";
    case Reject::kCannotIncreaseCards:
      return "cannot_increase_cards";
    case Reject::kOrderNotOpen:
      return "order_not_open";
    case Reject::kListingNotActive:
      return "listing_not_active";
    case Reject::kLeaseNotActive:
      return "lease_not_active";
    case Reject::kOverflow:
      return "overflow";
    case Reject::kCapacityExhausted:
      return "capacity_exhausted";
    case Reject::kOrderQuotaExceeded:
      return "order_quota_exceeded";
    case Reject::kNodeQuotaExceeded:
      return "node_quota_exceeded";
    case Reject::kListingQuotaExceeded:
      return "listing_quota_exceeded";
    case Reject::kHoldBelowMinimum:
      return "hold_below_minimum";
    case Reject::kInsufficientReceivable:
      return "insufficient_receivable";
    case Reject::kPoolHalted:
      return "pool_halted";
    case Reject::kAccountSuspended:
      return "account_suspended";
    case Reject::kNodeQuarantined:
      return "node_quarantined";
  }
  return "unknown";
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
