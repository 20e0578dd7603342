#pragma once
// Per-second billing from samples (docs/architecture.md#per-second-billing). The meter keeps,
// per node, the last kWindowSeconds seconds of which cards reported and whether healthily,
// and per lease the seconds decided so far. A lease second is decided once
// every card of the lease has reported that second or a later one; it counts
// when every card of the lease reported healthy in it (a gang job needs all of
// its cards). Totals are cumulative, so the engine's SettleLease bills deltas
// and rounding never accumulates.
//
// Faults: a fatal XID on a leased card, or no healthy sample from one of its
// cards for `heartbeat_timeout`, interrupts the lease at its last fully
// healthy second. Pure and single-threaded: the caller locks and supplies the
// clock, the leases (from the engine) and the samples (once durable).
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/engine/tariff.hpp"
#include "spotgrid/metering/sample.hpp"

namespace spotgrid::ingest {

struct MeterOptions {
  Seconds heartbeat_timeout = 10;
  Seconds settle_every = 5;  // a lease's totals go to the engine at most this often
};

struct MeterCounters {
  std::uint64_t late_samples = 0;  // for seconds already decided or out of the window
  std::uint64_t settlements = 0;
  std::uint64_t interruptions = 0;
};

struct CardAssignment {
  std::uint32_t card_index = 0;
  LeaseId lease = 0;
};

class Meter {
 public:
  static constexpr std::size_t kWindowSeconds = 64;

  Meter(std::shared_ptr<const engine::TariffBook> tariffs, MeterOptions options);

  // The market's committed schedules, at least as new as the leases' (read
  // after them): each lease is priced by the first `tariff_versions`.
  void use_tariffs(std::shared_ptr<const engine::TariffBook> tariffs);
  // The engine's leases still being billed; new ones start metering from what
  // the engine already settled, vanished ones are forgotten.
  void reconcile(const std::vector<engine::LeaseView>& leases);
  // A node whose agent has reported before (at start, from PostgreSQL): its
  // leases are held to the heartbeat even before its first sample arrives.
  void track_node(NodeId node);
  // A durable sample.
  void observe(const metering::Sample& sample);
  // Decides what can be decided up to `now` and appends the commands due:
  // settlements (every settle_every, and at a lease's end) and interruptions.
  void collect(UnixSeconds now, std::vector<engine::CommandBody>& out);

  std::vector<CardAssignment> assignments(NodeId node) const;
  // The lease holding a node's card at a second, or 0.
  LeaseId lease_at(NodeId node, std::uint32_t card_index, UnixSeconds second) const;
  const MeterCounters& counters() const { return counters_; }

 private:
  struct SecondSlot {
    UnixSeconds second = -1;
    CardMask reported = 0;
    CardMask unhealthy = 0;
    CardMask fatal = 0;
  };
  struct NodeTrack {
    std::array<SecondSlot, kWindowSeconds> window{};
    std::array<UnixSeconds, limits::kMaxCardsPerNode> last_reported{};
    std::array<UnixSeconds, limits::kMaxCardsPerNode> last_healthy{};
    UnixSeconds newest = 0;
  };
  struct LeaseMeter {
    engine::LeaseView lease;
    UnixSeconds frontier = 0;  // seconds before it are decided
    Seconds healthy = 0;
    std::int64_t weighted_bp = 0;
    UnixSeconds last_good = 0;  // the last second every card was healthy
    UnixSeconds settled_at = 0;
    bool dirty = false;              // totals moved since the last settlement
    UnixSeconds interrupted_at = 0;  // when an InterruptLease was sent (0: not)
    bool fatal = false;              // a fatal XID stopped the frontier
    bool seen = false;               // in the latest reconcile
  };

  bool is_late(const metering::Sample& sample) const;
  void advance(LeaseMeter& meter, const NodeTrack& track, UnixSeconds now);
  bool heartbeat_lost(const LeaseMeter& meter, const NodeTrack* track, UnixSeconds now) const;

  std::shared_ptr<const engine::TariffBook> tariffs_;
  MeterOptions options_;
  std::unordered_map<NodeId, NodeTrack> nodes_;
  std::unordered_map<LeaseId, LeaseMeter> leases_;
  std::unordered_map<NodeId, std::vector<LeaseId>> by_node_;
  MeterCounters counters_;
};

}  // namespace spotgrid::ingest
