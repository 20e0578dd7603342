#pragma once
// Every event's kind and named fields, written once: event_text.cpp renders
// them as the canonical text line, the gateway's streams as JSON. A Sink has
//   Sink& begin(std::string_view kind);
//   Sink& operator()(std::string_view name, T value);  // integers, bool, std::string_view
#include <string_view>
#include <variant>

#include "spotgrid/engine/event.hpp"

namespace spotgrid::engine {

namespace detail {

inline std::string_view client_id(const ClientOrderId& id) {
  return {id.bytes.data(), id.length};
}

template <typename Sink>
struct Describe {
  Sink& sink;
  void operator()(const CommandRejected& b) const {
    sink.begin("rejected")("reason", to_string(b.reason));
  }
  void operator()(const FundsMoved& b) const {
    sink.begin("funds_moved")("account", b.account)("amount", b.amount)("cash_after", b.cash_after);
  }
  void operator()(const NodeRegistered& b) const {
    sink.begin("node_registered")("node", b.node)("supplier", b.supplier)("pool", b.pool)("cards",
                                                                                          b.cards);
  }
  void operator()(const ListingAdded& b) const {
    sink.begin("listing_added")("listing", b.listing)("node", b.node)("cards", b.cards)(
        "price", b.price_micros_per_card_hour)("floating", b.floating)("from", b.from)("until",
                                                                                       b.until);
  }
  void operator()(const ListingClosed& b) const {
    sink.begin("listing_closed")("listing", b.listing)("withdrawn", b.withdrawn)(
        "still_leased", b.cards_still_leased);
  }
  void operator()(const OrderAccepted& b) const {
    sink.begin("order_accepted")("order", b.order)("buyer", b.buyer)(
        "client_order_id", client_id(b.client_order_id))("hold", b.hold)(
        "expected_cost", b.expected_cost)("expected_start", b.expected_start);
  }
  void operator()(const OrderDeferred& b) const {
    sink.begin("order_deferred")("order", b.order)("start_at", b.start_at);
  }
  void operator()(const OrderResting& b) const {
    sink.begin("order_resting")("order", b.order)("cards_open", b.cards_open)("reason",
                                                                              to_string(b.reason));
  }
  void operator()(const OrderFilled& b) const { sink.begin("order_filled")("order", b.order); }
  void operator()(const OrderCancelled& b) const {
    sink.begin("order_cancelled")("order", b.order)("cards", b.cards_cancelled)("cause",
                                                                                to_string(b.cause));
  }
  void operator()(const OrderAmended& b) const {
    sink.begin("order_amended")("order", b.order)("cards_open", b.cards_open)("limit", b.limit)(
        "lost_priority", b.lost_priority);
  }
  void operator()(const OrderRequeued& b) const {
    sink.begin("order_requeued")("order", b.order)("parent", b.parent)(
        "after_lease", b.after_lease)("cards", b.cards)("duration", b.duration);
  }
  void operator()(const RequeueFailed& b) const {
    sink.begin("requeue_failed")("parent", b.parent)("after_lease", b.after_lease)(
        "reason", to_string(b.reason));
  }
  void operator()(const LeaseStarted& b) const {
    sink.begin("lease_started")("lease", b.lease)("order", b.order)("listing", b.listing)(
        "node", b.node)("buyer", b.buyer)("supplier", b.supplier)("pool", b.pool)("cards", b.cards)(
        "card_mask", b.card_mask)("price", b.price_micros_per_card_hour)("start", b.start)(
        "planned_end", b.planned_end);
  }
  void operator()(const LeaseReclaimNotice& b) const {
    sink.begin("lease_reclaim_notice")("lease", b.lease)("ends_at", b.ends_at);
  }
  void operator()(const LeaseEnded& b) const {
    sink.begin("lease_ended")("lease", b.lease)("reason", to_string(b.reason))("billable_end",
                                                                               b.billable_end);
  }
  void operator()(const LeaseSettled& b) const {
    sink.begin("lease_settled")("lease", b.lease)("order", b.order)("buyer", b.buyer)(
        "supplier", b.supplier)("charge", b.charge)("fee", b.platform_fee)(
        "charged_total", b.charged_total)("clamped", b.clamped);
  }
  void operator()(const HoldChanged& b) const {
    sink.begin("hold_changed")("buyer", b.buyer)("order", b.order)("amount", b.amount);
  }
  void operator()(const LeaseClosed& b) const {
    sink.begin("lease_closed")("lease", b.lease)("order", b.order)("node", b.node)("charged_total",
                                                                                   b.charged_total);
  }
  void operator()(const PayoutSent& b) const {
    sink.begin("payout_sent")("supplier", b.supplier)("amount", b.amount)(
        "receivable_after", b.receivable_after)("scheduled", b.scheduled);
  }
  void operator()(const PayoutScheduleSet& b) const {
    sink.begin("payout_schedule_set")("supplier", b.supplier)("daily", b.daily)("minimum",
                                                                                b.minimum);
  }
  void operator()(const PlatformFeeSet& b) const {
    sink.begin("platform_fee_set")("fee_bp", b.fee_bp)("previous_bp", b.previous_bp);
  }
  void operator()(const TariffSchedulePublished& b) const {
    sink.begin("tariff_schedule_published")("version", b.version)("effective_from",
                                                                  b.effective_from);
  }
  void operator()(const GpuModelAdded& b) const { sink.begin("gpu_model_added")("pool", b.pool); }
  void operator()(const PoolHalted& b) const {
    sink.begin("pool_halted")("pool", b.pool)("halted", b.halted);
  }
  void operator()(const AccountSuspended& b) const {
    sink.begin("account_suspended")("account", b.account)("suspended", b.suspended)(
        "leases_stopped", b.leases_stopped);
  }
  void operator()(const NodeQuarantined& b) const {
    sink.begin("node_quarantined")("node", b.node)("supplier", b.supplier)("quarantined",
                                                                           b.quarantined);
  }
  void operator()(const IndexPublished& b) const {
    sink.begin("index")("pool", b.pool)("price", b.index_micros_per_card_hour);
  }
};

}  // namespace detail

template <typename Sink>
void describe(const EventBody& body, Sink& sink) {
  std::visit(detail::Describe<Sink>{sink}, body);
}

}  // namespace spotgrid::engine
