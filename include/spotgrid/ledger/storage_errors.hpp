#pragma once
// How a PostgreSQL failure is told apart: refused for what one statement
// carried (a fault of that input: refuse it alone), or storage failing (retry).
#include <exception>

namespace spotgrid::ledger {

// SQLSTATE class 22 (data exception) or 23 (integrity constraint): PostgreSQL
// refused the content. Anything else (a broken connection, a full disk, a
// non-SQL error) is not.
bool refused_for_content(const std::exception& error);

}  // namespace spotgrid::ledger
