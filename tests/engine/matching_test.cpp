// Matching rules of docs/architecture.md#matching: price-time priority, the resting side's price,
// constraints that skip rather than consume, multi-node and gang fills, class
// orders across pools per CU-hour, IOC, cancel and amend.

#include "engine_fixture.hpp"

namespace spotgrid::engine::testing {
namespace {

class Matching : public EngineTest {
 protected:
  // A model order for `cards` that needs a node score of at least `min_reliability`.
  static OrderSpec needing(BasisPoints min_reliability, std::uint32_t cards, Micros limit) {
    OrderSpec s = spec(kA100, cards, limit);
    s.min_reliability = min_reliability;
    return s;
  }
  // The unfilled reason `s` rests with now, and then placed again as in event `format`.
  std::pair<UnfilledReason, UnfilledReason> reasons_now_and_in_format(const OrderSpec& s,
                                                                      int format) {
    place(s);
    const UnfilledReason reason = only<OrderResting>().reason;
    engine.set_event_format(format);
    place(s);
    const UnfilledReason then_reason = only<OrderResting>().reason;
    engine.set_event_format(kEventFormat);
    return {reason, then_reason};
  }
};

TEST_F(Matching, incoming_order_takes_best_price_then_earliest_arrival_at_the_ask_price) {
  const ListingId dear = list(node(kA100, kFlat, 4), 2, 1'200'000);
  const ListingId cheap_first = list(node(kA100, kFlat, 4), 2, 1'000'000);
  const ListingId cheap_second = list(node(kA100, kFlat, 4), 2, 1'000'000);
  place(spec(kA100, 3, 1'500'000));
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].listing, cheap_first);
  EXPECT_EQ(leases[0].cards, 2);
  EXPECT_EQ(leases[1].listing, cheap_second);
  EXPECT_EQ(leases[1].cards, 1);
  EXPECT_EQ(leases[0].price_micros_per_card_hour,
            1'000'000);  // the resting ask's price, not the limit
  EXPECT_EQ(leases[1].price_micros_per_card_hour, 1'000'000);
  EXPECT_EQ(all<OrderFilled>().size(), 1u);
  const BookView book = engine.book(kA100, 10);
  ASSERT_EQ(book.asks.size(), 2u);
  EXPECT_EQ(book.asks[0].cards, 1u);  // what is left of cheap_second
  EXPECT_EQ(book.asks[1].price_micros_per_hour, 1'200'000);
  (void)dear;
  expect_sound();
}

TEST_F(Matching, incoming_listing_trades_at_the_resting_bid_limit) {
  const OrderId order = place(spec(kA100, 2, 1'500'000));
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kNoSupplyMeetsConstraints);
  list(node(kA100, kFlat, 4), 4, 1'000'000);
  const auto lease = only<LeaseStarted>();
  EXPECT_EQ(lease.order, order);
  EXPECT_EQ(lease.cards, 2);
  EXPECT_EQ(lease.price_micros_per_card_hour, 1'500'000);
  EXPECT_EQ(engine.book(kA100, 10).bids.size(), 0u);
  expect_sound();
}

// An incoming listing is matched before it is booked: one that fills at once
// leaves no price level behind, and what is left of one rests at its price.
TEST_F(Matching, an_incoming_listing_books_only_what_is_left_after_matching) {
  place(spec(kA100, 4, 1'500'000));
  list(node(kA100, kFlat, 4), 4, 1'000'000);
  EXPECT_EQ(only<LeaseStarted>().cards, 4);
  EXPECT_TRUE(engine.book(kA100, 10).asks.empty()) << "filled at once: no level";
  expect_sound();

  place(spec(kA100, 1, 1'500'000));
  list(node(kA100, kFlat, 4), 3, 1'200'000);
  EXPECT_EQ(only<LeaseStarted>().cards, 1);
  const BookView book = engine.book(kA100, 10);
  ASSERT_EQ(book.asks.size(), 1u);
  EXPECT_EQ(book.asks[0].price_micros_per_hour, 1'200'000);
  EXPECT_EQ(book.asks[0].cards, 2u);
  EXPECT_EQ(book.asks[0].entries, 1u);
  expect_sound();
}

