#include "batch_writer.hpp"

#include "copy_rows.hpp"
#include "webhook_outbox.hpp"

#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "spotgrid/engine/codec.hpp"
#include "spotgrid/engine/event_text.hpp"
#include "spotgrid/ledger/postings.hpp"

namespace spotgrid::ledger {

using namespace spotgrid::engine;

namespace {

// Changes to rows that already exist (or were inserted earlier in this batch),
// folded per id so each row is updated once per batch. A null state, a
// negative count or a zero price means "keep".
struct OrderChange {
  const char* status = nullptr;
  const char* unfilled_reason = nullptr;  // set with every status
  Int cards_open = -1;
  Int open_delta = 0;  // cards filled since, when cards_open is "keep"
  Int filled_delta = 0;
  Int hold_delta = 0;
  Int limit_price = 0;
  Int at = 0;
};
struct LeaseChange {
  const char* status = nullptr;
  const char* end_reason = nullptr;
  Int billable_end = -1;
  Int reclaim_at = 0;
  Int charged = -1;
  Int fee_delta = 0;
  Int at = 0;
};
// An order accepted in this batch: inserted once, with what the batch did to it
// folded in (nearly every order rests, fills or is cancelled by the command
// that placed it), instead of an insert and an update of the same row.
struct NewOrder {
  Int order_id = 0;
  Int buyer_id = 0;
  std::string client_order_id;  // escaped bytea
  const char* target_kind = nullptr;
  Int pool = 0;
  Int min_memory_gib = 0;
  Int min_cu = 0;
  const char* strategy = nullptr;
  Int cards = 0;
  Int duration = 0;
  Int limit_price = 0;
  Int expected_cost = 0;
  Int created_at = 0;
};
struct ListingChange {
  const char* status = nullptr;
  Int at = 0;
};

template <typename Change>
class Changes {
 public:
  Change& at(std::uint64_t id, UnixSeconds when) {
    auto [it, inserted] = index_.try_emplace(id, rows_.size());
    if (inserted) rows_.emplace_back(id, Change{});
    Change& change = rows_[it->second].second;
    change.at = when;
    return change;
  }
  const std::vector<std::pair<std::uint64_t, Change>>& rows() const { return rows_; }
  const Change* find(std::uint64_t id) const {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : &rows_[it->second].second;
  }

