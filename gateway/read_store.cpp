#include "read_store.hpp"

#include "spotgrid/util/pg_session.hpp"

#include <pqxx/pqxx>

#include "api_support.hpp"

namespace spotgrid::gateway {

ReadStore::ReadStore(std::string conninfo, std::chrono::milliseconds statement_timeout)
    : database_(std::make_unique<util::PgSession>(std::move(conninfo))),
      statement_timeout_(statement_timeout) {}
ReadStore::~ReadStore() = default;

namespace {

// The orders table's "filled" is the API's "completed" (as the read model says).
std::string api_state(const std::string& status) {
  return status == "filled" ? std::string("completed") : status;
}

}  // namespace

template <typename Fill>
std::optional<std::string> ReadStore::query(Fill&& fill) {
  try {
    return database_->run([&](pqxx::connection& connection) {
      pqxx::read_transaction txn(connection, "read");
      if (statement_timeout_.count() > 0) {
        txn.exec("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_.count()));
      }
      rapidjson::StringBuffer buffer;
      Writer writer(buffer);
      writer.StartObject();
      fill(txn, writer);
      writer.EndObject();
      return std::string(buffer.GetString(), buffer.GetSize());
    });
  } catch (const pqxx::failure&) {
    return std::nullopt;
  }
}

namespace {

// A page of `rows` (asked for with one row more than `limit`, to know whether
// another page follows) as the array `name`, each row written by `row`, and
// "next_cursor": the first column of the page's last row, or null.
template <typename Row>
void write_rows(Writer& w, const char* name, const pqxx::result& rows, int limit, Row&& row) {
  const auto shown =
      std::min<pqxx::result::size_type>(rows.size(), static_cast<pqxx::result::size_type>(limit));
  key(w, name);
  w.StartArray();
  for (pqxx::result::size_type i = 0; i < shown; ++i) {
    w.StartObject();
    row(rows[i]);
    w.EndObject();
  }
  w.EndArray();
  key(w, "next_cursor");
  if (rows.size() > shown) {
    text(w, rows[shown - 1][0].as<std::string>());
  } else {
    w.Null();
  }
}

// The filters every history page takes, as parameters $2..$7 of `select`
// (whose $1 is the account).
template <typename Row>
void write_page(pqxx::read_transaction& txn, Writer& w, const char* name, const std::string& select,
                AccountId account, const HistoryPage& page, Row&& row) {
  const pqxx::result rows =
      txn.exec_params(select, static_cast<long long>(account), static_cast<long long>(page.before),
                      page.pool, page.statuses, static_cast<long long>(page.from),
                      static_cast<long long>(page.to), page.limit + 1);
  write_rows(w, name, rows, page.limit, row);
}

// The filters of a history page whose ids are `id`, times `at`, and whose
// rows are of pool $3 when `of_pool` (an SQL condition) holds.
std::string page_filters(const char* id, const char* at, const char* of_pool) {
  return std::string(" AND ($2::bigint = 0 OR ") + id + " < $2::bigint)" + " AND ($3::int < 0 OR " +
         of_pool + ")" +
         " AND ($4::text = '' OR status::text = ANY (string_to_array($4::text, ',')))" + " AND " +
         at + " >= $5::bigint AND " + at + " < $6::bigint ORDER BY " + id + " DESC LIMIT $7";
}

}  // namespace

std::optional<std::string> ReadStore::leases(AccountId account, LeaseSide side,
                                             const HistoryPage& page,
                                             const std::function<void(LeaseId, RowWriter&)>& live) {
  const std::string select =
      std::string(
          "SELECT lease_id, order_id, listing_id, node_id, pool, cards, price,"
          " started_at, planned_end, billable_end, status::text,"
          " coalesce(end_reason::text, ''), charged FROM leases WHERE ") +
      (side == LeaseSide::kBuyer ? "buyer_id" : "supplier_id") + " = $1" +
      page_filters("lease_id", "started_at", "pool = $3::int");
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    write_page(txn, w, "leases", select, account, page, [&](const pqxx::row& row) {
      field(w, "lease_id", row[0].as<std::uint64_t>());
      field(w, "order_id", row[1].as<std::uint64_t>());
      field(w, "listing_id", row[2].as<std::uint64_t>());
      field(w, "node_id", row[3].as<std::uint64_t>());
      field(w, "pool_index", row[4].as<int>());
      field(w, "cards", row[5].as<int>());
      field(w, "price_micros_per_card_hour", row[6].as<long long>());
      field(w, "started_at", row[7].as<long long>());
      field(w, "planned_end", row[8].as<long long>());
      field(w, "billable_end", row[9].as<long long>());
      field(w, "status", row[10].as<std::string>());
      field(w, "end_reason", row[11].as<std::string>());
      field(w, "charged_micros", row[12].as<long long>());
      if (live) live(row[0].as<LeaseId>(), w);
    });
  });
}

