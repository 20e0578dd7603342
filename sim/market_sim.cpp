#include "spotgrid/sim/market_sim.hpp"

#include <algorithm>

namespace spotgrid::sim {

using namespace spotgrid::engine;

namespace {
constexpr std::size_t kMaxRemembered = 4'096;  // ids kept per kind; older ones are forgotten
}

MarketSim::MarketSim(const Catalog& catalog, const TariffBook& tariffs, MarketSimOptions options)
    : catalog_(catalog),
      tariffs_(tariffs),
      options_(options),
      rng_(options.seed),
      now_(options.start) {}

template <typename T>
void MarketSim::remember(std::vector<T>& ring, T value) {
  if (ring.size() < kMaxRemembered) {
    ring.push_back(value);
  } else {
    ring[below(ring.size())] = value;
  }
}

Command MarketSim::next() {
  const std::uint32_t setup_commands = options_.buyers + options_.nodes;
  if (setup_step_ < setup_commands) return Command{now_, setup_command()};
  return Command{now_, random_command()};
}

CommandBody MarketSim::setup_command() {
  const std::uint32_t step = setup_step_++;
  if (step < options_.buyers) return Deposit{buyer_account(step), options_.buyer_deposit};
  RegisterNode node;
  node.supplier = supplier_account(static_cast<std::uint32_t>(below(options_.suppliers)));
  node.pool = static_cast<PoolIndex>(below(catalog_.pool_count()));
  node.region = static_cast<RegionIndex>(below(tariffs_.region_count()));
  node.zone = static_cast<std::uint16_t>(below(3));
  node.cards = static_cast<std::uint16_t>(std::array{1, 2, 4, 8, 8, 16}[below(6)]);
  node.reliability = static_cast<BasisPoints>(9'000 + below(1'001));
  pending_nodes_.push_back(node);
  return node;
}

