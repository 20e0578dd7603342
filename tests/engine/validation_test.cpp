// Every invalid command is rejected with a reason and changes nothing.

#include <limits>

#include "engine_fixture.hpp"
#include "spotgrid/engine/limits.hpp"

namespace spotgrid::engine::testing {
namespace {

class Validation : public EngineTest {
 protected:
  // The snapshot without its trailing command and event counters, which every
  // command (rejected or not) advances.
  std::string market_state() const {
    const std::string bytes = engine.snapshot();
    return bytes.substr(0, bytes.size() - 2 * sizeof(std::uint64_t));
  }
  void expect_rejected_unchanged(CommandBody body, Reject reason) {
    const std::string before = market_state();
    const SubmitResult result = submit(std::move(body));
    ASSERT_TRUE(result.rejected.has_value());
    EXPECT_EQ(*result.rejected, reason) << to_string(*result.rejected);
    EXPECT_EQ(only<CommandRejected>().reason, reason);
    EXPECT_EQ(events.size(), 1u);
    EXPECT_EQ(market_state(), before);
  }
};

TEST_F(Validation, bad_orders_are_rejected_and_change_nothing) {
  const NodeId n = node(kA100, kFlat, 4);
  list(n, 2, 1'000'000);
  const auto with = [](OrderSpec s, auto change) {
    change(s);
    return PlaceOrder{s};
  };
  const OrderSpec good = spec(kA100, 1, 1'000'000);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.target.pool = 9; }),
                            Reject::kUnknownPool);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.cards = 0; }), Reject::kInvalidCards);
  expect_rejected_unchanged(
      with(good, [](OrderSpec& s) { s.cards = limits::kMaxCardsPerOrder + 1; }),
      Reject::kInvalidCards);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.limit_micros_per_hour = 0; }),
                            Reject::kInvalidPrice);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.limit_micros_per_hour = -1; }),
                            Reject::kInvalidPrice);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.limit_micros_per_hour = INT64_MAX; }),
                            Reject::kInvalidPrice);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.duration = 0; }),
                            Reject::kInvalidDuration);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.duration = -60; }),
                            Reject::kInvalidDuration);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.cards = 3, s.cards_per_node = 2; }),
                            Reject::kInvalidCardsPerNode);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.regions = RegionMask{1} << 5; }),
                            Reject::kUnknownRegion);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.min_reliability = 10'001; }),
                            Reject::kInvalidReliability);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.buyer = 0; }), Reject::kUnknownAccount);
  expect_rejected_unchanged(with(good, [](OrderSpec& s) { s.buyer = 77; }),
                            Reject::kInsufficientFunds);
  expect_rejected_unchanged(with(good,
                                 [](OrderSpec& s) {
                                   s.target.kind = TargetKind::kClass;
                                   s.target.min_memory_gib = 1'000;
                                 }),
                            Reject::kInvalidClass);
  // The largest valid order whose hold cannot be represented.
  expect_rejected_unchanged(with(good,
                                 [](OrderSpec& s) {
                                   s.cards = limits::kMaxCardsPerOrder;
                                   s.duration = limits::kMaxLeaseDuration;
                                   s.limit_micros_per_hour = limits::kMaxPriceMicrosPerHour;
                                 }),
                            Reject::kOverflow);
  expect_sound();
}

TEST_F(Validation, bad_supply_and_references_are_rejected_and_change_nothing) {
  const NodeId n = node(kA100, kFlat, 4);
  expect_rejected_unchanged(RegisterNode{kSupplier, 9, kFlat, 0, 4, 0, 10'000},
                            Reject::kUnknownPool);
  expect_rejected_unchanged(RegisterNode{kSupplier, kA100, 7, 0, 4, 0, 10'000},
                            Reject::kUnknownRegion);
  expect_rejected_unchanged(RegisterNode{kSupplier, kA100, kFlat, 0, 0, 0, 10'000},
                            Reject::kInvalidCards);
  expect_rejected_unchanged(RegisterNode{kSupplier, kA100, kFlat, 0, 65, 0, 10'000},
                            Reject::kInvalidCards);
  expect_rejected_unchanged(RegisterNode{kSupplier, kA100, kFlat, 0, 4, -1, 10'000},
                            Reject::kInvalidComputeUnits);
  expect_rejected_unchanged(AddListing{kSupplier, n, 5, 1'000'000, false, now, now + 60},
                            Reject::kNodeCardsExceeded);
  expect_rejected_unchanged(AddListing{kSupplier, n, 0, 1'000'000, false, now, now + 60},
                            Reject::kInvalidCards);
  expect_rejected_unchanged(AddListing{kSupplier, n, 1, 0, false, now, now + 60},
                            Reject::kInvalidPrice);
  expect_rejected_unchanged(AddListing{kSupplier, n, 1, 1'000'000, false, now + 60, now},
                            Reject::kInvalidWindow);
  expect_rejected_unchanged(AddListing{kSupplier, n, 1, 1'000'000, false, now - 7'200, now - 3'600},
                            Reject::kWindowInPast);
  expect_rejected_unchanged(AddListing{kSupplier2, n, 1, 1'000'000, false, now, now + 60},
                            Reject::kUnknownNode);
  expect_rejected_unchanged(AddListing{kSupplier, n + 1, 1, 1'000'000, false, now, now + 60},
                            Reject::kUnknownNode);
  expect_rejected_unchanged(CancelOrder{kBuyer, 42}, Reject::kUnknownOrder);
  expect_rejected_unchanged(AmendOrder{kBuyer, 42, 1, 0}, Reject::kUnknownOrder);
  expect_rejected_unchanged(StopLease{kBuyer, 42}, Reject::kUnknownLease);
  expect_rejected_unchanged(ReclaimLease{kSupplier, 42}, Reject::kUnknownLease);
  expect_rejected_unchanged(WithdrawListing{kSupplier, 42}, Reject::kUnknownListing);
  const OrderId order = place(spec(kA100, 2, 1'000'000));
  expect_rejected_unchanged(AmendOrder{kBuyer, order, 0, -5}, Reject::kInvalidPrice);
  expect_rejected_unchanged(AmendOrder{kBuyer, order, 3, 0}, Reject::kCannotIncreaseCards);
  expect_sound();
}

TEST_F(Validation, time_never_goes_backwards) {
  now -= 1;
  expect_rejected_unchanged(Tick{}, Reject::kTimeWentBackwards);
}

// The clock stops at the end of 9999: past it a time plus a duration, or the
// tariff's week count times its seconds, would not fit 64 bits.
TEST_F(Validation, time_stops_at_the_engines_latest) {
  now = limits::kLatestTime + 1;
  expect_rejected_unchanged(Tick{}, Reject::kTimeOutOfRange);
  now = std::numeric_limits<UnixSeconds>::max();
  expect_rejected_unchanged(Tick{}, Reject::kTimeOutOfRange);

  now = limits::kLatestTime;  // the last second still trades, under the tariff's weights
  const NodeId n = node(kA100, kTou, 2);
  list(n, 2, 1'000'000);
  place(spec(kA100, 2, 2'000'000, Seconds{6} * 24 * 3'600));  // within the listing's week
  EXPECT_EQ(all<LeaseStarted>().size(), 1u);
  expect_sound();
}

}  // namespace
}  // namespace spotgrid::engine::testing
