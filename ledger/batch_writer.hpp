#pragma once
// Writes a batch of applied commands into one PostgreSQL transaction: the command
// log, the ledger, and the current-state tables (each by COPY, or for a few rows
// by INSERT: copy_rows.hpp), then the set-based updates, which the caller sends
// with its COMMIT (group commit).
#include <memory>
#include <span>
#include <string>

#include "applied.hpp"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace spotgrid::ledger {

// Sets up a new persister connection: session settings, the staging tables and
// the prepared statements. Once per connection (a second PREPARE fails).
void prepare_connection(pqxx::connection_base& connection);

// One batch's rows, written in two steps. The first writes only rows that are
// new (commands, ledger transactions, nodes, listings, orders, leases, index
// prices): it reads nothing the market writes and waits on no lock, so it may
// run while the batch before commits on another connection. The second writes
// what reads or changes rows earlier batches wrote (ledger entries and
// balances, updates, re-queued orders, the webhook outbox): only once the
// batch before committed. It returns its last statements unsent, for the
// caller to send with COMMIT (BatchTransaction::commit_after).
class BatchWriter {
 public:
  BatchWriter(pqxx::transaction_base& txn, std::span<const Applied* const> batch);
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;
  void write_new_rows();
  [[nodiscard]] std::string write_the_rest();

 private:
  class Batch;
  std::unique_ptr<Batch> rows_;
};

// Both steps at once.
void write_batch(pqxx::transaction_base& txn, std::span<const Applied* const> batch);
// Empties the staging tables before the transaction ends (they empty at COMMIT
// by themselves): for writing several batches in one transaction.
void clear_staging(pqxx::transaction_base& txn);
void write_snapshot(pqxx::transaction_base& txn, std::uint64_t command_seq, UnixSeconds at,
                    const std::string& state);

}  // namespace spotgrid::ledger
