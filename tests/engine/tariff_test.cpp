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
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat, kMonday), 10'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(0, kMonday), 15'000);
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

// The flat region doubled and the time-of-use one flat, from `from` on.
TariffSchedule doubled_from(UnixSeconds from) {
  std::vector<TariffSchedule> schedules = test_tariffs().schedules();
  TariffSchedule next{from, schedules.front().regions};
  next.regions[kFlat].week_bp.fill(20'000);
  next.regions[kTou].week_bp.fill(10'000);
  return next;
}

TEST(TariffSchedules, each_second_is_priced_by_the_schedule_in_force_then) {
  TariffBook tariffs = test_tariffs();
  const UnixSeconds change = kMonday + 10 * 3'600;
  ASSERT_EQ(tariffs.refusal(doubled_from(change), kMonday), nullptr);
  tariffs.publish(doubled_from(change));
  EXPECT_EQ(tariffs.version_count(), 2u);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change - 1), 10'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change), 20'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change, 1), 10'000);  // a lease that knew only the first
  // An hour either side of the change: one at x1.0, one at x2.0.
  EXPECT_EQ(tariffs.weighted_bp_seconds(kFlat, change - 3'600, change + 3'600),
            3'600 * 10'000 + 3'600 * 20'000);
  EXPECT_EQ(tariffs.weighted_bp_seconds(kFlat, change - 3'600, change + 3'600, 1), 7'200 * 10'000);
  // The highest multiplier still to come counts the new schedule; after it, only it.
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kTou, kMonday), 15'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kTou, change), 10'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat, kMonday), 20'000);

  // Randomised: the span sums equal the brute-force sum across both schedules.
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const auto region = static_cast<RegionIndex>(rng() % 2);
    const UnixSeconds from = change - static_cast<Seconds>(rng() % (2 * 86'400));
    const UnixSeconds to = from + static_cast<Seconds>(rng() % (3 * 86'400));
    std::int64_t brute = 0;
    for (UnixSeconds s = from; s < to; ++s)
      brute += tariffs.multiplier_bp(region, s);
    ASSERT_EQ(tariffs.weighted_bp_seconds(region, from, to), brute) << "from " << from;
  }
}

TEST(TariffSchedules, a_schedule_at_the_same_hour_replaces_one_not_yet_in_force) {
  TariffBook tariffs = test_tariffs();
  const UnixSeconds change = kMonday + 10 * 3'600;
  tariffs.publish(doubled_from(change));
  TariffSchedule corrected = doubled_from(change);
  corrected.regions[kFlat].week_bp.fill(15'000);
  ASSERT_EQ(tariffs.refusal(corrected, kMonday + 3'600), nullptr);
  tariffs.publish(corrected);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change), 15'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change, 2), 20'000);  // a lease that knew the first two
  EXPECT_EQ(tariffs.schedules().size(), 3u);
  EXPECT_EQ(tariffs.schedules()[2].effective_from, change);
}

TEST(TariffSchedules, a_bad_schedule_is_refused_with_its_reason) {
  TariffBook tariffs = test_tariffs();
  const UnixSeconds change = kMonday + 10 * 3'600;
  EXPECT_STREQ(tariffs.refusal(doubled_from(change + 1), kMonday),
               "effective_from is not on an hour");
  EXPECT_STREQ(tariffs.refusal(doubled_from(kMonday), kMonday),
               "effective_from is not in the future");
  EXPECT_STREQ(tariffs.refusal(doubled_from(kMonday + 367 * 86'400), kMonday),
               "effective_from is more than 366 days ahead");
  TariffSchedule renamed = doubled_from(change);
  renamed.regions[kTou].region = "elsewhere";
  EXPECT_STREQ(tariffs.refusal(renamed, kMonday), "the regions are not the book's");
  TariffSchedule fewer = doubled_from(change);
  fewer.regions.pop_back();
  EXPECT_STREQ(tariffs.refusal(fewer, kMonday), "the regions are not the book's");
  TariffSchedule free = doubled_from(change);
  free.regions[kFlat].week_bp[3] = 0;
  EXPECT_STREQ(tariffs.refusal(free, kMonday), "a multiplier is not within (0, 10]");
  TariffSchedule far = doubled_from(change);
  far.regions[kFlat].utc_offset_seconds = 15 * 3'600;
  EXPECT_STREQ(tariffs.refusal(far, kMonday), "a utc offset is beyond 14 hours");
  tariffs.publish(doubled_from(change + 3'600));
  EXPECT_STREQ(tariffs.refusal(doubled_from(change), kMonday),
               "effective_from is before the newest schedule's");
}

}  // namespace
}  // namespace spotgrid::engine::testing
