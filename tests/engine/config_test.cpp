// The catalog and tariffs load from config/; a bad file names file, field and problem.

#include <gtest/gtest.h>

#include "spotgrid/engine/config.hpp"

namespace spotgrid::engine {
namespace {

constexpr const char* kGoodModel =
    R"({"model": "A100-80G", "vendor": "nvidia", "memory_gib": 80, "bf16_tflops": 312,
        "memory_bandwidth_gbps": 2039, "compute_units": 1.0, "reference_price_micros_per_card_hour": 1200000})";

std::string hours(const char* value, int count = 24) {
  std::string out = "[";
  for (int i = 0; i < count; ++i)
    out += std::string(i ? "," : "") + value;
  return out + "]";
}

TEST(Config, the_shipped_config_files_load) {
  const auto catalog = load_catalog_file(SPOTGRID_SOURCE_DIR "/config/gpus.json");
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_GE(catalog.value().pool_count(), 6u);
  const auto a100 = catalog.value().find_pool("A100-80G");
  ASSERT_TRUE(a100);
  EXPECT_EQ(catalog.value().model(*a100).compute_units, kMilliCuOne);
  const auto tariffs = load_tariffs_file(SPOTGRID_SOURCE_DIR "/config/tariffs.json");
  ASSERT_TRUE(tariffs) << tariffs.error().message();
  EXPECT_GE(tariffs.value().region_count(), 2u);
}

TEST(Config, compute_units_and_multipliers_become_integers) {
  const auto catalog = parse_catalog(R"({"gpus": [)" + std::string(kGoodModel) + "]}", "gpus.json");
  ASSERT_TRUE(catalog);
  EXPECT_EQ(catalog.value().model(0).compute_units, 1'000);
  const auto tariffs =
      parse_tariffs(R"({"regions": [{"region": "eu", "utc_offset_minutes": 60, "weekday": )" +
                        hours("0.8") + R"(, "weekend": )" + hours("1.25") + "}]}",
                    "tariffs.json");
  ASSERT_TRUE(tariffs) << tariffs.error().message();
  EXPECT_EQ(tariffs.value().schedules().front().regions[0].week_bp[0], 8'000);
  EXPECT_EQ(tariffs.value().schedules().front().regions[0].week_bp[5 * 24], 12'500);
  EXPECT_EQ(tariffs.value().schedules().front().regions[0].utc_offset_seconds, 3'600);
}

struct BadCase {
  std::string json;
  std::string field;
  std::string problem_contains;
};

TEST(Config, a_bad_catalog_names_the_file_the_field_and_the_problem) {
  const std::string model = kGoodModel;
  const auto replace = [&](const std::string& from, const std::string& to) {
    std::string copy = model;
    copy.replace(copy.find(from), from.size(), to);
    return R"({"gpus": [)" + copy + "]}";
  };
  const std::vector<BadCase> cases = {
      {"{", "(document)", "invalid JSON"},
      {"[]", "(document)", "JSON object"},
      {R"({"gpus": []})", "gpus", "non-empty array"},
      {replace("\"memory_gib\": 80", "\"memory_gib\": -1"), "gpus[0].memory_gib",
       "integer in [1, 65536]"},
      {replace("\"memory_gib\": 80", "\"memory_gib\": \"80\""), "gpus[0].memory_gib", "integer"},
      {replace("\"compute_units\": 1.0", "\"compute_units\": 0"), "gpus[0].compute_units",
       "number in"},
      {replace("\"model\": \"A100-80G\", ", ""), "gpus[0].model", "is required"},
      {replace("\"vendor\"", "\"vendr\""), "gpus[0].vendr", "unknown field"},
      {replace("1200000", "0"), "gpus[0].reference_price_micros_per_card_hour", "integer in"},
      {R"({"gpus": [)" + model + "," + model + "]}", "gpus[1].model", "duplicate"},
  };
  for (const BadCase& bad : cases) {
    const auto result = parse_catalog(bad.json, "config/gpus.json");
    ASSERT_FALSE(result) << bad.json;
    EXPECT_EQ(result.error().file, "config/gpus.json");
    EXPECT_EQ(result.error().field, bad.field) << bad.json;
    EXPECT_NE(result.error().problem.find(bad.problem_contains), std::string::npos)
        << result.error().message();
  }
}

TEST(Config, a_bad_tariff_file_names_the_field) {
  const auto region = [](const std::string& weekday, const std::string& offset = "0") {
    return R"({"regions": [{"region": "eu", "utc_offset_minutes": )" + offset + R"(, "weekday": )" +
           weekday + R"(, "weekend": )" + hours("1") + "}]}";
  };
  const std::vector<BadCase> cases = {
      {region(hours("1", 23)), "regions[0].weekday", "24 hourly"},
      {region(hours("0")), "regions[0].weekday[0]", "number in"},
      {region(hours("\"1\"")), "regions[0].weekday[0]", "number in"},
      {region(hours("11")), "regions[0].weekday[0]", "number in"},
      {region(hours("1"), "9999"), "regions[0].utc_offset_minutes", "integer in"},
  };
  for (const BadCase& bad : cases) {
    const auto result = parse_tariffs(bad.json, "config/tariffs.json");
    ASSERT_FALSE(result) << bad.json;
    EXPECT_EQ(result.error().field, bad.field) << result.error().message();
    EXPECT_NE(result.error().problem.find(bad.problem_contains), std::string::npos)
        << result.error().message();
  }
}

TEST(Config, a_missing_file_is_reported) {
  const auto result = load_catalog_file("/nonexistent/gpus.json");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "/nonexistent/gpus.json: (file): cannot be opened");
}

}  // namespace
}  // namespace spotgrid::engine
