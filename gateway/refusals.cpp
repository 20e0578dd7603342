#include "refusals.hpp"

namespace spotgrid::gateway {

Refusal refusal_of(engine::Reject reason) {
  using engine::Reject;
  switch (reason) {
    case Reject::kTimeWentBackwards:
      return {"", "the market clock cannot go back; send the current time"};
    case Reject::kUnknownAccount:
      return {"account_id", "no such account; check the account id"};
    case Reject::kUnknownPool:
      return {"pool", "no such pool; GET /v1/market/pools lists the pools traded here"};
    case Reject::kUnknownRegion:
      return {"regions",
              "a region named is not one the market knows; use the regions of "
              "GET /v1/market/tariffs"};
    case Reject::kUnknownNode:
      return {"node_id", "no node with this id belongs to your account; GET /v1/nodes lists yours"};
    case Reject::kUnknownListing:
      return {"listing_id",
              "no listing with this id belongs to your account; GET /v1/listings lists yours"};
    case Reject::kUnknownOrder:
      return {"order_id",
              "no order with this id belongs to your account; GET /v1/orders lists yours"};
    case Reject::kUnknownLease:
      return {"lease_id",
              "no lease with this id belongs to your account; GET /v1/leases lists yours"};
    case Reject::kInvalidAmount:
      return {"amount_micros", "the amount must be a positive number of micro-USD"};
    case Reject::kInvalidCards:
      return {"cards", "cards must be at least 1 and at most 4096 per order (64 per node)"};
    case Reject::kInvalidCardsPerNode:
      return {"cards_per_node",
              "cards_per_node must divide cards and be at most 64; leave it out to take "
              "cards from any nodes"};
    case Reject::kInvalidPrice:
      return {"limit_micros_per_hour",
              "a price (an order's limit or a listing's reserve_micros_per_card_hour) must be "
              "more than 0 and at most 10 000 USD (10 000 000 000 micro-USD) per card-hour"};
    case Reject::kInvalidDuration:
      return {"duration_seconds", "duration_seconds must be from 1 second to 30 days"};
    case Reject::kInvalidWindow:
      return {"available_until",
              "a listing's window must end after it starts and last at most 366 days"};
    case Reject::kWindowInPast:
      return {"available_until",
              "the listing's window has already ended; set available_until in the future"};
    case Reject::kInvalidLatestStart:
      return {"latest_start",
              "a cost-first order waits for cheap hours, so it needs latest_start: the latest "
              "time (unix seconds) its lease may begin, from now to 7 days ahead; or send "
              "strategy time_first to start at once"};
    case Reject::kInvalidReliability:
      return {"min_reliability_bp", "min_reliability_bp must be from 0 to 10000 basis points"};
    case Reject::kInvalidComputeUnits:
      return {"compute_units",
              "the node's measured compute units must be positive; send a probe "
              "result above 0, or none to use the catalog's"};
    case Reject::kInvalidClass:
      return {"min_memory_gib",
              "no pool in the catalog meets this class (memory, compute units, "
              "vendors); relax it or name a pool"};
    case Reject::kInvalidSettlement:
      return {"", "a settlement must not go back before what was already billed, nor past now"};
    case Reject::kNodeCardsExceeded:
      return {"cards",
              "the node does not have that many unlisted cards; withdraw a listing or "
              "list fewer cards"};
    case Reject::kInsufficientFunds:
      return {"",
              "your available cash does not cover the hold (cards x price limit x duration, "
              "plus the fee); deposit more, or ask for fewer cards, a lower limit or a "
              "shorter duration"};
    case Reject::kBalanceLimit:
      return {"amount_micros",
              "the balance would pass 1 000 000 000 USD, the most an account "
              "may hold; deposit less"};
    case Reject::kCannotIncreaseCards:
      return {"cards",
              "an amendment may lower an order's cards, not raise them; place a "
              "second order for more"};
    case Reject::kOrderNotOpen:
      return {"order_id",
              "the order is already filled, cancelled or expired; nothing is left "
              "to change"};
    case Reject::kListingNotActive:
      return {
          "listing_id",
          "the listing is already withdrawn or ended; list the node's cards again to sell them"};
    case Reject::kLeaseNotActive:
      return {
          "lease_id",
          "the lease has already ended (or a reclaim is already under way); check GET /v1/leases"};
    case Reject::kOverflow:
      return {"",
              "the amounts are too large to compute exactly; lower cards, price or "
              "duration"};
    case Reject::kCapacityExhausted:
      return {"",
              "the market is at its capacity for orders, leases, nodes or listings; retry "
              "later"};
    case Reject::kOrderQuotaExceeded:
      return {"",
              "your account has as many open orders as it may (quotas.open_orders); cancel "
              "one first"};
    case Reject::kNodeQuotaExceeded:
      return {"",
              "your account has as many nodes as it may (quotas.nodes); ask the operator for "
              "a higher quota"};
    case Reject::kListingQuotaExceeded:
      return {"",
              "your account has as many active listings as it may (quotas.listings); "
              "withdraw one first"};
    case Reject::kHoldBelowMinimum:
      return {"",
              "the order's hold is below the market's minimum (quotas.min_order_hold_micros); "
              "ask for more cards, a higher limit or a longer duration"};
  }
  return {"", "the market refused the request"};
}

}  // namespace spotgrid::gateway
