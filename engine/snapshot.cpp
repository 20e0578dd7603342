// Snapshot: the whole state as canonical bytes (see archive.hpp).

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>

#include "archive.hpp"
#include "state.hpp"

namespace spotgrid::engine {

// The records' field lists live in the records' namespace, where the archive
// finds them by argument-dependent lookup.
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, NodeRec>
void fields(A& a, R& r) {
  a(r.supplier, r.pool, r.region, r.zone, r.cards, r.cards_listed, r.cu, r.reliability, r.busy);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, ListingRec>
void fields(A& a, R& r) {
  a(r.node, r.supplier, r.pool, r.region, r.cards_offered, r.cards_leased, r.price, r.floating,
    r.from, r.until, r.arrival, r.state, r.in_book, r.prev, r.next, r.leases_open);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, OrderRec>
void fields(A& a, R& r) {
  a(r.spec, r.pools, r.limit, r.unit_hold, r.hold, r.cards_open, r.leases_open, r.arrival, r.state,
    r.in_book, r.prev, r.next, r.start_at, r.avoid_node);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, LeaseRec>
void fields(A& a, R& r) {
  a(r.order, r.listing, r.node, r.buyer, r.supplier, r.pool, r.region, r.cards, r.card_mask,
    r.price, r.limit_at_match, r.start, r.planned_end, r.billable_end, r.reclaim_at, r.status,
    r.max_charge, r.charged, r.fee_charged, r.weighted_settled, r.healthy_settled, r.settled_up_to);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, AccountRec>
void fields(A& a, R& r) {
  a(r.cash, r.hold, r.receivable);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, PayoutPlan>
void fields(A& a, R& r) {
  a(r.supplier, r.minimum);
}
template <typename A, typename R>
requires std::is_same_v<std::remove_const_t<R>, Level>
void fields(A& a, R& r) {
  a(r.head, r.tail, r.cards, r.entries);
}

namespace {

using archive::Reader;
using archive::Writer;

// v2 added suppliers' daily payouts and the operator's controls (a v1 snapshot
// restores with none); v3 the platform fee and each lease's (a v1 or v2
// snapshot restores with the configuration's fee for both); v4 the tariff
// schedules and which of them price each lease (before, the one book given);
// v5 leaves out the asks, which are rebuilt from the listings (before, each
// pool's asks were one book; they are read and dropped).
constexpr std::string_view kMagic = "spotgrid-snapshot-v5";
constexpr std::string_view kMagicV4 = "spotgrid-snapshot-v4";
constexpr std::string_view kMagicV3 = "spotgrid-snapshot-v3";
constexpr std::string_view kMagicV2 = "spotgrid-snapshot-v2";
constexpr std::string_view kMagicV1 = "spotgrid-snapshot-v1";

template <typename A, typename T>
void slab_fields(A& a, T& slab) {
  a(slab.items(), slab.generations(), slab.live(), slab.free_list());
}

void tariff_fields(Writer& writer, const State& state) {
  writer(state.tariffs.published(), state.tariffs.versions(), state.tariffs.schedules());
}
void tariff_fields(Reader& reader, State& state) {
  std::uint32_t published = 0;
  std::vector<std::uint32_t> versions;
  std::vector<TariffSchedule> schedules;
  reader(published, versions, schedules);
  if (reader.ok() && TariffBook::well_formed(schedules, versions, published))
    state.tariffs = TariffBook(std::move(schedules), versions, published);
  else
    state.tariffs = TariffBook();  // refused by tariffs_sound
  state.window_weights.clear();
}

// Whether `sound` holds for every live record of `slab`.
template <typename Record, typename Sound>
bool all_live(const Slab<Record>& slab, Sound sound) {
  for (std::uint32_t slot = 0; slot < slab.slot_count(); ++slot) {
    if (slab.is_live(slot) && !sound(slab[slot])) return false;
  }
  return true;
}

// Every live node names a pool and a region that exist, a supplier, and cards
// it has; every live lease the order, listing and node it was struck between,
// with their pool, region and parties, cards that are its node's, and a
// window and charges in order; every live order and listing an account, and
// the cards, duration, prices and holds their commands were validated for;
// balances within what deposits allow. What the commands after a restore read
// through these is then in bounds, and their arithmetic cannot overflow.
bool records_sound(const State& state) {
  const auto node_sound = [&](const NodeRec& node) {
    const CardMask cards = node.cards >= 64 ? ~CardMask{0} : (CardMask{1} << node.cards) - 1;
    return valid_account(node.supplier) && node.pool < state.pools.size() &&
           node.region < state.tariffs.region_count() && node.cards >= 1 &&
           node.cards <= limits::kMaxCardsPerNode && node.cards_listed <= node.cards &&
           (node.busy & ~cards) == 0;
  };
  const auto lease_sound = [&](const LeaseRec& lease) {
    const OrderRec* order = state.orders.find(lease.order);
    const ListingRec* listing = state.listings.find(lease.listing);
    const NodeRec* node = state.nodes.find(lease.node);
    return order != nullptr && listing != nullptr && node != nullptr &&
           listing->node == lease.node && listing->pool == lease.pool &&
           listing->region == lease.region && listing->supplier == lease.supplier &&
           order->spec.buyer == lease.buyer && lease.cards >= 1 &&
           std::popcount(lease.card_mask) == lease.cards &&
           (!lease.active() || (lease.card_mask & ~node->busy) == 0) &&
           lease.start <= lease.billable_end && lease.billable_end <= lease.planned_end &&
           lease.charged >= 0 && lease.charged <= lease.max_charge && lease.fee_charged >= 0 &&
           lease.fee_charged <= lease.charged;
  };
  if (!all_live(state.nodes, node_sound) || !all_live(state.leases, lease_sound)) return false;
  const auto price_sound = [](Micros price) {
    return price > 0 && price <= limits::kMaxPriceMicrosPerHour;
  };
  const auto balance_sound = [](Micros amount) {
    return amount >= 0 && amount <= limits::kMaxAccountBalance;
  };
  // What placement validated (its time aside: times_sound), and the hold it
  // reserved per card within reach.
  const auto order_sound = [&](const OrderRec& order) {
    const OrderSpec& spec = order.spec;
    PoolMask pools = 0;
    return !validate_order_shape(state, spec, &pools) && order.cards_open <= spec.cards &&
           price_sound(order.limit) && order.unit_hold >= 0 &&
           Int128{order.unit_hold} * spec.cards <= limits::kMaxAccountBalance &&
           balance_sound(order.hold);
  };
  const auto listing_sound = [&](const ListingRec& listing) {
    return valid_account(listing.supplier) && (listing.floating || price_sound(listing.price));
  };
  if (!all_live(state.orders, order_sound) || !all_live(state.listings, listing_sound))
    return false;
  const bool indices_sound =
      std::all_of(state.pools.begin(), state.pools.end(), [](const PoolBook& pool) {
        return pool.index >= 0 && pool.index <= limits::kMaxPriceMicrosPerHour;
      });
  // Cash and holds come from deposits, each account's capped; what a supplier
  // earns is bounded only by what buyers paid (the checks sum it in 128 bits).
  const bool accounts_sound =
      std::all_of(state.accounts.begin(), state.accounts.end(), [&](const AccountRec& account) {
        return balance_sound(account.cash) && balance_sound(account.hold) &&
               account.receivable >= 0;
      });
  return indices_sound && accounts_sound && state.platform_revenue >= 0 &&
         state.deposited_total >= 0 && state.withdrawn_total >= 0;
}

// Times in order within their record, as the commands that set them made
// them, and the clock within the engine's range: sums of a time and a
// duration, and a week count times a tariff's seconds, then fit 64 bits. Runs
// after records_sound, which puts each lease's start at or before its planned end.
// A listing's window is only checked as AddListing checks it: its start may lie
// any time ahead, and is only ever compared.
bool times_sound(const State& state) {
  const UnixSeconds now = state.now;
  if (now < 0 || now > limits::kLatestTime) return false;
  const auto within = [](std::int64_t value, std::int64_t first, std::int64_t last) {
    return value >= first && value <= last;
  };
  // Settled up to a second the settlement's command checked against its
  // clock: possibly past the planned end, when it came before the tick that
  // ended the lease.
  const auto lease_sound = [&](const LeaseRec& lease) {
    return within(lease.start, 0, now) &&
           lease.planned_end - lease.start <= limits::kMaxLeaseDuration &&
           within(lease.settled_up_to, lease.start, now) &&
           within(lease.healthy_settled, 0, lease.settled_up_to - lease.start) &&
           within(lease.weighted_settled, 0,
                  lease.healthy_settled * std::int64_t{limits::kMaxTariffMultiplier}) &&
           (lease.reclaim_at == 0 || within(lease.reclaim_at, lease.start, lease.planned_end));
  };
  // An order starts, and a cost-first one waits at most, the longest deferral
  // after its placement, which was at or before now.
  const auto order_sound = [&](const OrderRec& order) {
    return within(order.start_at, 0, now + limits::kMaxCostFirstDeferral) &&
           (order.spec.strategy != Strategy::kCostFirst ||
            within(order.spec.latest_start, 0, now + limits::kMaxCostFirstDeferral));
  };
  const auto listing_sound = [](const ListingRec& listing) {
    return valid_listing_window(listing.from, listing.until);
  };
  const UnixSeconds midnight = state.daily_payouts.midnight;
  return all_live(state.leases, lease_sound) && all_live(state.orders, order_sound) &&
         all_live(state.listings, listing_sound) &&
         (midnight == kNeverTicked || within(midnight, 0, now));
}

// Per slot, whether `heap` holds a timer for the live record there at a time
// `is_its_own(record, at)` accepts. Timers of records since gone are skipped.
template <typename Record, typename IsItsOwn>
std::vector<bool> timed(const TimerHeap& heap, const Slab<Record>& slab, IsItsOwn is_its_own) {
  std::vector<bool> found(slab.slot_count());
  for (const auto& [at, id] : heap) {
    const auto slot = slab.slot_of(id);
    if (slot && is_its_own(slab[*slot], at)) found[*slot] = true;
  }
  return found;
}

// Each timer heap is a heap, and holds the timer of every record waiting for
// one: a pending listing's start, an open listing's end, an active lease's
// planned end and reclaim, an ended lease's close (at any time: when it ended
// is not kept), a deferred order's start. Without it the record would wait for
// ever. A deferred order has cards to start with and no lease yet, as its
// timer's handler needs.
bool timers_sound(const State& state) {
  const std::array heaps{&state.pending_listings, &state.listing_expiries, &state.lease_deadlines,
                         &state.lease_closes, &state.deferred_orders};
  if (!std::all_of(heaps.begin(), heaps.end(), [](const TimerHeap* heap) {
        return std::is_heap(heap->begin(), heap->end(), std::greater<>{});
      }))
    return false;
  const auto starts =
      timed(state.pending_listings, state.listings,
            [](const ListingRec& listing, UnixSeconds at) { return at == listing.from; });
  const auto ends =
      timed(state.listing_expiries, state.listings,
            [](const ListingRec& listing, UnixSeconds at) { return at == listing.until; });
  const auto planned_ends =
      timed(state.lease_deadlines, state.leases,
            [](const LeaseRec& lease, UnixSeconds at) { return at == lease.planned_end; });
  const auto reclaims =
      timed(state.lease_deadlines, state.leases,
            [](const LeaseRec& lease, UnixSeconds at) { return at == lease.reclaim_at; });
  const auto closing = timed(state.lease_closes, state.leases,
                             [](const LeaseRec& /*lease*/, UnixSeconds /*at*/) { return true; });
  const auto deferred =
      timed(state.deferred_orders, state.orders,
            [](const OrderRec& order, UnixSeconds at) { return at == order.start_at; });
  for (std::uint32_t slot = 0; slot < state.listings.slot_count(); ++slot) {
    if (!state.listings.is_live(slot)) continue;
    const ListingState listing = state.listings[slot].state;
    if ((listing == ListingState::kPending && !starts[slot]) ||
        (listing != ListingState::kClosed && !ends[slot]))
      return false;
  }
  for (std::uint32_t slot = 0; slot < state.leases.slot_count(); ++slot) {
    if (!state.leases.is_live(slot)) continue;
    const LeaseRec& lease = state.leases[slot];
    const bool stranded = lease.active()
                              ? !planned_ends[slot] || (lease.reclaim_at != 0 && !reclaims[slot])
                              : !closing[slot];
    if (stranded) return false;
  }
  for (std::uint32_t slot = 0; slot < state.orders.slot_count(); ++slot) {
    if (!state.orders.is_live(slot)) continue;
    const OrderRec& order = state.orders[slot];
    if (order.state == OrderState::kDeferred &&
        (!deferred[slot] || order.cards_open == 0 || order.leases_open != 0))
      return false;
  }
  return true;
}

// The book's schedules are well formed and each live lease names some of them.
bool tariffs_sound(const State& state, std::uint64_t regions) {
  return state.tariffs.published() > 0 && state.tariffs.region_count() == regions &&
         tariff_versions_sound(state);
}

// The catalog a snapshot holds, each model valid where it joined; false when not.
bool read_catalog(Reader& reader, State& state) {
  std::vector<GpuModel> models;
  reader(models);
  std::optional<Catalog> catalog = reader.ok() ? Catalog::of(models) : std::nullopt;
  if (!catalog) return false;
  state.catalog = *catalog;
  state.pools.clear();
  for (const GpuModel& model : models)
    add_pool_book(state, model);
  return true;
}

template <typename A, typename S>
void state_fields(A& a, S& s, int version) {
  a(s.now, s.arrival_seq, s.platform_revenue, s.deposited_total, s.withdrawn_total, s.accounts);
  slab_fields(a, s.nodes);
  slab_fields(a, s.listings);
  slab_fields(a, s.orders);
  slab_fields(a, s.leases);
  for (auto& pool : s.pools) {
    if (version < 5) {
      std::map<Micros, Level> asks;  // before v5 asks were kept, without tiers
      Level floating_asks;
      std::int64_t ask_cards = 0;
      a(asks, floating_asks);
      a(pool.bids, pool.index, pool.cards_leased, ask_cards, pool.bid_cards);
    } else {
      a(pool.bids, pool.index, pool.cards_leased, pool.bid_cards);
    }
  }
  a(s.class_bids, s.class_bid_cards, s.pending_listings, s.listing_expiries, s.lease_deadlines,
    s.lease_closes, s.deferred_orders);
  if (version >= 2) {
    a(s.daily_payouts.plans, s.daily_payouts.midnight, s.daily_payouts.next);
    a(s.controls.halted_pools, s.controls.suspended_accounts, s.controls.quarantined_nodes);
  }
  if (version >= 3) {
    a(s.config.platform_fee_bp);
    for (auto& lease : s.leases.items())
      a(lease.fee_bp);
  } else {
    for (auto& lease : s.leases.items())
      lease.fee_bp = s.config.platform_fee_bp;
  }
  if (version >= 4) {
    tariff_fields(a, s);
    for (auto& lease : s.leases.items())
      a(lease.tariff_versions);
  } else {
    for (auto& lease : s.leases.items())
      lease.tariff_versions = s.tariffs.published();
  }
  // Last, so a comparison of market state can leave out what every command advances.
  a(s.command_seq, s.event_seq);
}

}  // namespace

std::string Engine::snapshot() const {
  Writer writer;
  writer(static_cast<std::uint64_t>(kMagic.size()));
  for (char c : kMagic)
    writer(c);
  writer(static_cast<std::uint64_t>(state_->pools.size()),
         static_cast<std::uint64_t>(state_->tariffs.region_count()), state_->catalog.models());
  // The slabs' accessors are non-const only because the reader shares them.
  state_fields(writer, const_cast<State&>(*state_), /*version=*/5);
  return writer.take();
}

std::optional<Engine> Engine::restore(const Catalog& catalog, TariffBook tariffs,
                                      EngineConfig config, std::string_view snapshot) {
  Engine engine(catalog, std::move(tariffs), config);
  State& state = *engine.state_;
  Reader reader(snapshot);
  std::uint64_t magic_size = 0;
  reader(magic_size);
  static_assert(kMagic.size() == kMagicV1.size() && kMagic.size() == kMagicV2.size() &&
                kMagic.size() == kMagicV3.size() && kMagic.size() == kMagicV4.size());
  if (!reader.ok() || magic_size != kMagic.size()) return std::nullopt;
  std::string magic(magic_size, '\0');
  for (char& c : magic)
    reader(c);
  std::uint64_t pools = 0;
  std::uint64_t regions = 0;
  reader(pools, regions);
  const int version = magic == kMagic     ? 5
                      : magic == kMagicV4 ? 4
                      : magic == kMagicV3 ? 3
                      : magic == kMagicV2 ? 2
                      : magic == kMagicV1 ? 1
                                          : 0;
  // From v4 the catalog is the snapshot's (models may have been added); before, the given one.
  if (version >= 4 && !read_catalog(reader, state)) return std::nullopt;
  if (!reader.ok() || version == 0 || pools != state.pools.size() ||
      regions != state.tariffs.region_count()) {
    return std::nullopt;
  }
  state_fields(reader, state, version);
  if (!reader.finished() || !state.nodes.finish_restore() || !state.listings.finish_restore() ||
      !state.orders.finish_restore() || !state.leases.finish_restore()) {
    return std::nullopt;
  }
  if (!payouts_sound(state) || !controls_sound(state) || !tariffs_sound(state, regions) ||
      !records_sound(state) || !times_sound(state) || !timers_sound(state) ||
      !rebuild_asks(state) || !rebuild_bids(state))
    return std::nullopt;
  const auto fee_valid = [](BasisPoints fee) {
    return fee >= 0 && fee <= limits::kMaxPlatformFeeBp;
  };
  if (!fee_valid(state.config.platform_fee_bp) ||
      !std::all_of(state.leases.items().begin(), state.leases.items().end(),
                   [&](const LeaseRec& lease) { return fee_valid(lease.fee_bp); }))
    return std::nullopt;
  recount_derived(state);
  // Last, over a state the checks above made safe to walk: the books, cards,
  // holds and money must add up, or a later command would stop the engine at
  // its first broken invariant instead of the restore refusing now.
  if (!holds_together(state)) return std::nullopt;
  return engine;
}

}  // namespace spotgrid::engine
