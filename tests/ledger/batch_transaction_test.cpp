// The batch's transaction (ledger/batch_transaction.hpp): BEGIN travels with
// its first statement and COMMIT with its last ones, the statements are one
// transaction, and a session PostgreSQL ended is never silently replaced by a
// new one.
#include "batch_transaction.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>
#include <tuple>

#include "pg_harness.hpp"

namespace spotgrid::ledger {
namespace {

class BatchTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::work txn(observer);
    txn.exec("CREATE TABLE rows_written (n integer)");
    txn.commit();
  }

  long long rows_seen() {
    pqxx::read_transaction txn(observer);
    return txn.exec1("SELECT count(*) FROM rows_written")[0].as<long long>();
  }

  // Ends `victim`'s backend from the observer's, as a restart or an
  // operator's pg_terminate_backend would.
  void end_backend_of(pqxx::connection& victim) {
    pqxx::nontransaction txn(observer);
    txn.exec_params("SELECT pg_terminate_backend($1)", victim.backendpid());
  }

  testing::TestDatabase db;
  pqxx::connection observer{db.conninfo()};
  pqxx::connection session{db.conninfo()};
};

TEST_F(BatchTransactionTest, StatementsAreOneTransactionFromTheFirst) {
  BatchTransaction txn(session, "batch");
  txn.exec("INSERT INTO rows_written VALUES (1); INSERT INTO rows_written VALUES (2)");
  txn.exec("INSERT INTO rows_written VALUES (3)");
  EXPECT_EQ(rows_seen(), 0);  // not autocommitted
  txn.commit();
  EXPECT_EQ(rows_seen(), 3);
}

TEST_F(BatchTransactionTest, ACopyFirstIsInTheTransactionToo) {
  {
    BatchTransaction txn(session, "batch");
    pqxx::stream_to copy(txn, "rows_written", std::vector<std::string>{"n"});
    copy << std::make_tuple(7) << std::make_tuple(8);
    copy.complete();
    EXPECT_EQ(rows_seen(), 0);
    txn.abort();
  }
  EXPECT_EQ(rows_seen(), 0);
}

TEST_F(BatchTransactionTest, AFailedStatementRollsBackWhatCameBefore) {
  BatchTransaction txn(session, "batch");
  EXPECT_THROW(txn.exec("INSERT INTO rows_written VALUES (1); INSERT INTO rows_written VALUES "
                        "('not a number')"),
               pqxx::data_exception);
  EXPECT_EQ(rows_seen(), 0);
  // The session is usable at once: the failed transaction was rolled back.
  pqxx::work next(session);
  EXPECT_EQ(next.exec1("SELECT count(*) FROM rows_written")[0].as<long long>(), 0);
}

TEST_F(BatchTransactionTest, TheLastStatementsGoWithTheCommit) {
  BatchTransaction txn(session, "batch");
  txn.exec("INSERT INTO rows_written VALUES (1)");
  txn.commit_after("INSERT INTO rows_written VALUES (2); INSERT INTO rows_written VALUES (3)");
  EXPECT_EQ(rows_seen(), 3);
}

TEST_F(BatchTransactionTest, StatementsWithTheCommitAloneAreATransaction) {
  BatchTransaction txn(session, "batch");
  txn.commit_after("INSERT INTO rows_written VALUES (1);");
  EXPECT_EQ(rows_seen(), 1);
  pqxx::work next(session);  // no transaction left open
  EXPECT_EQ(next.exec1("SELECT count(*) FROM rows_written")[0].as<long long>(), 1);
}

TEST_F(BatchTransactionTest, AFailedLastStatementCommitsNothing) {
  {
    BatchTransaction txn(session, "batch");
    txn.exec("INSERT INTO rows_written VALUES (1)");
    EXPECT_THROW(txn.commit_after("INSERT INTO rows_written VALUES (2); INSERT INTO rows_written "
                                  "VALUES ('not a number')"),
                 pqxx::data_exception);  // the statement's own error, not an unknown outcome
  }
  EXPECT_EQ(rows_seen(), 0);
  pqxx::work next(session);  // usable at once
  EXPECT_EQ(next.exec1("SELECT count(*) FROM rows_written")[0].as<long long>(), 0);
}

// Lost during the round trip that carries COMMIT: whether it committed is not
// known to the writer (here it did not), as when COMMIT goes alone.
TEST_F(BatchTransactionTest, ASessionEndedBeforeTheCommitLeavesTheOutcomeUnknown) {
  BatchTransaction txn(session, "batch");
  txn.exec("INSERT INTO rows_written VALUES (1)");
  end_backend_of(session);
  EXPECT_THROW(txn.commit_after("INSERT INTO rows_written VALUES (2)"), pqxx::in_doubt_error);
  EXPECT_EQ(rows_seen(), 0);
}

TEST_F(BatchTransactionTest, AnEndedSessionFailsTheBatchAndIsNotReplaced) {
  for (const bool copy_first : {false, true}) {
    pqxx::connection doomed(db.conninfo());
    end_backend_of(doomed);
    BatchTransaction txn(doomed, "batch");
    if (copy_first) {
      EXPECT_ANY_THROW({
        pqxx::stream_to copy(txn, "rows_written", std::vector<std::string>{"n"});
        copy << std::make_tuple(1);
        copy.complete();
        txn.commit();
      }) << "copy first";
    } else {
      EXPECT_ANY_THROW({
        txn.exec("INSERT INTO rows_written VALUES (1)");
        txn.commit();
      }) << "statement first";
    }
    EXPECT_EQ(rows_seen(), 0) << "copy first: " << copy_first;
  }
}

}  // namespace
}  // namespace spotgrid::ledger
