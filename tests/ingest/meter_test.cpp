// The meter alone: which seconds count, the cumulative settlements it sends,
// and when it interrupts a lease.
#include "spotgrid/ingest/meter.hpp"

#include <gtest/gtest.h>

namespace spotgrid::ingest {
namespace {

using engine::CommandBody;
using engine::InterruptLease;
using engine::SettleLease;

constexpr UnixSeconds kStart = 1'767'225'600;  // 2026-01-01T00:00:00Z, a Thursday
constexpr NodeId kNode = 7;
constexpr RegionIndex kFlat = 0;
constexpr RegionIndex kPeak = 1;

engine::TariffBook tariffs() {
  engine::TariffRegion flat{"flat", 0, {}};
  flat.week_bp.fill(10'000);
  engine::TariffRegion peak{"peak", 0, {}};
  peak.week_bp.fill(12'500);
  peak.week_bp[3 * 24] = 8'000;  // Thursday 00:00-01:00: off-peak
  return engine::TariffBook({flat, peak});
}

engine::LeaseView lease(LeaseId id, CardMask cards, RegionIndex region, Seconds duration = 3'600) {
  engine::LeaseView view{};
  view.id = id;
  view.node = kNode;
  view.cards = static_cast<std::uint16_t>(std::popcount(cards));
  view.card_mask = cards;
  view.start = kStart;
  view.planned_end = kStart + duration;
  view.billable_end = view.planned_end;
  view.status = engine::LeaseStatus::kRunning;
  view.region = region;
  view.settled_up_to = kStart;
  view.tariff_versions = 1;
  return view;
}

metering::Sample sample(UnixSeconds second, std::uint32_t card, bool healthy = true,
                        std::vector<std::uint64_t> xids = {}) {
  metering::Sample s;
  s.node = kNode;
  s.second = second;
  s.card_index = card;
  s.healthy = healthy;
  s.xids = std::move(xids);
  return s;
}

template <typename T>
std::vector<T> only(const std::vector<CommandBody>& commands) {
  std::vector<T> out;
  for (const CommandBody& command : commands)
    if (const T* body = std::get_if<T>(&command)) out.push_back(*body);
  return out;
}

class MeterTest : public ::testing::Test {
 protected:
  std::vector<CommandBody> collect(UnixSeconds now) {
    std::vector<CommandBody> out;
    meter.collect(now, out);
    return out;
  }

  Meter meter{std::make_shared<const engine::TariffBook>(tariffs()), MeterOptions{10, 5}};
};

TEST_F(MeterTest, settles_cumulative_tariff_weighted_healthy_seconds) {
  meter.reconcile({lease(1, 0b11, kPeak)});
  for (UnixSeconds s = kStart; s < kStart + 10; ++s) {
    meter.observe(sample(s, 0));
    meter.observe(sample(s, 1));
  }
  auto settled = only<SettleLease>(collect(kStart + 10));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].healthy_seconds, 10);
  EXPECT_EQ(settled[0].weighted_bp_seconds, 10 * 8'000);  // off-peak hour
  EXPECT_EQ(settled[0].up_to, kStart + 10);
  // Nothing new, or too soon: nothing sent.
  EXPECT_TRUE(collect(kStart + 11).empty());
  for (UnixSeconds s = kStart + 10; s < kStart + 20; ++s) {
    meter.observe(sample(s, 0));
    meter.observe(sample(s, 1));
  }
  settled = only<SettleLease>(collect(kStart + 20));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].healthy_seconds, 20);  // cumulative, not the delta
  EXPECT_EQ(settled[0].up_to, kStart + 20);
}

// Each lease is priced by the schedules published when it started, even when
// a later one is in force for the seconds metered.
TEST_F(MeterTest, each_lease_is_priced_by_the_tariff_schedules_it_started_under) {
  std::vector<engine::TariffSchedule> schedules = tariffs().schedules();
  schedules.push_back(schedules.front());
  schedules.back().effective_from = kStart;
  schedules.back().regions[kPeak].week_bp.fill(20'000);
  meter.use_tariffs(std::make_shared<const engine::TariffBook>(std::move(schedules), 0));
  engine::LeaseView later = lease(2, 0b10, kPeak);
  later.tariff_versions = 2;
  meter.reconcile({lease(1, 0b01, kPeak), later});
  for (UnixSeconds s = kStart; s < kStart + 10; ++s) {
    meter.observe(sample(s, 0));
    meter.observe(sample(s, 1));
  }
  const auto settled = only<SettleLease>(collect(kStart + 10));
  ASSERT_EQ(settled.size(), 2u);
  for (const SettleLease& settle : settled) {
    EXPECT_EQ(settle.weighted_bp_seconds, settle.lease == 1 ? 10 * 8'000 : 10 * 20'000)
        << "lease " << settle.lease;
  }
}

TEST_F(MeterTest, a_second_counts_only_when_every_card_of_the_lease_was_healthy) {
  meter.reconcile({lease(1, 0b11, kFlat)});
  for (UnixSeconds s = kStart; s < kStart + 6; ++s) {
    meter.observe(sample(s, 0, s != kStart + 2));      // card 0 unhealthy at second 2
    if (s != kStart + 4) meter.observe(sample(s, 1));  // card 1 silent at second 4
  }
  const auto settled = only<SettleLease>(collect(kStart + 6));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].healthy_seconds, 4);
  EXPECT_EQ(settled[0].weighted_bp_seconds, 4 * 10'000);
  EXPECT_EQ(settled[0].up_to, kStart + 6);
}

TEST_F(MeterTest, waits_until_every_card_has_reported_a_second) {
  meter.reconcile({lease(1, 0b11, kFlat)});
  for (UnixSeconds s = kStart; s < kStart + 8; ++s)
    meter.observe(sample(s, 0));
  for (UnixSeconds s = kStart; s < kStart + 3; ++s)
    meter.observe(sample(s, 1));
  const auto settled = only<SettleLease>(collect(kStart + 8));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].up_to, kStart + 3) << "card 1 has only reported through second 2";
}