std::optional<std::string> ReadStore::order(OrderId order, AccountId buyer) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    const pqxx::result rows = txn.exec_params(
        "SELECT o.status::text, o.cards, o.cards_open, o.limit_price, o.hold,"
        " o.unfilled_reason::text,"
        " (SELECT count(*) FROM leases l WHERE l.order_id = o.order_id AND l.status = 'running'),"
        " (SELECT coalesce(min(l.started_at), 0) FROM leases l WHERE l.order_id = o.order_id)"
        " FROM orders o WHERE o.order_id = $1 AND o.buyer_id = $2",
        static_cast<long long>(order), static_cast<long long>(buyer));
    if (rows.empty()) return;
    const pqxx::row row = rows[0];
    const std::string status = row[0].as<std::string>();
    field(w, "order_id", order);
    field(w, "state", api_state(status));
    field(w, "cards", row[1].as<long long>());
    field(w, "cards_open", row[2].as<long long>());
    field(w, "leases_open", row[6].as<long long>());
    field(w, "limit_micros_per_hour", row[3].as<long long>());
    field(w, "hold_micros", row[4].as<long long>());
    field(w, "start_at", row[7].as<long long>());
    field(w, "unfilled_reason", row[5].as<std::string>());
  });
}

std::optional<std::string> ReadStore::trades(PoolIndex pool, const TradePage& page) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    const pqxx::result rows = txn.exec_params(
        "SELECT started_at, lease_id, cards, price FROM leases WHERE pool = $1"
        " AND started_at >= $2 AND started_at < $3"
        " AND ($4::bigint = 0 OR (started_at, lease_id) < ($4::bigint, $5::bigint))"
        " ORDER BY started_at DESC, lease_id DESC LIMIT $6",
        static_cast<int>(pool), static_cast<long long>(page.from), static_cast<long long>(page.to),
        static_cast<long long>(page.before_at), static_cast<long long>(page.before_lease),
        page.limit + 1);
    const auto shown = std::min<pqxx::result::size_type>(
        rows.size(), static_cast<pqxx::result::size_type>(page.limit));
    key(w, "trades");
    w.StartArray();
    for (pqxx::result::size_type i = 0; i < shown; ++i) {
      w.StartObject();
      field(w, "at", rows[i][0].as<long long>());
      field(w, "cards", rows[i][2].as<int>());
      field(w, "price_micros_per_card_hour", rows[i][3].as<long long>());
      w.EndObject();
    }
    w.EndArray();
    key(w, "next_cursor");
    if (rows.size() > shown) {
      text(w, rows[shown - 1][0].as<std::string>() + "." + rows[shown - 1][1].as<std::string>());
    } else {
      w.Null();
    }
  });
}

