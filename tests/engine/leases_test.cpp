// Lease life: ends return cards to their listing, withdrawal stops new matches,
// reclaim with notice, interruption and the re-queued remainder, early stop.

#include "engine_fixture.hpp"

namespace spotgrid::engine::testing {
namespace {

class Leases : public EngineTest {};

TEST_F(Leases, a_completed_lease_returns_its_cards_to_the_listing) {
  list(node(kA100, kFlat, 4), 2, 1'000'000);
  place(spec(kA100, 2, 1'000'000, 600));
  const LeaseId lease = only<LeaseStarted>().lease;
  EXPECT_TRUE(engine.book(kA100, 10).asks.empty());
  advance(599);
  EXPECT_TRUE(all<LeaseEnded>().empty());
  advance(1);
  const auto ended = only<LeaseEnded>();
  EXPECT_EQ(ended.lease, lease);
  EXPECT_EQ(ended.reason, LeaseEnd::kCompleted);
  EXPECT_EQ(ended.billable_end, now);
  ASSERT_EQ(engine.book(kA100, 10).asks.size(), 1u);
  EXPECT_EQ(engine.book(kA100, 10).asks[0].cards, 2u);
  expect_sound();
}

TEST_F(Leases, returned_cards_match_a_resting_order_at_once) {
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  place(spec(kA100, 2, 1'000'000, 600));
  const OrderId waiting = place(spec(kA100, 2, 1'100'000, 600, kBuyer2));
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kNoSupplyMeetsConstraints);
  advance(600);
  EXPECT_EQ(only<LeaseStarted>().order, waiting);
  expect_sound();
}

TEST_F(Leases, withdrawal_stops_new_matches_but_not_running_leases) {
  const ListingId listing = list(node(kA100, kFlat, 4), 4, 1'000'000);
  place(spec(kA100, 2, 1'000'000, 600));
  const LeaseId lease = only<LeaseStarted>().lease;
  EXPECT_FALSE(submit(WithdrawListing{kSupplier, listing}).rejected);
  EXPECT_EQ(only<ListingClosed>().cards_still_leased, 2);
  place(spec(kA100, 1, 2'000'000, 600, kBuyer2));
  EXPECT_TRUE(all<LeaseStarted>().empty());
  EXPECT_TRUE(engine.lease(lease).has_value());
  advance(600);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kCompleted);
  EXPECT_TRUE(all<LeaseStarted>().empty());  // the cards went back to the supplier
  EXPECT_EQ(submit(WithdrawListing{kSupplier, listing}).rejected, Reject::kListingNotActive);
  expect_sound();
}

TEST_F(Leases, another_supplier_cannot_withdraw_or_reclaim) {
  const ListingId listing = list(node(kA100, kFlat, 4), 4, 1'000'000);
  place(spec(kA100, 1, 1'000'000));
  const LeaseId lease = only<LeaseStarted>().lease;
  EXPECT_EQ(submit(WithdrawListing{kSupplier2, listing}).rejected, Reject::kUnknownListing);
  EXPECT_EQ(submit(ReclaimLease{kSupplier2, lease}).rejected, Reject::kUnknownLease);
  EXPECT_EQ(submit(StopLease{kBuyer2, lease}).rejected, Reject::kUnknownLease);
}

