#include "spotgrid/finance/payouts.hpp"

#include "csv.hpp"
#include "spotgrid/ledger/postings.hpp"
#include "spotgrid/util/utc.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pqxx/pqxx>

namespace spotgrid::finance {
namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

// A payout's supplier and amount are its receivable entry; $1..$3 are the
// range and the supplier (0: every one).
constexpr const char* kPayoutsOfRange =
    " FROM ledger_transactions t"
    " JOIN ledger_entries e ON e.txn_id = t.txn_id AND e.account = 'receivable'"
    " LEFT JOIN accounts a ON a.account_id = e.owner_id"
    " WHERE t.kind = 'payout' AND t.at >= $1 AND t.at < $2"
    " AND ($3::bigint = 0 OR e.owner_id = $3::bigint)";

}  // namespace

std::vector<PayoutRecord> payouts_between(pqxx::transaction_base& txn, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier,
                                          std::size_t limit) {
  // A tick's payouts are the daily schedule's; any other command's were asked for.
  const pqxx::result rows = txn.exec_params(
      std::string(
          "SELECT t.txn_id, t.command_seq, e.owner_id, coalesce(a.name, ''), t.at,"
          " -e.amount,"
          " (SELECT c.kind FROM command_log c WHERE c.command_seq = t.command_seq) = 'tick'") +
          kPayoutsOfRange + " ORDER BY t.txn_id LIMIT $4",
      static_cast<Int>(from), static_cast<Int>(to), static_cast<Int>(supplier.value_or(0)),
      static_cast<Int>(limit));
  std::vector<PayoutRecord> payouts;
  payouts.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    PayoutRecord payout;
    payout.txn_id = row[0].as<std::uint64_t>();
    payout.command_seq = row[1].as<std::uint64_t>();
    payout.supplier = row[2].as<AccountId>();
    payout.supplier_name = row[3].as<std::string>();
    payout.at = row[4].as<Int>();
    payout.amount = row[5].as<Int>();
    payout.scheduled = row[6].as<bool>();
    payouts.push_back(std::move(payout));
  }
  return payouts;
}

std::vector<PaidOut> paid_out_by_supplier(pqxx::transaction_base& txn, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier) {
  const pqxx::result rows = txn.exec_params(
      std::string("SELECT e.owner_id, coalesce(a.name, ''), sum(-e.amount)::bigint") +
          kPayoutsOfRange + " GROUP BY e.owner_id, a.name ORDER BY e.owner_id",
      static_cast<Int>(from), static_cast<Int>(to), static_cast<Int>(supplier.value_or(0)));
  std::vector<PaidOut> paid;
  paid.reserve(rows.size());
  for (const pqxx::row& row : rows)
    paid.push_back({row[0].as<AccountId>(), row[1].as<std::string>(), row[2].as<Int>()});
  return paid;
}

std::vector<PayoutRecord> payouts_between(pqxx::connection_base& connection, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier,
                                          std::size_t limit) {
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn(
      connection, "payouts");
  std::vector<PayoutRecord> payouts = payouts_between(txn, from, to, supplier, limit);
  txn.commit();
  return payouts;
}

std::string payouts_json(const std::vector<PayoutRecord>& payouts) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  Micros total = 0;
  w.StartObject();
  w.Key("currency");
  w.String("USD");
  w.Key("payouts");
  w.StartArray();
  for (const PayoutRecord& p : payouts) {
    w.StartObject();
    w.Key("reference");
    w.String(ledger::payout_reference(p.txn_id).c_str());
    w.Key("account_id");
    w.Uint(p.supplier);
    w.Key("account_name");
    w.String(p.supplier_name.c_str());
    w.Key("paid_at");
    w.String(util::format_utc(p.at).c_str());
    w.Key("amount_micros");
    w.Int64(p.amount);
    w.Key("scheduled");
    w.Bool(p.scheduled);
    w.Key("command_seq");
    w.Uint64(p.command_seq);
    w.EndObject();
    total += p.amount;
  }
  w.EndArray();
  w.Key("total_micros");
  w.Int64(total);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string payouts_csv(const std::vector<PayoutRecord>& payouts) {
  std::string out =
      "reference,account_id,account_name,paid_at,amount_micros,currency,scheduled\r\n";
  for (const PayoutRecord& p : payouts) {
    csv_line(out, ledger::payout_reference(p.txn_id), std::to_string(p.supplier), p.supplier_name,
             util::format_utc(p.at), std::to_string(p.amount), "USD",
             p.scheduled ? "true" : "false");
  }
  return out;
}

}  // namespace spotgrid::finance
