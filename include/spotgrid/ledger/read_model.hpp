#pragma once
// The committed read model: what PostgreSQL has committed, in memory, for reads
// on any thread without a hop to the engine thread.
//
// The engine thread renders what each command changed (`changes_of`: the views
// of the accounts, orders, leases, nodes and pools its events name) and the
// change rides with the command to the persister, which publishes it only after
// the transaction holding the command committed, and before the command is
// answered. So a read never shows what a failed commit will undo, and a read
// after a write's answer sees that write (read-your-writes). After a recovery
// the model is rebuilt from the recovered engine, which is exactly the
// committed state. The views are the engine's own (one piece of code decides
// what a book or a balance is); the model only keeps the latest of each.
//
// Orders and leases that have finished leave the engine; the model keeps the
// last `kFinishedKept` of each, so their owners can still read how they ended.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "spotgrid/engine/engine.hpp"

namespace spotgrid::ledger {

// How an order stands: open (its engine state), or finished and how.
enum class OrderEnd : std::uint8_t { kOpen, kCompleted, kCancelled };
std::string_view to_string(OrderEnd end);

struct OrderRecord {
  engine::OrderView view{};  // unfilled_reason: as of the order's last OrderResting
  OrderEnd end = OrderEnd::kOpen;
  bool reason_known = false;  // in a change: whether it says view.unfilled_reason
  bool cancelled = false;     // the buyer cancelled what was open (leases may run on)
};

// A pool's book (best levels) and index as of one committed command.
struct PoolRecord {
  engine::BookView book;
  Micros index = 0;
  std::uint64_t version = 0;  // the command that last changed it
};

// What one applied command changed, as the engine shows it right after it.
struct CommittedChanges {
  std::uint64_t command_seq = 0;
  UnixSeconds at = 0;
  std::vector<std::pair<AccountId, engine::AccountView>> accounts;
  std::vector<OrderRecord> orders;
  std::vector<std::pair<LeaseId, std::optional<engine::LeaseView>>> leases;  // nullopt: gone
  std::vector<engine::LeaseClosed> closed_leases;  // how the gone ones ended
  std::vector<engine::LeaseEnded> ended_leases;    // how the ones that ended ended
  // The command, when it was a settlement: a lease its last settlement closes
  // is gone from the engine, so its final seconds are read from here.
  std::optional<engine::SettleLease> settlement;
  std::vector<engine::NodeView> nodes;
  std::vector<std::pair<PoolIndex, std::shared_ptr<const PoolRecord>>> pools;
  std::shared_ptr<const engine::TariffBook> tariffs;  // when a schedule was published
  std::vector<engine::GpuModel> added_models;         // pools this command added, in order

  bool empty() const {
    return accounts.empty() && orders.empty() && leases.empty() && nodes.empty() && pools.empty() &&
           !tariffs && added_models.empty();
  }
};

inline constexpr std::size_t kBookLevelsKept = 20;

// Engine thread: the views `events` (one command's, just applied) touched.
// O(e log e) for e events, one book render per pool whose book moved (every
// pool on a tick, once a second).
CommittedChanges changes_of(const engine::Engine& engine, std::uint64_t command_seq,
                            const engine::Command& command, std::span<const engine::Event> events);

class ReadModel {
 public:
  static constexpr std::size_t kFinishedKept = 131'072;  // orders, and leases

  // `catalog`, if given, grows with the committed models (DurableMarket's published_catalog).
  explicit ReadModel(std::size_t pools, engine::Catalog* catalog = nullptr);

  // After a recovery (engine thread): everything, from the recovered engine.
  void reset(const engine::Engine& engine);
  // After a commit (persister thread), in command order.
  void publish(std::span<const CommittedChanges* const> changes);

  // Whether the model reflects a recovered market (false until the first reset).
  bool ready() const;
  std::uint64_t committed_seq() const;
  UnixSeconds now() const;  // the time of the last committed command

  engine::AccountView account(AccountId id) const;  // zeros when it never held money
  std::optional<OrderRecord> order(OrderId id) const;
  std::optional<engine::LeaseView> lease(LeaseId id) const;  // live or recently finished
  std::vector<engine::LeaseView> billable_leases() const;    // what the engine still bills
  std::optional<engine::NodeView> node(NodeId id) const;
  std::shared_ptr<const PoolRecord> pool(PoolIndex pool) const;  // null for an unknown pool
  // Every committed tariff schedule (null before the first reset). Read after
  // billable_leases(), it knows every schedule those leases are priced by.
  std::shared_ptr<const engine::TariffBook> tariffs() const;

 private:
  void apply(const CommittedChanges& change);  // under the writer's lock
  void finish_order(const OrderRecord& record);
  void finish_lease(LeaseId id);

  mutable std::shared_mutex mutex_;
  bool ready_ = false;
  std::uint64_t committed_seq_ = 0;
  UnixSeconds now_ = 0;
  std::unordered_map<AccountId, engine::AccountView> accounts_;
  std::unordered_map<OrderId, OrderRecord> orders_;  // open and recently finished
  std::deque<OrderId> finished_orders_;              // oldest first, at most kFinishedKept
  std::unordered_map<LeaseId, engine::LeaseView> live_leases_;
  std::unordered_map<LeaseId, engine::LeaseView> finished_leases_;
  std::deque<LeaseId> finished_lease_order_;
  std::unordered_map<NodeId, engine::NodeView> nodes_;
  std::vector<std::shared_ptr<const PoolRecord>> pools_;
  std::shared_ptr<const engine::TariffBook> tariffs_;
  engine::Catalog* catalog_ = nullptr;
};

}  // namespace spotgrid::ledger
