#include "spotgrid/ledger/storage_errors.hpp"

#include <pqxx/pqxx>

namespace spotgrid::ledger {

bool refused_for_content(const std::exception& error) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
  if (sql == nullptr) return false;
  const std::string& state = sql->sqlstate();
  return state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0;
}

}  // namespace spotgrid::ledger
