// Cost-first orders start at the cheapest tariff-weighted moment before their
// latest start; at the latest start they behave as time-first
// (docs/architecture.md#matching, #pricing).

#include "engine_fixture.hpp"

namespace spotgrid::engine::testing {
namespace {

class CostFirst : public EngineTest {
 protected:
  CostFirst() { now = kMonday + 20 * 3'600; }  // Monday 20:00 UTC: peak in the tou region
  OrderSpec cost_first(Seconds latest_start_in) const {
    OrderSpec s = spec(kA100, 1, 2'000'000, 2 * 3'600);
    s.strategy = Strategy::kCostFirst;
    s.regions = RegionMask{1} << kTou;
    s.latest_start = now + latest_start_in;
    return s;
  }
};

TEST_F(CostFirst, cost_first_waits_for_off_peak) {
  list(node(kA100, kTou, 2), 2, 1'000'000);
  // Two hours from 20:00 cost 1.5+1.5; from 00:00 Tuesday 0.5+0.5, the cheapest.
  const OrderId order = place(cost_first(6 * 3'600));
  const auto accepted = only<OrderAccepted>();
  EXPECT_EQ(accepted.expected_start, kMonday + 24 * 3'600);
  EXPECT_EQ(accepted.expected_cost, 1'000'000);  // 1.00 x 2 h x 0.5
  EXPECT_EQ(only<OrderDeferred>().start_at, kMonday + 24 * 3'600);
  EXPECT_TRUE(all<LeaseStarted>().empty());
  EXPECT_EQ(engine.order(order)->unfilled_reason, UnfilledReason::kWaitingForCheaperTariff);
  advance(4 * 3'600 - 1);
  EXPECT_TRUE(all<LeaseStarted>().empty());
  advance(1);
  const auto lease = only<LeaseStarted>();
  EXPECT_EQ(lease.order, order);
  EXPECT_EQ(lease.start, kMonday + 24 * 3'600);
  expect_sound();
}

// The start is chosen by the tariffs of the regions whose supply can serve the
// order: an off-peak hour in a region with no supply would only defer it.
TEST_F(CostFirst, only_regions_with_supply_choose_the_start) {
  list(node(kA100, kFlat, 2), 2, 1'000'000);  // the flat region: x1.0 at every hour
  OrderSpec any_region = cost_first(6 * 3'600);
  any_region.regions = 0;  // the tou region, cheap at midnight, is allowed but empty
  place(any_region);
  EXPECT_TRUE(all<OrderDeferred>().empty());
  EXPECT_EQ(only<OrderAccepted>().expected_cost, 2'000'000);  // 1.00 x 2 h x 1.0
  EXPECT_EQ(only<LeaseStarted>().start, now);
  expect_sound();
}

TEST_F(CostFirst, at_its_latest_start_it_behaves_as_time_first) {
  list(node(kA100, kTou, 2), 2, 1'000'000);
  place(cost_first(0));
  EXPECT_TRUE(all<OrderDeferred>().empty());
  EXPECT_EQ(only<LeaseStarted>().start, now);
}

TEST_F(CostFirst, a_deferred_order_can_be_cancelled_before_it_starts) {
  list(node(kA100, kTou, 2), 2, 1'000'000);
  const OrderId order = place(cost_first(6 * 3'600));
  EXPECT_FALSE(submit(CancelOrder{kBuyer, order}).rejected);
  advance(5 * 3'600);
  EXPECT_TRUE(all<LeaseStarted>().empty());
  EXPECT_EQ(engine.account(kBuyer).hold, 0);
  expect_sound();
}

TEST_F(CostFirst, latest_start_must_be_now_or_within_the_deferral_limit) {
  EXPECT_EQ(submit(PlaceOrder{cost_first(-1)}).rejected, Reject::kInvalidLatestStart);
  EXPECT_EQ(submit(PlaceOrder{cost_first(limits::kMaxCostFirstDeferral + 1)}).rejected,
            Reject::kInvalidLatestStart);
}

TEST_F(CostFirst, lease_cost_follows_each_seconds_tariff) {
  list(node(kA100, kTou, 1), 1, 3'600'000);  // 1 micro-unit per second at x1.0
  place(spec(kA100, 1, 3'600'000, 3'600));
  const LeaseId lease = only<LeaseStarted>().lease;
  now += 3'600;
  // 20:00-21:00 is peak (x1.5): metering reports the weighted seconds.
  const std::int64_t weighted = engine.tariffs().weighted_bp_seconds(kTou, now - 3'600, now);
  EXPECT_EQ(weighted, 3'600 * 15'000);
  submit(SettleLease{lease, 3'600, weighted, now});
  EXPECT_EQ(only<LeaseSettled>().charged_total, 5'400'000);
}

}  // namespace
}  // namespace spotgrid::engine::testing
