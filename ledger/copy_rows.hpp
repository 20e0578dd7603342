#pragma once
// Rows of one table, streamed with COPY; nothing is sent for an empty table.
// (The persister's writers: batch_writer.cpp, webhook_outbox.cpp.)
#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <vector>

namespace spotgrid::ledger {

using Int = long long;  // pqxx converts long long, not every fixed-width alias

template <typename... Columns>
class Rows {
 public:
  Rows(std::string table, std::vector<std::string> columns)
      : table_(std::move(table)), columns_(std::move(columns)) {}
  void add(Columns... values) { rows_.emplace_back(std::move(values)...); }
  void copy(pqxx::transaction_base& txn) const {
    if (rows_.empty()) return;
    pqxx::stream_to stream(txn, table_, columns_);
    for (const auto& row : rows_)
      stream << row;
    stream.complete();
  }
  bool empty() const { return rows_.empty(); }

 private:
  std::string table_;
  std::vector<std::string> columns_;
  std::vector<std::tuple<Columns...>> rows_;
};

}  // namespace spotgrid::ledger
