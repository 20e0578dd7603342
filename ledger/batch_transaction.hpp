#pragma once
// The transaction a batch commits in: libpqxx's own read-write transaction,
// except that BEGIN goes with the batch's first statement and COMMIT with its
// last ones (commit_after), instead of each in a round trip of its own:
// `pqxx::work` sends BEGIN alone when it is made, which cost ~0.13 ms a batch
// in the durable bench and ~0.37 ms through HTTP on the 2-core machine
// (README, "Gateway v2"). A first statement that is a COPY gets its BEGIN
// alone, as before (not tried with a prefix). COMMIT keeps libpqxx's in-doubt
// error when the connection breaks during its round trip.
//
// The rule that comes with it: the first statement goes through exec() or a
// COPY (stream_to), which reach do_exec (SQL text that EXECUTEs a statement
// prepared with PREPARE is fine). exec_params, libpqxx's own prepared
// statements and subtransactions do not, and sent first they would run before
// any BEGIN, in a transaction of their own. The batch writer's first statement is always
// its command log rows; commit() checks that something was sent.
//
// Neither BEGIN is retried on a new session (which would hold neither the
// market's lock nor the staging tables): on a session PostgreSQL ended, the
// batch fails as storage and the market recovers.
//
// BEGIN here is READ COMMITTED and read-write: PostgreSQL's defaults, which the
// persister's sessions keep. Written against libpqxx 6.4's transaction classes
// (Debian 12's); libpqxx 7 reorganises them.
#include <pqxx/pqxx>
#include <pqxx/version>
#include <string>
#include <string_view>

#include "spotgrid/util/check.hpp"

namespace spotgrid::ledger {

static_assert(PQXX_VERSION_MAJOR == 6, "BatchTransaction derives from libpqxx 6's transactions");

class BatchTransaction final : public pqxx::internal::basic_transaction {
 public:
  BatchTransaction(pqxx::connection_base& connection, const std::string& name)
      : pqxx::internal::namedclass("BatchTransaction", name),
        basic_transaction(connection, pqxx::isolation_traits<pqxx::read_committed>::name(),
                          pqxx::read_write) {
    Begin();
  }
  ~BatchTransaction() noexcept override { End(); }
  BatchTransaction(const BatchTransaction&) = delete;
  BatchTransaction& operator=(const BatchTransaction&) = delete;

  void commit() { commit_after({}); }

  // COMMIT, with `statements` before it in the same round trip (a batch's
  // last statements: one round trip fewer a batch). PostgreSQL runs none of
  // what follows a failed statement, so a failure in `statements` is that
  // statement's error and nothing commits. A connection lost during the round
  // trip leaves the outcome unknown (in_doubt_error), as a lost COMMIT does.
  void commit_after(std::string statements) {
    SPOTGRID_CHECK(begun_ || !statements.empty());  // else COMMIT would end no transaction
    before_commit_ = std::move(statements);
    transaction_base::commit();
  }

 private:
  void do_begin() override {}  // with the first statement (do_exec)

  // libpqxx 6's basic_transaction::do_commit, with the statements before COMMIT.
  void do_commit() override {
    std::string sql = begun_ ? "" : "BEGIN; ";
    begun_ = true;
    if (!before_commit_.empty())
      sql += before_commit_ + (before_commit_.ends_with(';') ? " " : "; ");
    sql += "COMMIT";
    try {
      direct_exec(sql.c_str());
    } catch (const pqxx::statement_completion_unknown& e) {
      throw pqxx::in_doubt_error("commit of " + name() + " is unknown: " + e.what());
    } catch (const std::exception& e) {
      if (!conn().is_open())
        throw pqxx::in_doubt_error("connection lost while committing " + name() + ": " + e.what());
      // Refused, so nothing committed. When a statement before COMMIT failed,
      // PostgreSQL skipped COMMIT and the transaction is still open (aborted):
      // end it, so the session can serve the next batch. Its own failure
      // would only mean the session broke, which the next batch finds.
      try {
        direct_exec("ROLLBACK");
      } catch (const std::exception&) {
      }
      throw;
    }
  }

  pqxx::result do_exec(const char query[]) override {
    if (begun_) return dbtransaction::do_exec(query);
    begun_ = true;
    if (std::string_view(query).starts_with("COPY")) {
      direct_exec("BEGIN");  // alone, and never retried on a new session
      return dbtransaction::do_exec(query);
    }
    return dbtransaction::do_exec(("BEGIN; " + std::string(query)).c_str());
  }

  // Nothing to roll back before the first statement.
  void do_abort() override {
    if (begun_) dbtransaction::do_abort();
  }

  bool begun_ = false;
  std::string before_commit_;
};

}  // namespace spotgrid::ledger
