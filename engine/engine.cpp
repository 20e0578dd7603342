// The engine's public face: one entry point for commands, read-only queries.

#include "spotgrid/engine/engine.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// Each command kind to its handler. One reference to the state, not one per
// kind: a visitor of lambdas that each captured `state` was 21 references,
// written out on every command (~18 of the ~70 instructions `Engine::submit` took).
struct Dispatch {
  State& state;
  using Result = std::optional<Reject>;
  Result operator()(const Deposit& c) const { return apply_deposit(state, c); }
  Result operator()(const Withdraw& c) const { return apply_withdraw(state, c); }
  Result operator()(const RegisterNode& c) const { return apply_register_node(state, c); }
  Result operator()(const AddListing& c) const { return apply_add_listing(state, c); }
  Result operator()(const WithdrawListing& c) const { return apply_withdraw_listing(state, c); }
  Result operator()(const PlaceOrder& c) const { return apply_place_order(state, c); }
  Result operator()(const CancelOrder& c) const { return apply_cancel_order(state, c); }
  Result operator()(const AmendOrder& c) const { return apply_amend_order(state, c); }
  Result operator()(const StopLease& c) const { return apply_stop_lease(state, c); }
  Result operator()(const ReclaimLease& c) const { return apply_reclaim_lease(state, c); }
  Result operator()(const InterruptLease& c) const { return apply_interrupt_lease(state, c); }
  Result operator()(const SettleLease& c) const { return apply_settle(state, c); }
  Result operator()(const Tick& /*tick*/) const {
    apply_tick(state);
    return std::nullopt;
  }
  Result operator()(const Payout& c) const { return apply_payout(state, c); }
  Result operator()(const SetPayoutSchedule& c) const {
    return apply_set_payout_schedule(state, c);
  }
  Result operator()(const HaltPool& c) const { return apply_halt_pool(state, c); }
  Result operator()(const SuspendAccount& c) const { return apply_suspend_account(state, c); }
  Result operator()(const QuarantineNode& c) const { return apply_quarantine_node(state, c); }
  Result operator()(const SetPlatformFee& c) const { return apply_set_platform_fee(state, c); }
  Result operator()(const PublishTariffSchedule& c) const {
    return apply_publish_tariff_schedule(state, c);
  }
  Result operator()(const AddGpuModel& c) const { return apply_add_gpu_model(state, c); }
  // A kind without its own handler does not compile (nor takes another's by conversion).
  template <typename Other>
  Result operator()(const Other&) const = delete;
};

std::optional<Reject> dispatch(State& state, const CommandBody& body) {
  return std::visit(Dispatch{state}, body);
}

template <typename T>
void size_slab(Slab<T>& slab, std::uint32_t wanted, std::uint32_t hard_limit) {
  slab.set_capacity(std::min(wanted, hard_limit));
}

}  // namespace

Engine::Engine(const Catalog& catalog, TariffBook tariffs, EngineConfig config)
    : state_(std::make_unique<State>(std::size_t{config.max_listings} + config.max_orders)) {
  State& state = *state_;
  state.catalog = catalog;
  state.tariffs = std::move(tariffs);
  state.config = config;
  size_slab(state.nodes, config.max_nodes, limits::kMaxNodes);
  size_slab(state.listings, config.max_listings, limits::kMaxListings);
  size_slab(state.orders, config.max_orders, limits::kMaxOrders);
  size_slab(state.leases, config.max_leases, limits::kMaxLeases);
  for (const GpuModel& model : state.catalog.models())
    add_pool_book(state, model);
  state.scratch.legs.reserve(limits::kMaxCardsPerOrder);
  // Timer heaps hold at most one live entry per record (plus stale ones, popped
  // lazily); resident from the start, like the slabs.
  reserve_resident(state.lease_deadlines, 2 * std::size_t{state.leases.capacity()});  // + reclaims
  reserve_resident(state.lease_closes, state.leases.capacity());
  reserve_resident(state.listing_expiries, state.listings.capacity());
  reserve_resident(state.pending_listings, state.listings.capacity());
  reserve_resident(state.deferred_orders, state.orders.capacity());
}

