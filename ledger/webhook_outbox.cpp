#include "webhook_outbox.hpp"

namespace spotgrid::ledger {

namespace {

constexpr Column kEventColumns[] = {
    {"event_seq", "bigint"},       {"at", "bigint"},       {"type", "text"},
    {"account_id", "bigint"},      {"order_id", "bigint"}, {"lease_id", "bigint"},
    {"cards_cancelled", "bigint"}, {"ends_at", "bigint"},  {"billable_end", "bigint"},
    {"amount_micros", "bigint"},   {"reason", "text"},     {"reference", "text"}};
constexpr Column kCashColumns[] = {
    {"owner_id", "bigint"}, {"delta", "bigint"}, {"last_event_seq", "bigint"}, {"at", "bigint"}};
constexpr StagingTable kStagedEvents{"stage_webhook_events", kEventColumns};
constexpr StagingTable kStagedCash{"stage_cash_changes", kCashColumns};

// A delivery per (subscribed endpoint, owner of the event), born due at the
// endpoint's retry time (an endpoint backing off is not tried for each new
// event). The id a receiver dedupes by is the event's sequence. A supplier is
// told about its leases, never who its buyers are (as on the stream).
constexpr StagedStatement kInsertEventDeliveries{
    "sg_insert_event_deliveries", kStagedEvents, "s",
    "WITH ev AS (SELECT s.*, coalesce(nullif(s.order_id, 0), l.order_id) AS of_order,"
    " l.buyer_id, l.supplier_id, l.node_id, l.cards, l.price, l.started_at, l.planned_end,"
    " o.buyer_id AS order_buyer"
    " FROM ",
    " LEFT JOIN leases l ON s.lease_id <> 0 AND l.lease_id = s.lease_id"
    " LEFT JOIN orders o ON s.order_id <> 0 AND o.order_id = s.order_id),"
    " owned AS (SELECT DISTINCT ev.*, x.owner, coalesce(x.owner = ev.supplier_id"
    " AND x.owner <> ev.buyer_id, false) AS to_supplier FROM ev CROSS JOIN LATERAL (VALUES"
    " (ev.account_id), (ev.order_buyer), (ev.buyer_id), (ev.supplier_id)) x(owner)"
    " WHERE x.owner IS NOT NULL AND x.owner <> 0)"
    " INSERT INTO webhook_deliveries (endpoint_id, event_id, type, created_at, payload,"
    " next_attempt_at)"
    " SELECT w.endpoint_id, e.event_seq, e.type, e.at, jsonb_build_object('id', 'evt_' ||"
    " e.event_seq, 'type', e.type, 'created_at', e.at, 'account_id', e.owner, 'data',"
    " jsonb_strip_nulls(jsonb_build_object('order_id', CASE WHEN NOT e.to_supplier"
    " THEN nullif(e.of_order, 0) END,"
    " 'lease_id', nullif(e.lease_id, 0), 'buyer_id', CASE WHEN NOT e.to_supplier"
    " THEN e.buyer_id END, 'supplier_id',"
    " e.supplier_id, 'node_id', e.node_id, 'cards', e.cards, 'price_micros_per_card_hour',"
    " e.price, 'started_at', e.started_at, 'planned_end', e.planned_end,"
    " 'reason', nullif(e.reason, ''), 'cards_cancelled', nullif(e.cards_cancelled, -1),"
    " 'ends_at', nullif(e.ends_at, -1), 'billable_end', nullif(e.billable_end, -1),"
    " 'amount_micros', nullif(e.amount_micros, -1), 'reference', nullif(e.reference, ''))))"
    "::text, w.retry_at"
    " FROM owned e JOIN webhook_endpoints w ON w.account_id = e.owner"
    " AND w.disabled_at IS NULL AND e.type = ANY (w.event_types)"
    " ON CONFLICT DO NOTHING"};

// balance.low once per downward crossing of an endpoint's threshold, judged
// on the batch's net change of the account's cash.
constexpr StagedStatement kInsertBalanceLowDeliveries{
    "sg_insert_balance_low_deliveries", kStagedCash, "c",
    "INSERT INTO webhook_deliveries (endpoint_id, event_id, type, created_at, payload,"
    " next_attempt_at)"
    " SELECT w.endpoint_id, c.last_event_seq, 'balance.low', c.at, jsonb_build_object('id',"
    " 'evt_' || c.last_event_seq, 'type', 'balance.low', 'created_at', c.at, 'account_id',"
    " c.owner_id, 'data', jsonb_build_object('cash_micros', a.balance, 'threshold_micros',"
    " w.balance_low_micros))::text, w.retry_at"
    " FROM ",
    " JOIN ledger_accounts a ON a.owner_id = c.owner_id AND a.account = 'cash'"
    " JOIN webhook_endpoints w ON w.account_id = c.owner_id AND w.disabled_at IS NULL"
    " AND 'balance.low' = ANY (w.event_types)"
    " WHERE a.balance < w.balance_low_micros AND a.balance - c.delta >= w.balance_low_micros"
    " ON CONFLICT DO NOTHING"};

constexpr const char* kProbe = "sg_webhook_probe";  // a prepared statement's name

constexpr const StagedStatement* kStagedStatements[] = {&kInsertEventDeliveries,
                                                        &kInsertBalanceLowDeliveries};

}  // namespace

void WebhookOutbox::add(const WebhookEvent& notice) {
  events_.push_back(notice);
}

void WebhookOutbox::add_cash(AccountId owner, Micros delta, std::uint64_t event_seq,
                             UnixSeconds at) {
  Cash& cash = cash_[owner];
  cash.delta += delta;
  cash.last_event_seq = static_cast<Int>(event_seq);
  cash.at = at;
}

std::span<const StagedStatement* const> WebhookOutbox::staged_statements() {
  return kStagedStatements;
}

std::string WebhookOutbox::prepare_probe_sql() {
  return std::string("PREPARE ") + kProbe +
         " AS SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at IS NULL),"
         " EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at IS NULL"
         " AND 'balance.low' = ANY (event_types))";
}

std::string WebhookOutbox::probe_sql() {
  return std::string("EXECUTE ") + kProbe + ';';
}

void WebhookOutbox::write(pqxx::transaction_base& txn, const pqxx::result& probe,
                          PendingSql& pending) const {
  const bool any_endpoint = probe.size() == 1 && probe[0][0].as<bool>();
  const bool balance_endpoint = probe.size() == 1 && probe[0][1].as<bool>();
  if (any_endpoint && !events_.empty()) {
    Rows<Int, Int, const char*, Int, Int, Int, Int, Int, Int, Int, const char*, std::string> staged(
        kStagedEvents);
    for (const WebhookEvent& e : events_) {
      staged.add(static_cast<Int>(e.event->event_seq), e.event->at, e.type, Int{e.account},
                 static_cast<Int>(e.order), static_cast<Int>(e.lease), e.cards_cancelled, e.ends_at,
                 e.billable_end, e.amount_micros, e.reason, e.reference);
    }
    staged.stage(txn, pending, kInsertEventDeliveries);
  }
  if (balance_endpoint && !cash_.empty()) {
    Rows<Int, Int, Int, Int> staged(kStagedCash);
    for (const auto& [owner, cash] : cash_)
      staged.add(Int{owner}, cash.delta, cash.last_event_seq, cash.at);
    staged.stage(txn, pending, kInsertBalanceLowDeliveries);
  }
}

}  // namespace spotgrid::ledger
