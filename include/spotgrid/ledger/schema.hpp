#pragma once
// The database schema: numbered migrations from sql/, compiled into the binary so
// a binary always knows which schema it speaks. Applied at start-up, in order,
// each once, recorded in schema_migrations.
#include <span>
#include <stdexcept>
#include <string_view>

namespace pqxx {
class connection_base;
}

namespace spotgrid::ledger {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Every migration this binary carries, in version order.
std::span<const Migration> migrations();
int latest_schema_version();

// The database was migrated by a newer binary: refusing beats guessing.
class SchemaTooNew : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
};

// Applies what is missing in one transaction, serialised across processes by an
// advisory lock. Throws SchemaTooNew, or pqxx's errors when the database fails.
MigrationReport migrate(pqxx::connection_base& connection);

}  // namespace spotgrid::ledger