 private:
  std::unordered_map<std::uint64_t, std::size_t> index_;
  std::vector<std::pair<std::uint64_t, Change>> rows_;
};

Int as_int(std::uint64_t value) {
  return static_cast<Int>(value);
}

std::string bytea(pqxx::transaction_base& txn, std::string_view bytes) {
  return txn.esc_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// Where a batch stages what it changes in rows that exist, to apply it in one
// statement per table.
constexpr Column kRequeueColumns[] = {{"order_id", "bigint"}, {"parent_order_id", "bigint"},
                                      {"cards", "integer"},   {"duration", "bigint"},
                                      {"at", "bigint"},       {"limit_price", "bigint"}};
constexpr StagingTable kRequeues{"stage_requeues", kRequeueColumns};
constexpr Column kOrderChangeColumns[] = {
    {"order_id", "bigint"},    {"status", "order_status"}, {"unfilled_reason", "unfilled_reason"},
    {"cards_open", "integer"}, {"open_delta", "integer"},  {"filled_delta", "integer"},
    {"hold_delta", "bigint"},  {"limit_price", "bigint"},  {"at", "bigint"}};
constexpr StagingTable kOrderChanges{"stage_order_changes", kOrderChangeColumns};
constexpr Column kLeaseChangeColumns[] = {{"lease_id", "bigint"},      {"status", "lease_status"},
                                          {"end_reason", "lease_end"}, {"billable_end", "bigint"},
                                          {"reclaim_at", "bigint"},    {"charged", "bigint"},
                                          {"fee_delta", "bigint"}};
constexpr StagingTable kLeaseChanges{"stage_lease_changes", kLeaseChangeColumns};
constexpr Column kListingChangeColumns[] = {
    {"listing_id", "bigint"}, {"status", "listing_status"}, {"at", "bigint"}};
constexpr StagingTable kListingChanges{"stage_listing_changes", kListingChangeColumns};

// The statements that apply them (copy_rows.hpp, StagedStatement), after the
// inserts so a row created and changed in the same batch is found.
constexpr StagedStatement kInsertRequeues{
    "sg_insert_requeues", kRequeues, "r",
    "INSERT INTO orders (order_id, buyer_id, parent_order_id, client_order_id, target_kind,"
    " pool, min_memory_gib, min_cu, strategy, cards, duration, limit_price, expected_cost,"
    " status, cards_open, created_at, updated_at)"
    " SELECT r.order_id, p.buyer_id, r.parent_order_id, p.client_order_id, p.target_kind,"
    " p.pool, p.min_memory_gib, p.min_cu, 'time_first', r.cards, r.duration,"
    " CASE WHEN r.limit_price = 0 THEN p.limit_price ELSE r.limit_price END,"
    " 0, 'accepted', r.cards, r.at, r.at FROM ",
    " JOIN orders p ON p.order_id = r.parent_order_id"};
constexpr StagedStatement kUpdateOrders{
    "sg_update_orders", kOrderChanges, "c",
    "UPDATE orders o SET status = coalesce(c.status, o.status),"
    " unfilled_reason = coalesce(c.unfilled_reason, o.unfilled_reason),"
    " cards_open = CASE WHEN c.cards_open < 0 THEN o.cards_open + c.open_delta"
    " ELSE c.cards_open END,"
    " cards_filled = o.cards_filled + c.filled_delta, hold = o.hold + c.hold_delta,"
    " limit_price = CASE WHEN c.limit_price = 0 THEN o.limit_price ELSE c.limit_price END,"
    " updated_at = c.at FROM ",
    " WHERE o.order_id = c.order_id"};
constexpr StagedStatement kUpdateLeases{
    "sg_update_leases", kLeaseChanges, "c",
    "UPDATE leases l SET status = coalesce(c.status, l.status),"
    " end_reason = coalesce(c.end_reason, l.end_reason),"
    " billable_end = CASE WHEN c.billable_end < 0 THEN l.billable_end"
    " ELSE c.billable_end END,"
    " reclaim_at = CASE WHEN c.reclaim_at = 0 THEN l.reclaim_at ELSE c.reclaim_at END,"
    " charged = CASE WHEN c.charged < 0 THEN l.charged ELSE c.charged END,"
    " fees = l.fees + c.fee_delta FROM ",
    " WHERE l.lease_id = c.lease_id"};
constexpr StagedStatement kUpdateListings{
    "sg_update_listings", kListingChanges, "c",
    "UPDATE listings l SET status = c.status, closed_at = c.at FROM ",
    " WHERE l.listing_id = c.listing_id"};

}  // namespace

// The batch's rows, gathered from its events, then written in two steps.
class BatchWriter::Batch {
 public:
  explicit Batch(pqxx::transaction_base& txn) : txn_(txn) {}

  void add(const Applied& applied) {
    const std::uint64_t first_event_seq =
        applied.events.empty() ? 0 : applied.events.front().event_seq;
    commands_.add(as_int(applied.command_seq), applied.command.now,
                  std::string(command_name(applied.command.body)),
                  applied.rejected ? std::string(to_string(*applied.rejected)) : std::string(),
                  as_int(first_event_seq), static_cast<Int>(applied.events.size()),
                  bytea(txn_, encode_command(applied.command)), to_text(applied.events),
                  Int{engine::kEventFormat});
    for (const Event& event : applied.events) {
      if (auto posting = posting_for(event)) add_posting(*posting);
      std::visit([&](const auto& body) { project(applied.command, event, body); }, event.body);
    }
  }

  // Rows no other batch has: they read nothing the market writes and wait on
  // no lock. The webhook probe goes last: its answer says what the second
  // step writes for webhooks.
  void write_new_rows() {
    PendingSql pending;
    commands_.write(txn_, pending);
    transactions_.write(txn_, pending);
    nodes_.write(txn_, pending);
    listings_.write(txn_, pending);
    insert_new_orders(pending);
    leases_.write(txn_, pending);
    index_prices_.write(txn_, pending);
    if (!outbox_.empty()) pending.add(WebhookOutbox::probe_sql());
    webhook_probe_ = pending.send(txn_);
  }

