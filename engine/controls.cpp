// Operator controls: halt a pool, suspend an account, quarantine a node. Each is
// a command like any other, so it is logged, replayed and audited.

#include <algorithm>
#include <map>
#include <vector>

#include "spotgrid/util/check.hpp"

#include "state.hpp"

namespace spotgrid::engine {
namespace {

// Adds or removes `id` in a sorted list; false when it was already so.
template <typename Id>
bool set_member(std::vector<Id>& sorted, Id id, bool member) {
  const auto at = std::lower_bound(sorted.begin(), sorted.end(), id);
  const bool present = at != sorted.end() && *at == id;
  if (present == member) return false;
  if (member) {
    sorted.insert(at, id);
  } else {
    sorted.erase(at);
  }
  return true;
}

void cancel_open_orders(State& state, AccountId buyer) {
  for (std::uint32_t slot = 0; slot < state.orders.slot_count(); ++slot) {
    if (!state.orders.is_live(slot)) continue;
    const OrderRec& order = state.orders[slot];
    if (order.spec.buyer == buyer && order.cards_open > 0)
      cancel_order_slot(state, slot, CancelCause::kOperator);
  }
}

void withdraw_listings(State& state, AccountId supplier) {
  for (std::uint32_t slot = 0; slot < state.listings.slot_count(); ++slot) {
    if (!state.listings.is_live(slot)) continue;
    const ListingRec& listing = state.listings[slot];
    if (listing.supplier == supplier && listing.state != ListingState::kClosed)
      close_listing(state, slot, /*withdrawn=*/true);
  }
}

// A buyer's leases stop; a supplier's end as if reclaimed now, so their buyers
// are requeued for the rest of their time elsewhere.
void stop_leases(State& state, AccountId account) {
  for (std::uint32_t slot = 0; slot < state.leases.slot_count(); ++slot) {
    if (!state.leases.is_live(slot) || !state.leases[slot].active()) continue;
    const LeaseRec& lease = state.leases[slot];
    if (lease.buyer == account) {
      end_lease(state, slot, LeaseEnd::kStopped, state.now, 0);
    } else if (lease.supplier == account && lease.planned_end <= state.now) {
      end_lease(state, slot, LeaseEnd::kCompleted, lease.planned_end, 0);  // due: as a tick would
    } else if (lease.supplier == account) {
      end_lease(state, slot, LeaseEnd::kReclaimed, state.now,
                std::max<Seconds>(lease.planned_end - state.now, 0));
    }
  }
}

}  // namespace

bool controls_sound(const State& state) {
  const OperatorControls& c = state.controls;
  const bool pools_known =
      state.catalog.pool_count() >= 64 || (c.halted_pools >> state.catalog.pool_count()) == 0;
  const auto sorted_unique = [](const auto& ids) {
    return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>{}) == ids.end();
  };
  return pools_known && sorted_unique(c.suspended_accounts) && sorted_unique(c.quarantined_nodes) &&
         std::all_of(c.suspended_accounts.begin(), c.suspended_accounts.end(), valid_account) &&
         std::all_of(c.quarantined_nodes.begin(), c.quarantined_nodes.end(),
                     [&](NodeId node) { return state.nodes.find(node) != nullptr; });
}

bool tariff_versions_sound(const State& state) {
  for (std::uint32_t slot = 0; slot < state.leases.slot_count(); ++slot) {
    if (!state.leases.is_live(slot)) continue;
    if (!state.tariffs.knows(state.leases[slot].tariff_versions)) return false;
  }
  return true;
}

