// Staged rows (ledger/copy_rows.hpp) read the same whether they go as a VALUES
// list (a few) or by COPY into their temporary table (many).
#include "copy_rows.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

#include "pg_harness.hpp"

namespace spotgrid::ledger {
namespace {

constexpr Column kColumns[] = {
    {"id", "bigint"}, {"mood", "test_mood"}, {"cards", "integer"}, {"note", "text"}};
constexpr StagingTable kStaging{"stage_test_rows", kColumns};
using TestRows = Rows<Int, const char*, Int, std::string>;

class StagedRows : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::work txn(connection);
    txn.exec("CREATE TYPE test_mood AS ENUM ('calm', 'busy')");
    txn.exec(create_sql(kStaging));
    txn.commit();
  }

  // `count` rows, the first with a NULL mood: what a query over them sums up.
  static TestRows rows_of(Int count) {
    TestRows rows(kStaging);
    for (Int id = 1; id <= count; ++id)
      rows.add(id, id == 1 ? nullptr : (id % 2 == 0 ? "busy" : "calm"), id * 2,
               "it's #" + std::to_string(id));
    return rows;
  }

  // (rows read, moods given, busy ones, cards, notes' length, rows left in the temporary table)
  std::string summary_of(const TestRows& rows) {
    pqxx::work txn(connection);
    PendingSql pending;
    const std::string relation = rows.staged(txn, pending, "s");
    pending.add(
        "SELECT count(*), count(s.mood), count(*) FILTER (WHERE s.mood = 'busy'),"
        " sum(s.cards + 0), sum(length(s.note)), (SELECT count(*) FROM stage_test_rows)"
        " FROM " +
        relation + ';');
    const pqxx::result result = pending.send(txn);
    std::string summary;
    for (const pqxx::field& field : result[0])
      summary += std::string(field.c_str()) + ' ';
    return summary;
  }

  testing::TestDatabase db;
  pqxx::connection connection{db.conninfo()};
};

TEST_F(StagedRows, AFewGoAsValuesTypedByTheirColumns) {
  // 3 rows: 1 without a mood, 1 busy; cards 2+4+6; notes "it's #n" of 7 bytes.
  EXPECT_EQ(summary_of(rows_of(3)), "3 2 1 12 21 0 ");
}

TEST_F(StagedRows, ManyGoByCopyIntoTheirTable) {
  constexpr Int kMany = kCopyFromRows + 36;  // 100
  // 50 busy (the even ids); cards 2 * (1 + ... + 100); notes 9*7 + 90*8 + 9 bytes.
  EXPECT_EQ(summary_of(rows_of(kMany)), "100 99 50 10100 792 100 ");
}

TEST_F(StagedRows, ANulByteGoesByCopyAndIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, std::string("a\0b", 3));
  pqxx::work txn(connection);
  PendingSql pending;
  EXPECT_THROW(rows.staged(txn, pending, "s"), pqxx::data_exception);
}

}  // namespace
}  // namespace spotgrid::ledger