  // What reads or changes rows earlier batches wrote: balances, updates,
  // re-queued orders, webhook deliveries. Its last statements are left in
  // `pending`, for the caller to send (with COMMIT).
  void write_the_rest(PendingSql& pending) {
    entries_.write(txn_, pending);  // after transactions: the posting trigger checks they exist
    write_changes(pending);
    if (!outbox_.empty()) outbox_.write(txn_, webhook_probe_, pending);
  }

 private:
  void add_posting(const Posting& posting) {
    transactions_.add(as_int(posting.txn_id), as_int(posting.command_seq), posting.at,
                      to_string(posting.kind).data(), as_int(posting.order), as_int(posting.lease));
    for (const Entry& entry : posting.entries()) {
      entries_.add(as_int(posting.txn_id), Int{entry.owner}, to_string(entry.account).data(),
                   entry.amount);
      if (entry.account == LedgerAccount::kCash && entry.owner != 0)
        outbox_.add_cash(entry.owner, entry.amount, posting.txn_id, posting.at);
    }
  }

  // Projections: how each event changes the current-state tables.
  void project(const Command& command, const Event& event, const NodeRegistered& b) {
    const auto& c = std::get<RegisterNode>(command.body);
    nodes_.add(as_int(b.node), Int{b.supplier}, Int{b.pool}, Int{c.region}, Int{c.zone},
               Int{b.cards}, Int{c.measured_cu}, Int{c.reliability}, event.at);
  }
  void project(const Command& command, const Event& event, const ListingAdded& b) {
    const auto& c = std::get<AddListing>(command.body);
    listings_.add(as_int(b.listing), as_int(b.node), Int{c.supplier}, Int{b.cards},
                  b.price_micros_per_card_hour, b.floating, b.from, b.until, "active", event.at);
  }
  void project(const Command&, const Event& event, const ListingClosed& b) {
    listing_changes_.at(b.listing, event.at).status = b.withdrawn ? "withdrawn" : "closed";
  }
  void project(const Command& command, const Event& event, const OrderAccepted& b) {
    const OrderSpec& spec = std::get<PlaceOrder>(command.body).spec;
    const bool model = spec.target.kind == TargetKind::kModel;
    new_order_index_.emplace(b.order, new_orders_.size());
    new_orders_.push_back(NewOrder{
        .order_id = as_int(b.order),
        .buyer_id = Int{b.buyer},
        .client_order_id = bytea(txn_, {b.client_order_id.bytes.data(), b.client_order_id.length}),
        .target_kind = model ? "model" : "class",
        .pool = Int{spec.target.pool},
        .min_memory_gib = Int{spec.target.min_memory_gib},
        .min_cu = Int{spec.target.min_cu},
        .strategy = spec.strategy == Strategy::kCostFirst ? "cost_first" : "time_first",
        .cards = Int{spec.cards},
        .duration = spec.duration,
        .limit_price = spec.limit_micros_per_hour,
        .expected_cost = b.expected_cost,
        .created_at = event.at});
  }
  void project(const Command&, const Event& event, const OrderRequeued& b) {
    requeues_.add(as_int(b.order), as_int(b.parent), Int{b.cards}, b.duration, event.at,
                  limit_now(b.parent));
  }
  void project(const Command&, const Event& event, const OrderDeferred& b) {
    OrderChange& change = order_changes_.at(b.order, event.at);
    change.status = "deferred";
    change.unfilled_reason = to_string(UnfilledReason::kWaitingForCheaperTariff).data();
  }
  void project(const Command&, const Event& event, const OrderResting& b) {
    OrderChange& change = order_changes_.at(b.order, event.at);
    change.status = "resting";
    set_open(change, b.cards_open);
    change.unfilled_reason = to_string(b.reason).data();
  }
  void project(const Command&, const Event& event, const OrderFilled& b) {
    finish_order(order_changes_.at(b.order, event.at), "filled");
    outbox_.add({.type = "order.filled", .event = &event, .order = b.order});
  }
  void project(const Command&, const Event& event, const OrderCancelled& b) {
    finish_order(order_changes_.at(b.order, event.at), "cancelled");
    const bool expired = b.cause == CancelCause::kImmediateOrCancel;
    outbox_.add({.type = expired ? "order.expired" : "order.cancelled",
                 .event = &event,
                 .order = b.order,
                 .cards_cancelled = Int{b.cards_cancelled},
                 .reason = to_string(b.cause).data()});
  }
  void project(const Command&, const Event& event, const OrderAmended& b) {
    OrderChange& change = order_changes_.at(b.order, event.at);
    set_open(change, b.cards_open);
    change.limit_price = b.limit;
  }
  void project(const Command&, const Event& event, const HoldChanged& b) {
    order_changes_.at(b.order, event.at).hold_delta += b.amount;
  }
  void project(const Command&, const Event& event, const LeaseStarted& b) {
    leases_.add(as_int(b.lease), as_int(b.order), as_int(b.listing), as_int(b.node), Int{b.buyer},
                Int{b.supplier}, Int{b.pool}, Int{b.cards}, static_cast<Int>(b.card_mask),
                b.price_micros_per_card_hour, b.start, b.planned_end, b.planned_end, "running");
    // A resting order that fills from a new listing has no event of its own.
    OrderChange& change = order_changes_.at(b.order, event.at);
    change.filled_delta += b.cards;
    (change.cards_open >= 0 ? change.cards_open : change.open_delta) -= b.cards;
    outbox_.add({.type = "lease.started", .event = &event, .lease = b.lease});
  }
  void project(const Command&, const Event& event, const LeaseReclaimNotice& b) {
    lease_changes_.at(b.lease, event.at).reclaim_at = b.ends_at;
    outbox_.add(
        {.type = "lease.reclaim_notice", .event = &event, .lease = b.lease, .ends_at = b.ends_at});
  }
  void project(const Command&, const Event& event, const LeaseEnded& b) {
    LeaseChange& change = lease_changes_.at(b.lease, event.at);
    change.status = "ended";
    change.end_reason = to_string(b.reason).data();
    change.billable_end = b.billable_end;
    const bool interrupted = b.reason == LeaseEnd::kInterrupted;
    outbox_.add({.type = interrupted ? "lease.interrupted" : "lease.ended",
                 .event = &event,
                 .lease = b.lease,
                 .billable_end = b.billable_end,
                 .reason = change.end_reason});
  }
  void project(const Command&, const Event& event, const LeaseSettled& b) {
    LeaseChange& change = lease_changes_.at(b.lease, event.at);
    change.charged = b.charged_total;
    change.fee_delta += b.platform_fee;
    order_changes_.at(b.order, event.at).hold_delta -= b.charge;
  }
  void project(const Command&, const Event& event, const IndexPublished& b) {
    index_prices_.add(as_int(event.event_seq), Int{b.pool}, event.at, b.index_micros_per_card_hour);
  }
  void project(const Command&, const Event& event, const PayoutSent& b) {
    outbox_.add({.type = "payout.sent",
                 .event = &event,
                 .account = b.supplier,
                 .amount_micros = b.amount,
                 .reason = b.scheduled ? "scheduled" : "requested",
                 .reference = payout_reference(txn_id_of(event))});
  }
  template <typename Other>
  void project(const Command&, const Event&, const Other&) {}