std::optional<std::string> ReadStore::index_history(PoolIndex pool, UnixSeconds since, int limit) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    key(w, "history");
    w.StartArray();
    for (const pqxx::row& row :
         txn.exec_params("SELECT at, price FROM index_prices WHERE pool = $1 AND at >= $2"
                         " ORDER BY at, event_seq LIMIT $3",
                         static_cast<int>(pool), static_cast<long long>(since), limit)) {
      w.StartObject();
      field(w, "at", row[0].as<long long>());
      field(w, "index_micros_per_card_hour", row[1].as<long long>());
      w.EndObject();
    }
    w.EndArray();
  });
}

std::optional<std::string> ReadStore::orders(AccountId buyer, const HistoryPage& page) {
  const std::string select =
      "SELECT order_id, status::text, strategy::text, pool, cards, cards_open, cards_filled,"
      " duration, limit_price, expected_cost, hold, unfilled_reason::text, created_at,"
      " updated_at FROM orders WHERE buyer_id = $1" +
      page_filters("order_id", "created_at", "pool = $3::int AND target_kind = 'model'");
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    write_page(txn, w, "orders", select, buyer, page, [&](const pqxx::row& row) {
      field(w, "order_id", row[0].as<std::uint64_t>());
      field(w, "state", api_state(row[1].as<std::string>()));
      field(w, "strategy", row[2].as<std::string>());
      field(w, "pool_index", row[3].as<int>());
      field(w, "cards", row[4].as<int>());
      field(w, "cards_open", row[5].as<int>());
      field(w, "cards_filled", row[6].as<int>());
      field(w, "duration_seconds", row[7].as<long long>());
      field(w, "limit_micros_per_hour", row[8].as<long long>());
      field(w, "expected_cost_micros", row[9].as<long long>());
      field(w, "hold_micros", row[10].as<long long>());
      field(w, "unfilled_reason", row[11].as<std::string>());
      field(w, "created_at", row[12].as<long long>());
      field(w, "updated_at", row[13].as<long long>());
    });
  });
}

std::optional<std::string> ReadStore::nodes(AccountId supplier, int limit,
                                            const std::function<void(NodeId, RowWriter&)>& live) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    key(w, "nodes");
    w.StartArray();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT n.node_id, n.pool, n.region, n.cards, n.measured_cu, n.reliability_bp,"
             " n.registered_at, (SELECT coalesce(sum(l.cards), 0) FROM leases l"
             "  WHERE l.node_id = n.node_id AND l.status = 'running')"
             " FROM nodes n WHERE n.supplier_id = $1 ORDER BY n.node_id DESC LIMIT $2",
             static_cast<long long>(supplier), limit)) {
      w.StartObject();
      field(w, "node_id", row[0].as<std::uint64_t>());
      field(w, "pool_index", row[1].as<int>());
      field(w, "region_index", row[2].as<int>());
      field(w, "cards", row[3].as<int>());
      field(w, "measured_cu_milli", row[4].as<long long>());
      field(w, "reliability_bp", row[5].as<int>());
      field(w, "registered_at", row[6].as<long long>());
      field(w, "cards_leased", row[7].as<long long>());
      if (live) live(row[0].as<NodeId>(), w);
      w.EndObject();
    }
    w.EndArray();
  });
}

std::optional<std::string> ReadStore::listings(AccountId supplier, int limit) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    key(w, "listings");
    w.StartArray();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT listing_id, node_id, cards, price, floating, available_from,"
             " available_until, status::text, created_at FROM listings WHERE supplier_id = $1"
             " ORDER BY listing_id DESC LIMIT $2",
             static_cast<long long>(supplier), limit)) {
      w.StartObject();
      field(w, "listing_id", row[0].as<std::uint64_t>());
      field(w, "node_id", row[1].as<std::uint64_t>());
      field(w, "cards", row[2].as<int>());
      field(w, "reserve_micros_per_card_hour", row[3].as<long long>());
      field(w, "floating", row[4].as<bool>());
      field(w, "available_from", row[5].as<long long>());
      field(w, "available_until", row[6].as<long long>());
      field(w, "status", row[7].as<std::string>());
      field(w, "created_at", row[8].as<long long>());
      w.EndObject();
    }
    w.EndArray();
  });
}