TEST_F(MeterTest, a_fatal_xid_settles_what_was_good_and_interrupts_before_it) {
  meter.reconcile({lease(1, 0b1, kFlat)});
  for (UnixSeconds s = kStart; s < kStart + 5; ++s)
    meter.observe(sample(s, 0));
  meter.observe(sample(kStart + 5, 0, false, {79}));  // fell off the bus
  const auto commands = collect(kStart + 6);
  const auto settled = only<SettleLease>(commands);
  const auto interrupted = only<InterruptLease>(commands);
  ASSERT_EQ(settled.size(), 1u);
  ASSERT_EQ(interrupted.size(), 1u);
  EXPECT_EQ(settled[0].healthy_seconds, 5);
  EXPECT_EQ(settled[0].up_to, kStart + 5);
  EXPECT_EQ(interrupted[0].last_good_second, kStart + 4);
  EXPECT_TRUE(std::holds_alternative<SettleLease>(commands.front())) << "settle first";
  EXPECT_EQ(meter.counters().interruptions, 1u);
}

TEST_F(MeterTest, a_lost_heartbeat_interrupts_at_the_last_good_second) {
  meter.reconcile({lease(1, 0b1, kFlat)});
  for (UnixSeconds s = kStart; s < kStart + 20; ++s)
    meter.observe(sample(s, 0));
  EXPECT_TRUE(only<InterruptLease>(collect(kStart + 29)).empty()) << "9 s of silence is allowed";
  const auto interrupted = only<InterruptLease>(collect(kStart + 30));
  ASSERT_EQ(interrupted.size(), 1u);
  EXPECT_EQ(interrupted[0].last_good_second, kStart + 19);
  // Not sent again while the engine ends it.
  EXPECT_TRUE(only<InterruptLease>(collect(kStart + 31)).empty());
}

TEST_F(MeterTest, a_node_whose_agent_never_reported_is_not_held_to_the_heartbeat) {
  meter.reconcile({lease(1, 0b1, kFlat)});
  EXPECT_TRUE(collect(kStart + 600).empty());
  meter.track_node(kNode);  // it had reported before a restart
  EXPECT_EQ(only<InterruptLease>(collect(kStart + 600)).size(), 1u);
}

TEST_F(MeterTest, resumes_from_what_the_engine_settled) {
  engine::LeaseView resumed = lease(1, 0b1, kFlat);
  resumed.settled_up_to = kStart + 100;
  resumed.healthy_settled = 90;
  resumed.weighted_settled = 90 * 10'000;
  meter.reconcile({resumed});
  for (UnixSeconds s = kStart + 95; s < kStart + 105; ++s)
    meter.observe(sample(s, 0));
  const auto settled = only<SettleLease>(collect(kStart + 105));
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].healthy_seconds, 95);
  EXPECT_EQ(settled[0].up_to, kStart + 105);
}

TEST_F(MeterTest, samples_after_an_early_end_are_late_and_not_billed) {
  meter.reconcile({lease(1, 0b1, kFlat)});
  for (UnixSeconds s = kStart; s < kStart + 5; ++s)
    meter.observe(sample(s, 0));
  collect(kStart + 5);
  engine::LeaseView ended = lease(1, 0b1, kFlat);
  ended.status = engine::LeaseStatus::kInterrupted;
  ended.billable_end = kStart + 5;
  ended.settled_up_to = kStart + 5;
  meter.reconcile({ended});
  meter.observe(sample(kStart + 6, 0));
  meter.observe(sample(kStart + 3, 0));  // already decided
  EXPECT_EQ(meter.counters().late_samples, 2u);
  EXPECT_TRUE(only<SettleLease>(collect(kStart + 20)).empty());
}

TEST_F(MeterTest, tells_which_lease_holds_each_card) {
  meter.reconcile({lease(1, 0b0101, kFlat), lease(2, 0b0010, kFlat)});
  const auto cards = meter.assignments(kNode);
  ASSERT_EQ(cards.size(), 3u);
  EXPECT_EQ(cards[0].card_index, 0u);
  EXPECT_EQ(cards[0].lease, 1u);
  EXPECT_EQ(cards[1].lease, 2u);
  EXPECT_EQ(cards[2].card_index, 2u);
  EXPECT_EQ(meter.lease_at(kNode, 1, kStart + 10), 2u);
  EXPECT_EQ(meter.lease_at(kNode, 3, kStart + 10), 0u);
  EXPECT_EQ(meter.lease_at(kNode, 0, kStart - 1), 0u);
}

}  // namespace
}  // namespace spotgrid::ingest
