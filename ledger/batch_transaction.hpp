#pragma once
// The transaction a batch commits in: libpqxx's own read-write transaction
// (COMMIT, and its in-doubt error when the connection breaks during COMMIT,
// are libpqxx's), except that BEGIN goes with the batch's first statement
// instead of in a round trip of its own: `pqxx::work` sends it alone when it
// is made, which cost ~0.13 ms a batch in the durable bench and ~0.37 ms
// through HTTP on the 2-core machine (README, "Gateway v2"). A first statement
// that is a COPY gets its BEGIN alone, as before (not tried with a prefix).
//
// The rule that comes with it: the first statement goes through exec() or a
// COPY (stream_to), which reach do_exec. exec_params, prepared statements and
// subtransactions do not, and sent first they would run before any BEGIN, in
// a transaction of their own. The batch writer's first statement is always
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

  void commit() {
    SPOTGRID_CHECK(begun_);  // else COMMIT would end no transaction
    transaction_base::commit();
  }

 private:
  void do_begin() override {}  // with the first statement (do_exec)

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
};

}  // namespace spotgrid::ledger
