#include "spotgrid/engine/tariff.hpp"

#include <algorithm>
#include <bit>
#include <set>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/util/check.hpp"

namespace spotgrid::engine {
namespace {

constexpr std::int64_t kSecondsPerWeek = std::int64_t{7} * 24 * 3'600;
// 1970-01-01 was a Thursday: shifting by three days puts Monday 00:00 at zero.
constexpr std::int64_t kEpochToMonday = std::int64_t{3} * 24 * 3'600;
constexpr UnixSeconds kBeginning = std::numeric_limits<UnixSeconds>::min();

// Rounds toward minus infinity. For b > 0 and a >= INT64_MIN + b - 1 (shifted
// Unix times here); with b a constant, one multiply-high and no remainder.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return (a >= 0 ? a : a - (b - 1)) / b;
}
static_assert(floor_div(-1, 7) == -1 && floor_div(-7, 7) == -1 && floor_div(-8, 7) == -2 &&
              floor_div(0, 7) == 0 && floor_div(13, 7) == 1);

}  // namespace

TariffBook::TariffBook(std::vector<TariffRegion> regions)
    : TariffBook(std::vector<TariffSchedule>{TariffSchedule{0, std::move(regions)}}, 0) {}

TariffBook::TariffBook(std::vector<TariffSchedule> schedules, std::uint32_t first_version)
    : published_(first_version) {
  kept_.reserve(schedules.size());
  for (TariffSchedule& schedule : schedules)
    kept_.push_back(compile(std::move(schedule), published_++));
  rebuild_timelines();
}

TariffBook::TariffBook(std::vector<TariffSchedule> schedules,
                       const std::vector<std::uint32_t>& versions, std::uint32_t published)
    : published_(published) {
  SPOTGRID_CHECK(schedules.size() == versions.size());
  kept_.reserve(schedules.size());
  for (std::size_t i = 0; i < schedules.size(); ++i)
    kept_.push_back(compile(std::move(schedules[i]), versions[i]));
  rebuild_timelines();
}

TariffBook::Schedule TariffBook::compile(TariffSchedule schedule, std::uint32_t version) {
  Schedule compiled{schedule.effective_from, version, {}};
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
  compiled.region_count = compiled.regions.size();
  compiled.region_mask =
      compiled.region_count >= 64 ? ~RegionMask{0} : (RegionMask{1} << compiled.region_count) - 1;
  for (const Compiled& region : compiled.regions)
    compiled.max_bp = std::max(compiled.max_bp, region.max_bp);
  return compiled;
}

const std::string& TariffBook::region_name(RegionIndex index) const {
  return kept_.front().regions[index].spec.region;
}

std::optional<RegionIndex> TariffBook::find_region(std::string_view name) const {
  for (std::size_t i = 0; i < region_count(); ++i) {
    if (region_name(static_cast<RegionIndex>(i)) == name) return static_cast<RegionIndex>(i);
  }
  return std::nullopt;
}

std::vector<TariffSchedule> TariffBook::schedules() const {
  std::vector<TariffSchedule> out;
  out.reserve(kept_.size());
  for (const Schedule& kept : kept_) {
    TariffSchedule schedule{kept.from, {}};
    for (const Compiled& region : kept.regions)
      schedule.regions.push_back(region.spec);
    out.push_back(std::move(schedule));
  }
  return out;
}

std::vector<std::uint32_t> TariffBook::versions() const {
  std::vector<std::uint32_t> out;
  out.reserve(kept_.size());
  for (const Schedule& kept : kept_)
    out.push_back(kept.version);
  return out;
}

std::optional<std::string> TariffBook::region_problem(const TariffRegion& region,
                                                      std::string_view name) {
  if (region.region != name) return "must name the market's regions, in its order";
  if (region.utc_offset_seconds < -limits::kMaxUtcOffsetSeconds ||
      region.utc_offset_seconds > limits::kMaxUtcOffsetSeconds) {
    return "holds a utc offset beyond 14 hours";
  }
  if (std::any_of(region.week_bp.begin(), region.week_bp.end(),
                  [](BasisPoints bp) { return bp <= 0 || bp > limits::kMaxTariffMultiplier; })) {
    return "holds a multiplier that is not above 0 and at most " +
           std::to_string(limits::kMaxTariffMultiplier / kBasisPointsOne);
  }
  return std::nullopt;
}

