#pragma once
// Time-of-use tariffs per region: a multiplier (basis points) for every local
// hour of the week. Weighted seconds (the sum of each second's multiplier) are
// answered from weekly prefix sums, so cost-first planning is cheap.
//
// The book is a list of schedules in the order they were published, each with
// a version (0, 1, 2, ... for ever). The first is in force from the beginning
// of time; each later one from its `effective_from` on, replacing whatever the
// earlier ones said from then on (so a schedule for an earlier hour also
// cancels one pending for a later hour). A lease is priced by the schedules
// published before it started (`versions`: how many), so its cost is fixed
// when it starts. Schedules that neither a live lease nor any second from now
// on can be priced by are dropped (`compact`), wherever they are in the list;
// versions keep counting.

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spotgrid/engine/limits.hpp"
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

// Why a schedule cannot be published: the field at fault and the problem.
struct TariffRefusal {
  const char* field;
  std::string problem;
};

// What a compaction must keep: the schedules a lease started under
// (`versions`) for its seconds from `from` on; the whole book from now on.
struct TariffNeed {
  std::uint32_t versions = 0;
  UnixSeconds from = 0;
};

class TariffBook {
 public:
  // Every schedule the book holds.
  static constexpr std::uint32_t kAll = std::numeric_limits<std::uint32_t>::max();

  TariffBook() = default;
  // A book of one schedule, in force always.
  explicit TariffBook(std::vector<TariffRegion> regions);
  // Schedules as published, versions `first_version` on.
  TariffBook(std::vector<TariffSchedule> schedules, std::uint32_t first_version);
  // The schedules a book kept and their versions, of `published` (a
  // snapshot's); the caller has checked them (well_formed).
  TariffBook(std::vector<TariffSchedule> schedules, const std::vector<std::uint32_t>& versions,
             std::uint32_t published);

  // Inline, from the first schedule's own count: asked for on every order, and
  // every schedule names the same regions.
  std::size_t region_count() const { return kept_.empty() ? 0 : kept_.front().region_count; }
  const std::string& region_name(RegionIndex index) const;
  std::optional<RegionIndex> find_region(std::string_view name) const;
  RegionMask all_regions() const { return kept_.empty() ? 0 : kept_.front().region_mask; }

  // Schedules ever published: the version the next one gets.
  std::uint32_t published() const { return published_; }
  // Whether the book keeps some of the first `versions` schedules (all a lease
  // started under them needs, compaction sees to that).
  bool knows(std::uint32_t versions) const {
    return versions <= published_ && !kept_.empty() && kept_.front().version < versions;
  }
  // The kept schedules, oldest first, and their versions.
  std::vector<TariffSchedule> schedules() const;
  std::vector<std::uint32_t> versions() const;

  // Why `schedule` cannot be published at `now`, or nullopt: it must name
  // exactly the book's regions (in its order) with offsets within ±14 h and
  // multipliers within (0, limits::kMaxTariffMultiplier], start on an hour
  // after `now` and within limits::kMaxTariffNotice.
  std::optional<TariffRefusal> refusal(const TariffSchedule& schedule, UnixSeconds now) const;
  // Whether the book keeps limits::kMaxTariffSchedules already (compact first).
  bool full() const { return kept_.size() >= limits::kMaxTariffSchedules; }
  void publish(TariffSchedule schedule);  // one `refusal` accepted, into a book not full
  // Drops the oldest schedules that no need can be priced by.
  void compact(std::span<const TariffNeed> needs);
  // Schedules a book may keep: at least one and at most
  // limits::kMaxTariffSchedules, the same distinct region names in each, valid
  // offsets and multipliers, each later one from an hour.
  static bool well_formed(const std::vector<TariffSchedule>& schedules);
  // And versions rising, one per schedule, each below `published`.
  static bool well_formed(const std::vector<TariffSchedule>& schedules,
                          const std::vector<std::uint32_t>& versions, std::uint32_t published);

  // The multiplier of second `at`, by the first `versions` schedules.
  BasisPoints multiplier_bp(RegionIndex region, UnixSeconds at,
                            std::uint32_t versions = kAll) const;
  // Sum over each second s in [from, to) of multiplier_bp(region, s, versions).
  std::int64_t weighted_bp_seconds(RegionIndex region, UnixSeconds from, UnixSeconds to,
                                   std::uint32_t versions = kAll) const;
  // Highest multiplier any second of [from, to) can have in any region of the
  // mask (0 = all regions), by every schedule.
  BasisPoints max_multiplier_bp(RegionMask regions, UnixSeconds from, UnixSeconds to) const;

 private:
  struct Compiled {
    TariffRegion spec;
    std::array<std::int64_t, kHoursPerWeek + 1> prefix_bp_seconds{};
    BasisPoints max_bp = 0;
  };
  struct Schedule {
    UnixSeconds from = 0;
    std::uint32_t version = 0;
    std::vector<Compiled> regions;
    std::size_t region_count = 0;  // regions.size(), without its division
    RegionMask region_mask = 0;    // one bit per region
    BasisPoints max_bp = 0;        // the highest of every region's: what an any-region order asks
  };
  // Which kept schedule is in force from `from` until the next span's start.
  struct Span {
    UnixSeconds from;
    std::uint32_t schedule;
  };
  using Timeline = std::vector<Span>;

  static Schedule compile(TariffSchedule schedule, std::uint32_t version);
  static std::optional<std::string> region_problem(const TariffRegion& region,
                                                   std::string_view name);
  // Weighted seconds from an arbitrary origin up to `at`; differences are exact.
  static std::int64_t cumulative(const Compiled& region, UnixSeconds at);
  // The spans of the first `count` kept schedules: the newest published
  // starting at or before a second is in force then (the first from -inf).
  Timeline timeline_of(std::size_t count) const;
  void rebuild_timelines();
  // The timeline of the schedules the first `versions` published and kept.
  const Timeline& timeline(std::uint32_t versions) const;
  // Whether kept schedule `index` prices some second of `need`.
  bool needed(std::size_t index, const TariffNeed& need) const;
  static std::size_t span_at(const Timeline& timeline, UnixSeconds at);
  static std::uint32_t schedule_at(const Timeline& timeline, UnixSeconds at);

  std::uint32_t published_ = 0;
  std::vector<Schedule> kept_;
  std::vector<Timeline> timelines_;  // [k]: the timeline of the first k + 1 kept schedules
};

}  // namespace spotgrid::engine