  // An order's limit as the batch has it so far, when that may differ from its
  // row when the batch's SQL runs (0: the row's). A re-queued remainder takes
  // its parent's limit as it was then; the parent's row is written with the
  // whole batch's changes (inserted as the batch left it, or updated after).
  Micros limit_now(OrderId id) const {
    if (const OrderChange* change = order_changes_.find(id); change && change->limit_price != 0)
      return change->limit_price;
    const auto placed = new_order_index_.find(id);
    return placed == new_order_index_.end() ? 0 : new_orders_[placed->second].limit_price;
  }

  // An event that says how many cards are open overrides what came before it.
  static void set_open(OrderChange& change, Int cards_open) {
    change.cards_open = cards_open;
    change.open_delta = 0;
  }
  static void finish_order(OrderChange& change, const char* status) {
    change.status = status;
    set_open(change, 0);
    change.unfilled_reason = to_string(UnfilledReason::kNone).data();
  }

  // Each new order's row as the batch left it: the row an update of the
  // inserted row would give.
  void insert_new_orders(PendingSql& pending) {
    if (new_orders_.empty()) return;
    Rows<Int, Int, std::string, const char*, Int, Int, Int, const char*, Int, Int, Int, Int,
         const char*, Int, Int, Int, const char*, Int, Int>
        rows("orders",
             {"order_id", "buyer_id", "client_order_id", "target_kind", "pool", "min_memory_gib",
              "min_cu", "strategy", "cards", "duration", "limit_price", "expected_cost", "status",
              "cards_open", "cards_filled", "hold", "unfilled_reason", "created_at", "updated_at"});
    for (NewOrder& order : new_orders_) {
      const OrderChange* change = order_changes_.find(static_cast<std::uint64_t>(order.order_id));
      const OrderChange none;
      const OrderChange& c = change != nullptr ? *change : none;
      rows.add(order.order_id, order.buyer_id, std::move(order.client_order_id), order.target_kind,
               order.pool, order.min_memory_gib, order.min_cu, order.strategy, order.cards,
               order.duration, c.limit_price == 0 ? order.limit_price : c.limit_price,
               order.expected_cost, c.status != nullptr ? c.status : "accepted",
               c.cards_open < 0 ? order.cards + c.open_delta : c.cards_open, c.filled_delta,
               c.hold_delta, c.unfilled_reason != nullptr ? c.unfilled_reason : "none",
               order.created_at, change != nullptr ? c.at : order.created_at);
      if (change != nullptr) folded_.insert(static_cast<std::uint64_t>(order.order_id));
    }
    rows.write(txn_, pending);
  }

