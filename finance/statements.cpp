#include "spotgrid/finance/statements.hpp"

#include "csv.hpp"
#include "spotgrid/finance/payouts.hpp"
#include "spotgrid/util/utc.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <pqxx/pqxx>

namespace spotgrid::finance {
namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

// Per account and lease: charges and credits from the buyer's hold entries,
// the platform's fee and the supplier's earnings from their own entries.
std::string statement_query(StatementKind kind, bool one_account) {
  const std::string owner = kind == StatementKind::kInvoice ? "l.buyer_id" : "l.supplier_id";
  std::string query =
      "SELECT " + owner +
      ", coalesce(a.name, ''), l.lease_id, l.node_id, l.pool,"
      " coalesce(sum(-e.amount) FILTER (WHERE e.amount < 0), 0),"
      " coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0),"
      " coalesce(sum(f.amount), 0), coalesce(sum(r.amount), 0)"
      " FROM ledger_transactions t"
      " JOIN leases l ON l.lease_id = t.lease_id"
      " JOIN ledger_entries e ON e.owner_id = l.buyer_id AND e.account = 'hold'"
      "  AND e.txn_id = t.txn_id"
      " LEFT JOIN ledger_entries f ON f.owner_id = 0 AND f.account = 'revenue'"
      "  AND f.txn_id = t.txn_id"
      " LEFT JOIN ledger_entries r ON r.owner_id = l.supplier_id AND r.account = 'receivable'"
      "  AND r.txn_id = t.txn_id"
      " LEFT JOIN accounts a ON a.account_id = " +
      owner + " WHERE t.kind = 'settlement' AND t.at >= $1 AND t.at < $2";
  if (one_account) query += " AND " + owner + " = $3";
  query += " GROUP BY " + owner + ", a.name, l.lease_id, l.node_id, l.pool ORDER BY " + owner +
           ", l.lease_id";
  return query;
}

// What each supplier was paid out in the month, from the same snapshot.
void add_paid_out(pqxx::transaction_base& txn, UnixSeconds month_start, UnixSeconds month_end,
                  std::optional<AccountId> account, std::vector<Statement>& statements) {
  const auto by_account = [](const Statement& s, AccountId id) { return s.account < id; };
  for (const PaidOut& paid : paid_out_by_supplier(txn, month_start, month_end, account)) {
    auto it = std::lower_bound(statements.begin(), statements.end(), paid.supplier, by_account);
    if (it == statements.end() || it->account != paid.supplier) {
      Statement paid_only;
      paid_only.account = paid.supplier;
      paid_only.account_name = paid.supplier_name;
      paid_only.period_start = month_start;
      paid_only.period_end = month_end;
      it = statements.insert(it, std::move(paid_only));
    }
    it->paid_out = paid.amount;
  }
}

}  // namespace

std::optional<UnixSeconds> parse_month(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  int year = 0;
  unsigned month = 0;
  const auto [year_end, year_error] = std::from_chars(text.data(), text.data() + 4, year);
  const auto [month_end, month_error] = std::from_chars(text.data() + 5, text.data() + 7, month);
  if (year_error != std::errc{} || year_end != text.data() + 4 || month_error != std::errc{} ||
      month_end != text.data() + 7) {
    return std::nullopt;
  }
  const std::chrono::year_month_day first{std::chrono::year{year}, std::chrono::month{month},
                                          std::chrono::day{1}};
  if (!first.ok() || year < 1970) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::sys_days{first}}.time_since_epoch().count();
}

