#include "spotgrid/engine/event_text.hpp"

#include <charconv>
#include <string>
#include <type_traits>

namespace spotgrid::engine {
namespace {

// Appends with std::to_chars: the persister writes one line per event, so this
// is on the durable path.
class Line {
 public:
  Line(const Event& event, std::string_view kind) {
    out_ += '#';
    number(event.event_seq);
    out_ += " cmd=";
    number(event.command_seq);
    out_ += " t=";
    number(event.at);
    out_ += ' ';
    out_ += kind;
  }
  template <typename T>
  Line& operator()(std::string_view name, const T& value) {
    out_ += ' ';
    out_ += name;
    out_ += '=';
    if constexpr (std::is_same_v<T, bool>) {
      out_ += value ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      number(value);
    } else {
      out_ += value;
    }
    return *this;
  }
  std::string str() { return std::move(out_); }

 private:
  template <typename T>
  void number(T value) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
  }
  std::string out_;
};

std::string client_id(const ClientOrderId& id) {
  return std::string(id.bytes.data(), id.length);
}

struct Describe {
  const Event& e;
  std::string operator()(const CommandRejected& b) const {
    return Line(e, "rejected")("reason", to_string(b.reason)).str();
  }
  std::string operator()(const FundsMoved& b) const {
    return Line(e, "funds_moved")("account", b.account)("amount", b.amount)("cash_after",
                                                                            b.cash_after)
        .str();
  }
  std::string operator()(const NodeRegistered& b) const {
    return Line(e, "node_registered")("node", b.node)("supplier", b.supplier)("pool", b.pool)(
               "cards", b.cards)
        .str();
  }
  std::string operator()(const ListingAdded& b) const {
    return Line(e, "listing_added")("listing", b.listing)("node", b.node)("cards", b.cards)(
               "price", b.price_micros_per_card_hour)("floating", b.floating)("from", b.from)(
               "until", b.until)
        .str();
  }
  std::string operator()(const ListingClosed& b) const {
    return Line(e, "listing_closed")("listing", b.listing)("withdrawn", b.withdrawn)(
               "still_leased", b.cards_still_leased)
        .str();
  }
  std::string operator()(const OrderAccepted& b) const {
    return Line(e, "order_accepted")("order", b.order)("buyer", b.buyer)(
               "client_order_id", client_id(b.client_order_id))("hold", b.hold)(
               "expected_cost", b.expected_cost)("expected_start", b.expected_start)
        .str();
  }
  std::string operator()(const OrderDeferred& b) const {
    return Line(e, "order_deferred")("order", b.order)("start_at", b.start_at).str();
  }
  std::string operator()(const OrderResting& b) const {
    return Line(e, "order_resting")("order", b.order)("cards_open", b.cards_open)(
               "reason", to_string(b.reason))
        .str();
  }
  std::string operator()(const OrderFilled& b) const {
    return Line(e, "order_filled")("order", b.order).str();
  }
  std::string operator()(const OrderCancelled& b) const {
    return Line(e, "order_cancelled")("order", b.order)("cards", b.cards_cancelled)(
               "cause", to_string(b.cause))
        .str();
  }
  std::string operator()(const OrderAmended& b) const {
    return Line(e, "order_amended")("order", b.order)("cards_open", b.cards_open)("limit", b.limit)(
               "lost_priority", b.lost_priority)
        .str();
  }
  std::string operator()(const OrderRequeued& b) const {
    return Line(e, "order_requeued")("order", b.order)("parent", b.parent)(
               "after_lease", b.after_lease)("cards", b.cards)("duration", b.duration)
        .str();
  }
  std::string operator()(const RequeueFailed& b) const {
    return Line(e, "requeue_failed")("parent", b.parent)("after_lease", b.after_lease)(
               "reason", to_string(b.reason))
        .str();
  }
  std::string operator()(const LeaseStarted& b) const {
    return Line(e, "lease_started")("lease", b.lease)("order", b.order)("listing", b.listing)(
               "node", b.node)("buyer", b.buyer)("supplier", b.supplier)("pool", b.pool)(
               "cards", b.cards)("card_mask", b.card_mask)("price", b.price_micros_per_card_hour)(
               "start", b.start)("planned_end", b.planned_end)
        .str();
  }
  std::string operator()(const LeaseReclaimNotice& b) const {
    return Line(e, "lease_reclaim_notice")("lease", b.lease)("ends_at", b.ends_at).str();
  }
  std::string operator()(const LeaseEnded& b) const {
    return Line(e, "lease_ended")("lease", b.lease)("reason", to_string(b.reason))("billable_end",
                                                                                   b.billable_end)
        .str();
  }
  std::string operator()(const LeaseSettled& b) const {
    return Line(e, "lease_settled")("lease", b.lease)("order", b.order)("buyer", b.buyer)(
               "supplier", b.supplier)("charge", b.charge)("fee", b.platform_fee)(
               "charged_total", b.charged_total)("clamped", b.clamped)
        .str();
  }
  std::string operator()(const HoldChanged& b) const {
    return Line(e, "hold_changed")("buyer", b.buyer)("order", b.order)("amount", b.amount).str();
  }
  std::string operator()(const IndexPublished& b) const {
    return Line(e, "index")("pool", b.pool)("price", b.index_micros_per_card_hour).str();
  }
};

}  // namespace

std::string to_text(const Event& event) {
  return std::visit(Describe{event}, event.body);
}

std::string to_text(std::span<const Event> events) {
  std::string text;
  for (const Event& event : events) {
    if (!text.empty()) text += '\n';
    text += to_text(event);
  }
  return text;
}

}  // namespace spotgrid::engine
