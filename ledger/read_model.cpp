#include "spotgrid/ledger/read_model.hpp"

#include <algorithm>
#include <mutex>
#include <type_traits>
#include <variant>

#include "spotgrid/util/check.hpp"

namespace spotgrid::ledger {

std::string_view to_string(OrderEnd end) {
  switch (end) {
    case OrderEnd::kOpen:
      return "open";
    case OrderEnd::kCompleted:
      return "completed";
    case OrderEnd::kCancelled:
      return "cancelled";
  }
  return "open";
}

namespace {

// Collected with repeats, then sorted and made unique once (a tick may name
// tens of thousands of ids: no quadratic search).
template <typename Id>
void add_once(std::vector<Id>& ids, Id id) {
  if (id != 0) ids.push_back(id);
}

template <typename Id>
void make_unique(std::vector<Id>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

// The ids one command's events name, each once.
struct Touched {
  std::vector<AccountId> accounts;
  std::vector<OrderId> orders;
  std::vector<OrderId> cancelled;
  std::vector<LeaseId> leases;
  std::vector<NodeId> nodes;
  std::vector<PoolIndex> pools;
  std::unordered_map<OrderId, engine::UnfilledReason> resting;  // the last reason said
  std::vector<engine::LeaseClosed> closed;
  std::vector<engine::LeaseEnded> ended;
  bool every_pool = false;  // a book moved where the events do not say which

  bool was_cancelled(OrderId id) const {
    return std::binary_search(cancelled.begin(), cancelled.end(), id);
  }
};

void add_pool(Touched& touched, PoolIndex pool) {
  if (std::find(touched.pools.begin(), touched.pools.end(), pool) == touched.pools.end())
    touched.pools.push_back(pool);
}

void note_order(const engine::Engine& engine, Touched& touched, OrderId order, bool moves_book) {
  add_once(touched.orders, order);
  if (!moves_book) return;
  const auto view = engine.order(order, engine::Engine::ReasonNow::kSkip);
  if (!view) {
    touched.every_pool = true;  // gone: its pool is not known here
  } else if (view->spec.target.kind == engine::TargetKind::kModel) {
    add_pool(touched, view->spec.target.pool);
  }  // class orders show in no pool's book
}

void note_lease(const engine::Engine& engine, Touched& touched, LeaseId lease, bool moves_book) {
  add_once(touched.leases, lease);
  if (!moves_book) return;
  const auto view = engine.lease(lease);
  const auto node = view ? engine.node(view->node) : std::nullopt;
  if (!node) {
    touched.every_pool = true;
    return;
  }
  add_once(touched.nodes, node->id);  // its reliability moves when a lease ends
  add_pool(touched, node->pool);
}

// Supply, funds and the index.
template <typename T>
void note_supply(const engine::Engine& engine, Touched& t, const T& body) {
  if constexpr (std::is_same_v<T, engine::FundsMoved> ||
                std::is_same_v<T, engine::AccountSuspended>) {
    add_once(t.accounts, body.account);
  } else if constexpr (std::is_same_v<T, engine::PayoutSent> ||
                       std::is_same_v<T, engine::PayoutScheduleSet>) {
    add_once(t.accounts, body.supplier);
  } else if constexpr (std::is_same_v<T, engine::NodeRegistered> ||
                       std::is_same_v<T, engine::NodeQuarantined>) {
    add_once(t.nodes, body.node);
    add_once(t.accounts, body.supplier);
  } else if constexpr (std::is_same_v<T, engine::ListingAdded>) {
    add_once(t.nodes, body.node);
    if (const auto node = engine.node(body.node)) add_pool(t, node->pool);
  } else if constexpr (std::is_same_v<T, engine::ListingClosed>) {
    t.every_pool = true;  // rare (a withdrawal or the end of a window)
  } else if constexpr (std::is_same_v<T, engine::IndexPublished> ||
                       std::is_same_v<T, engine::PoolHalted>) {
    add_pool(t, body.pool);
  }
}

template <typename T>
void note_order_event(const engine::Engine& engine, Touched& t, const T& body) {
  if constexpr (std::is_same_v<T, engine::OrderAccepted>) {
    add_once(t.orders, body.order);
    add_once(t.accounts, body.buyer);
  } else if constexpr (std::is_same_v<T, engine::OrderDeferred> ||
                       std::is_same_v<T, engine::OrderFilled> ||
                       std::is_same_v<T, engine::OrderAmended>) {
    note_order(engine, t, body.order, !std::is_same_v<T, engine::OrderDeferred>);
  } else if constexpr (std::is_same_v<T, engine::OrderResting>) {
    note_order(engine, t, body.order, true);
    t.resting[body.order] = body.reason;
  } else if constexpr (std::is_same_v<T, engine::OrderCancelled>) {
    note_order(engine, t, body.order, true);
    add_once(t.cancelled, body.order);
  } else if constexpr (std::is_same_v<T, engine::OrderRequeued>) {
    add_once(t.orders, body.order);
    add_once(t.orders, body.parent);
  } else if constexpr (std::is_same_v<T, engine::RequeueFailed>) {
    add_once(t.orders, body.parent);
  } else if constexpr (std::is_same_v<T, engine::HoldChanged>) {
    add_once(t.accounts, body.buyer);
    add_once(t.orders, body.order);
  }
}

template <typename T>
void note_lease_event(const engine::Engine& engine, Touched& t, const T& body) {
  if constexpr (std::is_same_v<T, engine::LeaseStarted>) {
    add_once(t.leases, body.lease);
    add_once(t.orders, body.order);
    add_once(t.nodes, body.node);
    add_once(t.accounts, body.buyer);
    add_once(t.accounts, body.supplier);
    add_pool(t, body.pool);
  } else if constexpr (std::is_same_v<T, engine::LeaseReclaimNotice>) {
    note_lease(engine, t, body.lease, false);
  } else if constexpr (std::is_same_v<T, engine::LeaseEnded>) {
    note_lease(engine, t, body.lease, true);
    t.ended.push_back(body);
    // Its supplier's earnings can no longer be credited back: they become
    // payable. (A lease that also closed is gone: its LeaseClosed names the node.)
    if (const auto lease = engine.lease(body.lease)) add_once(t.accounts, lease->supplier);
  } else if constexpr (std::is_same_v<T, engine::LeaseSettled>) {
    note_lease(engine, t, body.lease, false);
    add_once(t.orders, body.order);
    add_once(t.accounts, body.buyer);
    add_once(t.accounts, body.supplier);
  } else if constexpr (std::is_same_v<T, engine::LeaseClosed>) {
    add_once(t.leases, body.lease);
    add_once(t.orders, body.order);
    add_once(t.nodes, body.node);  // a lease that ended and closed at once moved it
    if (const auto node = engine.node(body.node)) {
      add_pool(t, node->pool);
      add_once(t.accounts, node->supplier);
    }
    t.closed.push_back(body);
  }
}

Touched touched_by(const engine::Engine& engine, std::span<const engine::Event> events) {
  Touched t;
  for (const engine::Event& event : events) {
    std::visit(
        [&](const auto& body) {
          note_supply(engine, t, body);
          note_order_event(engine, t, body);
          note_lease_event(engine, t, body);
        },
        event.body);
  }
  make_unique(t.accounts);
  make_unique(t.orders);
  make_unique(t.cancelled);
  make_unique(t.leases);
  make_unique(t.nodes);
  return t;
}

std::shared_ptr<const PoolRecord> pool_record(const engine::Engine& engine, PoolIndex pool,
                                              std::uint64_t version) {
  return std::make_shared<const PoolRecord>(
      PoolRecord{engine.book(pool, kBookLevelsKept), engine.index_price(pool), version});
}

OrderRecord order_record(const engine::Engine& engine, const Touched& touched, OrderId id,
                         const engine::Command& command) {
  OrderRecord record;
  record.cancelled = touched.was_cancelled(id);
  if (const auto view = engine.order(id, engine::Engine::ReasonNow::kSkip)) {
    record.view = *view;
    const auto resting = touched.resting.find(id);
    record.reason_known = resting != touched.resting.end();
    if (record.reason_known) record.view.unfilled_reason = resting->second;
    return record;
  }
  // Finished: the model keeps its last view; this says only how it ended (and,
  // for an order placed and finished by one command, what was placed).
  record.view.id = id;
  if (const auto* placed = std::get_if<engine::PlaceOrder>(&command.body))
    record.view.spec = placed->spec;
  record.end = record.cancelled ? OrderEnd::kCancelled : OrderEnd::kCompleted;
  return record;
}

}  // namespace

CommittedChanges changes_of(const engine::Engine& engine, std::uint64_t command_seq,
                            const engine::Command& command, std::span<const engine::Event> events) {
  CommittedChanges changes;
  changes.command_seq = command_seq;
  changes.at = command.now;
  // A tick can open a pending listing, which moves a book without an event.
  const bool tick = std::holds_alternative<engine::Tick>(command.body);
  if (events.empty() && !tick) return changes;
  Touched touched = touched_by(engine, events);
  touched.every_pool = touched.every_pool || tick;
  changes.closed_leases = std::move(touched.closed);
  changes.ended_leases = std::move(touched.ended);
  if (const auto* settle = std::get_if<engine::SettleLease>(&command.body))
    changes.settlement = *settle;
  for (const AccountId account : touched.accounts)
    changes.accounts.emplace_back(account, engine.account(account));
  for (const OrderId order : touched.orders)
    changes.orders.push_back(order_record(engine, touched, order, command));
  for (const LeaseId lease : touched.leases)
    changes.leases.emplace_back(lease, engine.lease(lease));
  for (const NodeId node : touched.nodes) {
    if (auto view = engine.node(node)) changes.nodes.push_back(*view);
  }
  if (touched.every_pool) {
    for (std::size_t pool = 0; pool < engine.catalog().pool_count(); ++pool) {
      const auto index = static_cast<PoolIndex>(pool);
      changes.pools.emplace_back(index, pool_record(engine, index, command_seq));
    }
  } else {
    for (const PoolIndex pool : touched.pools)
      changes.pools.emplace_back(pool, pool_record(engine, pool, command_seq));
  }
  for (const engine::Event& event : events) {
    if (std::holds_alternative<engine::TariffSchedulePublished>(event.body))
      changes.tariffs = std::make_shared<const engine::TariffBook>(engine.tariffs());
    if (const auto* added = std::get_if<engine::GpuModelAdded>(&event.body)) {
      changes.added_models.push_back(engine.catalog().model(added->pool));
      changes.pools.emplace_back(added->pool, pool_record(engine, added->pool, command_seq));
    }
  }
  return changes;
}

ReadModel::ReadModel(std::size_t pools, engine::Catalog* catalog)
    : pools_(pools), catalog_(catalog) {}

void ReadModel::reset(const engine::Engine& engine) {
  std::unordered_map<AccountId, engine::AccountView> accounts;
  for (AccountId id = 1; id < engine.account_count(); ++id) {
    const engine::AccountView view = engine.account(id);
    if (view != engine::AccountView{}) accounts.emplace(id, view);
  }
  std::unordered_map<OrderId, OrderRecord> orders;
  // Unfilled reasons are not planned again here (that would plan every open
  // order on the engine thread while the market is down): they carry over.
  for (const engine::OrderView& view : engine.open_orders(engine::Engine::ReasonNow::kSkip))
    orders.emplace(view.id, OrderRecord{view, OrderEnd::kOpen, false, false});
  std::unordered_map<LeaseId, engine::LeaseView> leases;
  for (const engine::LeaseView& view : engine.billable_leases())
    leases.emplace(view.id, view);
  std::unordered_map<NodeId, engine::NodeView> nodes;
  for (const engine::NodeView& view : engine.nodes())
    nodes.emplace(view.id, view);
  std::vector<std::shared_ptr<const PoolRecord>> pools(engine.catalog().pool_count());
  for (std::size_t pool = 0; pool < pools.size(); ++pool)
    pools[pool] = pool_record(engine, static_cast<PoolIndex>(pool), engine.last_command_seq());
  auto tariffs = std::make_shared<const engine::TariffBook>(engine.tariffs());

  const std::unique_lock lock(mutex_);
  ready_ = true;
  committed_seq_ = engine.last_command_seq();
  now_ = engine.now();
  accounts_ = std::move(accounts);
  // The model held only committed state, so what it knew of an order still
  // open (cancelled with leases running, its last reason) is still true, and
  // finished orders stay.
  for (auto& [id, record] : orders) {
    if (const auto old = orders_.find(id); old != orders_.end()) {
      record.cancelled = old->second.cancelled;
      record.view.unfilled_reason = old->second.view.unfilled_reason;
    }
  }
  for (auto it = orders_.begin(); it != orders_.end();) {
    it = it->second.end == OrderEnd::kOpen ? orders_.erase(it) : std::next(it);
  }
  orders_.merge(orders);
  live_leases_ = std::move(leases);
  nodes_ = std::move(nodes);
  // Names before the books that need them (readers look names up without this lock).
  // Recovery checked the configured catalog leads the market's (durable_market.cpp).
  if (catalog_ != nullptr) SPOTGRID_CHECK(catalog_->extend_to(engine.catalog()));
  pools_ = std::move(pools);
  tariffs_ = std::move(tariffs);
}

void ReadModel::publish(std::span<const CommittedChanges* const> changes) {
  const std::unique_lock lock(mutex_);
  for (const CommittedChanges* change : changes)
    apply(*change);
}

void ReadModel::apply(const CommittedChanges& change) {
  // A change from before the last reset is already in it (never expected:
  // the persister drops a failed epoch's runs before the engine rebuilds).
  if (change.command_seq <= committed_seq_) return;
  committed_seq_ = std::max(committed_seq_, change.command_seq);
  now_ = std::max(now_, change.at);
  for (const auto& [id, view] : change.accounts)
    accounts_[id] = view;
  for (const OrderRecord& record : change.orders) {
    if (record.end != OrderEnd::kOpen) {
      finish_order(record);
      continue;
    }
    OrderRecord& kept = orders_[record.view.id];
    const engine::UnfilledReason reason = kept.view.unfilled_reason;
    const bool cancelled = kept.cancelled;
    kept = record;
    kept.cancelled = cancelled || record.cancelled;
    if (!record.reason_known) kept.view.unfilled_reason = reason;
  }
  for (const auto& [id, view] : change.leases) {
    if (view) {
      live_leases_[id] = *view;
    } else {
      finish_lease(id);
    }
  }
  // A lease this command ended and also closed is gone from the engine, its
  // view the one before: how it ended, and until when, come from the event. (One
  // it ended and left open was read from the engine above.)
  for (const engine::LeaseEnded& ended : change.ended_leases) {
    if (const auto done = finished_leases_.find(ended.lease); done != finished_leases_.end()) {
      done->second.status = ended.reason == engine::LeaseEnd::kInterrupted
                                ? engine::LeaseStatus::kInterrupted
                                : engine::LeaseStatus::kEnded;
      done->second.billable_end = ended.billable_end;
    }
  }
  for (const engine::LeaseClosed& closed : change.closed_leases) {
    if (const auto done = finished_leases_.find(closed.lease); done != finished_leases_.end()) {
      done->second.charged = closed.charged_total;
      if (change.settlement && change.settlement->lease == closed.lease) {
        done->second.healthy_settled = change.settlement->healthy_seconds;
        done->second.weighted_settled = change.settlement->weighted_bp_seconds;
        done->second.settled_up_to = change.settlement->up_to;
      }
      if (done->second.status == engine::LeaseStatus::kRunning ||
          done->second.status == engine::LeaseStatus::kStarting)
        done->second.status = engine::LeaseStatus::kEnded;
    }
  }
  for (const engine::NodeView& node : change.nodes)
    nodes_[node.id] = node;
  for (const engine::GpuModel& model : change.added_models) {
    if (catalog_ == nullptr) continue;
    SPOTGRID_CHECK(!catalog_->find_pool(model.model));  // changes before the last reset are skipped
    catalog_->add(model);
  }
  for (const auto& [pool, record] : change.pools) {
    if (pool >= pools_.size()) pools_.resize(std::size_t{pool} + 1);  // a model added
    pools_[pool] = record;
  }
  if (change.tariffs) tariffs_ = change.tariffs;
}

void ReadModel::finish_order(const OrderRecord& record) {
  OrderRecord& kept = orders_[record.view.id];
  if (kept.end != OrderEnd::kOpen) return;         // already finished
  if (kept.view.id == 0) kept.view = record.view;  // placed and finished by one command
  // Cancelled with leases still running, it ends when they do: still cancelled.
  kept.end = kept.cancelled || record.cancelled ? OrderEnd::kCancelled : record.end;
  kept.view.cards_open = 0;
  kept.view.leases_open = 0;
  kept.view.hold = 0;
  kept.view.unfilled_reason = engine::UnfilledReason::kNone;
  finished_orders_.push_back(record.view.id);
  if (finished_orders_.size() > kFinishedKept) {
    orders_.erase(finished_orders_.front());
    finished_orders_.pop_front();
  }
}

void ReadModel::finish_lease(LeaseId id) {
  const auto live = live_leases_.find(id);
  if (live == live_leases_.end()) return;
  finished_leases_[id] = live->second;
  live_leases_.erase(live);
  finished_lease_order_.push_back(id);
  if (finished_lease_order_.size() > kFinishedKept) {
    finished_leases_.erase(finished_lease_order_.front());
    finished_lease_order_.pop_front();
  }
}

bool ReadModel::ready() const {
  const std::shared_lock lock(mutex_);
  return ready_;
}

std::uint64_t ReadModel::committed_seq() const {
  const std::shared_lock lock(mutex_);
  return committed_seq_;
}

UnixSeconds ReadModel::now() const {
  const std::shared_lock lock(mutex_);
  return now_;
}

engine::AccountView ReadModel::account(AccountId id) const {
  const std::shared_lock lock(mutex_);
  const auto found = accounts_.find(id);
  return found == accounts_.end() ? engine::AccountView{} : found->second;
}

std::optional<OrderRecord> ReadModel::order(OrderId id) const {
  const std::shared_lock lock(mutex_);
  const auto found = orders_.find(id);
  if (found == orders_.end()) return std::nullopt;
  return found->second;
}

std::optional<engine::LeaseView> ReadModel::lease(LeaseId id) const {
  const std::shared_lock lock(mutex_);
  if (const auto live = live_leases_.find(id); live != live_leases_.end()) return live->second;
  if (const auto done = finished_leases_.find(id); done != finished_leases_.end())
    return done->second;
  return std::nullopt;
}

std::vector<engine::LeaseView> ReadModel::billable_leases() const {
  const std::shared_lock lock(mutex_);
  std::vector<engine::LeaseView> views;
  views.reserve(live_leases_.size());
  for (const auto& [id, view] : live_leases_)
    views.push_back(view);
  std::sort(views.begin(), views.end(),
            [](const engine::LeaseView& a, const engine::LeaseView& b) { return a.id < b.id; });
  return views;
}

std::optional<engine::NodeView> ReadModel::node(NodeId id) const {
  const std::shared_lock lock(mutex_);
  const auto found = nodes_.find(id);
  if (found == nodes_.end()) return std::nullopt;
  return found->second;
}

std::shared_ptr<const PoolRecord> ReadModel::pool(PoolIndex pool) const {
  const std::shared_lock lock(mutex_);
  return pool < pools_.size() ? pools_[pool] : nullptr;
}

std::shared_ptr<const engine::TariffBook> ReadModel::tariffs() const {
  const std::shared_lock lock(mutex_);
  return tariffs_;
}

}  // namespace spotgrid::ledger
