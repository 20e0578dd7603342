#include "refusals.hpp"

#include <array>

#include "spotgrid/engine/limits.hpp"

namespace spotgrid::gateway {

namespace {

// The words below quote limits; a limit that changes breaks the build here.
static_assert(limits::kMaxCardsPerOrder == 4'096 && limits::kMaxCardsPerNode == 64);
static_assert(limits::kMaxPriceMicrosPerHour == 10'000'000'000);
static_assert(limits::kMaxLeaseDuration == Seconds{30} * 86'400);
static_assert(limits::kMaxListingWindow == Seconds{366} * 86'400);
static_assert(limits::kMaxCostFirstDeferral == Seconds{7} * 86'400);
static_assert(limits::kMaxAccountBalance == 1'000'000'000'000'000);

// In the order of engine::Reject.
constexpr std::array<Refusal, engine::kRejectCount> kRefusals = {{
    // kTimeWentBackwards
    {"", "the market clock cannot go back; send the current time"},
    // kUnknownAccount
    {"account_id", "no such account; check the account id"},
    // kUnknownPool
    {"pool", "no such pool; GET /v1/market/pools lists the pools traded here"},
    // kUnknownRegion
    {"regions",
     "a region named is not one the market knows; use the regions of "
     "GET /v1/market/tariffs"},
    // kUnknownNode
    {"node_id", "no node with this id belongs to your account; GET /v1/nodes lists yours"},
    // kUnknownListing
    {"listing_id", "no listing with this id belongs to your account; GET /v1/listings lists yours"},
    // kUnknownOrder
    {"order_id", "no order with this id belongs to your account; GET /v1/orders lists yours"},
    // kUnknownLease
    {"lease_id", "no lease with this id belongs to your account; GET /v1/leases lists yours"},
    // kInvalidAmount
    {"amount_micros", "the amount is not a positive number of micro-USD; send one above 0"},
    // kInvalidCards
    {"cards", "cards is out of range; ask for 1 to 4096 per order (list 1 to 64 per node)"},
    // kInvalidCardsPerNode
    {"cards_per_node",
     "cards_per_node must divide cards and be at most 64; leave it out to "
     "take cards from any nodes"},
    // kInvalidPrice: an order's limit_micros_per_hour or a listing's reserve
    {"",
     "the price is out of range; send a limit_micros_per_hour (order) or "
     "reserve_micros_per_card_hour (listing) above 0 and at most 10 000 USD "
     "(10 000 000 000 micro-USD) per card-hour"},
    // kInvalidDuration
    {"duration_seconds", "duration_seconds is out of range; ask for 1 second to 30 days"},
    // kInvalidWindow
    {"available_until",
     "the listing's window is not valid; set available_until after "
     "available_from, at most 366 days later"},
    // kWindowInPast
    {"available_until",
     "the listing's window has already ended; set available_until in the "
     "future"},
    // kInvalidLatestStart
    {"latest_start",
     "a cost-first order waits for cheap hours, so it needs latest_start: the "
     "latest time (unix seconds) its lease may begin, from now to 7 days ahead; "
     "or send strategy time_first to start at once"},
    // kInvalidReliability
    {"min_reliability_bp", "min_reliability_bp is out of range; send 0 to 10000 basis points"},
    // kInvalidComputeUnits
    {"measured_cu_milli",
     "the node's measured compute units are not positive; send a probe "
     "result above 0, or none to use the catalog's"},
    // kInvalidClass: memory, compute units and vendors together
    {"",
     "no pool in the catalog meets this class (min_memory_gib, min_cu_milli, vendors); "
     "relax it, or name a pool"},
    // kInvalidSettlement
    {"",
     "the settlement goes back before what was already billed, or past now; send the "
     "seconds metered since the last one"},
    // kNodeCardsExceeded
    {"cards",
     "the node does not have that many unlisted cards; withdraw a listing or list "
     "fewer cards"},
    // kInsufficientFunds
    {"",
     "your available cash does not cover it (an order holds cards x limit x duration plus the "
     "fee; a withdrawal takes its amount); deposit more, or ask for less: fewer cards, a lower "
     "limit, a shorter duration, a smaller amount"},
    // kBalanceLimit
    {"amount_micros",
     "the balance would pass 1 000 000 000 USD, the most an account may hold; "
     "deposit less"},
    // kCannotIncreaseCards
    {"cards",
     "an amendment may lower an order's cards, not raise them; place a second order "
     "for more"},
    // kOrderNotOpen
    {"order_id",
     "the order is already filled, cancelled or expired; nothing is left to change, "
     "so place a new one"},
    // kListingNotActive
    {"listing_id",
     "the listing is already withdrawn or ended; list the node's cards again to "
     "sell them"},
    // kLeaseNotActive
    {"lease_id",
     "the lease has already ended (or a reclaim is already under way); check "
     "GET /v1/leases"},
    // kOverflow
    {"", "the amounts are too large to compute exactly; lower cards, price or duration"},
    // kCapacityExhausted
    {"", "the market is at its capacity for orders, leases, nodes or listings; retry later"},
    // kOrderQuotaExceeded
    {"",
     "your account has as many open orders as it may (quotas.open_orders); cancel one "
     "first"},
    // kNodeQuotaExceeded
    {"",
     "your account has as many nodes as it may (quotas.nodes); ask the operator for a "
     "higher quota"},
    // kListingQuotaExceeded
    {"",
     "your account has as many active listings as it may (quotas.listings); withdraw one "
     "first"},
    // kHoldBelowMinimum
    {"",
     "the order's hold is below the market's minimum (quotas.min_order_hold_micros); ask "
     "for more cards, a higher limit or a longer duration"},
    // kInsufficientReceivable
    {"amount_micros",
     "what you may be paid out now (payable_micros in GET /v1/account: earnings less what "
     "running leases may still credit back) does not cover the payout; ask for at most that"},
    // kPoolHalted
    {"pool",
     "the operator has halted trading in this pool: it takes no new orders or listings "
     "(running leases continue); GET /v1/market/pools shows halted until it resumes"},
    // kAccountSuspended
    {"",
     "the operator has suspended this account: it cannot place orders, list, withdraw or be "
     "paid out; contact the operator"},
    // kNodeQuarantined
    {"node_id",
     "the operator has quarantined this node: it takes no new leases or listings; GET "
     "/v1/nodes shows it"},
    // kInvalidTariffSchedule
    {"effective_from",
     "a schedule must start on an hour in the future, within 366 days, and name every region; "
     "or the market keeps 128 schedules that running leases or coming hours are priced by "
     "already (GET /v1/market/tariffs lists them); check them and publish again"},
    // kInvalidGpuModel
    {"model",
     "a model's name must be new and 1 to 48 of A-Z a-z 0-9 . _ - (its vendor's 1 to 32), its "
     "figures in range, and the catalog holds at most 64 models and 32 vendors; check GET "
     "/v1/market/pools"},
    // kTimeOutOfRange
    {"", "the market clock stops at the end of the year 9999; send the current time"},
}};

}  // namespace

Refusal refusal_of(engine::Reject reason) {
  const auto index = static_cast<std::size_t>(reason);
  if (index >= kRefusals.size()) return {"", "the market refused the request"};
  return kRefusals[index];
}

}  // namespace spotgrid::gateway