  // Stages the folded changes and adds the statements that apply them.
  void write_changes(PendingSql& pending) {
    if (!requeues_.empty()) requeues_.stage(txn_, pending, kInsertRequeues);
    if (order_changes_.rows().size() > folded_.size()) {
      Rows<Int, const char*, const char*, Int, Int, Int, Int, Int, Int> staged(kOrderChanges);
      for (const auto& [id, c] : order_changes_.rows()) {
        if (folded_.contains(id)) continue;  // inserted as the batch left it
        staged.add(as_int(id), c.status, c.unfilled_reason, c.cards_open, c.open_delta,
                   c.filled_delta, c.hold_delta, c.limit_price, c.at);
      }
      staged.stage(txn_, pending, kUpdateOrders);
    }
    if (!lease_changes_.rows().empty()) {
      Rows<Int, const char*, const char*, Int, Int, Int, Int> staged(kLeaseChanges);
      for (const auto& [id, c] : lease_changes_.rows()) {
        staged.add(as_int(id), c.status, c.end_reason, c.billable_end, c.reclaim_at, c.charged,
                   c.fee_delta);
      }
      staged.stage(txn_, pending, kUpdateLeases);
    }
    if (!listing_changes_.rows().empty()) {
      Rows<Int, const char*, Int> staged(kListingChanges);
      for (const auto& [id, c] : listing_changes_.rows())
        staged.add(as_int(id), c.status, c.at);
      staged.stage(txn_, pending, kUpdateListings);
    }
  }

