#include "spotgrid/finance/export.hpp"
#include "spotgrid/util/thread_role.hpp"

#include "csv.hpp"
#include "spotgrid/util/utc.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>

namespace spotgrid::finance {
namespace {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

constexpr UnixSeconds kHour = 3'600;
constexpr std::string_view kPlatform = "spotgrid";

// The FOCUS 1.2 columns we fill, in order: every mandatory one, then the
// conditional ones we support, then ours (x_).
constexpr std::array<std::string_view, 28> kFocusColumns = {
    "BilledCost",         "BillingAccountId",
    "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd",   "BillingPeriodStart",
    "ChargeCategory",     "ChargeClass",
    "ChargeDescription",  "ChargePeriodEnd",
    "ChargePeriodStart",  "ContractedCost",
    "EffectiveCost",      "InvoiceIssuerName",
    "ListCost",           "PricingQuantity",
    "PricingUnit",        "ProviderName",
    "PublisherName",      "ServiceCategory",
    "ServiceName",        "ConsumedQuantity",
    "ConsumedUnit",       "ResourceId",
    "RegionId",           "SkuId",
    "x_SupplierPayout",   "x_EnergyJoules"};

// Quantity in card-hours, tariff-weighted: what the charge bought at the
// lease's price (six decimals, rounded down).
std::string card_hours(const ChargeRow& row) {
  if (row.price_micros_per_card_hour <= 0) return "0.000000";
  __extension__ using Int128 = __int128;
  const auto millionths =
      static_cast<Micros>(Int128{row.charge} * 1'000'000 / row.price_micros_per_card_hour);
  return format_decimal(millionths);
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view text) {
  if (text == "csv") return ExportFormat::kCsv;
  if (text == "json") return ExportFormat::kJson;
  if (text == "focus") return ExportFormat::kFocus;
  return std::nullopt;
}

std::string_view RowWriter::content_type(ExportFormat format) {
  return format == ExportFormat::kJson ? "application/json" : "text/csv; charset=utf-8";
}

void RowWriter::header(std::string& out) const {
  switch (format_) {
    case ExportFormat::kCsv:
      csv_line(out, "lease_id", "charge_hour", "charge_micros", "platform_fee_micros", "buyer_id",
               "supplier_id", "node_id", "pool", "region", "cards", "price_micros_per_card_hour",
               "energy_joules");
      break;
    case ExportFormat::kJson:
      out += R"({"rows":[)";
      break;
    case ExportFormat::kFocus: {
      bool first = true;
      for (const std::string_view column : kFocusColumns) {
        if (!first) out += ',';
        first = false;
        out += column;
      }
      out += "\r\n";
      break;
    }
  }
}

void RowWriter::row(const ChargeRow& r, std::string& out) {
  const std::string pool(catalog_.pool_name(r.pool));
  const std::string& region = tariffs_.region_name(r.region);
  switch (format_) {
    case ExportFormat::kCsv:
      csv_line(out, std::to_string(r.lease), format_utc(r.hour), std::to_string(r.charge),
               std::to_string(r.platform_fee), std::to_string(r.buyer), std::to_string(r.supplier),
               std::to_string(r.node), pool, region, std::to_string(r.cards),
               std::to_string(r.price_micros_per_card_hour), std::to_string(r.energy_joules));
      break;
    case ExportFormat::kJson: {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
      w.StartObject();
      w.Key("lease_id");
      w.Uint64(r.lease);
      w.Key("charge_hour");
      w.String(format_utc(r.hour).c_str());
      w.Key("charge_micros");
      w.Int64(r.charge);
      w.Key("platform_fee_micros");
      w.Int64(r.platform_fee);
      w.Key("buyer_id");
      w.Uint(r.buyer);
      w.Key("supplier_id");
      w.Uint(r.supplier);
      w.Key("node_id");
      w.Uint64(r.node);
      w.Key("pool");
      w.String(pool.c_str());
      w.Key("region");
      w.String(region.c_str());
      w.Key("cards");
      w.Uint(r.cards);
      w.Key("price_micros_per_card_hour");
      w.Int64(r.price_micros_per_card_hour);
      w.Key("energy_joules");
      w.Int64(r.energy_joules);
      w.EndObject();
      if (!first_) out += ',';
      out.append(buffer.GetString(), buffer.GetSize());
      break;
    }
    case ExportFormat::kFocus: {
      const std::string cost = format_decimal(r.charge);
      const std::string quantity = card_hours(r);
      const std::string description =
          pool + " x" + std::to_string(r.cards) + " on node " + std::to_string(r.node) +
          ", lease " + std::to_string(r.lease) + (r.charge < 0 ? " (credit: interrupted)" : "");
      csv_line(out, cost, std::to_string(r.buyer), r.buyer_name, "USD",
               format_utc(util::month_start(r.hour, 1)), format_utc(util::month_start(r.hour)),
               r.charge < 0 ? "Credit" : "Usage", "", description, format_utc(r.hour + kHour),
               format_utc(r.hour), cost, cost, kPlatform, cost, quantity, "Card-Hours", kPlatform,
               kPlatform, "Compute", "spotgrid GPU spot compute", quantity, "Card-Hours",
               "lease/" + std::to_string(r.lease), region, pool,
               format_decimal(r.charge - r.platform_fee), std::to_string(r.energy_joules));
      break;
    }
  }
  first_ = false;
}

void RowWriter::trailer(std::string& out) const {
  if (format_ == ExportFormat::kJson) out += "]}";
}

struct ExportCursor::Impl {
  Impl(const std::string& conninfo, const ExportRequest& r, const engine::Catalog& catalog,
       const engine::TariffBook& tariffs)
      : connection(conninfo),
        txn(connection, "billing_export"),
        writer(r.format, catalog, tariffs) {
    // Settlements in the range, per lease, hour and direction (charge or
    // credit); a charge row also carries the energy the agent measured on the
    // lease's cards that hour, aggregated once over the range's samples.
    std::string query =
        "DECLARE export NO SCROLL CURSOR FOR"
        " SELECT g.*, CASE WHEN g.charge > 0 THEN coalesce(en.joules, 0) ELSE 0 END"
        " FROM (SELECT t.lease_id, t.at / 3600 * 3600 AS hour, -sum(e.amount) AS charge,"
        "  sum(coalesce(f.amount, 0)) AS fee, l.buyer_id, coalesce(a.name, ''), l.supplier_id,"
        "  l.node_id, l.pool, n.region, l.cards, l.price"
        " FROM ledger_transactions t"
        " JOIN leases l ON l.lease_id = t.lease_id"
        " JOIN nodes n ON n.node_id = l.node_id"
        " JOIN ledger_entries e ON e.owner_id = l.buyer_id AND e.account = 'hold'"
        "  AND e.txn_id = t.txn_id"
        " LEFT JOIN ledger_entries f ON f.owner_id = 0 AND f.account = 'revenue'"
        "  AND f.txn_id = t.txn_id"
        " LEFT JOIN accounts a ON a.account_id = l.buyer_id"
        " WHERE t.kind = 'settlement' AND t.at >= " +
        std::to_string(r.from) + " AND t.at < " + std::to_string(r.to);
    // A buyer's or supplier's export reads only its own leases' nodes' samples.
    std::string scope_filter;
    if (r.scope == ExportScope::kBuyer)
      scope_filter = " AND buyer_id = " + std::to_string(r.account);
    if (r.scope == ExportScope::kSupplier)
      scope_filter = " AND supplier_id = " + std::to_string(r.account);
    if (!scope_filter.empty()) query += " AND l." + scope_filter.substr(5);
    query +=
        " GROUP BY t.lease_id, hour, e.amount > 0, l.buyer_id, a.name, l.supplier_id, l.node_id,"
        "  l.pool, n.region, l.cards, l.price) g"
        " LEFT JOIN (SELECT lease, second / 3600 * 3600 AS hour,"
        "  div(sum(energy_mj), 1000) AS joules FROM usage_samples"
        "  WHERE lease <> 0 AND second >= " +
        std::to_string(r.from / 3'600 * 3'600) + " AND second < " + std::to_string(r.to + 3'600) +
        (scope_filter.empty()
             ? std::string()
             : " AND node IN (SELECT node_id FROM leases WHERE true" + scope_filter + ")") +
        "  GROUP BY 1, 2) en ON en.lease = g.lease_id AND en.hour = g.hour"
        " ORDER BY g.hour, g.lease_id, g.charge < 0";
    txn.exec(query);
  }

  pqxx::connection connection;
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn;
  RowWriter writer;
  bool started = false;
  bool finished = false;
};

ExportCursor::ExportCursor(const std::string& conninfo, const ExportRequest& request,
                           const engine::Catalog& catalog, const engine::TariffBook& tariffs)
    : impl_((util::assert_may_block(),
             std::make_unique<Impl>(conninfo, request, catalog, tariffs))) {}

// Ends its transaction and closes its connection: the gateway closes it on a
// worker (only when the worker pool is full does an I/O thread do it).
ExportCursor::~ExportCursor() = default;

std::optional<std::string> ExportCursor::next() {
  util::assert_may_block();
  Impl& x = *impl_;
  if (x.finished) return std::nullopt;
  std::string page;
  if (!x.started) {
    x.writer.header(page);
    x.started = true;
  }
  const pqxx::result rows = x.txn.exec("FETCH " + std::to_string(kRowsPerPage) + " FROM export");
  for (const pqxx::row& row : rows) {
    ChargeRow charge;
    charge.lease = row[0].as<std::uint64_t>();
    charge.hour = row[1].as<Int>();
    charge.charge = row[2].as<Int>();
    charge.platform_fee = row[3].as<Int>();
    charge.buyer = row[4].as<AccountId>();
    charge.buyer_name = row[5].as<std::string>();
    charge.supplier = row[6].as<AccountId>();
    charge.node = row[7].as<std::uint64_t>();
    charge.pool = static_cast<PoolIndex>(row[8].as<int>());
    charge.region = static_cast<RegionIndex>(row[9].as<int>());
    charge.cards = row[10].as<std::uint32_t>();
    charge.price_micros_per_card_hour = row[11].as<Int>();
    charge.energy_joules = row[12].as<Int>();
    x.writer.row(charge, page);
  }
  if (rows.size() < kRowsPerPage) {
    x.writer.trailer(page);
    x.finished = true;
  }
  return page;
}

}  // namespace spotgrid::finance
