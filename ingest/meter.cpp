#include "spotgrid/ingest/meter.hpp"

#include <algorithm>
#include <bit>

#include "spotgrid/util/check.hpp"

namespace spotgrid::ingest {
namespace {

bool active(const engine::LeaseView& lease) {
  return lease.status == engine::LeaseStatus::kStarting ||
         lease.status == engine::LeaseStatus::kRunning;
}

bool holds(const engine::LeaseView& lease, std::uint32_t card_index) {
  return ((lease.card_mask >> card_index) & 1u) != 0;
}

constexpr Seconds kInterruptRetry = 10;  // resend when the engine has not ended it by then

}  // namespace

Meter::Meter(std::shared_ptr<const engine::TariffBook> tariffs, MeterOptions options)
    : tariffs_(std::move(tariffs)), options_(options) {}

void Meter::use_tariffs(std::shared_ptr<const engine::TariffBook> tariffs) {
  SPOTGRID_CHECK(tariffs != nullptr);
  tariffs_ = std::move(tariffs);
}

void Meter::reconcile(const std::vector<engine::LeaseView>& leases) {
  for (auto& [id, meter] : leases_)
    meter.seen = false;
  for (const engine::LeaseView& lease : leases) {
    auto [it, inserted] = leases_.try_emplace(lease.id);
    LeaseMeter& meter = it->second;
    meter.lease = lease;
    meter.seen = true;
    if (!inserted) continue;
    // Resume from what the engine settled: those seconds were billed as good.
    meter.frontier = std::max(lease.settled_up_to, lease.start);
    meter.healthy = lease.healthy_settled;
    meter.weighted_bp = lease.weighted_settled;
    meter.last_good = meter.frontier - 1;
  }
  std::erase_if(leases_, [](const auto& entry) { return !entry.second.seen; });
  by_node_.clear();
  for (const auto& [id, meter] : leases_)
    by_node_[meter.lease.node].push_back(id);
}

void Meter::track_node(NodeId node) {
  nodes_.try_emplace(node);
}

void Meter::observe(const metering::Sample& sample) {
  NodeTrack& track = nodes_[sample.node];
  const std::uint32_t card = sample.card_index;
  if (sample.second + static_cast<UnixSeconds>(kWindowSeconds) <= track.newest) {
    ++counters_.late_samples;  // too old to matter to any frontier
    return;
  }
  if (is_late(sample)) ++counters_.late_samples;  // kept (by the caller), billed nowhere
  track.newest = std::max(track.newest, sample.second);
  SecondSlot& slot = track.window[static_cast<std::size_t>(sample.second) % kWindowSeconds];
  if (slot.second != sample.second) slot = SecondSlot{sample.second, 0, 0, 0};
  const CardMask bit = CardMask{1} << card;
  slot.reported |= bit;
  if (!sample.healthy) slot.unhealthy |= bit;
  if (std::any_of(sample.xids.begin(), sample.xids.end(), metering::is_fatal_xid))
    slot.fatal |= bit;
  track.last_reported[card] = std::max(track.last_reported[card], sample.second);
  if (sample.healthy) track.last_healthy[card] = std::max(track.last_healthy[card], sample.second);
}

// A sample for a second its lease already decided, or after the lease ended
// early (interrupted, stopped, reclaimed), with no other lease billing it.
bool Meter::is_late(const metering::Sample& sample) const {
  const auto node = by_node_.find(sample.node);
  if (node == by_node_.end()) return false;
  bool late = false;
  for (const LeaseId id : node->second) {
    const LeaseMeter& meter = leases_.at(id);
    const engine::LeaseView& lease = meter.lease;
    if (!holds(lease, sample.card_index) || sample.second < lease.start ||
        sample.second >= lease.planned_end) {
      continue;
    }
    if (sample.second >= meter.frontier && sample.second < lease.billable_end) return false;
    late = true;
  }
  return late;
}

void Meter::advance(LeaseMeter& meter, const NodeTrack& track, UnixSeconds now) {
  const engine::LeaseView& lease = meter.lease;
  UnixSeconds reported_through = now;
  for (CardMask cards = lease.card_mask; cards != 0; cards &= cards - 1) {
    const auto card = static_cast<std::size_t>(std::countr_zero(cards));
    reported_through = std::min(reported_through, track.last_reported[card] + 1);
  }
  const UnixSeconds target = std::min({lease.billable_end, now, reported_through});
  const UnixSeconds oldest = track.newest - static_cast<UnixSeconds>(kWindowSeconds) + 1;
  // The leases and the book are read at slightly different moments: a lease
  // the book cannot price yet (or any more, once closed) waits for the next step.
  if (!tariffs_->knows(lease.tariff_versions)) return;
  while (meter.frontier < target) {
    const UnixSeconds second = meter.frontier;
    const SecondSlot& slot = track.window[static_cast<std::size_t>(second) % kWindowSeconds];
    const bool known = second >= oldest && slot.second == second;
    if (known && (slot.fatal & lease.card_mask) != 0) {
      meter.fatal = true;  // decided no further: the lease ends before this second
      break;
    }
    if (known && (slot.reported & lease.card_mask) == lease.card_mask &&
        (slot.unhealthy & lease.card_mask) == 0) {
      ++meter.healthy;
      meter.weighted_bp += tariffs_->multiplier_bp(lease.region, second, lease.tariff_versions);
      meter.last_good = second;
    }
    ++meter.frontier;
    meter.dirty = true;
  }
}

bool Meter::heartbeat_lost(const LeaseMeter& meter, const NodeTrack* track, UnixSeconds now) const {
  const engine::LeaseView& lease = meter.lease;
  if (track == nullptr) return false;  // a node that never reported is not metered
  for (CardMask cards = lease.card_mask; cards != 0; cards &= cards - 1) {
    const auto card = static_cast<std::size_t>(std::countr_zero(cards));
    const UnixSeconds alive_since = std::max(track->last_healthy[card] + 1, lease.start);
    if (now - alive_since >= options_.heartbeat_timeout) return true;
  }
  return false;
}

void Meter::collect(UnixSeconds now, std::vector<engine::CommandBody>& out) {
  for (auto& [id, meter] : leases_) {
    const auto track = nodes_.find(meter.lease.node);
    const NodeTrack* tracked = track == nodes_.end() ? nullptr : &track->second;
    if (tracked != nullptr) advance(meter, *tracked, now);
    const bool may_interrupt =
        active(meter.lease) &&
        (meter.interrupted_at == 0 || now - meter.interrupted_at >= kInterruptRetry);
    const bool interrupt = may_interrupt && (meter.fatal || heartbeat_lost(meter, tracked, now));
    const bool ending = meter.frontier >= meter.lease.billable_end;
    if (meter.dirty && (interrupt || ending || now - meter.settled_at >= options_.settle_every)) {
      out.emplace_back(engine::SettleLease{id, meter.healthy, meter.weighted_bp, meter.frontier});
      meter.settled_at = now;
      meter.dirty = false;
      ++counters_.settlements;
    }
    if (interrupt) {
      out.emplace_back(engine::InterruptLease{id, meter.last_good});
      meter.interrupted_at = now;
      ++counters_.interruptions;
    }
  }
}

std::vector<CardAssignment> Meter::assignments(NodeId node) const {
  std::vector<CardAssignment> cards;
  const auto leases = by_node_.find(node);
  if (leases == by_node_.end()) return cards;
  for (const LeaseId id : leases->second) {
    const engine::LeaseView& lease = leases_.at(id).lease;
    if (!active(lease)) continue;
    for (CardMask mask = lease.card_mask; mask != 0; mask &= mask - 1)
      cards.push_back({static_cast<std::uint32_t>(std::countr_zero(mask)), id});
  }
  std::sort(cards.begin(), cards.end(), [](const CardAssignment& a, const CardAssignment& b) {
    return a.card_index < b.card_index;
  });
  return cards;
}

LeaseId Meter::lease_at(NodeId node, std::uint32_t card_index, UnixSeconds second) const {
  const auto leases = by_node_.find(node);
  if (leases == by_node_.end()) return 0;
  for (const LeaseId id : leases->second) {
    const engine::LeaseView& lease = leases_.at(id).lease;
    if (holds(lease, card_index) && second >= lease.start && second < lease.planned_end) return id;
  }
  return 0;
}

}  // namespace spotgrid::ingest