Engine::Engine(std::unique_ptr<State> state) : state_(std::move(state)) {}
Engine::~Engine() = default;

Engine Engine::copy() const {
  auto state = std::make_unique<State>(*state_);
  state->out = nullptr;  // the original's event sink
  state->snapshot_only = true;
  return Engine(std::move(state));
}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

SubmitResult Engine::submit(const Command& command, std::vector<Event>& out) {
  State& state = *state_;
  SPOTGRID_CHECK(!state.snapshot_only);
  state.out = &out;
  ++state.command_seq;
  std::optional<Reject> rejected;
  if (command.now < state.now) {
    rejected = Reject::kTimeWentBackwards;
  } else if (command.now > limits::kLatestTime) {
    rejected = Reject::kTimeOutOfRange;
  } else {
    state.now = command.now;
    rejected = dispatch(state, command.body);
  }
  if (rejected) state.emit(CommandRejected{*rejected});
  state.out = nullptr;
  return SubmitResult{state.command_seq, rejected};
}

Quote Engine::quote(const OrderSpec& spec) const {
  return make_quote(*state_, spec);
}
UnixSeconds Engine::now() const {
  return state_->now;
}
std::uint64_t Engine::last_command_seq() const {
  return state_->command_seq;
}
const Catalog& Engine::catalog() const {
  return state_->catalog;
}
const TariffBook& Engine::tariffs() const {
  return state_->tariffs;
}
Micros Engine::platform_revenue() const {
  return state_->platform_revenue;
}
BasisPoints Engine::platform_fee_bp() const {
  return state_->config.platform_fee_bp;
}

namespace {

OrderView order_view(const Engine::State& state, OrderId id, const OrderRec& order,
                     Engine::ReasonNow reason) {
  return OrderView{id,
                   order.spec,
                   order.state,
                   order.cards_open,
                   order.leases_open,
                   order.limit,
                   order.hold,
                   order.start_at,
                   reason == Engine::ReasonNow::kCompute ? unfilled_reason_now(state, order)
                                                         : UnfilledReason::kNone};
}

}  // namespace

std::optional<OrderView> Engine::order(OrderId id, ReasonNow reason) const {
  const OrderRec* order = state_->orders.find(id);
  if (!order) return std::nullopt;
  return order_view(*state_, id, *order, reason);
}

std::vector<OrderView> Engine::open_orders(ReasonNow reason) const {
  std::vector<OrderView> views;
  views.reserve(state_->orders.live_count());
  for (std::uint32_t slot = 0; slot < state_->orders.slot_count(); ++slot) {
    if (state_->orders.is_live(slot))
      views.push_back(
          order_view(*state_, state_->orders.id_of(slot), state_->orders[slot], reason));
  }
  return views;
}

void Engine::set_event_format(int format) {
  state_->event_format = format;
}

AccountId Engine::account_count() const {
  return static_cast<AccountId>(state_->accounts.size());
}

namespace {

LeaseView lease_view(LeaseId id, const LeaseRec& lease) {
  return LeaseView{id,
                   lease.order,
                   lease.listing,
                   lease.node,
                   lease.buyer,
                   lease.supplier,
                   lease.cards,
                   lease.card_mask,
                   lease.price,
                   lease.start,
                   lease.planned_end,
                   lease.billable_end,
                   lease.status,
                   lease.reclaim_at != 0,
                   lease.charged,
                   lease.region,
                   lease.healthy_settled,
                   lease.weighted_settled,
                   lease.settled_up_to,
                   lease.tariff_versions};
}

}  // namespace

std::optional<LeaseView> Engine::lease(LeaseId id) const {
  const LeaseRec* lease = state_->leases.find(id);
  if (!lease) return std::nullopt;
  return lease_view(id, *lease);
}

