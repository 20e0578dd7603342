#include "spotgrid/ledger/trial_balance.hpp"

#include <pqxx/pqxx>

namespace spotgrid::ledger {

TrialBalance trial_balance(pqxx::connection_base& connection) {
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn(
      connection, "trial_balance");
  TrialBalance result;
  for (const pqxx::row& row :
       txn.exec("SELECT account::text, count(*), sum(balance)::bigint FROM ledger_accounts"
                " GROUP BY account ORDER BY account")) {
    TrialBalanceLine line{row[0].as<std::string>(), row[1].as<long long>(), row[2].as<long long>()};
    result.total += line.balance;
    result.lines.push_back(std::move(line));
  }
  result.transactions =
      txn.exec1("SELECT count(*) FROM ledger_transactions")[0].as<std::uint64_t>();
  txn.commit();
  return result;
}

}  // namespace spotgrid::ledger