TEST_F(Matching, constraints_skip_an_ask_without_consuming_it) {
  const ListingId wrong_region = list(node(kA100, kTou, 4), 4, 500'000);
  const ListingId unreliable = list(node(kA100, kFlat, 4, 9'000), 4, 600'000);
  const ListingId good = list(node(kA100, kFlat, 4, 9'900), 4, 900'000);
  OrderSpec s = spec(kA100, 2, 1'000'000);
  s.regions = RegionMask{1} << kFlat;
  s.min_reliability = 9'500;
  place(s);
  const auto lease = only<LeaseStarted>();
  EXPECT_EQ(lease.listing, good);
  const BookView book = engine.book(kA100, 10);
  ASSERT_EQ(book.asks.size(), 3u);
  EXPECT_EQ(book.asks[0].cards, 4u);  // wrong_region untouched
  EXPECT_EQ(book.asks[1].cards, 4u);  // unreliable untouched
  EXPECT_EQ(book.asks[2].cards, 2u);
  (void)wrong_region;
  (void)unreliable;
  expect_sound();
}

// Asks are kept per region; an order that takes any region still takes them
// by price, then arrival, whichever region and whether fixed or floating.
TEST_F(Matching, asks_of_every_region_are_taken_in_price_then_arrival_order) {
  ASSERT_EQ(engine.index_price(kA100), 1'000'000);  // where a floating listing asks
  const ListingId tou_first = list(node(kA100, kTou, 1), 1, 950'000);
  const ListingId flat_dear = list(node(kA100, kFlat, 1), 1, 1'100'000);
  const ListingId flat_second = list(node(kA100, kFlat, 1), 1, 950'000);
  const ListingId tou_floating = list(node(kA100, kTou, 1), 1, 0, kSupplier, /*floating=*/true);
  const ListingId tou_cheapest = list(node(kA100, kTou, 1), 1, 900'000);
  const BookView book = engine.book(kA100, 10);
  ASSERT_EQ(book.asks.size(), 4u);  // the regions' levels at one price are one level
  EXPECT_EQ(book.asks[1].price_micros_per_hour, 950'000);
  EXPECT_EQ(book.asks[1].cards, 2u);
  EXPECT_EQ(book.asks[2].price_micros_per_hour, 1'000'000);
  place(spec(kA100, 5, 2'000'000));
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 5u);
  EXPECT_EQ(leases[0].listing, tou_cheapest);
  EXPECT_EQ(leases[1].listing, tou_first);
  EXPECT_EQ(leases[2].listing, flat_second);
  EXPECT_EQ(leases[3].listing, tou_floating);
  EXPECT_EQ(leases[4].listing, flat_dear);
  expect_sound();
}

// A command logged in event format 2 replays as it ran then: a region-limited
// order walked every region's asks, which used up its unfilled-reason probe.
TEST_F(Matching, a_region_limited_order_logged_in_format_2_replays_by_format_2s_walk) {
  for (int i = 0; i < 17; ++i)
    list(node(kA100, kTou, 1), 1, 2'000'000);
  list(node(kA100, kFlat, 1), 1, 3'000'000);
  OrderSpec s = spec(kA100, 1, 1'000'000);
  s.regions = RegionMask{1} << kFlat;
  const auto [reason, in_format_2] = reasons_now_and_in_format(s, 2);
  EXPECT_EQ(reason, UnfilledReason::kLimitBelowBestAsk);
  EXPECT_EQ(in_format_2, UnfilledReason::kNoSupplyMeetsConstraints);
  expect_sound();
}

// An order that needs a score passes over a level where no node reaches its
// tier: those asks neither fill it nor use up its unfilled-reason probe. Format
// 3 visited them, and a command logged then replays by that walk.
TEST_F(Matching, an_order_needing_a_score_passes_over_levels_where_no_node_reaches_its_tier) {
  for (int i = 0; i < 17; ++i)
    list(node(kA100, kFlat, 1, 9'000), 1, 2'000'000);
  list(node(kA100, kFlat, 1, 9'900), 1, 3'000'000);
  const auto [reason, in_format_3] = reasons_now_and_in_format(needing(9'500, 1, 1'000'000), 3);
  EXPECT_EQ(reason, UnfilledReason::kLimitBelowBestAsk);
  EXPECT_EQ(in_format_3, UnfilledReason::kNoSupplyMeetsConstraints);
  expect_sound();
}

// A level is visited when some node there reaches the order's tier; each of its
// asks is still held to the order's exact score.
TEST_F(Matching, asks_in_a_reached_tier_are_still_held_to_the_exact_score) {
  list(node(kA100, kFlat, 1, 9'600), 1, 900'000);  // the tier [9 500, 9 800), as 9 700
  const ListingId good = list(node(kA100, kFlat, 1, 9'700), 1, 900'000);
  place(needing(9'700, 1, 1'000'000));
  EXPECT_EQ(only<LeaseStarted>().listing, good);
  expect_sound();
}

// An interruption lowers a node's score: its asks still in the book move to the
// lower tier with it, so an order needing the old score passes them over.
TEST_F(Matching, a_node_whose_score_falls_takes_its_asks_to_a_lower_tier) {
  const ListingId listing = list(node(kA100, kFlat, 2, 9'600), 2, 900'000);
  place(spec(kA100, 1, 1'000'000));
  const LeaseId lease = only<LeaseStarted>().lease;
  advance(60);
  ASSERT_FALSE(submit(InterruptLease{lease, now}).rejected);  // 9 600 less a tenth: 8 640
  expect_sound();  // its level counts the listing's free card in the new tier
  place(needing(9'000, 1, 1'000'000));
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kNoSupplyMeetsConstraints);
  place(needing(8'500, 1, 1'000'000));
  EXPECT_EQ(only<LeaseStarted>().listing, listing);
  expect_sound();
}

// A node served to the end gains score: its asks still in the book rise a tier
// with it, so an order needing the new score reaches them.
TEST_F(Matching, a_node_whose_score_rises_takes_its_asks_to_a_higher_tier) {
  const ListingId listing = list(node(kA100, kFlat, 2, 8'990), 2, 900'000);
  place(spec(kA100, 1, 1'000'000));
  ASSERT_EQ(all<LeaseStarted>().size(), 1u);
  advance(3'600);  // served to its end: 8 990 gains a twentieth of the gap, to 9 040
  ASSERT_EQ(all<LeaseEnded>().size(), 1u);
  place(needing(9'000, 2, 1'000'000));
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].listing, listing);
  EXPECT_EQ(leases[0].cards, 2u);
  expect_sound();
}

// Floating asks form a level of their own at the index: passed over as whole as
// a fixed level when no node there reaches the order's tier.
TEST_F(Matching, floating_asks_where_no_node_reaches_the_tier_are_passed_over) {
  for (int i = 0; i < 17; ++i)
    list(node(kA100, kFlat, 1, 9'000), 1, 0, kSupplier, true);
  list(node(kA100, kFlat, 1, 9'900), 1, 3'000'000);
  const auto [reason, in_format_3] =
      reasons_now_and_in_format(needing(9'500, 1, engine.index_price(kA100) / 2), 3);
  EXPECT_EQ(reason, UnfilledReason::kLimitBelowBestAsk);
  EXPECT_EQ(in_format_3, UnfilledReason::kNoSupplyMeetsConstraints);
  expect_sound();
}

// An order limited to one region never visits another region's asks, so it
// fills behind more of them than one match may scan.
class MatchingAtScale : public EngineTest {
 protected:
  static EngineConfig roomy() {
    EngineConfig config;
    config.max_listings = limits::kMaxCandidatesScannedPerMatch + 1'024;
    return config;
  }
  MatchingAtScale() : EngineTest(roomy()) {}
};

TEST_F(MatchingAtScale, a_region_limited_bid_fills_behind_more_asks_elsewhere_than_a_scan_allows) {
  constexpr std::uint16_t kCardsPerNode = 64;
  const std::uint32_t elsewhere = limits::kMaxCandidatesScannedPerMatch + kCardsPerNode;
  for (std::uint32_t listed = 0; listed < elsewhere; listed += kCardsPerNode) {
    const NodeId tou_node = node(kA100, kTou, kCardsPerNode);
    for (std::uint16_t card = 0; card < kCardsPerNode; ++card)
      ASSERT_FALSE(
          submit(AddListing{kSupplier, tou_node, 1, 500'000, false, now, now + 86'400}).rejected);
  }
  const ListingId flat = list(node(kA100, kFlat, 1), 1, 900'000);
  OrderSpec s = spec(kA100, 1, 1'000'000);
  s.regions = RegionMask{1} << kFlat;
  place(s);
  EXPECT_EQ(only<LeaseStarted>().listing, flat);
  EXPECT_EQ(engine.book(kA100, 1).asks.front().cards, elsewhere);  // none taken or lost
}

TEST_F(Matching, a_listing_whose_window_ends_before_the_lease_would_is_skipped) {
  const NodeId short_node = node(kA100, kFlat, 4);
  submit(AddListing{kSupplier, short_node, 4, 500'000, false, now, now + 1'800});
  place(spec(kA100, 1, 1'000'000, 3'600));
  EXPECT_TRUE(all<LeaseStarted>().empty());
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kNoSupplyMeetsConstraints);
  expect_sound();
}

TEST_F(Matching, order_fills_from_several_nodes_and_respects_cards_per_node) {
  list(node(kA100, kFlat, 2), 2, 900'000);  // too small for a gang of 4: skipped
  list(node(kA100, kFlat, 4), 4, 950'000);
  list(node(kA100, kFlat, 8), 6, 980'000);  // 6 free: one gang of 4
  OrderSpec s = spec(kA100, 8, 1'000'000);
  s.cards_per_node = 4;
  place(s);
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].cards, 4);
  EXPECT_EQ(leases[1].cards, 4);
  EXPECT_NE(leases[0].node, leases[1].node);
  EXPECT_EQ(engine.book(kA100, 10).asks[0].cards, 2u);
  expect_sound();
}

TEST_F(Matching, class_order_compares_asks_across_pools_per_compute_unit) {
  list(node(kA100, kFlat, 4), 4, 1'200'000);                           // 1.20 per CU-hour
  const ListingId h100 = list(node(kH100, kFlat, 1), 1, 3'000'000);    // 1.00 per CU-hour
  const ListingId mi300 = list(node(kMI300, kFlat, 2), 2, 4'400'000);  // 1.10 per CU-hour
  OrderSpec s;
  s.buyer = kBuyer;
  s.target.kind = TargetKind::kClass;
  s.target.min_memory_gib = 80;
  s.cards = 3;
  s.duration = 3'600;
  s.limit_micros_per_hour = 1'150'000;  // per CU-hour
  place(s);
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].listing, h100);
  EXPECT_EQ(leases[1].listing, mi300);
  EXPECT_EQ(leases[1].cards, 2);
  EXPECT_EQ(leases[1].price_micros_per_card_hour, 4'400'000);
  expect_sound();
}

TEST_F(Matching, resting_class_order_buys_from_a_new_listing_at_its_limit_in_card_hours) {
  OrderSpec s;
  s.buyer = kBuyer;
  s.target.kind = TargetKind::kClass;
  s.target.vendors = 1u << *engine.catalog().find_vendor("amd");
  s.cards = 1;
  s.duration = 600;
  s.limit_micros_per_hour = 1'000'000;
  place(s);
  list(node(kH100, kFlat, 1), 1, 1'000'000);  // nvidia: not in the class
  EXPECT_TRUE(all<LeaseStarted>().empty());
  list(node(kMI300, kFlat, 1), 1, 3'000'000);
  EXPECT_EQ(only<LeaseStarted>().price_micros_per_card_hour, 4'000'000);  // 1.00 per CU x 4 CU
  expect_sound();
}

TEST_F(Matching, immediate_or_cancel_never_rests) {
  list(node(kA100, kFlat, 4), 1, 900'000);
  OrderSpec s = spec(kA100, 3, 1'000'000);
  s.immediate_or_cancel = true;
  place(s);
  EXPECT_EQ(all<LeaseStarted>().size(), 1u);
  const auto cancelled = only<OrderCancelled>();
  EXPECT_EQ(cancelled.cards_cancelled, 2u);
  EXPECT_EQ(cancelled.cause, CancelCause::kImmediateOrCancel);
  EXPECT_TRUE(engine.book(kA100, 10).bids.empty());
  expect_sound();
}

TEST_F(Matching, cancel_removes_the_order_and_releases_its_hold) {
  const AccountView before = engine.account(kBuyer);
  const OrderId order = place(spec(kA100, 2, 1'000'000));
  EXPECT_GT(engine.account(kBuyer).hold, 0);
  EXPECT_FALSE(submit(CancelOrder{kBuyer, order}).rejected);
  EXPECT_EQ(only<OrderCancelled>().cards_cancelled, 2u);
  EXPECT_EQ(engine.account(kBuyer).cash, before.cash);
  EXPECT_EQ(engine.account(kBuyer).hold, 0);
  EXPECT_FALSE(engine.order(order).has_value());
  EXPECT_TRUE(engine.book(kA100, 10).bids.empty());
  EXPECT_EQ(submit(CancelOrder{kBuyer, order}).rejected, Reject::kUnknownOrder);
  expect_sound();
}

TEST_F(Matching, another_buyer_cannot_cancel_or_amend_an_order) {
  const OrderId order = place(spec(kA100, 2, 1'000'000));
  EXPECT_EQ(submit(CancelOrder{kBuyer2, order}).rejected, Reject::kUnknownOrder);
  EXPECT_EQ(submit(AmendOrder{kBuyer2, order, 1, 0}).rejected, Reject::kUnknownOrder);
  EXPECT_EQ(engine.order(order)->cards_open, 2u);
}

TEST_F(Matching, reducing_cards_keeps_time_priority) {
  const OrderId first = place(spec(kA100, 2, 1'000'000));
  place(spec(kA100, 2, 1'000'000, 3'600, kBuyer2));
  EXPECT_FALSE(submit(AmendOrder{kBuyer, first, 1, 0}).rejected);
  EXPECT_FALSE(only<OrderAmended>().lost_priority);
  list(node(kA100, kFlat, 4), 1, 900'000);
  EXPECT_EQ(only<LeaseStarted>().order, first);
  EXPECT_EQ(submit(AmendOrder{kBuyer, first, 5, 0}).rejected, Reject::kOrderNotOpen);
  expect_sound();
}

TEST_F(Matching, a_new_limit_loses_time_priority) {
  const OrderId first = place(spec(kA100, 2, 1'000'000));
  const OrderId second = place(spec(kA100, 2, 1'000'000, 3'600, kBuyer2));
  submit(AmendOrder{kBuyer, first, 0, 1'100'000});
  EXPECT_TRUE(only<OrderAmended>().lost_priority);
  submit(AmendOrder{kBuyer, first, 0, 1'000'000});
  list(node(kA100, kFlat, 4), 1, 900'000);
  EXPECT_EQ(only<LeaseStarted>().order, second);
  EXPECT_EQ(submit(AmendOrder{kBuyer, first, 3, 0}).rejected, Reject::kCannotIncreaseCards);
  expect_sound();
}

TEST_F(Matching, raising_the_limit_above_the_best_ask_matches_at_once) {
  list(node(kA100, kFlat, 4), 2, 1'200'000);
  const OrderId order = place(spec(kA100, 2, 1'000'000));
  EXPECT_EQ(only<OrderResting>().reason, UnfilledReason::kLimitBelowBestAsk);
  EXPECT_EQ(engine.order(order)->unfilled_reason, UnfilledReason::kLimitBelowBestAsk);
  submit(AmendOrder{kBuyer, order, 0, 1'250'000});
  EXPECT_EQ(only<LeaseStarted>().price_micros_per_card_hour, 1'200'000);
  expect_sound();
}

TEST_F(Matching, a_buyer_never_trades_with_its_own_listing) {
  const NodeId own = node(kA100, kFlat, 4, 10'000, kBuyer);
  list(own, 4, 500'000, kBuyer);
  place(spec(kA100, 1, 1'000'000));
  EXPECT_TRUE(all<LeaseStarted>().empty());
  expect_sound();
}

TEST_F(Matching, floating_listing_is_priced_at_the_index) {
  const Micros index = engine.index_price(kA100);
  list(node(kA100, kFlat, 2), 2, 0, kSupplier, /*floating=*/true);
  EXPECT_EQ(only<ListingAdded>().price_micros_per_card_hour, index);
  place(spec(kA100, 1, index));
  EXPECT_EQ(only<LeaseStarted>().price_micros_per_card_hour, index);
  expect_sound();
}

TEST_F(Matching, quote_answers_without_changing_state) {
  list(node(kA100, kFlat, 4), 2, 900'000);
  list(node(kA100, kTou, 4), 4, 950'000);
  const std::string before = engine.snapshot();
  const Quote quote = engine.quote(spec(kA100, 5, 1'000'000));
  EXPECT_EQ(engine.snapshot(), before);
  EXPECT_FALSE(quote.rejected);
  EXPECT_EQ(quote.cards_fillable, 5u);
  ASSERT_EQ(quote.legs.size(), 2u);
  // flat: 2 x 0.90 x 1h; tou on Monday 00:00-01:00 is off-peak x0.5: 3 x 0.95 x 0.5
  EXPECT_EQ(quote.legs[0].cost, 1'800'000);
  EXPECT_EQ(quote.legs[1].cost, 1'425'000);
  EXPECT_EQ(quote.cost, 3'225'000);
  place(spec(kA100, 5, 1'000'000));
  const auto leases = all<LeaseStarted>();
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].listing, quote.legs[0].listing);
  EXPECT_EQ(leases[1].cards, quote.legs[1].cards);
  EXPECT_EQ(engine.quote(spec(kA100, 0, 1'000'000)).rejected, Reject::kInvalidCards);
}

}  // namespace
}  // namespace spotgrid::engine::testing