std::optional<Reject> apply_publish_tariff_schedule(State& state,
                                                    const PublishTariffSchedule& command) {
  // First drop what nothing is priced by any more: the live leases' schedules
  // from their start, and the whole book from now on.
  // Per set of schedules, the earliest start of a lease priced by it binds.
  std::map<std::uint32_t, UnixSeconds> earliest;
  for (std::uint32_t slot = 0; slot < state.leases.slot_count(); ++slot) {
    if (!state.leases.is_live(slot)) continue;
    const LeaseRec& lease = state.leases[slot];
    const auto [it, added] = earliest.emplace(lease.tariff_versions, lease.start);
    if (!added) it->second = std::min(it->second, lease.start);
  }
  std::vector<TariffNeed> needs{TariffNeed{TariffBook::kAll, state.now}};
  for (const auto& [versions, from] : earliest)
    needs.push_back(TariffNeed{versions, from});
  state.tariffs.compact(needs);
  state.window_weights.clear();
  if (state.tariffs.refusal(command.schedule, state.now) || state.tariffs.full())
    return Reject::kInvalidTariffSchedule;
  state.tariffs.publish(command.schedule);
  state.window_weights.clear();
  state.emit(
      TariffSchedulePublished{state.tariffs.published() - 1, command.schedule.effective_from});
  return std::nullopt;
}

void add_pool_book(State& state, const GpuModel& model) {
  std::pmr::memory_resource* levels = state.level_arena.resource();
  PoolBook book{.asks = {}, .bids = BidLevels(levels)};
  book.asks.reserve(state.tariffs.region_count());
  for (std::size_t region = 0; region < state.tariffs.region_count(); ++region)
    book.asks.push_back(RegionAsks{.fixed = AskLevels(levels), .floating = {}});
  book.index = model.reference_price_micros_per_card_hour;
  state.pools.push_back(std::move(book));
}

std::optional<Reject> apply_add_gpu_model(State& state, const AddGpuModel& command) {
  if (state.catalog.refusal(command.model)) return Reject::kInvalidGpuModel;
  const PoolIndex pool = state.catalog.add(command.model);
  add_pool_book(state, command.model);
  state.emit(GpuModelAdded{pool});
  return std::nullopt;
}

std::optional<Reject> apply_set_platform_fee(State& state, const SetPlatformFee& command) {
  if (command.fee_bp < 0 || command.fee_bp > limits::kMaxPlatformFeeBp)
    return Reject::kInvalidAmount;
  const BasisPoints previous = state.config.platform_fee_bp;
  state.config.platform_fee_bp = command.fee_bp;
  state.emit(PlatformFeeSet{command.fee_bp, previous});
  return std::nullopt;
}

std::optional<Reject> apply_halt_pool(State& state, const HaltPool& command) {
  if (command.pool >= state.catalog.pool_count()) return Reject::kUnknownPool;
  const PoolMask bit = PoolMask{1} << command.pool;
  const bool was_halted = is_halted(state, command.pool);
  state.controls.halted_pools =
      command.halted ? state.controls.halted_pools | bit : state.controls.halted_pools & ~bit;
  state.emit(PoolHalted{command.pool, command.halted});
  if (was_halted && !command.halted) rematch_pool(state, command.pool);
  return std::nullopt;
}

std::optional<Reject> apply_suspend_account(State& state, const SuspendAccount& command) {
  if (!valid_account(command.account)) return Reject::kUnknownAccount;
  account(state, command.account);  // its view shows the suspension from now on
  set_member(state.controls.suspended_accounts, command.account, command.suspended);
  const bool stopping = command.suspended && command.stop_leases;
  state.emit(AccountSuspended{command.account, command.suspended, stopping});
  if (!command.suspended) return std::nullopt;
  cancel_open_orders(state, command.account);
  withdraw_listings(state, command.account);
  if (stopping) stop_leases(state, command.account);
  return std::nullopt;
}

std::optional<Reject> apply_quarantine_node(State& state, const QuarantineNode& command) {
  const NodeRec* node = state.nodes.find(command.node);
  if (node == nullptr) return Reject::kUnknownNode;
  const bool changed =
      set_member(state.controls.quarantined_nodes, command.node, command.quarantined);
  state.emit(NodeQuarantined{command.node, node->supplier, command.quarantined});
  if (changed && !command.quarantined && !is_halted(state, node->pool))
    rematch_pool(state, node->pool);
  return std::nullopt;
}

}  // namespace spotgrid::engine
