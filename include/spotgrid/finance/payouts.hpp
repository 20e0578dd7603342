#pragma once
// Suppliers' payouts from the ledger (docs/architecture.md#payouts): each one a
// transaction that moved a receivable out of the market, with the reference an
// operator matches against the bank's or payment processor's file.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace spotgrid::finance {

struct PayoutRecord {
  std::uint64_t txn_id = 0;  // the ledger transaction; the reference is made from it
  std::uint64_t command_seq = 0;
  AccountId supplier = 0;
  std::string supplier_name;
  UnixSeconds at = 0;
  Micros amount = 0;
  bool scheduled = false;  // by the supplier's daily schedule, not on request
};

// Payouts made in [from, to), oldest first, of every supplier or one; at most
// `limit` (the caller says whether more were left out by asking for one more).
std::vector<PayoutRecord> payouts_between(pqxx::connection_base& connection, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier,
                                          std::size_t limit);
// The same inside a caller's transaction (a statement's snapshot).
std::vector<PayoutRecord> payouts_between(pqxx::transaction_base& txn, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier,
                                          std::size_t limit);

// What each supplier (or one) was paid out in [from, to), by supplier.
struct PaidOut {
  AccountId supplier = 0;
  std::string supplier_name;
  Micros amount = 0;
};
std::vector<PaidOut> paid_out_by_supplier(pqxx::transaction_base& txn, UnixSeconds from,
                                          UnixSeconds to, std::optional<AccountId> supplier);

// {"currency":"USD","payouts":[...],"total_micros":N} or CSV, one line a payout.
std::string payouts_json(const std::vector<PayoutRecord>& payouts);
std::string payouts_csv(const std::vector<PayoutRecord>& payouts);

}  // namespace spotgrid::finance
