// Leases: created by a match, ended by time, the buyer, a supplier's reclaim or
// a metering fault, and closed once their last second is settled (or the grace
// for late metering runs out).

#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// The lowest `count` free cards of a node.
CardMask pick_cards(const NodeRec& node, std::uint16_t count) {
  const CardMask all = node.cards >= 64 ? ~CardMask{0} : (CardMask{1} << node.cards) - 1;
  const CardMask free = all & ~node.busy;
  CardMask above = free;  // the free cards above those picked so far
  for (std::uint16_t i = 0; i < count; ++i) {
    SPOTGRID_CHECK(above != 0);  // the node has `count` free cards
    above &= above - 1;
  }
  return free ^ above;
}

// The buyer's remainder after a reclaim or an interruption, as a new
// time-first order at the same limit that avoids the node it lost.
void requeue_remainder(State& state, const LeaseRec& lease, LeaseId lease_id, Seconds remainder) {
  const auto parent_slot = state.orders.slot_of(lease.order);
  SPOTGRID_CHECK(parent_slot);
  const OrderRec& parent = state.orders[*parent_slot];
  OrderSpec spec = parent.spec;
  spec.cards = lease.cards;
  spec.duration = remainder;
  spec.strategy = Strategy::kTimeFirst;
  spec.latest_start = 0;
  spec.immediate_or_cancel = false;
  const auto unit_hold = unit_hold_for(state, spec, parent.limit, parent.pools);
  std::optional<Reject> failed;
  if (is_suspended(state, spec.buyer)) {
    failed = Reject::kAccountSuspended;
  } else if (!unit_hold) {
    failed = Reject::kOverflow;
  } else if (cash_of(state, spec.buyer) < *unit_hold * spec.cards) {
    failed = Reject::kInsufficientFunds;
  } else if (state.orders.free_slots() == 0) {
    failed = Reject::kCapacityExhausted;
  }
  if (failed) {
    state.emit(RequeueFailed{lease.order, lease_id, *failed});
    return;
  }
  const Micros limit = parent.limit;
  const PoolMask pools = parent.pools;
  // May move nothing: slabs are preallocated.
  const std::uint32_t slot =
      add_order_record(state, spec, pools, limit, *unit_hold, state.now, lease.node);
  const OrderId id = state.orders.id_of(slot);
  OrderRec& order = state.orders[slot];
  state.emit(OrderRequeued{id, lease.order, lease_id, spec.cards, remainder});
  reserve_hold(state, id, order, *unit_hold * spec.cards);
  work_order(state, slot);
}

// Lowers what a lease may still cost to its (shorter) billable window. The window
// only ever shrinks: a stop after a reclaim notice cannot bill the notice period.
void shrink_billable(State& state, LeaseRec& lease, UnixSeconds billable_end) {
  lease.billable_end = std::clamp(billable_end, lease.start, lease.billable_end);
  // Never above what it could cost before: that may be the order's hold (start_lease).
  const Micros window_cost =
      charge_for(lease.cards, lease.price,
                 state.tariffs.weighted_bp_seconds(lease.region, lease.start, lease.billable_end,
                                                   lease.tariff_versions));
  const Micros max_charge = std::max(std::min(window_cost, lease.max_charge), lease.charged);
  release_hold(state, lease.order, *state.orders.find(lease.order), lease.max_charge - max_charge);
  lease.max_charge = max_charge;
}

// Reliability moves with how leases end (docs/architecture.md#domain): an interruption costs a
// tenth of the score, a lease served to its end wins back a twentieth of the gap.
void move_reliability(NodeRec& node, LeaseEnd reason) {
  if (reason == LeaseEnd::kInterrupted) {
    node.reliability = static_cast<BasisPoints>(node.reliability - node.reliability / 10);
  } else if (reason == LeaseEnd::kCompleted) {
    node.reliability =
        static_cast<BasisPoints>(node.reliability + (kBasisPointsOne - node.reliability) / 20);
  }
}

// Metering settled seconds past the new billable end: give them back. The
// reversal is a settlement with negative amounts (hold <- supplier, platform).
void credit_back(State& state, LeaseId id, LeaseRec& lease, UnixSeconds billable_end) {
  const std::int64_t ceiling = state.tariffs.weighted_bp_seconds(
      lease.region, lease.start, billable_end, lease.tariff_versions);
  if (lease.weighted_settled <= ceiling) return;
  const Micros charged_total =
      std::min(charge_for(lease.cards, lease.price, ceiling), lease.charged);
  const Micros fee_total =
      static_cast<Micros>(Int128{charged_total} * lease.fee_bp / kBasisPointsOne);
  const Micros credit = lease.charged - charged_total;
  const Micros fee_credit = std::max<Micros>(lease.fee_charged - fee_total, 0);
  if (credit == 0) return;
  OrderRec& order = *state.orders.find(lease.order);
  order.hold += credit;
  account(state, lease.buyer).hold += credit;
  AccountRec& supplier = account(state, lease.supplier);
  supplier.receivable -= credit - fee_credit;
  supplier.earnings_at_risk -= credit - fee_credit;
  state.platform_revenue -= fee_credit;
  lease.charged = charged_total;
  lease.fee_charged -= fee_credit;
  state.emit(LeaseSettled{id, lease.order, lease.buyer, lease.supplier, -credit, -fee_credit,
                          lease.charged, true});
}

}  // namespace