std::optional<std::string> ReadStore::earnings(AccountId supplier, UnixSeconds since) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    key(w, "days");
    w.StartArray();
    for (const pqxx::row& row : txn.exec_params(
             "SELECT t.at - t.at % 86400 AS day, sum(e.amount) FROM ledger_entries e"
             " JOIN ledger_transactions t ON t.txn_id = e.txn_id"
             " WHERE e.owner_id = $1 AND e.account = 'receivable' AND t.kind = 'settlement'"
             " AND t.at >= $2 GROUP BY day ORDER BY day",
             static_cast<long long>(supplier), static_cast<long long>(since))) {
      w.StartObject();
      field(w, "day", row[0].as<long long>());
      field(w, "earned_micros", row[1].as<long long>());
      w.EndObject();
    }
    w.EndArray();
  });
}

std::optional<std::string> ReadStore::operator_actions(UnixSeconds from, UnixSeconds to,
                                                       std::uint64_t after, int limit) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    const pqxx::result rows = txn.exec_params(
        "SELECT command_seq, at, kind, rejected, events FROM command_log"
        " WHERE kind IN ('deposit', 'halt_pool', 'suspend_account', 'quarantine_node',"
        " 'set_platform_fee', 'publish_tariff_schedule', 'add_gpu_model')"
        " AND at >= $1 AND at < $2 AND command_seq > $3 ORDER BY command_seq LIMIT $4",
        static_cast<long long>(from), static_cast<long long>(to), static_cast<long long>(after),
        limit + 1);
    write_rows(w, "actions", rows, limit, [&](const pqxx::row& row) {
      field(w, "command_seq", row[0].as<std::uint64_t>());
      field(w, "at", row[1].as<long long>());
      field(w, "action", row[2].as<std::string>());
      field(w, "rejected", row[3].as<std::string>());
      field(w, "events", row[4].as<std::string>());
    });
  });
}

std::optional<std::string> ReadStore::webhook_deliveries(AccountId account, std::int64_t endpoint,
                                                         const HistoryPage& page) {
  const std::string select =
      "SELECT event_id, type, created_at, status::text, attempts, next_attempt_at,"
      " last_attempt_at, last_status_code, last_error, delivered_at FROM webhook_deliveries"
      " WHERE endpoint_id = $1" +
      page_filters("event_id", "created_at", "true");
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    if (txn.exec_params("SELECT 1 FROM webhook_endpoints WHERE endpoint_id = $1"
                        " AND account_id = $2",
                        static_cast<long long>(endpoint), static_cast<long long>(account))
            .empty())
      return;
    const pqxx::result rows = txn.exec_params(select, static_cast<long long>(endpoint),
                                              static_cast<long long>(page.before), page.pool,
                                              page.statuses, static_cast<long long>(page.from),
                                              static_cast<long long>(page.to), page.limit + 1);
    const auto maybe = [&](std::string_view name, const pqxx::field& value) {
      key(w, name);
      if (value.is_null()) {
        w.Null();
      } else if (name == "last_error") {
        text(w, value.as<std::string>());
      } else {
        w.Int64(value.as<long long>());
      }
    };
    write_rows(w, "deliveries", rows, page.limit, [&](const pqxx::row& row) {
      field(w, "event_id", "evt_" + row[0].as<std::string>());
      field(w, "type", row[1].as<std::string>());
      field(w, "created_at", row[2].as<long long>());
      const std::string status = row[3].as<std::string>();
      field(w, "status", status);
      field(w, "attempts", row[4].as<long long>());
      key(w, "next_attempt_at");
      if (status == "pending") {
        w.Int64(row[5].as<long long>());
      } else {
        w.Null();
      }
      maybe("last_attempt_at", row[6]);
      maybe("last_status_code", row[7]);
      maybe("last_error", row[8]);
      maybe("delivered_at", row[9]);
    });
  });
}

