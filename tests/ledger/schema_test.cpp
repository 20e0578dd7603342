#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "pg_harness.hpp"
#include "spotgrid/ledger/schema.hpp"

namespace spotgrid::ledger {
namespace {

class Schema : public ::testing::Test {
 protected:
  void SetUp() override { migrate(connection); }
  long long count(const std::string& sql) {
    pqxx::read_transaction txn(connection);
    return txn.exec1(sql)[0].as<long long>();
  }
  // Runs `sql` in a transaction of its own, expecting PostgreSQL to refuse it.
  void expect_refused(const std::string& sql, const std::string& message_part) {
    pqxx::work txn(connection);
    try {
      txn.exec(sql);
      txn.commit();
      ADD_FAILURE() << "accepted: " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
    }
  }
  void post_deposit(long long txn_id, long long owner, long long amount) {
    pqxx::work txn(connection);
    txn.exec_params(
        "INSERT INTO ledger_transactions (txn_id, command_seq, at, kind)"
        " VALUES ($1, 1, 0, 'deposit')",
        txn_id);
    txn.exec_params(
        "INSERT INTO ledger_entries VALUES ($1, 0, 'external', $3), ($1, $2, 'cash', -$3)", txn_id,
        owner, -amount);
    txn.commit();
  }

  testing::TestDatabase db;
  pqxx::connection connection{db.conninfo()};
};

TEST_F(Schema, MigratesOnceAndRecordsEachVersion) {
  const MigrationReport again = migrate(connection);
  EXPECT_EQ(again.from_version, latest_schema_version());
  EXPECT_EQ(again.to_version, latest_schema_version());
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"),
            static_cast<long long>(migrations().size()));
  EXPECT_GE(latest_schema_version(), 1);
}

TEST_F(Schema, RefusesADatabaseNewerThanTheBinary) {
  {
    pqxx::work txn(connection);
    txn.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')",
                    latest_schema_version() + 1);
    txn.commit();
  }
  try {
    migrate(connection);
    FAIL() << "migrated a newer database";
  } catch (const SchemaTooNew& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this binary"), std::string::npos);
  }
}

TEST_F(Schema, PostingMovesBalances) {
  post_deposit(1, 7, 1'000);
  EXPECT_EQ(count("SELECT balance FROM ledger_accounts WHERE owner_id = 7 AND account = 'cash'"),
            1'000);
  EXPECT_EQ(count("SELECT sum(balance) FROM ledger_accounts"), 0);
}

// One statement may post to accounts that exist and to new ones.
TEST_F(Schema, OneStatementPostsToExistingAndNewAccounts) {
  post_deposit(1, 7, 1'000);
  {
    pqxx::work txn(connection);
    txn.exec(
        "INSERT INTO ledger_transactions VALUES (2, 2, 0, 'deposit', 0, 0),"
        " (3, 2, 0, 'deposit', 0, 0);"
        "INSERT INTO ledger_entries VALUES (2, 0, 'external', -500), (2, 7, 'cash', 500),"
        " (3, 0, 'external', -300), (3, 8, 'cash', 300)");
    txn.commit();
  }
  EXPECT_EQ(count("SELECT balance FROM ledger_accounts WHERE owner_id = 7 AND account = 'cash'"),
            1'500);
  EXPECT_EQ(count("SELECT balance FROM ledger_accounts WHERE owner_id = 8 AND account = 'cash'"),
            300);
  EXPECT_EQ(count("SELECT sum(balance) FROM ledger_accounts"), 0);
}

// A statement with both faults is refused for the unbalanced transaction first.
TEST_F(Schema, AnUnbalancedTransactionIsNamedBeforeAnUnknownOne) {
  expect_refused(
      "INSERT INTO ledger_transactions VALUES (9, 1, 0, 'deposit', 0, 0);"
      "INSERT INTO ledger_entries VALUES (8, 0, 'external', -1), (8, 7, 'cash', 1),"
      " (9, 0, 'external', -100), (9, 7, 'cash', 99)",
      "transaction 9 does not sum to zero");
}

TEST_F(Schema, RefusesATransactionThatDoesNotSumToZero) {
  expect_refused(
      "INSERT INTO ledger_transactions VALUES (5, 1, 0, 'deposit', 0, 0);"
      "INSERT INTO ledger_entries VALUES (5, 0, 'external', -100), (5, 7, 'cash', 99)",
      "does not sum to zero");
  // Adding one leg to a balanced transaction later is refused the same way.
  post_deposit(6, 7, 100);
  expect_refused("INSERT INTO ledger_entries VALUES (6, 7, 'hold', 1)", "does not sum to zero");
  EXPECT_EQ(count("SELECT count(*) FROM ledger_entries"), 2);
}

TEST_F(Schema, RefusesEntriesOfAnUnknownTransaction) {
  expect_refused("INSERT INTO ledger_entries VALUES (77, 0, 'external', -1), (77, 7, 'cash', 1)",
                 "unknown transaction");
}

TEST_F(Schema, RefusesAnOverdraft) {
  post_deposit(1, 7, 100);
  expect_refused(
      "INSERT INTO ledger_transactions VALUES (2, 2, 0, 'withdrawal', 0, 0);"
      "INSERT INTO ledger_entries VALUES (2, 0, 'external', 101), (2, 7, 'cash', -101)",
      "ledger_account_not_negative");
  EXPECT_EQ(count("SELECT balance FROM ledger_accounts WHERE owner_id = 7 AND account = 'cash'"),
            100);
}

TEST_F(Schema, LedgerAndLogAreAppendOnly) {
  post_deposit(1, 7, 100);
  expect_refused("UPDATE ledger_entries SET amount = 5 WHERE owner_id = 7", "append-only");
  expect_refused("DELETE FROM ledger_entries", "append-only");
  expect_refused("TRUNCATE ledger_entries", "append-only");
  expect_refused("UPDATE ledger_transactions SET at = 1", "append-only");
  expect_refused("TRUNCATE command_log", "append-only");
  EXPECT_EQ(count("SELECT count(*) FROM ledger_entries"), 2);
}

// Balances move only through postings: a direct write to ledger_accounts is
// refused, whatever the statement.
TEST_F(Schema, BalancesChangeOnlyThroughTheLedger) {
  post_deposit(1, 7, 100);
  const char* why = "changes only through ledger_entries";
  expect_refused("UPDATE ledger_accounts SET balance = balance + 1000 WHERE owner_id = 7", why);
  expect_refused("INSERT INTO ledger_accounts (owner_id, account, balance) VALUES (9, 'cash', 5)",
                 why);
  expect_refused("DELETE FROM ledger_accounts", why);
  expect_refused("TRUNCATE ledger_accounts", why);
  EXPECT_EQ(count("SELECT balance FROM ledger_accounts WHERE owner_id = 7 AND account = 'cash'"),
            100);
  EXPECT_EQ(count("SELECT sum(balance) FROM ledger_accounts"), 0);
}

}  // namespace
}  // namespace spotgrid::ledger
