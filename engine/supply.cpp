// Supply: nodes and their listings (asks), and freeing records nothing refers to.

#include <bit>
#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {

std::optional<Reject> apply_register_node(State& state, const RegisterNode& command) {
  if (!valid_account(command.supplier)) return Reject::kUnknownAccount;
  if (command.pool >= state.catalog.pool_count()) return Reject::kUnknownPool;
  if (is_suspended(state, command.supplier)) return Reject::kAccountSuspended;
  if (command.region >= state.tariffs.region_count()) return Reject::kUnknownRegion;
  if (command.cards == 0 || command.cards > limits::kMaxCardsPerNode) return Reject::kInvalidCards;
  if (command.measured_cu < 0 || command.measured_cu > 100 * kMilliCuOne)
    return Reject::kInvalidComputeUnits;
  if (command.reliability < 0 || command.reliability > kBasisPointsOne)
    return Reject::kInvalidReliability;
  if (!within_quota(account_or_empty(state, command.supplier).nodes,
                    state.config.max_nodes_per_account))
    return Reject::kNodeQuotaExceeded;
  if (state.nodes.free_slots() == 0) return Reject::kCapacityExhausted;
  const std::uint32_t slot = state.nodes.allocate([&] {
    return NodeRec{.supplier = command.supplier,
                   .pool = command.pool,
                   .region = command.region,
                   .zone = command.zone,
                   .cards = command.cards,
                   .cu = command.measured_cu != 0 ? command.measured_cu
                                                  : state.catalog.model(command.pool).compute_units,
                   .reliability = command.reliability};
  });
  // Counted against its quota; the supplier's receivable exists from now on.
  ++account(state, command.supplier).nodes;
  state.emit(
      NodeRegistered{state.nodes.id_of(slot), command.supplier, command.pool, command.cards});
  return std::nullopt;
}

std::optional<Reject> apply_add_listing(State& state, const AddListing& command) {
  const auto node_slot = state.nodes.slot_of(command.node);
  if (!node_slot || state.nodes[*node_slot].supplier != command.supplier)
    return Reject::kUnknownNode;
  NodeRec& node = state.nodes[*node_slot];
  if (is_suspended(state, command.supplier)) return Reject::kAccountSuspended;
  if (is_halted(state, node.pool)) return Reject::kPoolHalted;
  if (is_quarantined(state, command.node)) return Reject::kNodeQuarantined;
  if (command.cards == 0) return Reject::kInvalidCards;
  if (node.cards_listed + command.cards > node.cards) return Reject::kNodeCardsExceeded;
  if (!command.floating &&
      (command.reserve_micros_per_card_hour <= 0 ||
       command.reserve_micros_per_card_hour > limits::kMaxPriceMicrosPerHour)) {
    return Reject::kInvalidPrice;
  }
  if (!valid_listing_window(command.from, command.until)) return Reject::kInvalidWindow;
  if (command.until <= state.now) return Reject::kWindowInPast;
  if (!within_quota(account_or_empty(state, command.supplier).listings,
                    state.config.max_listings_per_account)) {
    return Reject::kListingQuotaExceeded;
  }
  if (state.listings.free_slots() == 0) return Reject::kCapacityExhausted;

  prefetch_timer_push(state.listing_expiries);
  const std::uint64_t arrival = ++state.arrival_seq;
  const std::uint32_t slot = state.listings.allocate([&] {
    return ListingRec{.node = command.node,
                      .supplier = command.supplier,
                      .pool = node.pool,
                      .region = node.region,
                      .cards_offered = command.cards,
                      .price = command.floating ? 0 : command.reserve_micros_per_card_hour,
                      .floating = command.floating,
                      .from = command.from,
                      .until = command.until,
                      .arrival = arrival};
  });
  ++account(state, command.supplier).listings;
  const ListingId id = state.listings.id_of(slot);
  ListingRec& listing = state.listings[slot];
  link_to_node(state, slot);
  node.cards_listed = static_cast<std::uint16_t>(node.cards_listed + command.cards);
  state.emit(ListingAdded{id, command.node, command.cards, ask_price(state, listing),
                          command.floating, command.from, command.until});
  push_timer(state.listing_expiries, command.until, id);
  if (command.from > state.now) {
    push_timer(state.pending_listings, command.from, id);
    return std::nullopt;
  }
  open_listing(state, slot);
  return std::nullopt;
}

std::optional<Reject> apply_withdraw_listing(State& state, const WithdrawListing& command) {
  const auto slot = state.listings.slot_of(command.listing);
  if (!slot || state.listings[*slot].supplier != command.supplier) return Reject::kUnknownListing;
  if (state.listings[*slot].state == ListingState::kClosed) return Reject::kListingNotActive;
  close_listing(state, *slot, /*withdrawn=*/true);
  return std::nullopt;
}

// Stops new matches; cards under lease stay leased and leave when their lease ends.
void close_listing(State& state, std::uint32_t slot, bool withdrawn) {
  ListingRec& listing = state.listings[slot];
  SPOTGRID_CHECK(listing.state != ListingState::kClosed);
  if (listing.in_book) book_remove_listing(state, slot);
  NodeRec& node = *state.nodes.find(listing.node);
  node.cards_listed = static_cast<std::uint16_t>(node.cards_listed - listing.cards_free());
  listing.cards_offered = listing.cards_leased;
  listing.state = ListingState::kClosed;
  state.emit(ListingClosed{state.listings.id_of(slot), withdrawn, listing.cards_leased});
  maybe_free_listing(state, slot);
}

void maybe_free_listing(State& state, std::uint32_t slot) {
  const ListingRec& listing = state.listings[slot];
  if (listing.state == ListingState::kClosed && listing.leases_open == 0) {
    SPOTGRID_CHECK(listing.cards_offered == 0 && !listing.in_book);
    --account(state, listing.supplier).listings;
    unlink_from_node(state, slot);
    state.listings.release(slot);
  }
}

void maybe_free_order(State& state, std::uint32_t slot) {
  const OrderRec& order = state.orders[slot];
  if (order.cards_open == 0 && order.leases_open == 0) {
    SPOTGRID_CHECK(order.hold == 0 && !order.in_book);
    --account(state, order.spec.buyer).orders;
    state.orders.release(slot);
  }
}

}  // namespace spotgrid::engine
