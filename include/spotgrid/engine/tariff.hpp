#pragma once
// Time-of-use tariffs per region: a multiplier (basis points) for every local
// hour of the week. Weighted seconds (the sum of each second's multiplier) are
// answered in O(1) from weekly prefix sums, so cost-first planning is cheap.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/types.hpp"

namespace spotgrid::engine {

inline constexpr int kHoursPerWeek = 168;

struct TariffRegion {
  std::string region;                                // e.g. "eu-west"
  std::int32_t utc_offset_seconds = 0;               // fixed offset; no DST
  std::array<BasisPoints, kHoursPerWeek> week_bp{};  // Monday 00:00 local first
};

class TariffBook {
 public:
  TariffBook() = default;
  explicit TariffBook(std::vector<TariffRegion> regions);

  std::size_t region_count() const { return regions_.size(); }
  const TariffRegion& region(RegionIndex index) const { return regions_[index].spec; }
  std::optional<RegionIndex> find_region(std::string_view name) const;
  RegionMask all_regions() const;

  BasisPoints multiplier_bp(RegionIndex region, UnixSeconds at) const;
  // Sum over each second s in [from, to) of multiplier_bp(region, s).
  std::int64_t weighted_bp_seconds(RegionIndex region, UnixSeconds from, UnixSeconds to) const;
  // Highest multiplier any second can have in any region of the mask (0 = all regions).
  BasisPoints max_multiplier_bp(RegionMask regions) const;

 private:
  struct Compiled {
    TariffRegion spec;
    std::array<std::int64_t, kHoursPerWeek + 1> prefix_bp_seconds{};
    BasisPoints max_bp = 0;
  };
  // Weighted seconds from an arbitrary origin up to `at`; differences are exact.
  std::int64_t cumulative(const Compiled& region, UnixSeconds at) const;

  std::vector<Compiled> regions_;
};

}  // namespace spotgrid::engine
