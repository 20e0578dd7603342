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
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat, kMonday, kMonday + 7 * 86'400),
            10'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(0, kMonday, kMonday + 7 * 86'400), 15'000);
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
  ASSERT_FALSE(tariffs.refusal(doubled_from(change), kMonday));
  tariffs.publish(doubled_from(change));
  EXPECT_EQ(tariffs.published(), 2u);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change - 1), 10'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change), 20'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, change, 1), 10'000);  // a lease that knew only the first
  // An hour either side of the change: one at x1.0, one at x2.0.
  EXPECT_EQ(tariffs.weighted_bp_seconds(kFlat, change - 3'600, change + 3'600),
            3'600 * 10'000 + 3'600 * 20'000);
  EXPECT_EQ(tariffs.weighted_bp_seconds(kFlat, change - 3'600, change + 3'600, 1), 7'200 * 10'000);
  // The highest multiplier of a window counts the schedules in force in it.
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kTou, kMonday, change + 3'600), 15'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kTou, change, change + 86'400), 10'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat, kMonday, change), 10'000)
      << "a window that ends before the change";
  EXPECT_EQ(tariffs.max_multiplier_bp(RegionMask{1} << kFlat, kMonday, change + 1), 20'000);
  // Any region (0, or every region named): each schedule's highest over all of them.
  const RegionMask both = (RegionMask{1} << kFlat) | (RegionMask{1} << kTou);
  EXPECT_EQ(tariffs.max_multiplier_bp(0, kMonday, change), 15'000) << "the first: x1.5 in kTou";
  EXPECT_EQ(tariffs.max_multiplier_bp(both, kMonday, change), 15'000);
  EXPECT_EQ(tariffs.max_multiplier_bp(0, change, change + 86'400), 20'000) << "the second: kFlat";
  EXPECT_EQ(tariffs.max_multiplier_bp(0, kMonday, change + 1), 20'000);

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

// The newest published schedule is in force from its hour on: one for the
// same hour replaces a pending one, one for an earlier hour cancels it.
TEST(TariffSchedules, a_newer_schedule_replaces_everything_from_its_hour_on) {
  TariffBook tariffs = test_tariffs();
  const UnixSeconds far = kMonday + 300 * 86'400;
  tariffs.publish(doubled_from(far));  // a typo, a year ahead
  TariffSchedule corrected = doubled_from(kMonday + 10 * 3'600);
  corrected.regions[kFlat].week_bp.fill(15'000);
  ASSERT_FALSE(tariffs.refusal(corrected, kMonday + 3'600));
  tariffs.publish(corrected);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, far), 15'000) << "the far one is cancelled";
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, far, 2), 20'000) << "for a lease that knew it";
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, kMonday + 9 * 3'600), 10'000);
  TariffSchedule same_hour = corrected;
  same_hour.regions[kFlat].week_bp.fill(12'000);
  tariffs.publish(same_hour);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, kMonday + 10 * 3'600), 12'000);
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, kMonday + 10 * 3'600, 3), 15'000);
  EXPECT_EQ(tariffs.schedules().size(), 4u);
}

// Schedules nothing is priced by any more are dropped; versions keep counting.
TEST(TariffSchedules, compaction_drops_what_no_lease_or_coming_hour_needs) {
  TariffBook tariffs = test_tariffs();
  for (int hour = 1; hour <= 5; ++hour)
    tariffs.publish(doubled_from(kMonday + hour * 3'600));
  EXPECT_EQ(tariffs.schedules().size(), 6u);
  // A lease that started at 02:30 knowing the first three keeps schedule 2 (from 02:00).
  const std::vector<TariffNeed> needs{{TariffBook::kAll, kMonday + 4 * 3'600 + 10},
                                      {3, kMonday + 2 * 3'600 + 1'800}};
  const std::int64_t before =
      tariffs.weighted_bp_seconds(kFlat, kMonday + 9'000, kMonday + 20'000, 3);
  tariffs.compact(needs);
  // The lease needs schedule 2 (from 02:00, in force when it started); the
  // coming hours need 4 and 5; the rest go, from anywhere in the list.
  EXPECT_EQ(tariffs.versions(), (std::vector<std::uint32_t>{2, 4, 5}));
  EXPECT_EQ(tariffs.published(), 6u);
  EXPECT_FALSE(tariffs.knows(2));
  EXPECT_TRUE(tariffs.knows(3));
  EXPECT_EQ(tariffs.weighted_bp_seconds(kFlat, kMonday + 9'000, kMonday + 20'000, 3), before);
  // Nobody needs anything before 04:00 any more: only schedules 4 and 5 stay.
  tariffs.compact(std::vector<TariffNeed>{{TariffBook::kAll, kMonday + 4 * 3'600}});
  EXPECT_EQ(tariffs.versions(), (std::vector<std::uint32_t>{4, 5}));
  EXPECT_EQ(tariffs.multiplier_bp(kFlat, kMonday + 4 * 3'600), 20'000);
  const TariffBook copy(tariffs.schedules(), tariffs.versions(), tariffs.published());
  EXPECT_EQ(copy.published(), 6u);
  EXPECT_EQ(copy.multiplier_bp(kFlat, kMonday + 5 * 3'600), 20'000);
}

// Revising a pending schedule again and again never fills the book: each
// revision drops the ones it replaced.
TEST(TariffSchedules, revisions_of_a_pending_schedule_do_not_fill_the_book) {
  TariffBook tariffs = test_tariffs();
  for (int revision = 0; revision < 3 * static_cast<int>(limits::kMaxTariffSchedules); ++revision) {
    tariffs.compact(std::vector<TariffNeed>{{TariffBook::kAll, kMonday}});
    ASSERT_FALSE(tariffs.full()) << "revision " << revision;
    tariffs.publish(doubled_from(kMonday + (1 + revision % 3) * 3'600));
  }
  EXPECT_LE(tariffs.schedules().size(), 4u);  // the first, and at most the last three
  EXPECT_EQ(tariffs.published(), 1 + 3 * limits::kMaxTariffSchedules);
}

TEST(TariffSchedules, a_bad_schedule_is_refused_with_its_field_and_reason) {
  const TariffBook tariffs = test_tariffs();
  const UnixSeconds change = kMonday + 10 * 3'600;
  const auto refused = [&](const TariffSchedule& schedule) {
    const auto why = tariffs.refusal(schedule, kMonday);
    return why ? std::string(why->field) + ": " + why->problem : std::string("accepted");
  };
  EXPECT_EQ(refused(doubled_from(change + 1)), "effective_from: must be on an hour");
  EXPECT_EQ(refused(doubled_from(kMonday)), "effective_from: must be in the future");
  EXPECT_EQ(refused(doubled_from(kMonday + 367 * 86'400)),
            "effective_from: must be within 366 days");
  TariffSchedule renamed = doubled_from(change);
  renamed.regions[kTou].region = "elsewhere";
  EXPECT_EQ(refused(renamed), "regions: must name the market's regions, in its order");
  TariffSchedule fewer = doubled_from(change);
  fewer.regions.pop_back();
  EXPECT_EQ(refused(fewer), "regions: must name every region of the market once");
  TariffSchedule free = doubled_from(change);
  free.regions[kFlat].week_bp[3] = 0;
  EXPECT_EQ(refused(free), "regions: holds a multiplier that is not above 0 and at most 10");
  TariffSchedule far = doubled_from(change);
  far.regions[kFlat].utc_offset_seconds = 15 * 3'600;
  EXPECT_EQ(refused(far), "regions: holds a utc offset beyond 14 hours");
  EXPECT_EQ(refused(doubled_from(change)), "accepted");
}

}  // namespace
}  // namespace spotgrid::engine::testing
