#pragma once
// The trial balance (docs/architecture.md#ledger-rules): every ledger account's balance summed
// by kind. Double entry makes the total zero; anything else is a defect.
#include <cstdint>
#include <string>
#include <vector>

#include "spotgrid/engine/types.hpp"

namespace pqxx {
class connection_base;
}

namespace spotgrid::ledger {

struct TrialBalanceLine {
  std::string account;  // cash, hold, receivable, revenue, external
  long long accounts = 0;
  Micros balance = 0;
};

struct TrialBalance {
  std::vector<TrialBalanceLine> lines;  // in the enum's order
  Micros total = 0;                     // zero when the books balance
  std::uint64_t transactions = 0;
};

// Read from one consistent snapshot of the database.
TrialBalance trial_balance(pqxx::connection_base& connection);

}  // namespace spotgrid::ledger
