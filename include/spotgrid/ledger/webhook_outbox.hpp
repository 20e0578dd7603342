#pragma once
// The webhook outbox (sql/010_webhooks.sql): which committed events an
// account's endpoints may subscribe to. The persister writes a delivery row
// for each subscribed endpoint in the batch's own transaction; the gateway's
// dispatcher (webhooks/) sends them.
#include <array>
#include <string_view>

namespace spotgrid::ledger {

// order.expired: an immediate-or-cancel order's unfilled rest, cancelled by the
// market (orders do not otherwise expire). balance.low: the account's
// available cash fell below the endpoint's threshold in a committed batch
// (once per crossing). Payloads: docs/architecture.md "Webhooks".
inline constexpr std::array<std::string_view, 9> kWebhookEventTypes = {
    "order.filled",  "order.cancelled",      "order.expired",
    "lease.started", "lease.reclaim_notice", "lease.interrupted",
    "lease.ended",   "balance.low",          "payout.sent"};

inline bool is_webhook_event_type(std::string_view type) {
  for (std::string_view known : kWebhookEventTypes) {
    if (known == type) return true;
  }
  return false;
}

}  // namespace spotgrid::ledger
