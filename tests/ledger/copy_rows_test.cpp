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

  // (rows read, moods given, busy ones, cards, notes' length, rows left in the
  // temporary table, the columns' types)
  std::string summary_of(const TestRows& rows) {
    pqxx::work txn(connection);
    PendingSql pending;
    const std::string relation = rows.staged(txn, pending, "s");
    pending.add(
        "SELECT count(*), count(s.mood), count(*) FILTER (WHERE s.mood = 'busy'),"
        " sum(s.cards), sum(length(s.note)), (SELECT count(*) FROM stage_test_rows),"
        " min(pg_typeof(s.id)::text || ',' || pg_typeof(s.mood)::text || ','"
        " || pg_typeof(s.cards)::text || ',' || pg_typeof(s.note)::text) FROM " +
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
  EXPECT_EQ(summary_of(rows_of(3)), "3 2 1 12 21 0 bigint,test_mood,integer,text ");
  // The last count that goes as VALUES: 2 * (1 + ... + 63) cards, notes 9*7 + 54*8 bytes.
  EXPECT_EQ(summary_of(rows_of(kCopyFromRows - 1)),
            "63 62 31 4032 495 0 bigint,test_mood,integer,text ");
}

TEST_F(StagedRows, ManyGoByCopyIntoTheirTable) {
  constexpr Int kMany = kCopyFromRows + 36;  // 100
  // 50 busy (the even ids); cards 2 * (1 + ... + 100); notes 9*7 + 90*8 + 9 bytes.
  EXPECT_EQ(summary_of(rows_of(kMany)), "100 99 50 10100 792 100 bigint,test_mood,integer,text ");
  EXPECT_EQ(summary_of(rows_of(kCopyFromRows)),
            "64 63 32 4160 503 64 bigint,test_mood,integer,text ");
}

// What libpq cannot escape goes by COPY, and PostgreSQL refuses it for its
// content (SQLSTATE class 22), as any table's rows.
TEST_F(StagedRows, ANulByteGoesByCopyAndIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, std::string("a\0b", 3));
  pqxx::work txn(connection);
  PendingSql pending;
  EXPECT_THROW(rows.staged(txn, pending, "s"), pqxx::data_exception);
}

TEST_F(StagedRows, ATruncatedCharacterGoesByCopyAndIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, "\xE2\x82");  // the first two bytes of a three-byte UTF-8 character
  pqxx::work txn(connection);
  PendingSql pending;
  EXPECT_THROW(rows.staged(txn, pending, "s"), pqxx::data_exception);
}

}  // namespace
}  // namespace spotgrid::ledger
