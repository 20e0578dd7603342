#pragma once
// The webhook outbox of one group commit (docs/architecture.md "Webhooks"):
// the batch's events that accounts may subscribe to, and each account's net
// change of cash (for balance.low), written as deliveries to the endpoints
// subscribed, in the batch's own transaction. The batch writer feeds it.
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>

#include "copy_rows.hpp"
#include "spotgrid/engine/event.hpp"

namespace spotgrid::ledger {

// One notifiable event. Its owners: `account`, or (0) the order's buyer, or
// the lease's buyer and supplier (resolved from the tables). -1: not the
// event's field.
struct WebhookEvent {
  const char* type = "";
  const engine::Event* event = nullptr;
  AccountId account = 0;
  OrderId order = 0;
  LeaseId lease = 0;
  Int cards_cancelled = -1;
  Int ends_at = -1;
  Int billable_end = -1;
  Int amount_micros = -1;
  const char* reason = "";
  std::string reference = {};  // a payout's bank reference
};

class WebhookOutbox {
 public:
  void add(const WebhookEvent& notice);
  void add_cash(AccountId owner, Micros delta, std::uint64_t event_seq, UnixSeconds at);
  bool empty() const { return events_.empty() && cash_.empty(); }

  // The query that says whether any endpoint could want these: appended last
  // to the batch's first round trip, so a market without endpoints pays no
  // round trip for webhooks. It runs prepared (prepare_connection).
  static std::string probe_sql();
  static std::string prepare_probe_sql();
  // The statements that write the deliveries from its staged rows, and their
  // temporary tables (prepare_connection prepares and creates them).
  static std::span<const StagedStatement* const> staged_statements();
  // Adds the deliveries to `pending` when the probe's answer (its one row) says so.
  void write(pqxx::transaction_base& txn, const pqxx::result& probe, PendingSql& pending) const;

 private:
  struct Cash {
    Int delta = 0;
    Int last_event_seq = 0;
    Int at = 0;
  };
  std::vector<WebhookEvent> events_;
  std::unordered_map<AccountId, Cash> cash_;
};

}  // namespace spotgrid::ledger
