#include "spotgrid/ledger/schema.hpp"

#include <pqxx/pqxx>
#include <string>

namespace spotgrid::ledger {

namespace {
// pg_advisory_xact_lock key for migrations: "spotgrid" as ASCII.
constexpr long long kMigrationLock = 0x73706f7467726964;
}  // namespace

int latest_schema_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

MigrationReport migrate(pqxx::connection_base& connection) {
  pqxx::work txn(connection, "migrate");
  txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
  txn.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY,"
      " name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  const int current =
      txn.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  const int latest = latest_schema_version();
  if (current > latest) {
    throw SchemaTooNew("database schema version " + std::to_string(current) +
                       " is newer than this binary's " + std::to_string(latest) +
                       "; run a spotgridd built from the same or a newer revision");
  }
  for (const Migration& migration : migrations()) {
    if (migration.version <= current) continue;
    txn.exec(std::string(migration.sql));
    txn.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version, std::string(migration.name));
  }
  txn.commit();
  return {current, latest};
}

}  // namespace spotgrid::ledger