TEST_F(Leases, reclaim_gives_notice_bills_nothing_for_it_and_requeues_the_remainder) {
  const NodeId reclaimed_node = node(kA100, kFlat, 4);
  list(reclaimed_node, 2, 1'000'000);
  const OrderId order = place(spec(kA100, 2, 1'000'000, 3'600));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(1'000);
  EXPECT_FALSE(submit(ReclaimLease{kSupplier, lease}).rejected);
  const auto notice = only<LeaseReclaimNotice>();
  EXPECT_EQ(notice.ends_at, now + 120);
  EXPECT_EQ(engine.lease(lease)->billable_end, now);
  EXPECT_TRUE(engine.lease(lease)->reclaim_pending);
  EXPECT_EQ(submit(ReclaimLease{kSupplier, lease}).rejected, Reject::kLeaseNotActive);

  // Metering reports the notice period too; only the first 1000 s are billed.
  advance(120);
  const auto ended = only<LeaseEnded>();
  EXPECT_EQ(ended.reason, LeaseEnd::kReclaimed);
  EXPECT_EQ(ended.billable_end, kMonday + 1'000);
  const auto requeued = only<OrderRequeued>();
  EXPECT_EQ(requeued.parent, order);
  EXPECT_EQ(requeued.cards, 2u);
  EXPECT_EQ(requeued.duration, 3'600 - 1'120);
  // The remainder avoids the node that was taken back and waits for supply.
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kNoSupplyMeetsConstraints);
  submit(SettleLease{lease, 1'120, 1'120 * 10'000, now});
  const auto settled = only<LeaseSettled>();
  EXPECT_TRUE(settled.clamped);
  EXPECT_EQ(settled.charged_total, 2 * 1'000'000 * 1'000 / 3'600);
  list(node(kA100, kFlat, 2), 2, 900'000);
  EXPECT_EQ(only<LeaseStarted>().order, requeued.order);
  expect_sound();
}

TEST_F(Leases, interruption_stops_billing_at_the_last_good_second_and_fails_over) {
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  list(node(kA100, kFlat, 2), 2, 1'100'000);
  place(spec(kA100, 2, 1'200'000, 3'600));
  const auto first = only<LeaseStarted>();
  advance(100);
  EXPECT_FALSE(submit(InterruptLease{first.lease, now - 11}).rejected);
  EXPECT_EQ(only<LeaseEnded>().billable_end, kMonday + 90);
  const auto requeued = only<OrderRequeued>();
  EXPECT_EQ(requeued.duration, 3'600 - 90);
  const auto replacement = only<LeaseStarted>();
  EXPECT_EQ(replacement.order, requeued.order);
  EXPECT_NE(replacement.node, first.node);
  EXPECT_EQ(replacement.price_micros_per_card_hour, 1'100'000);
  EXPECT_EQ(submit(InterruptLease{first.lease, now}).rejected, Reject::kLeaseNotActive);
  expect_sound();
}

TEST_F(Leases, interruption_credits_back_what_was_settled_past_the_last_good_second) {
  const NodeId failing = node(kA100, kFlat, 2);
  list(failing, 2, 1'000'000);
  place(spec(kA100, 2, 1'200'000, 3'600));
  const auto lease = only<LeaseStarted>();
  const Micros cash_before = engine.account(kBuyer).cash + engine.account(kBuyer).hold;
  advance(100);
  submit(SettleLease{lease.lease, 100, 100 * 10'000, now});
  const Micros billed = only<LeaseSettled>().charged_total;
  EXPECT_EQ(billed, 2 * 1'000'000 * 100 / 3'600);
  // The fault is found to have begun at second 60: seconds 60..99 go back.
  EXPECT_FALSE(submit(InterruptLease{lease.lease, lease.start + 59}).rejected);
  const auto credit = all<LeaseSettled>();
  ASSERT_EQ(credit.size(), 1u);
  EXPECT_EQ(credit[0].charged_total, 2 * 1'000'000 * 60 / 3'600);
  EXPECT_EQ(credit[0].charge, credit[0].charged_total - billed);
  EXPECT_LT(credit[0].platform_fee, 0);
  EXPECT_FALSE(engine.lease(lease.lease)) << "settled through its billable end: closed";
  // The buyer's money: what it had less the 60 seconds it kept.
  const AccountView buyer = engine.account(kBuyer);
  EXPECT_EQ(buyer.cash + buyer.hold, cash_before - credit[0].charged_total);
  EXPECT_EQ(engine.node(failing)->reliability, kBasisPointsOne - kBasisPointsOne / 10);
  expect_sound();
}

TEST_F(Leases, reliability_falls_with_interruptions_and_recovers_with_completed_leases) {
  const NodeId n = node(kA100, kFlat, 2);
  list(n, 2, 1'000'000);
  place(spec(kA100, 2, 1'200'000, 600));
  EXPECT_FALSE(submit(InterruptLease{only<LeaseStarted>().lease, now}).rejected);
  EXPECT_EQ(engine.node(n)->reliability, 9'000);
  list(n, 2, 1'000'000);
  place(spec(kA100, 2, 1'200'000, 600));
  ASSERT_EQ(all<LeaseStarted>().size(), 1u);
  advance(600);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kCompleted);
  EXPECT_EQ(engine.node(n)->reliability, 9'000 + 1'000 / 20);
  expect_sound();
}

// A node's score that rises past what a resting bid needs matches the bid with
// the node's other booked listings, not only with the listing whose cards came
// back (here that one was withdrawn, so none come back). Format 4 left the two
// resting crossed.
TEST_F(Leases, a_rising_score_matches_the_nodes_other_listings_with_bids_that_needed_it) {
  const NodeId n = node(kA100, kFlat, 4, 9'000);
  const ListingId served = list(n, 2, 1'000'000);
  const ListingId waiting = list(n, 2, 1'100'000);
  OrderSpec picky = spec(kA100, 1, 1'500'000, 3'600, kBuyer2);
  picky.min_reliability = 9'040;  // above 9 000, below 9 000 + 1 000 / 20
  const OrderId bid = place(picky);
  ASSERT_EQ(only<OrderResting>().order, bid);
  place(spec(kA100, 2, 1'000'000, 600));
  ASSERT_EQ(only<LeaseStarted>().listing, served);
  EXPECT_FALSE(submit(WithdrawListing{kSupplier, served}).rejected);
  advance(600);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kCompleted);
  EXPECT_EQ(engine.node(n)->reliability, 9'050);
  const auto started = all<LeaseStarted>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].order, bid);
  EXPECT_EQ(started[0].listing, waiting);
  expect_sound();
}

TEST_F(Leases, buyer_stops_a_lease_early) {
  list(node(kA100, kFlat, 2), 2, 1'000'000);
  place(spec(kA100, 2, 1'000'000, 3'600));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(60);
  EXPECT_FALSE(submit(StopLease{kBuyer, lease}).rejected);
  EXPECT_EQ(only<LeaseEnded>().reason, LeaseEnd::kStopped);
  EXPECT_TRUE(all<OrderRequeued>().empty());
  EXPECT_EQ(engine.book(kA100, 10).asks[0].cards, 2u);
  EXPECT_EQ(submit(StopLease{kBuyer, lease}).rejected, Reject::kLeaseNotActive);
  expect_sound();
}

TEST_F(Leases, listing_expires_at_the_end_of_its_window) {
  const NodeId n = node(kA100, kFlat, 2);
  submit(AddListing{kSupplier, n, 2, 1'000'000, false, now + 60, now + 7'200});
  const ListingId listing = only<ListingAdded>().listing;
  EXPECT_TRUE(engine.book(kA100, 10).asks.empty());  // not open yet
  advance(60);
  EXPECT_EQ(engine.book(kA100, 10).asks.size(), 1u);
  advance(7'140);
  EXPECT_EQ(only<ListingClosed>().listing, listing);
  EXPECT_TRUE(engine.book(kA100, 10).asks.empty());
  expect_sound();
}

}  // namespace
}  // namespace spotgrid::engine::testing
