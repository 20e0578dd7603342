// The export's row formats alone: decimals, date-times, CSV quoting, FOCUS
// credits and JSON framing.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/finance/export.hpp"
#include "spotgrid/finance/statements.hpp"
#include "spotgrid/util/utc.hpp"

namespace spotgrid::finance {
namespace {

class RowWriterTest : public ::testing::Test {
 protected:
  RowWriterTest()
      : catalog(engine::load_catalog_file(SPOTGRID_SOURCE_DIR "/config/gpus.json").value()),
        tariffs(engine::load_tariffs_file(SPOTGRID_SOURCE_DIR "/config/tariffs.json").value()) {}

  ChargeRow row(Micros charge) const {
    ChargeRow r;
    r.lease = 42;
    r.hour = 1'767'225'600 + 5 * 3'600;  // 2026-01-01T05:00:00Z
    r.charge = charge;
    r.platform_fee = charge / 20;
    r.buyer = 7;
    r.buyer_name = R"(Lab "North", Ltd)";
    r.supplier = 9;
    r.node = 3;
    r.cards = 2;
    r.price_micros_per_card_hour = 2'000'000;
    return r;
  }

  engine::Catalog catalog;
  engine::TariffBook tariffs;
};

TEST(Formats, decimals_have_six_places_and_no_separators) {
  EXPECT_EQ(format_decimal(0), "0.000000");
  EXPECT_EQ(format_decimal(1), "0.000001");
  EXPECT_EQ(format_decimal(-1'500'000), "-1.500000");
  EXPECT_EQ(format_decimal(1'234'567'890'123), "1234567.890123");
  EXPECT_EQ(format_decimal(INT64_MIN), "-9223372036854.775808");
}

TEST(Formats, date_times_are_utc_with_a_z) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(1'767'225'600 + 86'399), "2026-01-01T23:59:59Z");
  EXPECT_EQ(format_utc(1'709'164'800), "2024-02-29T00:00:00Z");
}

TEST(Formats, months_parse_strictly) {
  EXPECT_EQ(parse_month("2026-01"), 1'767'225'600);
  EXPECT_EQ(util::month_start(1'767'225'600 + 86'400, 1), 1'767'225'600 + 31 * 86'400);
  for (const char* bad : {"2026-00", "2026-13", "2026-1", "2026/01", "1969-12", "abcd-ef", ""})
    EXPECT_FALSE(parse_month(bad)) << bad;
}

TEST_F(RowWriterTest, a_credit_is_a_focus_row_of_its_own_category) {
  RowWriter writer(ExportFormat::kFocus, catalog, tariffs);
  std::string out;
  writer.header(out);
  writer.row(row(1'000'000), out);
  writer.row(row(-250'000), out);
  writer.trailer(out);
  const auto first = out.find("\r\n");
  const auto second = out.find("\r\n", first + 2);
  const std::string usage = out.substr(first + 2, second - first - 2);
  const std::string credit = out.substr(second + 2, out.find("\r\n", second + 2) - second - 2);
  EXPECT_EQ(usage.rfind("1.000000,7,", 0), 0u) << usage;
  EXPECT_NE(usage.find(",Usage,"), std::string::npos) << usage;
  EXPECT_EQ(credit.rfind("-0.250000,7,", 0), 0u) << credit;
  EXPECT_NE(credit.find(",Credit,"), std::string::npos) << credit;
  // The name holds a comma and quotes: quoted, quotes doubled.
  EXPECT_NE(usage.find(R"("Lab ""North"", Ltd")"), std::string::npos) << usage;
  EXPECT_NE(usage.find(",2026-02-01T00:00:00Z,2026-01-01T00:00:00Z,"), std::string::npos)
      << "billing period end, then start: " << usage;
  EXPECT_NE(usage.find(",0.500000,Card-Hours,"), std::string::npos)
      << "1 USD at 2 USD per card-hour bought half a card-hour: " << usage;
  EXPECT_NE(out.substr(0, first).find(",x_SupplierPayout,x_EnergyJoules"), std::string::npos)
      << "our columns last: " << out.substr(0, first);
}

TEST_F(RowWriterTest, json_is_one_well_formed_document_whatever_the_rows) {
  for (const int rows : {0, 1, 3}) {
    RowWriter writer(ExportFormat::kJson, catalog, tariffs);
    std::string out;
    writer.header(out);
    for (int i = 0; i < rows; ++i)
      writer.row(row(1'000 * (i + 1)), out);
    writer.trailer(out);
    rapidjson::Document document;
    document.Parse(out.c_str());
    ASSERT_FALSE(document.HasParseError()) << out;
    EXPECT_EQ(document["rows"].Size(), static_cast<unsigned>(rows));
  }
}

}  // namespace
}  // namespace spotgrid::finance
