// Holds, settlement and the cumulative rounding rule (docs/architecture.md#holds-and-settlement).

#include "engine_fixture.hpp"

namespace spotgrid::engine::testing {
namespace {

class Funds : public EngineTest {};

TEST_F(Funds, hold_is_the_worst_case_and_shrinks_to_the_lease_cost_on_a_match) {
  const AccountView before = engine.account(kBuyer);
  place(spec(kA100, 2, 1'500'000, 3'600));
  // 2 cards x 1 h x 1.50 x the highest multiplier of any region (x1.5)
  EXPECT_EQ(only<OrderAccepted>().hold, 4'500'000);
  EXPECT_EQ(engine.account(kBuyer).hold, 4'500'000);
  EXPECT_EQ(engine.account(kBuyer).cash, before.cash - 4'500'000);
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  EXPECT_EQ(engine.account(kBuyer).hold, 3'000'000);  // trades at the bid's 1.50, flat tariff
  expect_sound();
}

TEST_F(Funds, settlement_is_cumulative_so_rounding_never_accumulates) {
  list(node(kA100, kFlat, 3), 3, 1'000'001);
  place(spec(kA100, 3, 2'000'000, 3'600));
  const LeaseId lease = only<LeaseStarted>().lease;
  Micros charged = 0;
  Micros fees = 0;
  for (Seconds second = 1; second <= 3'600; ++second) {
    now = kMonday + second;
    ASSERT_FALSE(submit(SettleLease{lease, second, second * 10'000, now}).rejected);
    charged += only<LeaseSettled>().charge;
    fees += only<LeaseSettled>().platform_fee;
  }
  const Micros exact = 3 * 1'000'001;  // floor(3 x 1.000001 x 3600 s / 3600)
  EXPECT_EQ(charged, exact);
  EXPECT_EQ(fees, exact * 500 / 10'000);
  EXPECT_EQ(engine.account(kSupplier).receivable, exact - fees);
  EXPECT_EQ(engine.platform_revenue(), fees);
  advance(0);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kCompleted);
  // Fully settled: the lease closes, the order is done and nothing stays held.
  EXPECT_FALSE(engine.lease(lease).has_value());
  EXPECT_EQ(engine.account(kBuyer).hold, 0);
  EXPECT_EQ(engine.account(kBuyer).cash, 1'000'000 * kUsd - exact);
  expect_sound();
}

TEST_F(Funds, unsettled_remainder_is_released_after_the_grace_period) {
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  place(spec(kA100, 1, 1'000'000, 600));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(300);
  submit(SettleLease{lease, 300, 300 * 10'000, now});
  advance(300);
  EXPECT_EQ(only<LeaseEnded>().lease, lease);
  EXPECT_GT(engine.account(kBuyer).hold, 0);  // waits for the last metering
  advance(29);
  EXPECT_GT(engine.account(kBuyer).hold, 0);
  advance(1);
  EXPECT_EQ(engine.account(kBuyer).hold, 0);
  EXPECT_EQ(engine.account(kBuyer).cash, 1'000'000 * kUsd - 83'333);  // 300 s of 1.00/h
  expect_sound();
}

TEST_F(Funds, settlement_cannot_go_backwards_or_claim_the_future) {
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  place(spec(kA100, 1, 1'000'000, 600));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(100);
  EXPECT_FALSE(submit(SettleLease{lease, 100, 100 * 10'000, now}).rejected);
  EXPECT_EQ(submit(SettleLease{lease, 50, 50 * 10'000, now}).rejected, Reject::kInvalidSettlement);
  EXPECT_EQ(submit(SettleLease{lease, 200, 200 * 10'000, now + 100}).rejected,
            Reject::kInvalidSettlement);
  EXPECT_EQ(submit(SettleLease{lease, 100, 100 * 200'000, now}).rejected,
            Reject::kInvalidSettlement);
  EXPECT_EQ(submit(SettleLease{12345, 1, 1, now}).rejected, Reject::kUnknownLease);
  expect_sound();
}

TEST_F(Funds, a_buyer_can_never_spend_past_its_balance) {
  constexpr AccountId kPoor = 3;
  submit(Deposit{kPoor, 1 * kUsd});
  OrderSpec s = spec(kA100, 1, 1'000'000, 3'600, kPoor);
  EXPECT_EQ(submit(PlaceOrder{s}).rejected, Reject::kInsufficientFunds);  // worst case 1.50
  s.limit_micros_per_hour = 600'000;                                      // worst case 0.90
  const OrderId order = place(s);
  EXPECT_EQ(submit(AmendOrder{kPoor, order, 0, 1'000'000}).rejected, Reject::kInsufficientFunds);
  EXPECT_EQ(submit(Withdraw{kPoor, 200'000}).rejected, Reject::kInsufficientFunds);
  EXPECT_FALSE(submit(Withdraw{kPoor, 100'000}).rejected);
  EXPECT_EQ(engine.account(kPoor).cash, 0);
  expect_sound();
}

TEST_F(Funds, deposits_are_validated) {
  EXPECT_EQ(submit(Deposit{0, 5}).rejected, Reject::kUnknownAccount);
  EXPECT_EQ(submit(Deposit{kBuyer, 0}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(Deposit{kBuyer, -1}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(Deposit{kBuyer, limits::kMaxAccountBalance}).rejected, Reject::kBalanceLimit);
  EXPECT_EQ(submit(Deposit{limits::kMaxAccounts, 5}).rejected, Reject::kUnknownAccount);
}

}  // namespace
}  // namespace spotgrid::engine::testing
