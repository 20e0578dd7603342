// Billing exports and the trial balance over HTTP, against ledgers made by
// metering real leases: totals equal the ledger's over random ranges, every
// FOCUS rule we promise holds row by row, scopes keep accounts apart, and bad
// ranges are refused.
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "metering_harness.hpp"
#include "spotgrid/finance/export.hpp"
#include "spotgrid/finance/statements.hpp"
#include "spotgrid/util/utc.hpp"

namespace spotgrid::gateway {
namespace {

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  return rows;
}

// Six-decimal text to micro-units.
long long micros_of(const std::string& decimal) {
  const std::size_t dot = decimal.find('.');
  const bool negative = decimal[0] == '-';
  const long long whole = std::stoll(decimal.substr(negative ? 1 : 0, dot - (negative ? 1 : 0)));
  const long long fraction = std::stoll(decimal.substr(dot + 1));
  return (negative ? -1 : 1) * (whole * 1'000'000 + fraction);
}

class BillingApi : public MeteringApi {
 protected:
  // Two buyers lease from one supplier's two nodes; each node reports `seconds`
  // healthy seconds, which metering settles into the ledger.
  void SetUp() override {
    const auto [a_id, a_key] = buyer();
    const auto [b_id, b_key] = buyer();
    buyer_a_ = a_key;
    buyer_b_ = b_key;
    fund(a_id, 100'000'000);
    fund(b_id, 100'000'000);
    supplier_ = account("supplier").second;
    finance_ = account("finance").second;
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(register_node(supplier_, 2));
      list(supplier_, nodes_.back().id, 2, 1'000'000 + i * 100'000);
    }
    for (const std::string& key : {buyer_a_, buyer_b_}) {
      const Reply order = call(http::verb::post, "/v1/orders", key,
                               R"({"pool": "H100-SXM-80G", "cards": 2, "duration_seconds": 3600,
                                   "limit_micros_per_hour": 3000000})");
      ASSERT_EQ(order.status, 201u) << order.body;
    }
    const UnixSeconds start = now_seconds() - 1;
    std::uint64_t seq = 1;
    for (UnixSeconds s = start; s < start + 6; ++s) {
      for (const Node& node : nodes_) {
        const Reply stored = post_samples(
            {sample(node.id, seq, 0, s), sample(node.id, seq + 1, 1, s)}, node.agent_key);
        ASSERT_EQ(stored.status, 200u) << stored.body;
      }
      seq += 2;
    }
    // Settlements reach the ledger as the seconds pass; the tests compare
    // exports with the ledger, so they start once the last reported second is
    // settled and the total holds still (a busy machine settles late).
    long long settled = -1;
    for (int i = 0; i < 40; ++i) {
      std::this_thread::sleep_for(250ms);
      const long long now_settled = settled_micros(0, now_seconds() + 3'600);
      if (now_seconds() > start + 7 && now_settled == settled && now_settled > 0) break;
      settled = now_settled;
    }
    ASSERT_GT(settled, 0);
  }

  // What the ledger says buyers paid for leases settled in [from, to).
  long long settled_micros(UnixSeconds from, UnixSeconds to) {
    pqxx::connection connection(db_.conninfo());
    pqxx::read_transaction txn(connection);
    return txn
        .exec_params1(
            "SELECT coalesce(-sum(e.amount), 0) FROM ledger_transactions t JOIN ledger_entries e"
            " ON e.txn_id = t.txn_id AND e.account = 'hold'"
            " WHERE t.kind = 'settlement' AND t.at >= $1 AND t.at < $2",
            static_cast<long long>(from), static_cast<long long>(to))[0]
        .as<long long>();
  }

  Reply export_as(const std::string& key, const std::string& query) {
    return call(http::verb::get, "/v1/billing/export?" + query, key);
  }