std::optional<TariffRefusal> TariffBook::refusal(const TariffSchedule& schedule,
                                                 UnixSeconds now) const {
  if (schedule.effective_from % kSecondsPerHour != 0)
    return TariffRefusal{"effective_from", "must be on an hour"};
  if (schedule.effective_from <= now)
    return TariffRefusal{"effective_from", "must be in the future"};
  if (schedule.effective_from - now > limits::kMaxTariffNotice) {
    return TariffRefusal{
        "effective_from",
        "must be within " + std::to_string(limits::kMaxTariffNotice / 86'400) + " days"};
  }
  if (schedule.regions.size() != region_count())
    return TariffRefusal{"regions", "must name every region of the market once"};
  for (std::size_t i = 0; i < schedule.regions.size(); ++i) {
    if (auto problem =
            region_problem(schedule.regions[i], region_name(static_cast<RegionIndex>(i))))
      return TariffRefusal{"regions", std::move(*problem)};
  }
  return std::nullopt;
}

bool TariffBook::well_formed(const std::vector<TariffSchedule>& schedules) {
  if (schedules.empty() || schedules.size() > limits::kMaxTariffSchedules) return false;
  const std::vector<TariffRegion>& names = schedules.front().regions;
  std::set<std::string_view> distinct;
  for (const TariffRegion& region : names)
    distinct.insert(region.region);
  if (names.size() > limits::kMaxRegions || distinct.size() != names.size()) return false;
  for (std::size_t version = 0; version < schedules.size(); ++version) {
    const TariffSchedule& schedule = schedules[version];
    if (version > 0 && schedule.effective_from % kSecondsPerHour != 0) return false;
    if (schedule.regions.size() != names.size()) return false;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (region_problem(schedule.regions[i], names[i].region)) return false;
    }
  }
  return true;
}

bool TariffBook::well_formed(const std::vector<TariffSchedule>& schedules,
                             const std::vector<std::uint32_t>& versions, std::uint32_t published) {
  if (!well_formed(schedules) || versions.size() != schedules.size()) return false;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (versions[i] >= published || (i > 0 && versions[i] <= versions[i - 1])) return false;
  }
  return true;
}

void TariffBook::publish(TariffSchedule schedule) {
  SPOTGRID_CHECK(!kept_.empty() && kept_.size() < limits::kMaxTariffSchedules &&
                 schedule.regions.size() == region_count());
  kept_.push_back(compile(std::move(schedule), published_++));
  rebuild_timelines();
}

bool TariffBook::needed(std::size_t index, const TariffNeed& need) const {
  if (kept_[index].version >= need.versions) return false;  // published after the need began
  const Timeline& spans = timeline(need.versions);
  for (std::size_t span = 0; span < spans.size(); ++span) {
    if (spans[span].schedule != index) continue;
    const UnixSeconds until =
        span + 1 < spans.size() ? spans[span + 1].from : std::numeric_limits<UnixSeconds>::max();
    return until > need.from;
  }
  return false;  // replaced before it came into force
}

void TariffBook::compact(std::span<const TariffNeed> needs) {
  // A schedule may go when no need's timeline has it in force at or after the
  // need's first second. Taking it out leaves every need's timeline from that
  // second on as it was: it never was the newest in force there.
  for (std::size_t index = 0; index < kept_.size() && kept_.size() > 1;) {
    if (std::any_of(needs.begin(), needs.end(),
                    [&](const TariffNeed& need) { return needed(index, need); })) {
      ++index;
      continue;
    }
    kept_.erase(kept_.begin() + static_cast<std::ptrdiff_t>(index));
    rebuild_timelines();
  }
}