std::optional<std::string> ReadStore::lease_energy(LeaseId lease, AccountId account) {
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    // The samples of the lease's node over its billable window, by the
    // (node, second) index, counted only where metering assigned the card to it.
    const pqxx::result rows = txn.exec_params(
        "SELECT l.node_id, l.cards, coalesce(sum(u.energy_mj), 0)::bigint, count(u.second),"
        " coalesce(avg(u.power_mw), 0)::bigint, coalesce(max(u.power_mw), 0),"
        " coalesce(avg(u.utilization_pct), 0)::bigint, coalesce(max(u.utilization_pct), 0)"
        " FROM leases l LEFT JOIN usage_samples u ON u.node = l.node_id"
        "  AND u.second >= l.started_at AND u.second < l.billable_end AND u.lease = l.lease_id"
        " WHERE l.lease_id = $1 AND (l.buyer_id = $2 OR l.supplier_id = $2)"
        " GROUP BY l.node_id, l.cards",
        static_cast<long long>(lease), static_cast<long long>(account));
    if (rows.empty()) return;
    const pqxx::row row = rows[0];
    field(w, "lease_id", lease);
    field(w, "node_id", row[0].as<std::uint64_t>());
    field(w, "cards", row[1].as<int>());
    field(w, "energy_joules", row[2].as<long long>() / 1'000);
    field(w, "card_seconds_measured", row[3].as<long long>());
    field(w, "average_power_milliwatts", row[4].as<long long>());
    field(w, "peak_power_milliwatts", row[5].as<long long>());
    field(w, "average_utilization_pct", row[6].as<long long>());
    field(w, "peak_utilization_pct", row[7].as<long long>());
  });
}

std::optional<std::string> ReadStore::candles(PoolIndex pool, UnixSeconds from, UnixSeconds to,
                                              UnixSeconds interval, bool of_trades) {
  // The same OHLC over either table: the index as published, or the price
  // each lease started at (a trade), with the cards traded.
  const std::string sql =
      of_trades ? "SELECT started_at - started_at % $4 AS bucket,"
                  " (array_agg(price ORDER BY started_at, lease_id))[1], max(price), min(price),"
                  " (array_agg(price ORDER BY started_at DESC, lease_id DESC))[1], count(*),"
                  " sum(cards) FROM leases WHERE pool = $1 AND started_at >= $2"
                  " AND started_at < $3 GROUP BY bucket ORDER BY bucket"
                : "SELECT at - at % $4 AS bucket,"
                  " (array_agg(price ORDER BY at, event_seq))[1], max(price), min(price),"
                  " (array_agg(price ORDER BY at DESC, event_seq DESC))[1], count(*), 0"
                  " FROM index_prices WHERE pool = $1 AND at >= $2 AND at < $3"
                  " GROUP BY bucket ORDER BY bucket";
  return query([&](pqxx::read_transaction& txn, Writer& w) {
    field(w, "interval_seconds", interval);
    field(w, "source", std::string_view(of_trades ? "trades" : "index"));
    key(w, "candles");
    w.StartArray();
    for (const pqxx::row& row :
         txn.exec_params(sql, static_cast<int>(pool), static_cast<long long>(from),
                         static_cast<long long>(to), static_cast<long long>(interval))) {
      w.StartObject();
      field(w, "at", row[0].as<long long>());
      field(w, "open", row[1].as<long long>());
      field(w, "high", row[2].as<long long>());
      field(w, "low", row[3].as<long long>());
      field(w, "close", row[4].as<long long>());
      field(w, "samples", row[5].as<long long>());
      if (of_trades) field(w, "cards", row[6].as<long long>());
      w.EndObject();
    }
    w.EndArray();
  });
}

}  // namespace spotgrid::gateway
