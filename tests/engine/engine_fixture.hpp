#pragma once
// A small, hand-made market for unit tests: three models, a flat region and a
// time-of-use region, and helpers that submit one command and read its events.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "spotgrid/engine/engine.hpp"

namespace spotgrid::engine::testing {

// 2026-01-05T00:00:00Z, a Monday.
inline constexpr UnixSeconds kMonday = 1'767'571'200;
inline constexpr PoolIndex kA100 = 0;    // 1.0 CU, nvidia, 80 GiB
inline constexpr PoolIndex kH100 = 1;    // 3.0 CU, nvidia, 80 GiB
inline constexpr PoolIndex kMI300 = 2;   // 4.0 CU, amd, 192 GiB
inline constexpr RegionIndex kFlat = 0;  // always x1.0
inline constexpr RegionIndex kTou =
    1;  // UTC; 00-08 x0.5, 08-18 x1.0, 18-22 x1.5, 22-24 x1.0; weekends x0.5
inline constexpr Micros kUsd = 1'000'000;

inline Catalog test_catalog() {
  return Catalog({
      GpuModel{"A100", "nvidia", 80, 312, 2039, 1'000, 1 * kUsd},
      GpuModel{"H100", "nvidia", 80, 989, 3350, 3'000, 3 * kUsd},
      GpuModel{"MI300", "amd", 192, 1307, 5300, 4'000, 4 * kUsd},
  });
}

inline TariffBook test_tariffs() {
  TariffRegion flat{"flat", 0, {}};
  flat.week_bp.fill(10'000);
  TariffRegion tou{"tou", 0, {}};
  for (int day = 0; day < 7; ++day) {
    for (int hour = 0; hour < 24; ++hour) {
      BasisPoints bp = hour < 8 ? 5'000 : hour < 18 ? 10'000 : hour < 22 ? 15'000 : 10'000;
      if (day >= 5) bp = 5'000;
      tou.week_bp[(static_cast<std::size_t>(day) * 24) + static_cast<std::size_t>(hour)] = bp;
    }
  }
  return TariffBook({flat, tou});
}

class EngineTest : public ::testing::Test {
 protected:
  static constexpr AccountId kBuyer = 1;
  static constexpr AccountId kBuyer2 = 2;
  static constexpr AccountId kSupplier = 10;
  static constexpr AccountId kSupplier2 = 11;

  EngineTest() : EngineTest(EngineConfig{}) {}
  explicit EngineTest(EngineConfig config) : engine(test_catalog(), test_tariffs(), config) {
    submit(Deposit{kBuyer, 1'000'000 * kUsd});
    submit(Deposit{kBuyer2, 1'000'000 * kUsd});
  }

  SubmitResult submit(CommandBody body) {
    events.clear();
    return engine.submit(Command{now, std::move(body)}, events);
  }
  void advance(Seconds seconds) {
    now += seconds;
    submit(Tick{});
  }

  template <typename T>
  std::vector<T> all() const {
    std::vector<T> found;
    for (const Event& event : events) {
      if (const T* body = std::get_if<T>(&event.body)) found.push_back(*body);
    }
    return found;
  }
  template <typename T>
  T only() const {
    const auto found = all<T>();
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? T{} : found.front();
  }

  NodeId node(PoolIndex pool, RegionIndex region, std::uint16_t cards,
              BasisPoints reliability = 10'000, AccountId supplier = kSupplier,
              MilliCu measured_cu = 0) {
    submit(RegisterNode{supplier, pool, region, 0, cards, measured_cu, reliability});
    return only<NodeRegistered>().node;
  }
  ListingId list(NodeId node_id, std::uint16_t cards, Micros price, AccountId supplier = kSupplier,
                 bool floating = false) {
    submit(AddListing{supplier, node_id, cards, price, floating, now,
                      now + (Seconds{7} * 24 * 3'600)});
    return only<ListingAdded>().listing;
  }
  static OrderSpec spec(PoolIndex pool, std::uint32_t cards, Micros limit, Seconds duration = 3'600,
                        AccountId buyer = kBuyer) {
    OrderSpec s;
    s.buyer = buyer;
    s.target.pool = pool;
    s.cards = cards;
    s.duration = duration;
    s.limit_micros_per_hour = limit;
    return s;
  }
  OrderId place(const OrderSpec& s) {
    const SubmitResult result = submit(PlaceOrder{s});
    EXPECT_FALSE(result.rejected) << to_string(*result.rejected);
    return result.rejected ? 0 : only<OrderAccepted>().order;
  }
  void expect_sound() const {
    const auto problems = engine.check_invariants();
    std::string joined;
    for (const auto& p : problems)
      joined += p + "\n";
    EXPECT_TRUE(problems.empty()) << joined;
  }

  Engine engine;
  std::vector<Event> events;
  UnixSeconds now = kMonday;
};

}  // namespace spotgrid::engine::testing
