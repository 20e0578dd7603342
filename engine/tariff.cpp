#include "spotgrid/engine/tariff.hpp"

#include <algorithm>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/util/check.hpp"

namespace spotgrid::engine {
namespace {

constexpr std::int64_t kSecondsPerWeek = std::int64_t{7} * 24 * 3'600;
// 1970-01-01 was a Thursday: shifting by three days puts Monday 00:00 at zero.
constexpr std::int64_t kEpochToMonday = std::int64_t{3} * 24 * 3'600;
constexpr std::int32_t kMaxUtcOffsetSeconds = 14 * 3'600;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

TariffBook::TariffBook(std::vector<TariffRegion> regions)
    : TariffBook(std::vector<TariffSchedule>{TariffSchedule{0, std::move(regions)}}) {}

TariffBook::TariffBook(std::vector<TariffSchedule> schedules) {
  schedules_.reserve(schedules.size());
  for (TariffSchedule& schedule : schedules)
    schedules_.push_back(compile(std::move(schedule)));
  if (!schedules_.empty()) schedules_.front().from = std::numeric_limits<UnixSeconds>::min();
}

TariffBook::Schedule TariffBook::compile(TariffSchedule schedule) {
  Schedule compiled{schedule.effective_from, {}};
  compiled.regions.reserve(schedule.regions.size());
  for (TariffRegion& spec : schedule.regions) {
    Compiled region;
    region.spec = std::move(spec);
    for (std::size_t hour = 0; hour < kHoursPerWeek; ++hour) {
      const BasisPoints bp = region.spec.week_bp[hour];
      region.prefix_bp_seconds[hour + 1] =
          region.prefix_bp_seconds[hour] + std::int64_t{bp} * 3'600;
      region.max_bp = std::max(region.max_bp, bp);
    }
    compiled.regions.push_back(std::move(region));
  }
  return compiled;
}

std::size_t TariffBook::region_count() const {
  return schedules_.empty() ? 0 : schedules_.front().regions.size();
}

const TariffRegion& TariffBook::region(RegionIndex index) const {
  return schedules_.back().regions[index].spec;
}

std::optional<RegionIndex> TariffBook::find_region(std::string_view name) const {
  for (std::size_t i = 0; i < region_count(); ++i) {
    if (region(static_cast<RegionIndex>(i)).region == name) return static_cast<RegionIndex>(i);
  }
  return std::nullopt;
}

RegionMask TariffBook::all_regions() const {
  return region_count() >= 64 ? ~RegionMask{0} : (RegionMask{1} << region_count()) - 1;
}

std::vector<TariffSchedule> TariffBook::schedules() const {
  std::vector<TariffSchedule> out;
  out.reserve(schedules_.size());
  for (std::size_t version = 0; version < schedules_.size(); ++version) {
    TariffSchedule schedule{version == 0 ? 0 : schedules_[version].from, {}};
    for (const Compiled& region : schedules_[version].regions)
      schedule.regions.push_back(region.spec);
    out.push_back(std::move(schedule));
  }
  return out;
}

const char* TariffBook::region_refusal(const TariffRegion& region, std::string_view name) {
  if (region.region != name) return "the regions are not the book's";
  if (region.utc_offset_seconds < -kMaxUtcOffsetSeconds ||
      region.utc_offset_seconds > kMaxUtcOffsetSeconds) {
    return "a utc offset is beyond 14 hours";
  }
  if (std::any_of(region.week_bp.begin(), region.week_bp.end(),
                  [](BasisPoints bp) { return bp <= 0 || bp > limits::kMaxTariffMultiplier; })) {
    return "a multiplier is not within (0, 10]";
  }
  return nullptr;
}

const char* TariffBook::refusal(const TariffSchedule& schedule, UnixSeconds now) const {
  if (schedules_.size() >= limits::kMaxTariffSchedules) return "the book holds its most schedules";
  if (schedule.effective_from % kSecondsPerHour != 0) return "effective_from is not on an hour";
  if (schedule.effective_from <= now) return "effective_from is not in the future";
  if (schedule.effective_from - now > limits::kMaxTariffNotice)
    return "effective_from is more than 366 days ahead";
  if (schedule.effective_from < schedules_.back().from)
    return "effective_from is before the newest schedule's";
  if (schedule.regions.size() != region_count()) return "the regions are not the book's";
  for (std::size_t i = 0; i < schedule.regions.size(); ++i) {
    if (const char* refused =
            region_refusal(schedule.regions[i], region(static_cast<RegionIndex>(i)).region))
      return refused;
  }
  return nullptr;
}

bool TariffBook::well_formed(const std::vector<TariffSchedule>& schedules) {
  if (schedules.empty() || schedules.size() > limits::kMaxTariffSchedules) return false;
  const std::vector<TariffRegion>& names = schedules.front().regions;
  if (names.size() > limits::kMaxRegions) return false;
  for (std::size_t version = 0; version < schedules.size(); ++version) {
    const TariffSchedule& schedule = schedules[version];
    if (version > 0 &&
        (schedule.effective_from % kSecondsPerHour != 0 ||
         (version > 1 && schedule.effective_from < schedules[version - 1].effective_from)))
      return false;
    if (schedule.regions.size() != names.size()) return false;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (region_refusal(schedule.regions[i], names[i].region) != nullptr) return false;
    }
  }
  return true;
}

void TariffBook::publish(TariffSchedule schedule) {
  SPOTGRID_CHECK(!schedules_.empty() && schedules_.size() < limits::kMaxTariffSchedules &&
                 schedule.regions.size() == region_count() &&
                 schedule.effective_from >= schedules_.back().from);
  schedules_.push_back(compile(std::move(schedule)));
}

std::size_t TariffBook::in_force(UnixSeconds at, std::size_t versions) const {
  const std::size_t known = std::min(versions, schedules_.size());
  SPOTGRID_CHECK(known > 0);
  // The last of the known schedules whose start is not after `at`; the first always qualifies.
  const auto end = schedules_.begin() + static_cast<std::ptrdiff_t>(known);
  const auto after = std::upper_bound(schedules_.begin() + 1, end, at,
                                      [](UnixSeconds t, const Schedule& s) { return t < s.from; });
  return static_cast<std::size_t>(after - schedules_.begin()) - 1;
}

BasisPoints TariffBook::multiplier_bp(RegionIndex region, UnixSeconds at,
                                      std::size_t versions) const {
  const Compiled& compiled = schedules_[in_force(at, versions)].regions[region];
  const std::int64_t local = at + compiled.spec.utc_offset_seconds + kEpochToMonday;
  const std::int64_t in_week = local - floor_div(local, kSecondsPerWeek) * kSecondsPerWeek;
  return compiled.spec.week_bp[static_cast<std::size_t>(in_week / 3'600)];
}

std::int64_t TariffBook::cumulative(const Compiled& region, UnixSeconds at) {
  const std::int64_t local = at + region.spec.utc_offset_seconds + kEpochToMonday;
  const std::int64_t weeks = floor_div(local, kSecondsPerWeek);
  const std::int64_t in_week = local - weeks * kSecondsPerWeek;
  const auto hour = static_cast<std::size_t>(in_week / 3'600);
  return weeks * region.prefix_bp_seconds[kHoursPerWeek] + region.prefix_bp_seconds[hour] +
         (in_week - static_cast<std::int64_t>(hour) * 3'600) * region.spec.week_bp[hour];
}

std::int64_t TariffBook::weighted_bp_seconds(RegionIndex region, UnixSeconds from, UnixSeconds to,
                                             std::size_t versions) const {
  SPOTGRID_CHECK(from <= to);
  const std::size_t known = std::min(versions, schedules_.size());
  std::int64_t total = 0;
  // Span by span: each piece of [from, to) under the schedule in force then.
  for (UnixSeconds at = from; at < to;) {
    const std::size_t version = in_force(at, known);
    const UnixSeconds until = version + 1 < known ? std::min(to, schedules_[version + 1].from) : to;
    const Compiled& compiled = schedules_[version].regions[region];
    total += cumulative(compiled, until) - cumulative(compiled, at);
    at = until;
  }
  return total;
}

BasisPoints TariffBook::max_multiplier_bp(RegionMask regions, UnixSeconds from) const {
  BasisPoints max_bp = 0;
  for (std::size_t version = in_force(from, kAll); version < schedules_.size(); ++version) {
    const std::vector<Compiled>& compiled = schedules_[version].regions;
    for (std::size_t i = 0; i < compiled.size(); ++i) {
      if (regions == 0 || (regions >> i) & 1u) max_bp = std::max(max_bp, compiled[i].max_bp);
    }
  }
  return max_bp;
}

}  // namespace spotgrid::engine