  // The csv export's rows (header dropped) and their charges' sum.
  std::pair<std::vector<std::vector<std::string>>, long long> csv_rows(const std::string& key,
                                                                       UnixSeconds from,
                                                                       UnixSeconds to) {
    const Reply reply =
        export_as(key, "format=csv&from=" + std::to_string(from) + "&to=" + std::to_string(to));
    EXPECT_EQ(reply.status, 200u) << reply.body;
    auto rows = parse_csv(reply.body);
    EXPECT_FALSE(rows.empty());
    if (!rows.empty()) rows.erase(rows.begin());
    long long total = 0;
    for (const auto& row : rows)
      total += std::stoll(row.at(2));
    return {rows, total};
  }

  std::string buyer_a_, buyer_b_, supplier_, finance_;
  std::vector<Node> nodes_;
};

TEST_F(BillingApi, export_totals_equal_the_ledger_over_random_ranges) {
  const UnixSeconds now = now_seconds();
  const auto [all, total] = csv_rows(finance_, now - 3'600, now + 3'600);
  EXPECT_EQ(total, settled_micros(now - 3'600, now + 3'600));
  EXPECT_GE(all.size(), 2u) << "one row per lease per charge hour, two leases";
  std::mt19937_64 random(7);
  for (int i = 0; i < 10; ++i) {
    const UnixSeconds from = now - 20 + static_cast<UnixSeconds>(random() % 25);
    const UnixSeconds to = from + 1 + static_cast<UnixSeconds>(random() % 20);
    EXPECT_EQ(csv_rows(finance_, from, to).second, settled_micros(from, to))
        << "[" << from << ", " << to << ")";
  }
  // The same rows as JSON.
  const Reply json = export_as(finance_, "format=json&from=" + std::to_string(now - 3'600) +
                                             "&to=" + std::to_string(now + 3'600));
  ASSERT_EQ(json.status, 200u);
  ASSERT_TRUE(json.json.IsObject()) << json.body;
  EXPECT_EQ(json.json["rows"].Size(), all.size());
  long long json_total = 0;
  for (const auto& row : json.json["rows"].GetArray())
    json_total += row["charge_micros"].GetInt64();
  EXPECT_EQ(json_total, total);
}

TEST_F(BillingApi, focus_rows_keep_every_rule) {
  const UnixSeconds now = now_seconds();
  const Reply reply = export_as(finance_, "format=focus&from=" + std::to_string(now - 3'600) +
                                              "&to=" + std::to_string(now + 3'600));
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.raw.content_type, "text/csv; charset=utf-8");
  const auto rows = parse_csv(reply.body);
  ASSERT_GE(rows.size(), 3u);
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows[0].size(); ++i)
    column[rows[0][i]] = i;
  for (const char* required : {"BilledCost",         "ContractedCost",
                               "EffectiveCost",      "ListCost",
                               "PricingQuantity",    "PricingUnit",
                               "BillingPeriodStart", "BillingPeriodEnd",
                               "ChargePeriodStart",  "ChargePeriodEnd",
                               "BillingCurrency",    "ChargeCategory",
                               "ChargeClass",        "ChargeDescription",
                               "ServiceCategory",    "ServiceName",
                               "BillingAccountId",   "BillingAccountName",
                               "InvoiceIssuerName",  "ProviderName",
                               "PublisherName",      "ConsumedQuantity",
                               "ConsumedUnit",       "ResourceId",
                               "RegionId",           "SkuId"}) {
    ASSERT_TRUE(column.contains(required)) << required;
  }
  const std::regex date_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  const std::regex decimal(R"(-?\d+\.\d{6})");
  long long total = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const auto at = [&](const char* name) { return row.at(column.at(name)); };
    for (const char* name :
         {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"})
      EXPECT_TRUE(std::regex_match(at(name), date_time)) << name << ' ' << at(name);
    for (const char* name : {"BilledCost", "ContractedCost", "EffectiveCost", "ListCost",
                             "PricingQuantity", "ConsumedQuantity"})
      EXPECT_TRUE(std::regex_match(at(name), decimal)) << name << ' ' << at(name);
    EXPECT_EQ(at("ContractedCost"), at("BilledCost"));
    EXPECT_EQ(at("EffectiveCost"), at("BilledCost"));
    EXPECT_EQ(at("ListCost"), at("BilledCost"));
    EXPECT_EQ(at("BillingCurrency"), "USD");
    EXPECT_EQ(at("ChargeCategory"), "Usage");
    EXPECT_EQ(at("ChargeClass"), "");
    EXPECT_EQ(at("ServiceCategory"), "Compute");
    EXPECT_EQ(at("PricingUnit"), "Card-Hours");
    EXPECT_EQ(at("SkuId"), "H100-SXM-80G");
    EXPECT_EQ(at("RegionId"), "eu-west");
    EXPECT_EQ(at("ResourceId").rfind("lease/", 0), 0u);
    for (const char* name : {"BillingAccountId", "BillingAccountName", "ChargeDescription",
                             "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceName"})
      EXPECT_FALSE(at(name).empty()) << name;
    // An hour-long charge period inside its month's billing period.
    EXPECT_EQ(at("ChargePeriodStart").substr(14), "00:00Z");
    EXPECT_EQ(at("ChargePeriodEnd").substr(14), "00:00Z");
    EXPECT_EQ(at("BillingPeriodStart").substr(8), "01T00:00:00Z");
    EXPECT_LE(at("BillingPeriodStart"), at("ChargePeriodStart"));
    EXPECT_LE(at("ChargePeriodEnd"), at("BillingPeriodEnd"));
    total += micros_of(at("BilledCost"));
  }
  EXPECT_EQ(total, settled_micros(now - 3'600, now + 3'600));
}

TEST_F(BillingApi, a_buyer_or_supplier_sees_only_its_own_rows) {
  const UnixSeconds now = now_seconds();
  const auto [a_rows, a_total] = csv_rows(buyer_a_, now - 3'600, now + 3'600);
  const auto [b_rows, b_total] = csv_rows(buyer_b_, now - 3'600, now + 3'600);
  const auto [s_rows, s_total] = csv_rows(supplier_, now - 3'600, now + 3'600);
  ASSERT_FALSE(a_rows.empty());
  ASSERT_FALSE(b_rows.empty());
  std::set<std::string> a_buyers;
  std::set<std::string> b_buyers;
  for (const auto& row : a_rows)
    a_buyers.insert(row.at(4));
  for (const auto& row : b_rows)
    b_buyers.insert(row.at(4));
  EXPECT_EQ(a_buyers.size(), 1u);
  EXPECT_EQ(b_buyers.size(), 1u);
  EXPECT_NE(*a_buyers.begin(), *b_buyers.begin());
  EXPECT_EQ(s_total, a_total + b_total) << "the supplier sees both leases on its nodes";
  EXPECT_EQ(s_total, settled_micros(now - 3'600, now + 3'600));
  const auto stranger = account("supplier").second;
  EXPECT_TRUE(csv_rows(stranger, now - 3'600, now + 3'600).first.empty());
}

TEST_F(BillingApi, bad_ranges_and_formats_are_refused) {
  const auto refused = [&](const std::string& query, const std::string& field) {
    const Reply reply = export_as(finance_, query);
    EXPECT_EQ(reply.status, 400u) << query << ' ' << reply.body;
    if (reply.json.IsObject() && reply.json.HasMember("error")) {
      EXPECT_EQ(std::string(reply.json["error"]["field"].GetString()), field) << query;
    }
  };
  refused("from=2026-11-02&to=2026-11-01", "to");
  refused("from=2026-11-01&to=2026-11-01", "to");
  refused("from=2020-01-01&to=2026-11-01", "to");  // longer than billing.max_export_days
  refused("from=2026-02-30&to=2026-11-01", "from");
  refused("from=2026-11-01T25:00:00Z&to=2026-11-02", "from");
  refused("from=yesterday&to=2026-11-02", "from");
  refused("to=2026-11-02", "from");
  refused("from=2026-11-01&to=2026-11-02&format=xlsx", "format");
  const Reply dates = export_as(finance_, "from=2026-11-01&to=2026-11-02T00:00:00Z&format=focus");
  EXPECT_EQ(dates.status, 200u) << dates.body;
  EXPECT_EQ(call(http::verb::get, "/v1/billing/export?from=1&to=2", "").status, 401u);
}

TEST_F(BillingApi, invoices_payouts_and_fees_reconcile_to_the_ledger) {
  const std::string month = finance::format_utc(now_seconds()).substr(0, 7);
  const UnixSeconds month_start = *finance::parse_month(month);
  const Reply invoices = call(http::verb::get, "/v1/billing/invoices?month=" + month, finance_);
  const Reply payouts = call(http::verb::get, "/v1/billing/payouts?month=" + month, finance_);
  ASSERT_EQ(invoices.status, 200u) << invoices.body;
  ASSERT_EQ(payouts.status, 200u) << payouts.body;
  long long invoiced = 0;
  long long fees = 0;
  std::map<std::uint64_t, long long> invoiced_by_lease;
  for (const auto& statement : invoices.json["statements"].GetArray()) {
    long long lines = 0;
    for (const auto& line : statement["lines"].GetArray()) {
      lines += line["net_micros"].GetInt64();
      EXPECT_EQ(line["net_micros"].GetInt64(),
                line["charges_micros"].GetInt64() - line["credits_micros"].GetInt64());
      invoiced_by_lease[line["lease_id"].GetUint64()] = line["net_micros"].GetInt64();
      fees += line["fees_micros"].GetInt64();
    }
    EXPECT_EQ(statement["total_micros"].GetInt64(), lines);
    invoiced += lines;
  }
  long long paid_out = 0;
  for (const auto& statement : payouts.json["statements"].GetArray()) {
    for (const auto& line : statement["lines"].GetArray()) {
      // Per lease: what the buyer paid = the supplier's share + the platform's fee.
      EXPECT_EQ(invoiced_by_lease.at(line["lease_id"].GetUint64()),
                line["net_micros"].GetInt64() + line["fees_micros"].GetInt64());
      paid_out += line["net_micros"].GetInt64();
    }
  }
  EXPECT_GT(invoiced, 0);
  EXPECT_EQ(invoiced, settled_micros(month_start, util::month_start(month_start, 1)));
  EXPECT_EQ(invoiced, paid_out + fees);
  // Against the trial balance: this database's every settlement is in this month.
  const Reply balance = call(http::verb::get, "/v1/ledger/trial-balance", finance_);
  ASSERT_EQ(balance.status, 200u);
  for (const auto& line : balance.json["accounts"].GetArray()) {
    const std::string account = line["account"].GetString();
    if (account == "revenue") {
      EXPECT_EQ(line["balance_micros"].GetInt64(), fees);
    } else if (account == "receivable") {
      EXPECT_EQ(line["balance_micros"].GetInt64(), paid_out);
    }
  }
  // CSV: the same lines.
  const Reply csv =
      call(http::verb::get, "/v1/billing/invoices?format=csv&month=" + month, finance_);
  ASSERT_EQ(csv.status, 200u);
  const auto rows = parse_csv(csv.body);
  long long csv_total = 0;
  for (std::size_t r = 1; r < rows.size(); ++r)
    csv_total += std::stoll(rows[r].at(9));
  EXPECT_EQ(csv_total, invoiced);
}

TEST_F(BillingApi, statements_are_scoped_to_their_account) {
  const std::string month = finance::format_utc(now_seconds()).substr(0, 7);
  const Reply own = call(http::verb::get, "/v1/billing/invoices?month=" + month, buyer_a_);
  ASSERT_EQ(own.status, 200u) << own.body;
  ASSERT_EQ(own.json["statements"].Size(), 1u);
  const auto buyer_a_id = own.json["statements"][0]["account_id"].GetUint();
  const Reply other = call(http::verb::get, "/v1/billing/invoices?month=" + month, buyer_b_);
  ASSERT_EQ(other.json["statements"].Size(), 1u);
  EXPECT_NE(other.json["statements"][0]["account_id"].GetUint(), buyer_a_id);
  const Reply one = call(
      http::verb::get,
      "/v1/billing/invoices?month=" + month + "&account=" + std::to_string(buyer_a_id), finance_);
  ASSERT_EQ(one.json["statements"].Size(), 1u);
  EXPECT_EQ(one.json["statements"][0]["total_micros"].GetInt64(),
            own.json["statements"][0]["total_micros"].GetInt64());
  EXPECT_EQ(call(http::verb::get, "/v1/billing/payouts?month=" + month, buyer_a_).status, 403u);
  EXPECT_EQ(call(http::verb::get, "/v1/billing/invoices?month=" + month, supplier_).status, 403u);
  const Reply payouts = call(http::verb::get, "/v1/billing/payouts?month=" + month, supplier_);
  ASSERT_EQ(payouts.status, 200u);
  EXPECT_EQ(payouts.json["statements"].Size(), 1u);
  for (const char* bad : {"2026-13", "2026-1", "26-11", "2026-11-01", ""}) {
    EXPECT_EQ(
        call(http::verb::get, std::string("/v1/billing/invoices?month=") + bad, finance_).status,
        400u)
        << bad;
  }
}

// A dear card leased for six metered seconds: what its supplier earns is many
// cents, first at risk while the lease runs, then payable once it is stopped.
TEST_F(BillingApi, a_supplier_is_paid_out_once_and_finance_reconciles_the_transfers) {
  const auto [rich_id, rich] = buyer();
  fund(rich_id, 10'000'000'000);
  const Node dear = register_node(supplier_, 1);
  list(supplier_, dear.id, 1, 2'000'000'000);  // 2 000 USD per card-hour
  const Reply order = call(http::verb::post, "/v1/orders", rich,
                           R"({"pool": "H100-SXM-80G", "cards": 1, "duration_seconds": 3600,
                               "limit_micros_per_hour": 2000000000})");
  ASSERT_EQ(order.status, 201u) << order.body;
  const UnixSeconds start = now_seconds() - 1;
  for (UnixSeconds s = start; s < start + 6; ++s) {
    const auto seq = static_cast<std::uint64_t>(s - start + 1);
    ASSERT_EQ(post_samples({sample(dear.id, seq, 0, s)}, dear.agent_key).status, 200u);
  }
  const auto account = [&] { return call(http::verb::get, "/v1/account", supplier_); };
  for (int i = 0; i < 100 && account().json["receivable_micros"].GetInt64() < 1'000'000; ++i)
    std::this_thread::sleep_for(100ms);
  const Reply running = account();
  ASSERT_GE(running.json["receivable_micros"].GetInt64(), 1'000'000) << running.body;
  EXPECT_FALSE(running.json["payout_schedule"]["daily"].GetBool());
  EXPECT_EQ(running.json["payable_micros"].GetInt64(), 0) << "running leases may be credited back";

  int keys = 0;
  const auto payout = [&](long long amount, const std::string& key = "") {
    return call(http::verb::post, "/v1/account/payouts", key.empty() ? supplier_ : key,
                R"({"amount_micros": )" + std::to_string(amount) + "}",
                {{"Idempotency-Key", "payout-" + std::to_string(++keys)}});
  };
  const Reply at_risk = payout(10'000);
  EXPECT_EQ(at_risk.status, 422u) << at_risk.body;
  EXPECT_STREQ(at_risk.json["error"]["code"].GetString(), "insufficient_receivable");
  // Every lease on the supplier's nodes ends: nothing is at risk any more.
  for (const std::string& key : {buyer_a_, buyer_b_, rich}) {
    const Reply leases = call(http::verb::get, "/v1/leases", key);
    for (const auto& row : leases.json["leases"].GetArray()) {
      const std::string id = std::to_string(row["lease_id"].GetUint64());
      ASSERT_EQ(call(http::verb::post, "/v1/leases/" + id + "/stop", key).status, 200u);
    }
  }
  const Reply stopped = account();
  const long long payable = stopped.json["payable_micros"].GetInt64();
  ASSERT_GE(payable, 1'000'000) << stopped.body;
  const auto supplier_id = stopped.json["account_id"].GetUint64();

  // Refusals that change nothing.
  EXPECT_EQ(payout(payable - payable % 10'000 + 10'000).status, 422u);
  EXPECT_EQ(payout(0).status, 400u);
  EXPECT_EQ(payout(5).status, 400u) << "whole cents only";
  EXPECT_EQ(payout(10'000, buyer_a_).status, 403u) << "buyers withdraw";
  const Reply no_key =
      call(http::verb::post, "/v1/account/payouts", supplier_, R"({"amount_micros": 10000})");
  EXPECT_EQ(no_key.status, 400u) << "money out needs an Idempotency-Key";
  EXPECT_EQ(call(http::verb::post, "/v1/account/payouts", "", R"({"amount_micros": 10000})",
                 {{"Idempotency-Key", "anonymous"}})
                .status,
            401u);
  EXPECT_EQ(sql_count("SELECT count(*) FROM ledger_transactions WHERE kind = 'payout'"), 0);

  const long long amount = payable / 2 - payable / 2 % 10'000;
  const testing::Headers once = {{"Idempotency-Key", "payout-once"}};
  const std::string body = R"({"amount_micros": )" + std::to_string(amount) + "}";
  const Reply paid = call(http::verb::post, "/v1/account/payouts", supplier_, body, once);
  ASSERT_EQ(paid.status, 201u) << paid.body;
  const std::string reference = paid.json["reference"].GetString();
  EXPECT_EQ(reference.rfind("spotgrid-po-", 0), 0u) << reference;
  EXPECT_EQ(paid.json["amount_micros"].GetInt64(), amount);
  const Reply again = call(http::verb::post, "/v1/account/payouts", supplier_, body, once);
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.raw.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json["reference"].GetString(), reference);
  EXPECT_EQ(sql_count("SELECT count(*) FROM ledger_transactions WHERE kind = 'payout'"), 1)
      << "a retry is not a second payout";

  // The schedule: set, shown, refused when malformed or not a supplier's.
  const auto schedule = [&](const std::string& text, const std::string& key) {
    return call(http::verb::put, "/v1/account/payout-schedule", key, text);
  };
  const Reply daily = schedule(R"({"daily": true, "minimum_micros": 5000000})", supplier_);
  ASSERT_EQ(daily.status, 200u) << daily.body;
  EXPECT_TRUE(daily.json["daily"].GetBool());
  const Reply shown = account();
  EXPECT_TRUE(shown.json["payout_schedule"]["daily"].GetBool());
  EXPECT_EQ(shown.json["payout_schedule"]["minimum_micros"].GetInt64(), 5'000'000);
  EXPECT_EQ(schedule(R"({"daily": "yes"})", supplier_).status, 400u);
  EXPECT_EQ(schedule(R"({"minimum_micros": 5})", supplier_).status, 400u);
  EXPECT_EQ(schedule(R"({"daily": true})", supplier_).status, 400u) << "a minimum is said";
  EXPECT_EQ(schedule(R"({"daily": false, "minimum_micros": 5})", supplier_).status, 400u);
  EXPECT_EQ(schedule(R"({"daily": true, "minimum_micros": -1})", supplier_).status, 400u);
  EXPECT_EQ(schedule(R"({"daily": true, "minimum_micros": 0})", buyer_a_).status, 403u);
  EXPECT_EQ(account().json["payout_schedule"]["minimum_micros"].GetInt64(), 5'000'000);

  // Finance: every transfer of a range, with its reference, as CSV; a supplier sees its own.
  const UnixSeconds now = now_seconds();
  const std::string range =
      "from=" + std::to_string(now - 3'600) + "&to=" + std::to_string(now + 3'600);
  const Reply csv =
      call(http::verb::get, "/v1/billing/payout-transfers?format=csv&" + range, finance_);
  ASSERT_EQ(csv.status, 200u) << csv.body;
  const auto rows = parse_csv(csv.body);
  ASSERT_EQ(rows.size(), 2u) << csv.body;
  EXPECT_EQ(rows[0].at(0), "reference");
  EXPECT_EQ(rows[1].at(0), reference);
  EXPECT_EQ(rows[1].at(1), std::to_string(supplier_id));
  EXPECT_EQ(std::stoll(rows[1].at(4)), amount);
  EXPECT_EQ(rows[1].at(6), "false") << "asked for, not scheduled";
  const Reply own = call(http::verb::get, "/v1/billing/payout-transfers?" + range, supplier_);
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(own.json["total_micros"].GetInt64(), amount);
  EXPECT_EQ(call(http::verb::get, "/v1/billing/payout-transfers?" + range, buyer_a_).status, 403u);
  EXPECT_EQ(call(http::verb::get, "/v1/billing/payout-transfers?from=5&to=4", finance_).status,
            400u);
  EXPECT_EQ(
      call(http::verb::get, "/v1/billing/payout-transfers?account=3000000000&" + range, finance_)
          .json["payouts"]
          .Size(),
      0u)
      << "an account id past 2^31 is a number, not an error";

  // The month's payout statement says what was paid, in JSON and in CSV; the
  // ledger still sums to zero.
  const std::string month = finance::format_utc(now).substr(0, 7);
  const Reply statement = call(http::verb::get, "/v1/billing/payouts?month=" + month, supplier_);
  ASSERT_EQ(statement.status, 200u) << statement.body;
  EXPECT_EQ(statement.json["statements"][0]["paid_out_micros"].GetInt64(), amount);
  const Reply statement_csv =
      call(http::verb::get, "/v1/billing/payouts?format=csv&month=" + month, supplier_);
  const auto lines = parse_csv(statement_csv.body);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0].back(), "paid_out_micros");
  EXPECT_EQ(std::stoll(lines.back().back()), amount) << statement_csv.body;
  const Reply balance = call(http::verb::get, "/v1/ledger/trial-balance", finance_);
  EXPECT_EQ(balance.json["total_micros"].GetInt64(), 0);
  EXPECT_EQ(sql_count("SELECT -balance FROM ledger_accounts WHERE owner_id = 0 AND account = "
                      "'external'"),
            sql_count("SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = "
                      "'cash' AND txn_id IN (SELECT txn_id FROM ledger_transactions WHERE kind = "
                      "'deposit')") -
                amount)
      << "external = deposits in less the payout out";
}

TEST_F(BillingApi, the_trial_balance_sums_to_zero_and_is_for_finance) {
  const Reply balance = call(http::verb::get, "/v1/ledger/trial-balance", finance_);
  ASSERT_EQ(balance.status, 200u) << balance.body;
  EXPECT_EQ(balance.json["total_micros"].GetInt64(), 0);
  long long sum = 0;
  std::set<std::string> kinds;
  for (const auto& line : balance.json["accounts"].GetArray()) {
    sum += line["balance_micros"].GetInt64();
    kinds.insert(line["account"].GetString());
  }
  EXPECT_EQ(sum, 0);
  EXPECT_TRUE(kinds.contains("revenue")) << "settlements paid the platform its fee";
  EXPECT_GT(balance.json["transactions"].GetUint64(), 0u);
  EXPECT_EQ(call(http::verb::get, "/v1/ledger/trial-balance", buyer_a_).status, 403u);
}

// Each export holds a connection and a snapshot: beyond the cap, 503 and a
// Retry-After. (The BillingApi tests run a dozen exports one after another
// under the default cap of 4, so a slot that was never given back would fail them.)
class ExportCap : public ServiceHarness {
 protected:
  ExportCap() : ServiceHarness([](Settings& s) { s.max_concurrent_exports = 0; }) {}
};

TEST_F(ExportCap, an_export_beyond_the_cap_is_refused_with_retry_after) {
  const auto finance = account("finance").second;
  const Reply busy = call(http::verb::get, "/v1/billing/export?from=0&to=86400", finance);
  EXPECT_EQ(busy.status, 503u) << busy.body;
  EXPECT_NE(busy.body.find(R"("code":"busy")"), std::string::npos) << busy.body;
  EXPECT_EQ(busy.raw.header("Retry-After"), "5");
}

}  // namespace
}  // namespace spotgrid::gateway