std::vector<Statement> monthly_statements(pqxx::connection_base& connection, StatementKind kind,
                                          UnixSeconds month_start,
                                          std::optional<AccountId> account) {
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn(
      connection, "statements");
  const UnixSeconds month_end = util::month_start(month_start, 1);
  const std::string query = statement_query(kind, account.has_value());
  const pqxx::result rows =
      account ? txn.exec_params(query, static_cast<Int>(month_start), static_cast<Int>(month_end),
                                static_cast<Int>(*account))
              : txn.exec_params(query, static_cast<Int>(month_start), static_cast<Int>(month_end));
  std::vector<Statement> statements;
  for (const pqxx::row& row : rows) {
    const auto owner = row[0].as<AccountId>();
    if (statements.empty() || statements.back().account != owner) {
      Statement statement;
      statement.account = owner;
      statement.account_name = row[1].as<std::string>();
      statement.period_start = month_start;
      statement.period_end = month_end;
      statements.push_back(std::move(statement));
    }
    Statement& statement = statements.back();
    StatementLine line;
    line.lease = row[2].as<std::uint64_t>();
    line.node = row[3].as<std::uint64_t>();
    line.pool = static_cast<PoolIndex>(row[4].as<int>());
    line.charges = row[5].as<Int>();
    line.credits = row[6].as<Int>();
    line.fees = row[7].as<Int>();
    line.net = kind == StatementKind::kInvoice ? line.charges - line.credits : row[8].as<Int>();
    statement.charges += line.charges;
    statement.credits += line.credits;
    statement.fees += line.fees;
    statement.total += line.net;
    statement.lines.push_back(line);
  }
  if (kind == StatementKind::kPayout)
    add_paid_out(txn, month_start, month_end, account, statements);
  txn.commit();
  return statements;
}

std::string statements_json(const std::vector<Statement>& statements, StatementKind kind,
                            const engine::Catalog& catalog) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  const auto money = [&](const char* name, Micros value) {
    w.Key(name);
    w.Int64(value);
  };
  w.StartObject();
  w.Key("kind");
  w.String(kind == StatementKind::kInvoice ? "invoice" : "payout");
  w.Key("currency");
  w.String("USD");
  w.Key("statements");
  w.StartArray();
  for (const Statement& s : statements) {
    w.StartObject();
    w.Key("account_id");
    w.Uint(s.account);
    w.Key("account_name");
    w.String(s.account_name.c_str());
    w.Key("period_start");
    w.String(format_utc(s.period_start).c_str());
    w.Key("period_end");
    w.String(format_utc(s.period_end).c_str());
    w.Key("lines");
    w.StartArray();
    for (const StatementLine& line : s.lines) {
      w.StartObject();
      w.Key("lease_id");
      w.Uint64(line.lease);
      w.Key("node_id");
      w.Uint64(line.node);
      w.Key("pool");
      const std::string_view pool = catalog.pool_name(line.pool);
      w.String(pool.data(), static_cast<rapidjson::SizeType>(pool.size()));
      money("charges_micros", line.charges);
      money("credits_micros", line.credits);
      money("fees_micros", line.fees);
      money("net_micros", line.net);
      w.EndObject();
    }
    w.EndArray();
    money("charges_micros", s.charges);
    money("credits_micros", s.credits);
    money("fees_micros", s.fees);
    money("total_micros", s.total);
    if (kind == StatementKind::kPayout) money("paid_out_micros", s.paid_out);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string statements_csv(const std::vector<Statement>& statements, StatementKind kind,
                           const engine::Catalog& catalog) {
  const bool payouts = kind == StatementKind::kPayout;
  std::string out =
      "account_id,period_start,period_end,lease_id,node_id,pool,charges_micros,credits_micros,"
      "fees_micros,net_micros";
  out += payouts ? ",paid_out_micros\r\n" : "\r\n";
  for (const Statement& s : statements) {
    const std::string account = std::to_string(s.account);
    const std::string start = format_utc(s.period_start);
    const std::string end = format_utc(s.period_end);
    for (const StatementLine& line : s.lines) {
      csv_line(out, account, start, end, std::to_string(line.lease), std::to_string(line.node),
               std::string(catalog.pool_name(line.pool)), std::to_string(line.charges),
               std::to_string(line.credits), std::to_string(line.fees), std::to_string(line.net));
      if (payouts) {  // no paid_out on a lease's line: an empty last field
        out.resize(out.size() - 2);
        out.append(",\r\n");
      }
    }
    // A payout statement ends with what was paid out in the month: a line of
    // its own, with no lease.
    if (payouts && s.paid_out != 0)
      csv_line(out, account, start, end, "", "", "", "0", "0", "0", "0",
               std::to_string(s.paid_out));
  }
  return out;
}

}  // namespace spotgrid::finance