  pqxx::transaction_base& txn_;
  Rows<Int, Int, std::string, std::string, Int, Int, std::string, std::string, Int> commands_{
      "command_log",
      {"command_seq", "at", "kind", "rejected", "first_event_seq", "event_count", "command",
       "events", "event_format"}};
  Rows<Int, Int, Int, const char*, Int, Int> transactions_{
      "ledger_transactions", {"txn_id", "command_seq", "at", "kind", "order_id", "lease_id"}};
  Rows<Int, Int, const char*, Int> entries_{"ledger_entries",
                                            {"txn_id", "owner_id", "account", "amount"}};
  Rows<Int, Int, Int, Int, Int, Int, Int, Int, Int> nodes_{
      "nodes",
      {"node_id", "supplier_id", "pool", "region", "zone", "cards", "measured_cu", "reliability_bp",
       "registered_at"}};
  Rows<Int, Int, Int, Int, Int, bool, Int, Int, const char*, Int> listings_{
      "listings",
      {"listing_id", "node_id", "supplier_id", "cards", "price", "floating", "available_from",
       "available_until", "status", "created_at"}};
  std::vector<NewOrder> new_orders_;
  std::unordered_map<std::uint64_t, std::size_t> new_order_index_;
  std::unordered_set<std::uint64_t> folded_;  // new orders whose changes their insert carries
  Rows<Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, const char*> leases_{
      "leases",
      {"lease_id", "order_id", "listing_id", "node_id", "buyer_id", "supplier_id", "pool", "cards",
       "card_mask", "price", "started_at", "planned_end", "billable_end", "status"}};
  Rows<Int, Int, Int, Int> index_prices_{"index_prices", {"event_seq", "pool", "at", "price"}};
  Rows<Int, Int, Int, Int, Int, Int> requeues_{kRequeues};
  Changes<OrderChange> order_changes_;
  Changes<LeaseChange> lease_changes_;
  Changes<ListingChange> listing_changes_;
  WebhookOutbox outbox_;
  pqxx::result webhook_probe_;  // its answer, from the first step
};

namespace {

// Every staged statement of a persister connection, with `sql_of` of each.
template <typename SqlOf>
std::string for_each_staged_statement(SqlOf sql_of) {
  std::string sql;
  for (const StagedStatement* statement :
       {&kInsertRequeues, &kUpdateOrders, &kUpdateLeases, &kUpdateListings})
    sql += sql_of(*statement);
  for (const StagedStatement* statement : WebhookOutbox::staged_statements())
    sql += sql_of(*statement);
  return sql;
}

}  // namespace

void clear_staging(pqxx::transaction_base& txn) {
  txn.exec(for_each_staged_statement([](const StagedStatement& statement) {
    return "DELETE FROM " + std::string(statement.table.name) + ';';
  }));
}

void prepare_connection(pqxx::connection_base& connection) {
  // A session that breaks must never be replaced behind the market's back: a
  // new one would hold neither the market's lock, nor the staging tables,
  // nor the prepared statements. libpqxx 6 reopens one unless told not to
  // (and deprecates saying so: version 7 never reopens).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  connection.inhibit_reactivation(true);
#pragma GCC diagnostic pop
  pqxx::work txn(connection, "prepare");
  // The staging tables have no statistics: keep the planner from hashing (and
  // so scanning) a whole table to update the few rows a batch touches.
  // A batch never waits on a lock of the market's own (batches in flight
  // write disjoint rows until their turn): one held elsewhere for 10 s fails
  // it as storage, and the market recovers, instead of stalling every answer.
  // bytea values are written as libpq escapes them: with standard strings.
  // Prepared plans are generic: planned once per connection (the staged rows'
  // count is unknown to the planner anyway). This holds for every prepared
  // plan of the session (these, and the posting trigger's); one-shot
  // statements (exec_params) are planned each time as before. The staged JSON
  // is ASCII (non-ASCII as \u escapes), which a UTF8 database reads.
  txn.exec(
      "SET enable_hashjoin = off; SET enable_mergejoin = off; SET lock_timeout = '10s';"
      " SET standard_conforming_strings = on; SET plan_cache_mode = force_generic_plan");
  txn.exec(for_each_staged_statement([](const StagedStatement& statement) {
    return create_sql(statement.table) + prepare_sql(statement);
  }));
  txn.exec(WebhookOutbox::prepare_probe_sql());
  txn.commit();
}

BatchWriter::BatchWriter(pqxx::transaction_base& txn, std::span<const Applied* const> batch)
    : rows_(std::make_unique<Batch>(txn)) {
  for (const Applied* applied : batch)
    rows_->add(*applied);
}

BatchWriter::~BatchWriter() = default;

void BatchWriter::write_new_rows() {
  rows_->write_new_rows();
}

std::string BatchWriter::write_the_rest() {
  PendingSql pending;
  rows_->write_the_rest(pending);
  return pending.take();
}

void write_batch(pqxx::transaction_base& txn, std::span<const Applied* const> batch) {
  BatchWriter writer(txn, batch);
  writer.write_new_rows();
  const std::string last = writer.write_the_rest();
  if (!last.empty()) txn.exec(last);
}

void write_snapshot(pqxx::transaction_base& txn, std::uint64_t command_seq, UnixSeconds at,
                    const std::string& state) {
  txn.exec_params("INSERT INTO engine_snapshots (command_seq, taken_at, state) VALUES ($1, $2, $3)",
                  as_int(command_seq), at, pqxx::binarystring(state));
}

}  // namespace spotgrid::ledger
