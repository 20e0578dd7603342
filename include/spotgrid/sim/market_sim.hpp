#pragma once
// A seeded market simulator: generates a plausible command stream that exercises
// every engine command (and some bad input), learning ids from the events the
// engine answered. The demo, the randomised tests and the benchmarks all drive
// the engine through it, the same way the server will.

#include <cstdint>
#include <random>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/event.hpp"
#include "spotgrid/engine/tariff.hpp"

namespace spotgrid::sim {

struct MarketSimOptions {
  std::uint64_t seed = 1;
  UnixSeconds start = 1'767'222'000;  // 2025-12-31T23:00:00Z: the run crosses a midnight
  std::uint32_t buyers = 8;
  std::uint32_t suppliers = 4;
  std::uint32_t nodes = 24;
  Micros buyer_deposit = 50'000'000'000;  // 50'000 USD each
  bool invalid_commands = true;           // mix in bad input (about 2 %)
};

class MarketSim {
 public:
  MarketSim(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
            MarketSimOptions options);

  // Set-up commands first (deposits, nodes), then a random mix.
  engine::Command next();
  // Feed back what the engine answered to the last command.
  void observe(const std::vector<engine::Event>& events);

  UnixSeconds now() const { return now_; }

 private:
  struct KnownLease {
    LeaseId id;
    AccountId buyer;
    AccountId supplier;
    RegionIndex region;
    std::uint16_t cards;
    UnixSeconds start;
    UnixSeconds planned_end;
  };
  struct KnownNode {
    NodeId id;
    AccountId supplier;
    RegionIndex region;
    std::uint16_t cards;
    PoolIndex pool;
  };

  engine::CommandBody setup_command();
  engine::CommandBody random_command();
  engine::OrderSpec random_order();
  engine::CommandBody random_listing();
  engine::CommandBody settle_some_lease();
  engine::CommandBody random_tariff_schedule();
  engine::CommandBody invalid_command();
  engine::CommandBody rule_command(AccountId supplier);
  std::uint64_t below(std::uint64_t bound) { return bound == 0 ? 0 : rng_() % bound; }
  bool chance(std::uint32_t percent) { return below(100) < percent; }
  AccountId buyer_account(std::uint32_t index) const { return 1 + index; }
  AccountId supplier_account(std::uint32_t index) const { return 1 + options_.buyers + index; }
  template <typename T>
  void remember(std::vector<T>& ring, T value);

  const engine::Catalog& catalog_;
  const engine::TariffBook& tariffs_;
  MarketSimOptions options_;
  std::mt19937_64 rng_;
  UnixSeconds now_;
  std::uint32_t setup_step_ = 0;
  std::vector<engine::RegisterNode> pending_nodes_;
  std::vector<KnownNode> nodes_;
  std::vector<std::pair<OrderId, AccountId>> orders_;
  std::vector<std::pair<ListingId, AccountId>> listings_;
  std::vector<KnownLease> leases_;
};

}  // namespace spotgrid::sim
