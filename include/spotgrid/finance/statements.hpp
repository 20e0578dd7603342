#pragma once
// Monthly statements from the ledger (docs/architecture.md#finance-reports): a buyer's invoice
// and a supplier's payout statement, per lease, read from one snapshot. Each total
// is a sum of ledger entries, so invoices = payouts + platform fees to the
// micro-unit, and each reconciles to the trial balance.
#include <optional>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"
#include "spotgrid/finance/export.hpp"

namespace pqxx {
class connection_base;
}

namespace spotgrid::finance {

struct StatementLine {
  LeaseId lease = 0;
  NodeId node = 0;
  PoolIndex pool = 0;
  Micros charges = 0;  // settled in the month
  Micros credits = 0;  // reversed in the month (interruptions)
  Micros fees = 0;     // the platform's share of charges less credits
  Micros net = 0;      // invoice: charges - credits; payout: what the supplier earns
};

struct Statement {
  AccountId account = 0;
  std::string account_name;
  UnixSeconds period_start = 0;  // the month, UTC
  UnixSeconds period_end = 0;
  std::vector<StatementLine> lines;  // by lease
  Micros charges = 0;
  Micros credits = 0;
  Micros fees = 0;
  Micros total = 0;     // Σ net
  Micros paid_out = 0;  // payout statements: payouts made in the month
};

enum class StatementKind : std::uint8_t { kInvoice, kPayout };

// The month holding `month_start` ("2026-11" → its first second), for every
// account (nullopt) or one.
std::vector<Statement> monthly_statements(pqxx::connection_base& connection, StatementKind kind,
                                          UnixSeconds month_start,
                                          std::optional<AccountId> account);

// {"statements": [...]} or CSV, one line per statement line.
std::string statements_json(const std::vector<Statement>& statements, StatementKind kind,
                            const engine::Catalog& catalog);
// A payout statement's CSV has a last column, paid_out_micros, set on one
// line per account with no lease.
std::string statements_csv(const std::vector<Statement>& statements, StatementKind kind,
                           const engine::Catalog& catalog);

// "2026-11" → the first second of that month (UTC).
std::optional<UnixSeconds> parse_month(std::string_view text);

}  // namespace spotgrid::finance
