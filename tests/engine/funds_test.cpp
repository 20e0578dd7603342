// Holds, settlement and the cumulative rounding rule (docs/architecture.md#holds-and-settlement).

#include <cstdint>
#include <cstring>
#include <string>

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

// ---- payouts: a supplier's receivable out of the market ------------------

class Payouts : public EngineTest {
 protected:
  // A one-hour lease of one card at 1.00/h, settled in full after it ended:
  // the supplier earns 0.95 (the platform keeps its 5 %).
  void earn(AccountId supplier = kSupplier) {
    const ListingId listing = list(node(kA100, kFlat, 1, 10'000, supplier), 1, 1'000'000, supplier);
    place(spec(kA100, 1, 1'000'000, 3'600));
    const LeaseId lease = only<LeaseStarted>().lease;
    advance(3'600);
    ASSERT_FALSE(submit(SettleLease{lease, 3'600, 3'600 * 10'000, now}).rejected);
    // The next earn is another's.
    ASSERT_FALSE(submit(WithdrawListing{supplier, listing}).rejected);
  }
  // The same without a tick: stopped after 600 s and settled, so the supplier
  // earns 1.00 x 600 / 3600 = 0.166666, less the 5 % fee: 0.158333.
  void earn_without_ticking() {
    list(node(kA100, kFlat, 1), 1, 1'000'000);
    place(spec(kA100, 1, 1'000'000, 3'600));
    const LeaseId lease = only<LeaseStarted>().lease;
    now += 600;
    ASSERT_FALSE(submit(StopLease{kBuyer, lease}).rejected);
    ASSERT_FALSE(submit(SettleLease{lease, 600, 600 * 10'000, now}).rejected);
  }
  void at_next_midnight(Seconds plus = 0) {
    now = now - now % 86'400 + 86'400 + plus;
    submit(Tick{});
  }
  static constexpr Micros kEarned = 950'000;
};

TEST_F(Payouts, a_payout_on_request_takes_whole_cents_of_at_most_the_receivable) {
  earn();
  ASSERT_EQ(engine.account(kSupplier).receivable, kEarned);
  ASSERT_EQ(engine.account(kSupplier).payable, kEarned);
  EXPECT_EQ(submit(Payout{kSupplier, kEarned + 10'000}).rejected, Reject::kInsufficientReceivable);
  EXPECT_EQ(only<CommandRejected>().reason, Reject::kInsufficientReceivable);
  EXPECT_EQ(submit(Payout{kSupplier, 0}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(Payout{kSupplier, -10'000}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(Payout{kSupplier, 5}).rejected, Reject::kInvalidAmount) << "not whole cents";
  EXPECT_EQ(submit(Payout{0, 10'000}).rejected, Reject::kUnknownAccount);
  // Cash is not earnings: a buyer has no receivable to pay out.
  EXPECT_EQ(submit(Payout{kBuyer, 10'000}).rejected, Reject::kInsufficientReceivable);
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned);

  ASSERT_FALSE(submit(Payout{kSupplier, 400'000}).rejected);
  const PayoutSent sent = only<PayoutSent>();
  EXPECT_EQ(sent.supplier, kSupplier);
  EXPECT_EQ(sent.amount, 400'000);
  EXPECT_EQ(sent.receivable_after, kEarned - 400'000);
  EXPECT_FALSE(sent.scheduled);
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned - 400'000);
  EXPECT_FALSE(submit(Payout{kSupplier, kEarned - 400'000}).rejected);
  EXPECT_EQ(engine.account(kSupplier).receivable, 0);
  expect_sound();  // money conserved: what was paid out left the market
}

// What an interruption may still credit back is not paid out: a receivable
// never goes below zero.
TEST_F(Payouts, earnings_of_a_running_lease_wait_until_it_can_no_longer_be_credited_back) {
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  place(spec(kA100, 1, 1'000'000, 3'600));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(1'800);
  ASSERT_FALSE(submit(SettleLease{lease, 1'800, 1'800 * 10'000, now}).rejected);
  const AccountView running = engine.account(kSupplier);
  EXPECT_EQ(running.receivable, 475'000);
  EXPECT_EQ(running.payable, 0);
  EXPECT_EQ(submit(Payout{kSupplier, 10'000}).rejected, Reject::kInsufficientReceivable);
  // The card failed at 900 s: half the charge comes back.
  ASSERT_FALSE(submit(InterruptLease{lease, now - 901}).rejected);
  const AccountView after = engine.account(kSupplier);
  EXPECT_EQ(after.receivable, 237'500);
  EXPECT_EQ(after.payable, 237'500) << "an ended lease is no longer at risk";
  EXPECT_FALSE(submit(Payout{kSupplier, 230'000}).rejected);
  expect_sound();
}

TEST_F(Payouts, a_daily_schedule_pays_whole_cents_at_utc_midnight_above_its_minimum) {
  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier, true, 500'000}).rejected);
  EXPECT_TRUE(only<PayoutScheduleSet>().daily);
  EXPECT_TRUE(engine.account(kSupplier).pays_out_daily);
  EXPECT_EQ(engine.account(kSupplier).payout_minimum, 500'000);
  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier2, true, 2'000'000}).rejected);
  earn();
  earn(kSupplier2);  // 0.95: below its minimum of 2.00
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned) << "not before midnight";

  at_next_midnight(3);
  const auto paid = all<PayoutSent>();
  ASSERT_EQ(paid.size(), 1u);
  EXPECT_EQ(paid[0].supplier, kSupplier);
  EXPECT_EQ(paid[0].amount, kEarned);
  EXPECT_TRUE(paid[0].scheduled);
  EXPECT_EQ(engine.account(kSupplier).receivable, 0);
  EXPECT_EQ(engine.account(kSupplier2).receivable, kEarned);
  earn();  // ticks the same day: the day's run is over
  advance(60);
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned) << "paid once a day";

  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier, false, 0}).rejected);
  EXPECT_FALSE(engine.account(kSupplier).pays_out_daily);
  at_next_midnight();
  EXPECT_TRUE(all<PayoutSent>().empty());  // schedule ended: earnings stay
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned);
  expect_sound();
}

TEST_F(Payouts, a_market_that_opens_mid_day_owes_no_run_for_the_days_before) {
  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier, true, 0}).rejected);
  earn_without_ticking();
  ASSERT_EQ(engine.account(kSupplier).payable, 158'333);
  submit(Tick{});  // the market's first tick, ten minutes past midnight
  EXPECT_TRUE(all<PayoutSent>().empty());
  at_next_midnight();
  EXPECT_EQ(only<PayoutSent>().amount, 150'000) << "whole cents; the rest waits";
  EXPECT_EQ(engine.account(kSupplier).receivable, 8'333);
  expect_sound();
}

TEST_F(Payouts, a_midnight_run_longer_than_a_tick_resumes_on_the_next) {
  constexpr AccountId kFirst = 20;
  for (AccountId id = kFirst; id < kFirst + limits::kMaxPayoutPlansPerTick; ++id)
    ASSERT_FALSE(submit(SetPayoutSchedule{id, true, 0}).rejected);
  constexpr AccountId kLast = 9'000;
  ASSERT_FALSE(submit(SetPayoutSchedule{kLast, true, 0}).rejected);
  earn(kLast);
  at_next_midnight();
  EXPECT_TRUE(all<PayoutSent>().empty()) << "the first tick looked at the first plans only";
  advance(1);
  EXPECT_EQ(only<PayoutSent>().supplier, kLast);
  advance(1);
  EXPECT_TRUE(all<PayoutSent>().empty());
}

TEST_F(Payouts, a_suspended_supplier_is_paid_nothing_until_reinstated) {
  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier, true, 0}).rejected);
  earn();
  ASSERT_FALSE(submit(SuspendAccount{kSupplier, true, false}).rejected);
  EXPECT_EQ(submit(Payout{kSupplier, 10'000}).rejected, Reject::kAccountSuspended);
  at_next_midnight();
  EXPECT_TRUE(all<PayoutSent>().empty()) << "the daily run skips it";
  EXPECT_EQ(engine.account(kSupplier).receivable, kEarned);
  ASSERT_FALSE(submit(SuspendAccount{kSupplier, false, false}).rejected);
  EXPECT_FALSE(submit(Payout{kSupplier, kEarned}).rejected);
  expect_sound();
}

TEST_F(Payouts, bad_schedules_are_refused) {
  EXPECT_EQ(submit(SetPayoutSchedule{0, true, 0}).rejected, Reject::kUnknownAccount);
  EXPECT_EQ(submit(SetPayoutSchedule{kSupplier, true, -1}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(SetPayoutSchedule{kSupplier, true, limits::kMaxAccountBalance + 1}).rejected,
            Reject::kInvalidAmount);
  EXPECT_FALSE(engine.account(kSupplier).pays_out_daily);
}

// The little-endian bytes of `value`, as the snapshot writes a number.
template <typename T>
std::string le_bytes(T value) {
  std::string bytes(sizeof(T), '\0');
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

// Version 4 carried each pool's asks: before its bids an ask map and a floating
// level, and its ask total before its bid total. `v5` has empty books.
std::string as_version_4(std::string v5, const Catalog& catalog) {
  const std::string magic_5 = "spotgrid-snapshot-v5";
  v5.replace(v5.find(magic_5), magic_5.size(), "spotgrid-snapshot-v4");
  const std::string empty_map = le_bytes(std::uint64_t{0});
  constexpr std::uint32_t kNone = UINT32_MAX;  // no record linked
  const std::string empty_level = le_bytes(kNone) + le_bytes(kNone) + le_bytes(0u) + le_bytes(0u);
  for (std::size_t pool = 0; pool < catalog.pool_count(); ++pool) {
    const std::string index =
        le_bytes(catalog.model(static_cast<PoolIndex>(pool)).reference_price_micros_per_card_hour);
    const std::string tail = index + le_bytes(std::uint32_t{0});  // + cards leased
    const std::string v5_pool = empty_map + tail + le_bytes(std::int64_t{0});
    const std::string v4_pool = empty_map + empty_level + empty_map + tail +
                                le_bytes(std::int64_t{0}) + le_bytes(std::int64_t{0});
    const std::size_t at = v5.find(v5_pool);
    EXPECT_NE(at, std::string::npos) << "pool " << pool;
    if (at != std::string::npos) v5.replace(at, v5_pool.size(), v4_pool);
  }
  return v5;
}

TEST_F(Payouts, schedules_survive_a_snapshot_and_version_1_to_4_snapshots_still_restore) {
  const std::string before_any = engine.snapshot();  // no schedule, never ticked
  ASSERT_FALSE(submit(SetPayoutSchedule{kSupplier, true, 123}).rejected);
  earn();
  const std::string with_plan = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, with_plan);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->snapshot(), with_plan);
  EXPECT_TRUE(restored->account(kSupplier).pays_out_daily);
  EXPECT_EQ(restored->account(kSupplier).payout_minimum, 123);

  // Version 4 carried the asks, which version 5 rebuilds from the listings.
  // Version 3 had no catalog or tariff schedules in the snapshot: its bytes
  // are version 4's without the catalog after the header (a list of three
  // models: two names, four figures and a price each) and without the book (how many were
  // published, the versions kept, and a list of one schedule: its start and its list of two
  // regions, each a name, an offset and 168 multipliers) and each lease slot's count of schedules
  // (none here), before the two sequences at the end. Version 2 had no platform fee either, nor
  // each lease slot's; it restores with the configuration's fee. Version 1 had no payouts or
  // controls either: version 2's without the plans (an empty list), the midnight, the resume point,
  // the halted pools and the suspended and quarantined lists.
  constexpr std::size_t kRegionBytes = 8 + 4 + 168 * 4;  // + the name's length
  constexpr std::size_t kTariffBytes = 4 /* published */ + 8 + 4 /* versions */ + 8 + 8 + 8 +
                                       (kRegionBytes + 4 /* "flat" */) +
                                       (kRegionBytes + 3 /* "tou" */);
  constexpr std::size_t kHeaderBytes = 8 + 20 + 8 + 8;  // the magic's size, it, pools, regions
  constexpr std::size_t kModelBytes = 8 + 8 + 4 + 4 + 4 + 4 + 8;  // + the names' lengths
  constexpr std::size_t kCatalogBytes = 8 + (kModelBytes + 4 + 6 /* A100 nvidia */) +
                                        (kModelBytes + 4 + 6 /* H100 nvidia */) +
                                        (kModelBytes + 5 + 3 /* MI300 amd */);
  constexpr std::size_t kFeeBytes = 4;
  constexpr std::size_t kPayoutBytes = 8 + 8 + 4 + 8 + 8 + 8;
  constexpr std::size_t kSequenceBytes = 8 + 8;
  const std::string v4 = as_version_4(before_any, test_catalog());
  auto from_v4 = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, v4);
  ASSERT_TRUE(from_v4.has_value());
  EXPECT_EQ(from_v4->snapshot(), before_any);
  std::string v3 = v4;
  const std::size_t magic_at = v3.find("spotgrid-snapshot-v4");
  ASSERT_NE(magic_at, std::string::npos);
  v3.replace(magic_at, 20, "spotgrid-snapshot-v3");
  v3.erase(v3.size() - kSequenceBytes - kTariffBytes, kTariffBytes);
  v3.erase(kHeaderBytes, kCatalogBytes);
  auto from_v3 = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, v3);
  ASSERT_TRUE(from_v3.has_value());
  EXPECT_EQ(from_v3->snapshot(), before_any);
  std::string v2 = v3;
  v2.replace(magic_at, 20, "spotgrid-snapshot-v2");
  v2.erase(v2.size() - kSequenceBytes - kFeeBytes, kFeeBytes);
  auto from_v2 = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, v2);
  ASSERT_TRUE(from_v2.has_value());
  EXPECT_EQ(from_v2->snapshot(), before_any);
  std::string v1 = v2;
  v1.replace(magic_at, 20, "spotgrid-snapshot-v1");
  v1.erase(v1.size() - kSequenceBytes - kPayoutBytes, kPayoutBytes);
  auto old = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, v1);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->snapshot(), before_any);
  EXPECT_TRUE(old->check_invariants().empty());
}

}  // namespace
}  // namespace spotgrid::engine::testing

namespace spotgrid::engine::testing {
namespace {

class PlatformFee : public EngineTest {};

// A new fee is for leases that start after it: a running lease keeps the fee
// it started with (no retroactive change to its cumulative settlement), and
// the fee survives a snapshot.
TEST_F(PlatformFee, a_new_fee_is_for_leases_that_start_after_it) {
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  place(spec(kA100, 1, 2'000'000, 3'600));
  const LeaseId before = only<LeaseStarted>().lease;
  ASSERT_FALSE(submit(SetPlatformFee{1'000}).rejected);
  EXPECT_EQ(only<PlatformFeeSet>().fee_bp, 1'000);
  EXPECT_EQ(only<PlatformFeeSet>().previous_bp, 500);
  EXPECT_EQ(engine.platform_fee_bp(), 1'000);
  place(spec(kA100, 1, 2'000'000, 3'600));
  const LeaseId after = only<LeaseStarted>().lease;
  EXPECT_EQ(submit(SetPlatformFee{5'001}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(submit(SetPlatformFee{-1}).rejected, Reject::kInvalidAmount);
  EXPECT_EQ(engine.platform_fee_bp(), 1'000);

  const std::string snapshot = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->platform_fee_bp(), 1'000) << "the market's fee, not the configuration's";
  EXPECT_EQ(restored->snapshot(), snapshot);

  now += 1'800;
  ASSERT_FALSE(submit(SettleLease{before, 1'800, 1'800 * 10'000, now}).rejected);
  EXPECT_EQ(only<LeaseSettled>().charge, 500'000);
  EXPECT_EQ(only<LeaseSettled>().platform_fee, 25'000) << "5 %, as when it started";
  ASSERT_FALSE(submit(SettleLease{after, 1'800, 1'800 * 10'000, now}).rejected);
  EXPECT_EQ(only<LeaseSettled>().platform_fee, 50'000) << "10 %";
  EXPECT_EQ(engine.platform_revenue(), 75'000);
  expect_sound();
}

}  // namespace
}  // namespace spotgrid::engine::testing

namespace spotgrid::engine::testing {
namespace {

class TariffScheduleTest : public EngineTest {
 protected:
  // The flat region doubled from `from` on; the time-of-use one unchanged.
  static PublishTariffSchedule doubled_from(UnixSeconds from) {
    TariffSchedule schedule{from, test_tariffs().schedules().front().regions};
    schedule.regions[kFlat].week_bp.fill(20'000);
    return PublishTariffSchedule{schedule};
  }
};

// A schedule published now prices the seconds after its start for leases that
// start after it; a lease already running keeps the schedules it started with.
TEST_F(TariffScheduleTest, a_schedule_prices_leases_that_start_after_it) {
  const UnixSeconds change = kMonday + 3'600;
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  place(spec(kA100, 1, 2'000'000, 7'200));
  const LeaseId before = only<LeaseStarted>().lease;
  EXPECT_EQ(only<OrderAccepted>().expected_cost, 2'000'000) << "two hours at x1.0";
  ASSERT_FALSE(submit(doubled_from(change)).rejected);
  EXPECT_EQ(only<TariffSchedulePublished>().version, 1u);
  EXPECT_EQ(only<TariffSchedulePublished>().effective_from, change);
  // The same window, second and region as the first order's, now priced by
  // the new schedule too.
  place(spec(kA100, 1, 2'000'000, 7'200));
  const LeaseId after = only<LeaseStarted>().lease;
  EXPECT_EQ(only<OrderAccepted>().expected_cost, 3'000'000) << "an hour at x1.0, one at x2.0";
  EXPECT_EQ(engine.lease(before)->tariff_versions, 1u);
  EXPECT_EQ(engine.lease(after)->tariff_versions, 2u);

  const std::string snapshot = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  ASSERT_TRUE(restored.has_value()) << "the schedules come from the snapshot";
  EXPECT_EQ(restored->tariffs().published(), 2u);
  EXPECT_EQ(restored->snapshot(), snapshot);

  now += 7'200;
  const std::int64_t doubled_hour = std::int64_t{3'600} * (10'000 + 20'000);
  ASSERT_FALSE(submit(SettleLease{before, 7'200, doubled_hour, now}).rejected);
  EXPECT_EQ(only<LeaseSettled>().charged_total, 2'000'000) << "two hours at x1.0";
  EXPECT_TRUE(only<LeaseSettled>().clamped);
  ASSERT_FALSE(submit(SettleLease{after, 7'200, doubled_hour, now}).rejected);
  EXPECT_EQ(only<LeaseSettled>().charged_total, 3'000'000) << "an hour at x1.0, one at x2.0";
  expect_sound();
}

// An order that rested before a dearer schedule held for the tariffs it knew:
// a lease it starts later costs at most that hold.
TEST_F(TariffScheduleTest, a_resting_order_never_pays_more_than_it_held) {
  const UnixSeconds change = kMonday + 3'600;
  OrderSpec flat_only = spec(kA100, 1, 1'000'000, 3'600);
  flat_only.regions = RegionMask{1} << kFlat;
  const OrderId order = place(flat_only);
  EXPECT_EQ(engine.order(order)->hold, 1'000'000) << "an hour at x1.0, the most it knew";
  ASSERT_FALSE(submit(doubled_from(change)).rejected);
  advance(3'600);
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  const LeaseId lease = only<LeaseStarted>().lease;
  now += 3'600;
  ASSERT_FALSE(submit(SettleLease{lease, 3'600, std::int64_t{3'600} * 20'000, now}).rejected);
  EXPECT_EQ(only<LeaseSettled>().charged_total, 1'000'000) << "the hold, not x2.0";
  expect_sound();
}

// An amend that lowers cards or the limit keeps the hold per card the order
// had, even when a dearer schedule has come within its reach since.
TEST_F(TariffScheduleTest, amending_down_after_a_dearer_schedule_needs_no_more_cash) {
  OrderSpec flat_only = spec(kA100, 2, 1'000'000, 3'600);
  flat_only.regions = RegionMask{1} << kFlat;
  const OrderId order = place(flat_only);
  EXPECT_EQ(engine.order(order)->hold, 2'000'000);
  advance(1'800);
  ASSERT_FALSE(submit(doubled_from(kMonday + 3'600)).rejected);
  ASSERT_FALSE(submit(AmendOrder{kBuyer, order, 1, 0}).rejected);
  EXPECT_EQ(engine.order(order)->hold, 1'000'000);
  expect_sound();
}

// Publishing drops the schedules that no live lease and no coming hour is
// priced by; versions keep counting, and a snapshot keeps both.
TEST_F(TariffScheduleTest, publishing_drops_schedules_nothing_needs_any_more) {
  ASSERT_FALSE(submit(doubled_from(kMonday + 3'600)).rejected);
  list(node(kA100, kFlat, 1), 1, 1'000'000);
  place(spec(kA100, 1, 3'000'000, 4 * 3'600));  // knows schedules 0 and 1
  advance(2 * 3'600);
  ASSERT_FALSE(submit(doubled_from(kMonday + 3 * 3'600)).rejected);
  EXPECT_EQ(engine.tariffs().versions(), (std::vector<std::uint32_t>{0, 1, 2}))
      << "the lease started under schedule 0";
  advance(5 * 3'600);  // the lease ended
  advance(60);         // and closed after the settle grace
  ASSERT_FALSE(submit(doubled_from(kMonday + 9 * 3'600)).rejected);
  EXPECT_EQ(engine.tariffs().versions(), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(engine.tariffs().published(), 4u);
  EXPECT_EQ(only<TariffSchedulePublished>().version, 3u);
  const std::string snapshot = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->snapshot(), snapshot);
  expect_sound();
}

TEST_F(TariffScheduleTest, a_bad_schedule_is_refused_and_changes_nothing) {
  const std::string before = engine.snapshot();
  EXPECT_EQ(submit(doubled_from(kMonday + 1'800)).rejected, Reject::kInvalidTariffSchedule);
  EXPECT_EQ(submit(doubled_from(kMonday)).rejected, Reject::kInvalidTariffSchedule);
  PublishTariffSchedule renamed = doubled_from(kMonday + 3'600);
  renamed.schedule.regions[kTou].region = "moon";
  EXPECT_EQ(submit(renamed).rejected, Reject::kInvalidTariffSchedule);
  EXPECT_EQ(engine.tariffs().published(), 1u);
  // Everything but the two sequences at the end, which every command advances.
  const std::string after = engine.snapshot();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.substr(0, after.size() - 16), before.substr(0, before.size() - 16));
}

}  // namespace
}  // namespace spotgrid::engine::testing

namespace spotgrid::engine::testing {
namespace {

class AddModelTest : public EngineTest {
 protected:
  static GpuModel b200() { return GpuModel{"B200", "nvidia", 192, 2250, 8000, 5'000, 6 * kUsd}; }
};

// A model added by a command is a pool at once: nodes, listings, orders and
// leases in it, and a snapshot that carries it.
TEST_F(AddModelTest, a_model_added_is_a_pool_at_once) {
  ASSERT_FALSE(submit(AddGpuModel{b200()}).rejected);
  const PoolIndex pool = only<GpuModelAdded>().pool;
  EXPECT_EQ(pool, 3);
  EXPECT_EQ(engine.catalog().pool_count(), 4u);
  EXPECT_EQ(engine.index_price(pool), 6 * kUsd);
  list(node(pool, kFlat, 2), 2, 5 * kUsd);
  place(spec(pool, 1, 6 * kUsd, 3'600));
  EXPECT_EQ(only<LeaseStarted>().pool, pool);

  const std::string snapshot = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  ASSERT_TRUE(restored.has_value()) << "the catalog comes from the snapshot";
  EXPECT_EQ(restored->catalog().pool_count(), 4u);
  EXPECT_EQ(restored->catalog().model(pool).model, "B200");
  EXPECT_EQ(restored->snapshot(), snapshot);
  expect_sound();
}

TEST_F(AddModelTest, a_bad_model_is_refused_and_changes_nothing) {
  GpuModel taken = b200();
  taken.model = "H100";
  GpuModel spaced = b200();
  spaced.model = "B 200";
  GpuModel nul = b200();
  nul.model = std::string("B2\0", 3);
  GpuModel free = b200();
  free.reference_price_micros_per_card_hour = 0;
  GpuModel no_cu = b200();
  no_cu.compute_units = 0;
  for (const GpuModel& model : {taken, spaced, nul, free, no_cu}) {
    EXPECT_EQ(submit(AddGpuModel{model}).rejected, Reject::kInvalidGpuModel) << model.model;
  }
  EXPECT_EQ(engine.catalog().pool_count(), 3u);
  expect_sound();
}

}  // namespace
}  // namespace spotgrid::engine::testing
