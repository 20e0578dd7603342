// Weighted seconds from prefix sums equal the brute-force sum of each second's multiplier.

#include <random>

#include "engine_fixture.hpp"
#include "spotgrid/engine/config.hpp"

namespace spotgrid::engine::testing {
namespace {

TEST(Tariff, multiplier_follows_local_hour_and_day_type) {
  const TariffBook tariffs = test_tariffs();
  EXPECT_EQ(tariffs.multiplier_bp(kTou, kMonday), 5'000);
  EXPECT_EQ(tariffs.multiplier_bp(kTou, kMonday + 8 * 3'600), 10'000);
  EXPECT_EQ(tariffs.multiplier_bp(kTou, kMonday + 19 * 3'600 + 59), 15'000);
  EXPECT_EQ(tariffs.multiplier_bp(kTou, kMonday + 5 * 86'400 + 12 * 3'600), 5'000);  // Saturday
  EXPECT_EQ(tariffs.multiplier_bp(kTou, kMonday - 1), 5'000);                        // Sunday night
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat), 10'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(0), 15'000);
}

TEST(Tariff, weighted_seconds_equal_the_sum_of_each_second) {
  const auto loaded = load_tariffs_file(SPOTGRID_SOURCE_DIR "/config/tariffs.json");
  ASSERT_TRUE(loaded);
  const TariffBook& tariffs = loaded.value();
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const auto region = static_cast<RegionIndex>(rng() % tariffs.region_count());
    const UnixSeconds from = kMonday + static_cast<Seconds>(rng() % (30 * 86'400)) - 15 * 86'400;
    const UnixSeconds to = from + static_cast<Seconds>(rng() % (3 * 86'400));
    std::int64_t brute = 0;
    for (UnixSeconds s = from; s < to; ++s)
      brute += tariffs.multiplier_bp(region, s);
    ASSERT_EQ(tariffs.weighted_bp_seconds(region, from, to), brute)
        << "region " << int(region) << " from " << from;
  }
}

}  // namespace
}  // namespace spotgrid::engine::testing
