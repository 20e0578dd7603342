#include "spotgrid/engine/tariff.hpp"

#include <algorithm>
#include "spotgrid/util/check.hpp"

namespace spotgrid::engine {
namespace {

constexpr std::int64_t kSecondsPerWeek = std::int64_t{7} * 24 * 3'600;
// 1970-01-01 was a Thursday: shifting by three days puts Monday 00:00 at zero.
constexpr std::int64_t kEpochToMonday = std::int64_t{3} * 24 * 3'600;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

TariffBook::TariffBook(std::vector<TariffRegion> regions) {
  regions_.reserve(regions.size());
  for (TariffRegion& spec : regions) {
    Compiled compiled;
    compiled.spec = std::move(spec);
    for (int hour = 0; hour < kHoursPerWeek; ++hour) {
      const BasisPoints bp = compiled.spec.week_bp[static_cast<std::size_t>(hour)];
      compiled.prefix_bp_seconds[static_cast<std::size_t>(hour) + 1] =
          compiled.prefix_bp_seconds[static_cast<std::size_t>(hour)] + std::int64_t{bp} * 3'600;
      compiled.max_bp = std::max(compiled.max_bp, bp);
    }
    regions_.push_back(std::move(compiled));
  }
}

std::optional<RegionIndex> TariffBook::find_region(std::string_view name) const {
  for (std::size_t i = 0; i < regions_.size(); ++i) {
    if (regions_[i].spec.region == name) return static_cast<RegionIndex>(i);
  }
  return std::nullopt;
}

RegionMask TariffBook::all_regions() const {
  return regions_.size() >= 64 ? ~RegionMask{0} : (RegionMask{1} << regions_.size()) - 1;
}

BasisPoints TariffBook::multiplier_bp(RegionIndex region, UnixSeconds at) const {
  const Compiled& compiled = regions_[region];
  const std::int64_t local = at + compiled.spec.utc_offset_seconds + kEpochToMonday;
  const std::int64_t in_week = local - floor_div(local, kSecondsPerWeek) * kSecondsPerWeek;
  return compiled.spec.week_bp[static_cast<std::size_t>(in_week / 3'600)];
}

std::int64_t TariffBook::cumulative(const Compiled& region, UnixSeconds at) const {
  const std::int64_t local = at + region.spec.utc_offset_seconds + kEpochToMonday;
  const std::int64_t weeks = floor_div(local, kSecondsPerWeek);
  const std::int64_t in_week = local - weeks * kSecondsPerWeek;
  const auto hour = static_cast<std::size_t>(in_week / 3'600);
  return weeks * region.prefix_bp_seconds[kHoursPerWeek] + region.prefix_bp_seconds[hour] +
         (in_week - static_cast<std::int64_t>(hour) * 3'600) * region.spec.week_bp[hour];
}

std::int64_t TariffBook::weighted_bp_seconds(RegionIndex region, UnixSeconds from,
                                             UnixSeconds to) const {
  SPOTGRID_CHECK(from <= to);
  const Compiled& compiled = regions_[region];
  return cumulative(compiled, to) - cumulative(compiled, from);
}

BasisPoints TariffBook::max_multiplier_bp(RegionMask regions) const {
  BasisPoints max_bp = 0;
  for (std::size_t i = 0; i < regions_.size(); ++i) {
    if (regions == 0 || (regions >> i) & 1u) max_bp = std::max(max_bp, regions_[i].max_bp);
  }
  return max_bp;
}

}  // namespace spotgrid::engine