CommandBody MarketSim::random_command() {
  const std::uint64_t roll = below(100);
  if (options_.invalid_commands && roll < 2) return invalid_command();
  if (roll < 27) return PlaceOrder{random_order()};
  if (roll < 42) return random_listing();
  if (roll < 57) {
    now_ += static_cast<Seconds>(1 + below(90));
    return Tick{};
  }
  if (roll < 67) return settle_some_lease();
  if (roll < 74 && !orders_.empty()) {
    const auto& [id, buyer] = orders_[below(orders_.size())];
    return CancelOrder{buyer, id};
  }
  if (roll < 81 && !orders_.empty()) {
    const auto& [id, buyer] = orders_[below(orders_.size())];
    const bool reprice = chance(50);
    return AmendOrder{buyer, id, reprice ? 0u : static_cast<std::uint32_t>(1 + below(4)),
                      reprice ? static_cast<Micros>(300'000 + below(3'000'000)) : 0};
  }
  if (roll < 84 && !listings_.empty()) {
    const auto& [id, supplier] = listings_[below(listings_.size())];
    return WithdrawListing{supplier, id};
  }
  if (roll < 93 && !leases_.empty()) {
    const KnownLease& lease = leases_[below(leases_.size())];
    if (roll < 87) return StopLease{lease.buyer, lease.id};
    if (roll < 90) return ReclaimLease{lease.supplier, lease.id};
    return InterruptLease{lease.id, now_ - static_cast<Seconds>(below(20))};
  }
  if (roll < 97)
    return Deposit{buyer_account(static_cast<std::uint32_t>(below(options_.buyers))),
                   1'000'000'000};
  if (roll < 98)
    return Withdraw{buyer_account(static_cast<std::uint32_t>(below(options_.buyers))), 100'000'000};
  const AccountId supplier =
      supplier_account(static_cast<std::uint32_t>(below(options_.suppliers)));
  if (roll < 99) return Payout{supplier, static_cast<Micros>(10'000 * (1 + below(5'000)))};
  return rule_command(supplier);
}

// Rare: a payout schedule, or the operator halting a pool, quarantining a node,
// setting the platform fee, publishing a tariff schedule, adding a GPU model
// or suspending an account (each as likely to be undone).
CommandBody MarketSim::rule_command(AccountId supplier) {
  const std::uint64_t roll = below(100);
  if (roll < 60)
    return SetPayoutSchedule{supplier, chance(75), static_cast<Micros>(below(20'000'000))};
  if (roll < 75) return HaltPool{static_cast<PoolIndex>(below(catalog_.pool_count())), chance(50)};
  if (roll < 85 && !nodes_.empty())
    return QuarantineNode{nodes_[below(nodes_.size())].id, chance(50)};
  if (roll < 92) return SetPlatformFee{static_cast<BasisPoints>(below(1'001))};
  if (roll < 95) return random_tariff_schedule();
  if (roll < 97) {  // a new model (refused when its name is taken or the catalog is full)
    return AddGpuModel{GpuModel{"SIM-" + std::to_string(below(100)), chance(50) ? "nvidia" : "sim",
                                static_cast<std::uint32_t>(24 + below(200)), 500, 2'000,
                                static_cast<MilliCu>(500 + below(4'000)),
                                static_cast<Micros>(500'000 + below(5'000'000))}};
  }
  const AccountId account =
      chance(50) ? supplier : buyer_account(static_cast<std::uint32_t>(below(options_.buyers)));
  return SuspendAccount{account, chance(50), chance(50)};
}

// Hourly multipliers from x0.5 to x2.0, from an hour up to two days ahead (one
// for an earlier hour than a pending one cancels it).
CommandBody MarketSim::random_tariff_schedule() {
  TariffSchedule schedule{
      (now_ / kSecondsPerHour + 1 + static_cast<Seconds>(below(48))) * kSecondsPerHour,
      tariffs_.schedules().front().regions};
  for (TariffRegion& region : schedule.regions) {
    for (BasisPoints& bp : region.week_bp)
      bp = static_cast<BasisPoints>(5'000 + below(15'001));
  }
  return PublishTariffSchedule{std::move(schedule)};
}

OrderSpec MarketSim::random_order() {
  OrderSpec spec;
  spec.buyer = buyer_account(static_cast<std::uint32_t>(below(options_.buyers)));
  const PoolIndex pool = static_cast<PoolIndex>(below(catalog_.pool_count()));
  const Micros reference = catalog_.model(pool).reference_price_micros_per_card_hour;
  if (chance(20)) {
    spec.target.kind = TargetKind::kClass;
    spec.target.min_memory_gib = static_cast<std::uint32_t>(std::array{0, 40, 64, 80}[below(4)]);
    spec.target.min_cu = static_cast<MilliCu>(below(3) * 500);
    spec.limit_micros_per_hour = static_cast<Micros>(500'000 + below(1'500'000));
  } else {
    spec.target.pool = pool;
    spec.limit_micros_per_hour =
        reference / 2 + static_cast<Micros>(below(static_cast<std::uint64_t>(reference)));
  }
  spec.cards_per_node = chance(20) ? static_cast<std::uint32_t>(std::array{2, 4, 8}[below(3)]) : 0;
  const std::uint32_t slices = static_cast<std::uint32_t>(1 + below(4));
  spec.cards = spec.cards_per_node != 0 ? spec.cards_per_node * slices
                                        : static_cast<std::uint32_t>(1 + below(12));
  spec.duration = static_cast<Seconds>(60 + below(std::uint64_t{4} * 3'600));
  if (chance(25)) {
    spec.strategy = Strategy::kCostFirst;
    spec.latest_start = now_ + static_cast<Seconds>(below(std::uint64_t{12} * 3'600));
  }
  if (chance(30))
    spec.regions = (RegionMask{1} << below(tariffs_.region_count())) | (chance(50) ? 1u : 0u);
  if (chance(30)) spec.min_reliability = static_cast<BasisPoints>(9'000 + below(1'000));
  spec.immediate_or_cancel = chance(10);
  const std::string id = "sim-" + std::to_string(below(1'000'000));
  std::copy(id.begin(), id.end(), spec.client_order_id.bytes.begin());
  spec.client_order_id.length = static_cast<std::uint8_t>(id.size());
  return spec;
}

CommandBody MarketSim::random_listing() {
  if (nodes_.empty()) return Tick{};
  const KnownNode& node = nodes_[below(nodes_.size())];
  AddListing listing;
  listing.supplier = node.supplier;
  listing.node = node.id;
  listing.cards = static_cast<std::uint16_t>(1 + below(node.cards));
  const Micros reference = catalog_.model(node.pool).reference_price_micros_per_card_hour;
  listing.floating = chance(20);
  listing.reserve_micros_per_card_hour =
      reference / 2 + static_cast<Micros>(below(static_cast<std::uint64_t>(reference)));
  listing.from = now_ - 10 + static_cast<Seconds>(below(600));
  listing.until = listing.from + 3'600 + static_cast<Seconds>(below(std::uint64_t{48} * 3'600));
  return listing;
}

// Plays the metering agent: every second of a lease so far was healthy.
CommandBody MarketSim::settle_some_lease() {
  if (leases_.empty()) return Tick{};
  const KnownLease& lease = leases_[below(leases_.size())];
  // The market may stamp a later time than this simulator's clock.
  const UnixSeconds up_to = std::max(std::min(now_, lease.planned_end), lease.start);
  return SettleLease{lease.id, up_to - lease.start,
                     tariffs_.weighted_bp_seconds(lease.region, lease.start, up_to), up_to};
}

CommandBody MarketSim::invalid_command() {
  OrderSpec spec = random_order();
  switch (below(8)) {
    case 0:
      spec.cards = 0;
      break;
    case 1:
      spec.limit_micros_per_hour = -5;
      break;
    case 2:
      spec.target.kind = TargetKind::kModel;
      spec.target.pool = 200;
      break;
    case 3:
      spec.duration = limits::kMaxLeaseDuration + 1;
      break;
    case 4:
      spec.limit_micros_per_hour = INT64_MAX;
      break;
    case 5:
      return CancelOrder{spec.buyer, 0xdead'beef'0000'0001};
    case 6:
      return AddListing{
          supplier_account(0), nodes_.empty() ? 0 : nodes_[0].id, 1, 1'000, false, now_ - 7'200,
          now_ - 3'600};
    default:
      spec.cards_per_node = 3;
      spec.cards = 4;
      break;
  }
  return PlaceOrder{spec};
}

void MarketSim::observe(const std::vector<Event>& events) {
  for (const Event& event : events) {
    if (const auto* node = std::get_if<NodeRegistered>(&event.body)) {
      const RegisterNode& asked = pending_nodes_.front();
      nodes_.push_back(
          KnownNode{node->node, asked.supplier, asked.region, asked.cards, asked.pool});
      pending_nodes_.erase(pending_nodes_.begin());
    } else if (const auto* accepted = std::get_if<OrderAccepted>(&event.body)) {
      remember(orders_, std::pair{accepted->order, accepted->buyer});
    } else if (const auto* listing = std::get_if<ListingAdded>(&event.body)) {
      const auto it = std::find_if(nodes_.begin(), nodes_.end(),
                                   [&](const KnownNode& n) { return n.id == listing->node; });
      if (it != nodes_.end()) remember(listings_, std::pair{listing->listing, it->supplier});
    } else if (const auto* lease = std::get_if<LeaseStarted>(&event.body)) {
      const auto it = std::find_if(nodes_.begin(), nodes_.end(),
                                   [&](const KnownNode& n) { return n.id == lease->node; });
      // A lease on a node this simulator did not register (a market it joined
      // midway) is left to its owner: without the region it cannot be metered.
      if (it != nodes_.end()) {
        remember(leases_, KnownLease{lease->lease, lease->buyer, lease->supplier, it->region,
                                     lease->cards, lease->start, lease->planned_end});
      }
    } else if (const auto* rejected = std::get_if<CommandRejected>(&event.body)) {
      // A node registration can be refused (capacity); keep the pairing in step.
      if (!pending_nodes_.empty() && setup_step_ <= options_.buyers + options_.nodes &&
          rejected->reason == Reject::kCapacityExhausted) {
        pending_nodes_.erase(pending_nodes_.begin());
      }
    }
  }
}

}  // namespace spotgrid::sim