std::vector<LeaseView> Engine::billable_leases() const {
  std::vector<LeaseView> views;
  views.reserve(state_->leases.live_count());
  for (std::uint32_t slot = 0; slot < state_->leases.slot_count(); ++slot) {
    if (state_->leases.is_live(slot))
      views.push_back(lease_view(state_->leases.id_of(slot), state_->leases[slot]));
  }
  return views;
}

std::optional<NodeView> Engine::node(NodeId id) const {
  const NodeRec* node = state_->nodes.find(id);
  if (!node) return std::nullopt;
  return NodeView{id,          node->supplier, node->pool,        node->region,
                  node->cards, node->cu,       node->reliability, is_quarantined(*state_, id)};
}

std::vector<NodeView> Engine::nodes() const {
  std::vector<NodeView> views;
  views.reserve(state_->nodes.live_count());
  for (std::uint32_t slot = 0; slot < state_->nodes.slot_count(); ++slot) {
    if (!state_->nodes.is_live(slot)) continue;
    if (auto view = node(static_cast<NodeId>(state_->nodes.id_of(slot)))) views.push_back(*view);
  }
  return views;
}

BookView Engine::book(PoolIndex pool, std::size_t max_levels) const {
  BookView view;
  if (pool >= state_->pools.size()) return view;
  const PoolBook& book = state_->pools[pool];
  view.halted = is_halted(*state_, pool);
  // Every region's levels at one price are one level here: the regions' levels
  // merged by price, without allocating (the read model asks after every command).
  struct Cursor {
    AskLevels::const_iterator at;
    AskLevels::const_iterator end;
  };
  std::array<Cursor, limits::kMaxRegions> cursors{};
  std::size_t regions = 0;
  Level floating;
  for (const RegionAsks& asks : book.asks) {
    floating.cards += asks.floating.cards;
    floating.entries += asks.floating.entries;
    if (!asks.fixed.empty()) cursors[regions++] = {asks.fixed.begin(), asks.fixed.end()};
  }
  // Floating listings form one more level at the index; merge it in price order.
  bool floating_done = floating.entries == 0;
  while (view.asks.size() <= max_levels) {  // one past what is shown ends the walk
    Micros price = std::numeric_limits<Micros>::max();
    for (std::size_t r = 0; r < regions; ++r) {
      if (cursors[r].at != cursors[r].end) price = std::min(price, cursors[r].at->first);
    }
    if (price == std::numeric_limits<Micros>::max()) break;
    Level sum;
    for (std::size_t r = 0; r < regions; ++r) {
      if (cursors[r].at == cursors[r].end || cursors[r].at->first != price) continue;
      sum.cards += cursors[r].at->second.cards;
      sum.entries += cursors[r].at->second.entries;
      ++cursors[r].at;
    }
    if (!floating_done && book.index <= price) {
      view.asks.push_back({book.index, floating.cards, floating.entries});
      floating_done = true;
    }
    view.asks.push_back({price, sum.cards, sum.entries});
  }
  if (!floating_done) view.asks.push_back({book.index, floating.cards, floating.entries});
  if (view.asks.size() > max_levels) view.asks.resize(max_levels);
  for (const auto& [price, level] : book.bids) {
    if (view.bids.size() == max_levels) break;
    view.bids.push_back({price, level.cards, level.entries});
  }
  return view;
}

Micros Engine::index_price(PoolIndex pool) const {
  return pool < state_->pools.size() ? state_->pools[pool].index : 0;
}

AccountView Engine::account(AccountId id) const {
  const AccountRec rec = account_or_empty(*state_, id);
  AccountView view{rec.cash, rec.hold, rec.receivable};
  view.payable = payable_of(*state_, id);
  view.suspended = is_suspended(*state_, id);
  if (const PayoutPlan* plan = find_plan(*state_, id)) {
    view.pays_out_daily = true;
    view.payout_minimum = plan->minimum;
  }
  return view;
}

}  // namespace spotgrid::engine