void start_lease(State& state, const Leg& leg) {
  ListingRec& listing = state.listings[leg.listing_slot];
  OrderRec& order = state.orders[leg.order_slot];
  NodeRec& node = state.nodes.known_live(listing.node);
  prefetch_timer_push(state.lease_deadlines);
  SPOTGRID_CHECK(leg.cards > 0 && leg.cards <= listing.cards_free() &&
                 leg.cards <= order.cards_open);

  if (listing.in_book) {
    if (leg.cards == listing.cards_free()) {
      book_remove_listing(state, leg.listing_slot);
    } else {
      book_resize_listing(state, listing, -std::int64_t{leg.cards});
    }
  }
  if (order.in_book) {
    if (leg.cards == order.cards_open) {
      book_remove_order(state, leg.order_slot);
    } else {
      book_resize_order(state, order, -std::int64_t{leg.cards});
    }
  }
  const UnixSeconds planned_end = state.now + order.spec.duration;
  const std::uint32_t slot = state.leases.allocate([&] {
    return LeaseRec{
        .order = state.orders.id_of(leg.order_slot),
        .listing = state.listings.id_of(leg.listing_slot),
        .node = listing.node,
        .buyer = order.spec.buyer,
        .supplier = listing.supplier,
        .pool = listing.pool,
        .region = listing.region,
        .cards = leg.cards,
        .card_mask = pick_cards(node, leg.cards),
        .price = leg.price,
        .limit_at_match = limit_per_card_hour(state, order.spec, order.limit, listing.pool),
        .start = state.now,
        .planned_end = planned_end,
        .billable_end = planned_end,
        .fee_bp = state.config.platform_fee_bp,
        .tariff_versions = state.tariffs.published(),
        .settled_up_to = state.now,
    };
  });
  const LeaseId id = state.leases.id_of(slot);
  LeaseRec& lease = state.leases[slot];
  const OrderId order_id = lease.order;
  // A schedule published after the order rested may cost more than the order
  // held for: the hold is the most the buyer authorised.
  lease.max_charge = std::min(charge_for(leg.cards, leg.price,
                                         window_weight(state, lease.region, lease.start,
                                                       lease.planned_end, lease.tariff_versions)),
                              order.unit_hold * leg.cards);

  node.busy |= lease.card_mask;
  listing.cards_leased = static_cast<std::uint16_t>(listing.cards_leased + leg.cards);
  ++listing.leases_open;
  order.cards_open -= leg.cards;
  ++order.leases_open;
  state.pools[listing.pool].cards_leased += leg.cards;
  push_timer(state.lease_deadlines, lease.planned_end, id);

  state.emit(LeaseStarted{id, order_id, lease.listing, lease.node, lease.buyer, lease.supplier,
                          lease.pool, lease.cards, lease.card_mask, lease.price, lease.start,
                          lease.planned_end});
  // The order reserved the worst case per card; keep only what this lease can cost.
  release_hold(state, order_id, order, order.unit_hold * leg.cards - lease.max_charge);
  if (order.cards_open == 0) state.emit(OrderFilled{order_id});
}

