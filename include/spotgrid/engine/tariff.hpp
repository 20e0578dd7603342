#pragma once
// Time-of-use tariffs per region: a multiplier (basis points) for every local
// hour of the week. Weighted seconds (the sum of each second's multiplier) are
// answered in O(1) per schedule from weekly prefix sums, so cost-first planning
// is cheap.
//
// The book is a list of schedules in the order they were published. The first
// is in force from the beginning of time; each later one from its
// `effective_from` on (an hour boundary), replacing whatever came before from
// then on. A lease is priced by the schedules published before it started
// (`versions`: how many), so its cost is fixed when it starts.

#include <array>
#include <cstdint>
#include <limits>
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

// One published schedule, its regions in the book's region order.
struct TariffSchedule {
  UnixSeconds effective_from = 0;  // ignored for the first schedule: always in force
  std::vector<TariffRegion> regions;
};

class TariffBook {
 public:
  // All the schedules a caller knows of.
  static constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

  TariffBook() = default;
  // A book of one schedule, in force always.
  explicit TariffBook(std::vector<TariffRegion> regions);
  // Schedules as published (a snapshot's); the caller has validated them.
  explicit TariffBook(std::vector<TariffSchedule> schedules);

  std::size_t region_count() const;
  // A region's name and its latest published hours.
  const TariffRegion& region(RegionIndex index) const;
  std::optional<RegionIndex> find_region(std::string_view name) const;
  RegionMask all_regions() const;

  std::size_t version_count() const { return schedules_.size(); }
  std::vector<TariffSchedule> schedules() const;
  UnixSeconds effective_from(std::size_t version) const { return schedules_[version].from; }
  // Publishes `schedule` (validated: see valid_schedule) as the newest version.
  void publish(TariffSchedule schedule);
  // Why `schedule` cannot follow this book's, or nullptr: it must name exactly
  // the book's regions, with offsets within ±14 h and multipliers within
  // (0, kMaxTariffMultiplier], start on an hour, after `now` and no earlier than
  // the newest schedule (at the same hour it replaces one not yet in force), and
  // the book holds at most limits::kMaxTariffSchedules.
  const char* refusal(const TariffSchedule& schedule, UnixSeconds now) const;

  // Schedules a book may be built from: at least one and at most
  // limits::kMaxTariffSchedules, the same region names in each, multipliers
  // within (0, kMaxTariffMultiplier], each later one from an hour no earlier
  // than the one before.
  static bool well_formed(const std::vector<TariffSchedule>& schedules);

  // The multiplier of second `at`, by the first `versions` schedules.
  BasisPoints multiplier_bp(RegionIndex region, UnixSeconds at, std::size_t versions = kAll) const;
  // Sum over each second s in [from, to) of multiplier_bp(region, s, versions).
  std::int64_t weighted_bp_seconds(RegionIndex region, UnixSeconds from, UnixSeconds to,
                                   std::size_t versions = kAll) const;
  // Highest multiplier any second from `from` on can have in any region of the
  // mask (0 = all regions), by every schedule.
  BasisPoints max_multiplier_bp(RegionMask regions, UnixSeconds from) const;

 private:
  struct Compiled {
    TariffRegion spec;
    std::array<std::int64_t, kHoursPerWeek + 1> prefix_bp_seconds{};
    BasisPoints max_bp = 0;
  };
  struct Schedule {
    UnixSeconds from = std::numeric_limits<UnixSeconds>::min();
    std::vector<Compiled> regions;
  };
  static Schedule compile(TariffSchedule schedule);
  // Why a schedule's region cannot stand for the book's region `name`, or nullptr.
  static const char* region_refusal(const TariffRegion& region, std::string_view name);
  // Weighted seconds from an arbitrary origin up to `at`; differences are exact.
  static std::int64_t cumulative(const Compiled& region, UnixSeconds at);
  // The schedule in force at `at` among the first `versions`.
  std::size_t in_force(UnixSeconds at, std::size_t versions) const;

  std::vector<Schedule> schedules_;
};

}  // namespace spotgrid::engine
