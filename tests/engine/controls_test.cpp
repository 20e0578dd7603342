// The operator's controls (docs/architecture.md#operator-controls): a halted
// pool, a suspended account, a quarantined node.

#include "engine_fixture.hpp"

namespace spotgrid::engine::testing {
namespace {

class Controls : public EngineTest {};

TEST_F(Controls, a_halted_pool_takes_nothing_new_keeps_its_leases_and_matches_again_on_resume) {
  const NodeId a100 = node(kA100, kFlat, 4);
  list(a100, 4, 2'000'000);
  place(spec(kA100, 1, 2'000'000));
  const LeaseId running = only<LeaseStarted>().lease;
  const OrderId resting = place(spec(kA100, 2, 1'000'000));  // below the ask: rests

  ASSERT_FALSE(submit(HaltPool{kA100, true}).rejected);
  EXPECT_TRUE(only<PoolHalted>().halted);
  EXPECT_TRUE(engine.book(kA100, 1).halted);
  EXPECT_EQ(submit(PlaceOrder{spec(kA100, 1, 3'000'000)}).rejected, Reject::kPoolHalted);
  EXPECT_EQ(
      submit(AddListing{kSupplier, node(kA100, kFlat, 2), 2, 1'000'000, false, now, now + 3'600})
          .rejected,
      Reject::kPoolHalted);
  // A new limit crosses the ask, but a halted pool starts no lease.
  ASSERT_FALSE(submit(AmendOrder{kBuyer, resting, 0, 2'500'000}).rejected);
  EXPECT_TRUE(all<LeaseStarted>().empty());
  advance(60);
  EXPECT_TRUE(engine.lease(running).has_value()) << "running leases continue";
  EXPECT_FALSE(submit(PlaceOrder{spec(kH100, 1, 3'000'000)}).rejected) << "other pools trade";
  expect_sound();

  ASSERT_FALSE(submit(HaltPool{kA100, false}).rejected);
  const auto started = all<LeaseStarted>();
  ASSERT_EQ(started.size(), 1u) << "resuming matches what rests crossed";
  EXPECT_EQ(started[0].order, resting);
  EXPECT_EQ(submit(HaltPool{9, true}).rejected, Reject::kUnknownPool);
  expect_sound();
}

TEST_F(Controls, a_listing_whose_window_opens_in_a_halted_pool_is_booked_and_fills_on_resume) {
  const OrderId resting = place(spec(kA100, 1, 2'000'000));
  const NodeId a100 = node(kA100, kFlat, 4);
  ASSERT_FALSE(
      submit(AddListing{kSupplier, a100, 2, 1'500'000, false, now + 60, now + 7'200}).rejected);
  ASSERT_FALSE(submit(HaltPool{kA100, true}).rejected);
  advance(60);
  EXPECT_TRUE(all<LeaseStarted>().empty()) << "a halted pool starts no lease";
  const BookView book = engine.book(kA100, 10);
  ASSERT_EQ(book.asks.size(), 1u) << "the listing is booked, unmatched";
  EXPECT_EQ(book.asks[0].cards, 2u);
  expect_sound();

  ASSERT_FALSE(submit(HaltPool{kA100, false}).rejected);
  const LeaseStarted started = only<LeaseStarted>();
  EXPECT_EQ(started.order, resting);
  EXPECT_EQ(started.price_micros_per_card_hour, 1'500'000);
  expect_sound();
}

TEST_F(Controls, a_suspended_account_has_nothing_open_and_may_do_nothing_until_reinstated) {
  const NodeId a100 = node(kA100, kFlat, 4);
  list(a100, 2, 2'000'000);
  place(spec(kA100, 2, 2'000'000));
  const LeaseId running = only<LeaseStarted>().lease;
  const OrderId resting = place(spec(kA100, 1, 1'000'000));
  const Micros hold_before = engine.account(kBuyer).hold;

  ASSERT_FALSE(submit(SuspendAccount{kBuyer, true, false}).rejected);
  const AccountSuspended suspended = only<AccountSuspended>();
  EXPECT_TRUE(suspended.suspended);
  EXPECT_FALSE(suspended.leases_stopped);
  const OrderCancelled cancelled = only<OrderCancelled>();
  EXPECT_EQ(cancelled.order, resting);
  EXPECT_EQ(cancelled.cause, CancelCause::kOperator);
  EXPECT_LT(engine.account(kBuyer).hold, hold_before) << "the cancelled order's hold is released";
  EXPECT_TRUE(engine.account(kBuyer).suspended);
  EXPECT_TRUE(engine.lease(running).has_value()) << "without stop_leases, leases continue";
  EXPECT_EQ(submit(PlaceOrder{spec(kA100, 1, 3'000'000)}).rejected, Reject::kAccountSuspended);
  EXPECT_EQ(submit(Withdraw{kBuyer, 1}).rejected, Reject::kAccountSuspended);
  EXPECT_FALSE(submit(Deposit{kBuyer, 1}).rejected) << "money may still come in";
  expect_sound();

  // A supplier suspended with its leases stopped: they end as if reclaimed.
  const NodeId other = node(kA100, kFlat, 2, 10'000, kSupplier2);
  list(other, 2, 2'500'000, kSupplier2);
  ASSERT_FALSE(submit(SuspendAccount{kSupplier, true, true}).rejected);
  EXPECT_TRUE(only<AccountSuspended>().leases_stopped);
  EXPECT_EQ(only<ListingClosed>().withdrawn, true);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kReclaimed);
  // Its buyer is suspended too, so the rest of the lease is not requeued.
  EXPECT_EQ(only<RequeueFailed>().reason, Reject::kAccountSuspended);
  EXPECT_EQ(submit(RegisterNode{kSupplier, kA100, kFlat, 0, 2, 0, 10'000}).rejected,
            Reject::kAccountSuspended);
  EXPECT_EQ(submit(AddListing{kSupplier, a100, 1, 1'000'000, false, now, now + 3'600}).rejected,
            Reject::kAccountSuspended);
  expect_sound();

  ASSERT_FALSE(submit(SuspendAccount{kBuyer, false, false}).rejected);
  EXPECT_FALSE(engine.account(kBuyer).suspended);
  EXPECT_FALSE(submit(PlaceOrder{spec(kA100, 1, 3'000'000)}).rejected) << "reinstated";
  EXPECT_EQ(submit(SuspendAccount{0, true, false}).rejected, Reject::kUnknownAccount);
  expect_sound();
}

TEST_F(Controls, a_quarantined_node_gets_no_new_lease_until_released) {
  const NodeId suspect = node(kA100, kFlat, 2);
  list(suspect, 2, 1'000'000);
  ASSERT_FALSE(submit(QuarantineNode{suspect, true}).rejected);
  EXPECT_EQ(only<NodeQuarantined>().supplier, kSupplier);
  EXPECT_TRUE(engine.node(suspect)->quarantined);
  const OrderId waiting = place(spec(kA100, 1, 2'000'000));
  EXPECT_TRUE(all<LeaseStarted>().empty());
  EXPECT_EQ(submit(AddListing{kSupplier, suspect, 1, 1'000'000, false, now, now + 3'600}).rejected,
            Reject::kNodeQuarantined);
  expect_sound();
  ASSERT_FALSE(submit(QuarantineNode{suspect, false}).rejected);
  ASSERT_EQ(all<LeaseStarted>().size(), 1u) << "released, it matches what waits";
  EXPECT_EQ(only<LeaseStarted>().order, waiting);
  EXPECT_EQ(submit(QuarantineNode{12345, true}).rejected, Reject::kUnknownNode);
  expect_sound();
}

TEST_F(Controls, controls_survive_a_snapshot_and_a_snapshot_naming_unknown_ids_is_refused) {
  const NodeId suspect = node(kA100, kFlat, 2);
  ASSERT_FALSE(submit(HaltPool{kH100, true}).rejected);
  ASSERT_FALSE(submit(SuspendAccount{kBuyer2, true, false}).rejected);
  ASSERT_FALSE(submit(QuarantineNode{suspect, true}).rejected);
  const std::string snapshot = engine.snapshot();
  auto restored = Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, snapshot);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->snapshot(), snapshot);
  EXPECT_TRUE(restored->book(kH100, 1).halted);
  EXPECT_TRUE(restored->account(kBuyer2).suspended);
  EXPECT_TRUE(restored->node(suspect)->quarantined);
  // The quarantined node's id is the last 8 bytes before the two sequences:
  // a snapshot naming a node that does not exist does not restore.
  std::string damaged = snapshot;
  const std::size_t at = damaged.size() - 16 - 8;
  for (std::size_t i = 0; i < 8; ++i)
    damaged[at + i] = static_cast<char>(0x7f);
  EXPECT_FALSE(Engine::restore(test_catalog(), test_tariffs(), EngineConfig{}, damaged));
}

}  // namespace
}  // namespace spotgrid::engine::testing