void end_lease(State& state, std::uint32_t slot, LeaseEnd reason, UnixSeconds billable_end,
               Seconds remainder_to_requeue) {
  LeaseRec& lease = state.leases[slot];
  const LeaseId id = state.leases.id_of(slot);
  SPOTGRID_CHECK(lease.active());
  account(state, lease.supplier).earnings_at_risk -=
      earnings_at_risk(lease);  // no longer creditable
  shrink_billable(state, lease, billable_end);
  lease.status = reason == LeaseEnd::kInterrupted ? LeaseStatus::kInterrupted : LeaseStatus::kEnded;

  const std::uint32_t listing_slot = *state.listings.slot_of(lease.listing);
  ListingRec& listing = state.listings[listing_slot];
  NodeRec& node = *state.nodes.find(lease.node);
  node.busy &= ~lease.card_mask;
  const BasisPoints score_was = node.reliability;
  move_reliability(node, reason);
  share_reliability(state, node);
  state.pools[lease.pool].cards_leased -= lease.cards;
  listing.cards_leased = static_cast<std::uint16_t>(listing.cards_leased - lease.cards);
  // Cards return to an open listing; reclaimed or failed cards, and cards of a
  // closed listing, go back to the supplier.
  const bool cards_return = listing.state == ListingState::kActive &&
                            (reason == LeaseEnd::kCompleted || reason == LeaseEnd::kStopped);
  if (cards_return) {
    if (listing.in_book) {
      book_resize_listing(state, listing, lease.cards);
    } else {
      book_insert_listing(state, listing_slot);
    }
  } else {
    listing.cards_offered = static_cast<std::uint16_t>(listing.cards_offered - lease.cards);
    node.cards_listed = static_cast<std::uint16_t>(node.cards_listed - lease.cards);
  }
  state.emit(LeaseEnded{id, reason, lease.billable_end});
  if (remainder_to_requeue > 0) requeue_remainder(state, lease, id, remainder_to_requeue);

  if (lease.settled_up_to >= lease.billable_end) {
    close_lease(state, slot);
  } else {
    push_timer(state.lease_closes, state.now + state.config.settle_grace, id);
  }
  if (cards_return) work_listing(state, listing_slot);
  // A score that rose may now meet a resting bid's minimum: the node's other
  // booked listings are matched again, as returning cards are. Format 4 left
  // them resting crossed until something else matched them.
  if (node.reliability > score_was && state.event_format >= 5) {
    for (std::uint32_t other = node.first_listing; other != kNil;) {
      const std::uint32_t next = state.listings[other].next_on_node;
      if (other != listing_slot || !cards_return) work_listing(state, other);
      other = next;
    }
  }
}

void close_lease(State& state, std::uint32_t slot) {
  LeaseRec& lease = state.leases[slot];
  SPOTGRID_CHECK(!lease.active());
  const std::uint32_t order_slot = *state.orders.slot_of(lease.order);
  const std::uint32_t listing_slot = *state.listings.slot_of(lease.listing);
  OrderRec& order = state.orders[order_slot];
  release_hold(state, lease.order, order, lease.max_charge - lease.charged);
  if (state.event_format >= 2)
    state.emit(LeaseClosed{state.leases.id_of(slot), lease.order, lease.node, lease.charged});
  --order.leases_open;
  --state.listings[listing_slot].leases_open;
  state.leases.release(slot);
  maybe_free_listing(state, listing_slot);
  maybe_free_order(state, order_slot);
}

std::optional<Reject> apply_stop_lease(State& state, const StopLease& command) {
  const auto slot = state.leases.slot_of(command.lease);
  if (!slot || state.leases[*slot].buyer != command.buyer) return Reject::kUnknownLease;
  if (!state.leases[*slot].active()) return Reject::kLeaseNotActive;
  end_lease(state, *slot, LeaseEnd::kStopped, state.now, 0);
  return std::nullopt;
}

// The buyer keeps the cards for the notice period and pays nothing for it.
std::optional<Reject> apply_reclaim_lease(State& state, const ReclaimLease& command) {
  const auto slot = state.leases.slot_of(command.lease);
  if (!slot || state.leases[*slot].supplier != command.supplier) return Reject::kUnknownLease;
  if (is_suspended(state, command.supplier)) return Reject::kAccountSuspended;
  LeaseRec& lease = state.leases[*slot];
  if (!lease.active() || lease.reclaim_at != 0) return Reject::kLeaseNotActive;
  lease.reclaim_at = std::min(state.now + state.config.reclaim_notice, lease.planned_end);
  shrink_billable(state, lease, state.now);
  push_timer(state.lease_deadlines, lease.reclaim_at, command.lease);
  state.emit(LeaseReclaimNotice{command.lease, lease.reclaim_at});
  return std::nullopt;
}

std::optional<Reject> apply_interrupt_lease(State& state, const InterruptLease& command) {
  const auto slot = state.leases.slot_of(command.lease);
  if (!slot) return Reject::kUnknownLease;
  LeaseRec& lease = state.leases[*slot];
  if (!lease.active()) return Reject::kLeaseNotActive;
  if (command.last_good_second > state.now) return Reject::kInvalidSettlement;
  const UnixSeconds billable_end = std::min(std::max(command.last_good_second + 1, lease.start),
                                            std::min(lease.billable_end, state.now));
  credit_back(state, command.lease, lease, billable_end);
  end_lease(state, *slot, LeaseEnd::kInterrupted, billable_end, lease.planned_end - billable_end);
  return std::nullopt;
}

}  // namespace spotgrid::engine