TariffBook::Timeline TariffBook::timeline_of(std::size_t count) const {
  // From the newest back: a schedule shows only before every newer one starts.
  Timeline spans;
  UnixSeconds newer_start = std::numeric_limits<UnixSeconds>::max();
  for (std::size_t i = count; i-- > 0;) {
    const UnixSeconds from = i == 0 ? kBeginning : kept_[i].from;
    if (from < newer_start) {
      spans.push_back(Span{from, static_cast<std::uint32_t>(i)});
      newer_start = from;
    }
  }
  std::reverse(spans.begin(), spans.end());
  return spans;
}

void TariffBook::rebuild_timelines() {
  timelines_.clear();
  for (std::size_t count = 1; count <= kept_.size(); ++count)
    timelines_.push_back(timeline_of(count));
}

const TariffBook::Timeline& TariffBook::timeline(std::uint32_t versions) const {
  // The kept schedules published before the first `versions`.
  const auto end = std::lower_bound(
      kept_.begin(), kept_.end(), versions,
      [](const Schedule& schedule, std::uint32_t version) { return schedule.version < version; });
  const auto count = static_cast<std::size_t>(end - kept_.begin());
  SPOTGRID_CHECK(count > 0);
  return timelines_[count - 1];
}

std::uint32_t TariffBook::schedule_at(const Timeline& spans, UnixSeconds at) {
  return spans[span_at(spans, at)].schedule;
}

std::size_t TariffBook::span_at(const Timeline& spans, UnixSeconds at) {
  const auto after =
      std::upper_bound(spans.begin() + 1, spans.end(), at,
                       [](UnixSeconds t, const Span& span) { return t < span.from; });
  return static_cast<std::size_t>(after - spans.begin()) - 1;
}

BasisPoints TariffBook::multiplier_bp(RegionIndex region, UnixSeconds at,
                                      std::uint32_t versions) const {
  // One schedule (the usual book) needs no timeline.
  const Compiled& compiled = kept_.size() == 1
                                 ? kept_.front().regions[region]
                                 : kept_[schedule_at(timeline(versions), at)].regions[region];
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
                                             std::uint32_t versions) const {
  SPOTGRID_CHECK(from <= to);
  if (kept_.size() == 1) {  // the usual book: no timeline to walk
    const Compiled& compiled = kept_.front().regions[region];
    return cumulative(compiled, to) - cumulative(compiled, from);
  }
  const Timeline& spans = timeline(versions);
  std::int64_t total = 0;
  // Span by span: each piece of [from, to) under the schedule in force then.
  for (std::size_t span = span_at(spans, from); from < to; ++span) {
    const UnixSeconds until = span + 1 < spans.size() ? std::min(to, spans[span + 1].from) : to;
    const Compiled& compiled = kept_[spans[span].schedule].regions[region];
    total += cumulative(compiled, until) - cumulative(compiled, from);
    from = until;
  }
  return total;
}

BasisPoints TariffBook::max_multiplier_bp(RegionMask regions, UnixSeconds from,
                                          UnixSeconds to) const {
  const RegionMask wanted = all_regions() & (regions == 0 ? ~RegionMask{0} : regions);
  // Every schedule has the same regions (well_formed), so all_regions() is each one's.
  const bool any_region = wanted == all_regions();
  const auto highest_of = [wanted, any_region](const Schedule& schedule) {
    if (any_region) return schedule.max_bp;
    BasisPoints max_bp = 0;
    for (RegionMask bits = wanted; bits != 0; bits &= bits - 1) {
      const auto region = static_cast<std::size_t>(std::countr_zero(bits));
      max_bp = std::max(max_bp, schedule.regions[region].max_bp);
    }
    return max_bp;
  };
  // The usual book, one schedule: no timeline to walk.
  if (kept_.size() == 1) return highest_of(kept_.front());
  const Timeline& spans = timelines_.back();  // every kept schedule's
  BasisPoints max_bp = 0;
  for (std::size_t span = span_at(spans, from); span < spans.size() && spans[span].from < to;
       ++span)
    max_bp = std::max(max_bp, highest_of(kept_[spans[span].schedule]));
  return max_bp;
}

}  // namespace spotgrid::engine
