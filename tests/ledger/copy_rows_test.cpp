// Staged rows (ledger/copy_rows.hpp) read the same whether they go as the JSON
// parameter of a prepared statement (a few) or by COPY into their temporary
// table (many).
#include "copy_rows.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <pqxx/pqxx>
#include <string>

#include "pg_harness.hpp"

namespace spotgrid::ledger {
namespace {

constexpr Column kColumns[] = {
    {"id", "bigint"}, {"mood", "test_mood"}, {"cards", "integer"}, {"note", "text"}};
constexpr StagingTable kStaging{"stage_test_rows", kColumns};
// (rows read, moods given, busy ones, cards, notes' length, rows left in the
// temporary table, the columns' types)
constexpr StagedStatement kSummary{
    "sg_test_summary", kStaging, "s",
    "SELECT count(*), count(s.mood), count(*) FILTER (WHERE s.mood = 'busy'),"
    " sum(s.cards), sum(length(s.note)), (SELECT count(*) FROM stage_test_rows),"
    " min(pg_typeof(s.id)::text || ',' || pg_typeof(s.mood)::text || ','"
    " || pg_typeof(s.cards)::text || ',' || pg_typeof(s.note)::text) FROM ",
    ""};
constexpr StagedStatement kNote{"sg_test_note", kStaging, "s", "SELECT s.note FROM ", ""};
constexpr StagedStatement kExtremes{
    "sg_test_extremes", kStaging, "s",
    "SELECT min(s.id)::text || ' ' || max(s.id)::text || ' ' || min(s.cards)::text || ' ' ||"
    " count(s.mood)::text || ' ' || max(s.note) FROM ",
    ""};
using TestRows = Rows<Int, const char*, Int, std::string>;

class StagedRows : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::work txn(connection);
    txn.exec("CREATE TYPE test_mood AS ENUM ('calm', 'busy')");
    txn.exec(create_sql(kStaging));
    txn.commit();
    pqxx::nontransaction prepare(connection);
    prepare.exec(prepare_sql(kSummary) + prepare_sql(kNote) + prepare_sql(kExtremes));
  }

  // `count` rows, the first with a NULL mood: what a query over them sums up.
  static TestRows rows_of(Int count) {
    TestRows rows(kStaging);
    for (Int id = 1; id <= count; ++id)
      rows.add(id, id == 1 ? nullptr : (id % 2 == 0 ? "busy" : "calm"), id * 2,
               "it's #" + std::to_string(id));
    return rows;
  }

  std::string summary_of(const TestRows& rows) {
    pqxx::work txn(connection);
    PendingSql pending;
    rows.stage(txn, pending, kSummary);
    const pqxx::result result = pending.send(txn);
    std::string summary;
    for (const pqxx::field& field : result[0])
      summary += std::string(field.c_str()) + ' ';
    return summary;
  }

  testing::TestDatabase db;
  pqxx::connection connection{db.conninfo()};
};

TEST_F(StagedRows, AFewGoAsJsonTypedByTheirColumns) {
  // 3 rows: 1 without a mood, 1 busy; cards 2+4+6; notes "it's #n" of 7 bytes.
  EXPECT_EQ(summary_of(rows_of(3)), "3 2 1 12 21 0 bigint,test_mood,integer,text ");
  // The last count that goes as JSON: 2 * (1 + ... + 63) cards, notes 9*7 + 54*8 bytes.
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

// PostgreSQL refuses what no text may hold for its content (SQLSTATE class
// 22), as it would in any table's rows: a NUL byte in the JSON (\u0000), and a
// truncated character, which is not UTF-8 and so goes by COPY.
TEST_F(StagedRows, ANulByteIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, std::string("a\0b", 3));
  pqxx::work txn(connection);
  PendingSql pending;
  rows.stage(txn, pending, kSummary);
  EXPECT_THROW(pending.send(txn), pqxx::data_exception);
}

TEST_F(StagedRows, ATruncatedCharacterGoesByCopyAndIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, "\xE2\x82");  // the first two bytes of a three-byte UTF-8 character
  pqxx::work txn(connection);
  PendingSql pending;
  EXPECT_THROW(rows.stage(txn, pending, kSummary), pqxx::data_exception);
}

// A byte that is not UTF-8 in the middle of a string: by COPY, refused.
TEST_F(StagedRows, AByteThatIsNotUtf8GoesByCopyAndIsRefusedForItsContent) {
  TestRows rows(kStaging);
  rows.add(1, "calm", 1,
           "a\xFF"
           "b");
  pqxx::work txn(connection);
  PendingSql pending;
  EXPECT_THROW(rows.stage(txn, pending, kSummary), pqxx::data_exception);
}

// The extremes of the integers, negative ones (which the persister's
// statements read as "keep"), and a character outside the BMP (a surrogate
// pair in the JSON) arrive exactly.
TEST_F(StagedRows, ExtremeValuesArriveExactly) {
  constexpr Int kMin = std::numeric_limits<Int>::min();
  constexpr Int kMax = std::numeric_limits<Int>::max();
  TestRows rows(kStaging);
  rows.add(kMin, "calm", -1, "\xF0\x9F\x98\x80");
  rows.add(kMax, nullptr, 0, "");
  pqxx::work txn(connection);
  PendingSql pending;
  rows.stage(txn, pending, kExtremes);
  EXPECT_EQ(pending.send(txn)[0][0].as<std::string>(),
            std::to_string(kMin) + ' ' + std::to_string(kMax) + " -1 1 \xF0\x9F\x98\x80");
}

// Quotes, backslashes and text beyond ASCII arrive as they were.
TEST_F(StagedRows, TextArrivesAsItWas) {
  const std::string note = "it's \"quoted\", a back\\slash, caf\xC3\xA9 \xE2\x82\xAC";
  TestRows rows(kStaging);
  rows.add(1, "calm", 1, note);
  pqxx::work txn(connection);
  PendingSql pending;
  rows.stage(txn, pending, kNote);
  EXPECT_EQ(pending.send(txn)[0][0].as<std::string>(), note);
}

}  // namespace
}  // namespace spotgrid::ledger
