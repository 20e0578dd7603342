#pragma once
// A GPU cluster trace (jobs.csv, nodes.csv and an optional model map), read as
// a researcher's trace really is: messy. Every row becomes a job or a node, or
// is counted with the reason it could not; nothing is dropped silently and
// nothing crashes. Times are trace seconds from the trace's own origin; the
// replay places that origin at an instant of its choosing (ReplayOptions::epoch).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/command.hpp"
#include "spotgrid/engine/tariff.hpp"

namespace spotgrid::replay {

// Fixed point with six decimals (1'000'000 = 1.0): fractions in the options
// and the trace (gpu_share, cu_scale, scales) without floating point. (The
// seeded draws, fault times and synthetic traces, use the standard library's
// distributions: byte-identical for one build, not across standard libraries.)
using Ppm = std::int64_t;
__extension__ using Int128 = __int128;  // products of money, time and ratios before division
inline constexpr Ppm kPpmOne = 1'000'000;
// "0.25" → 250'000; at most six decimals, no sign, no exponent.
std::optional<Ppm> parse_ppm(std::string_view text);

struct Job {
  std::string id;
  UnixSeconds submit = 0;  // trace seconds
  Seconds duration = 0;
  std::uint32_t cards = 0;
  std::optional<PoolIndex> pool;  // nullopt: any model
  bool unknown_model = false;     // its model is in neither the catalog nor the map
  bool fractional = false;        // gpu_share < 1: counted as a whole card
  std::uint32_t org = 0;
  std::optional<engine::Strategy> strategy;  // nullopt: ReplayOptions decides
  Micros limit_micros_per_card_hour = 0;     // 0: the replay's default
  std::optional<Seconds> deadline;           // latest start after submit; none: the default slack
};

struct Node {
  std::string id;
  PoolIndex pool = 0;
  std::uint16_t cards = 0;
  std::uint32_t org = 0;
  RegionIndex region = 0;
  Micros reserve_micros_per_card_hour = 0;  // 0: the model's reference price
  UnixSeconds available_from = 0;           // trace seconds
  std::optional<UnixSeconds> available_until;
};

// What the reader met, by kind; each row counts once per kind it shows.
struct TraceCounts {
  std::uint64_t job_rows = 0;
  std::uint64_t node_rows = 0;
  std::map<std::string, std::uint64_t> job_rows_skipped;   // reason → rows
  std::map<std::string, std::uint64_t> node_rows_skipped;  // reason → rows
  std::vector<std::string> first_skipped;                  // "jobs.csv:12: reason", at most 10
  std::uint64_t jobs_fractional = 0;
  std::uint64_t jobs_any_model = 0;
  std::uint64_t jobs_model_mapped = 0;
  std::uint64_t jobs_unknown_model = 0;
  std::uint64_t jobs_outside_window = 0;  // --from/--to
  std::uint64_t jobs_longer_than_max_lease = 0;
  std::uint64_t jobs_model_not_supplied = 0;
  std::uint64_t jobs_longer_than_any_window = 0;
  std::uint64_t nodes_model_mapped = 0;
  std::uint64_t nodes_split = 0;  // more cards than a node may have: several nodes
  std::uint64_t nodes_region_assigned = 0;
  std::uint64_t nodes_scaled_out = 0;                // --supply-scale below 1
  std::uint64_t nodes_scaled_in = 0;                 // --supply-scale above 1: copies
  std::uint64_t nodes_over_capacity = 0;             // beyond kMaxTraceNodes: not run
  std::uint64_t nodes_gone_before_first_submit = 0;  // available_until before the first job
  bool orgs_assigned = false;                        // the trace had no org column: --orgs split it
};

// Bounds on what a trace may say: beyond them a row is counted, not run.
inline constexpr Seconds kMaxTraceSeconds = Seconds{10} * 366 * 24 * 3'600;  // times, durations
inline constexpr std::uint32_t kMaxOrgs = 1'000;
inline constexpr std::size_t kMaxTraceNodes = 1'000'000;  // after splitting and scaling
inline constexpr Ppm kMaxSupplyScale = 100 * kPpmOne;

struct Trace {
  std::vector<Job> jobs;  // by submit time, then file order
  std::vector<Node> nodes;
  std::vector<std::string> orgs;  // index → name
  // Times are rebased so that trace second 0 is the hour of the first submit
  // (a trace in Unix seconds would otherwise start in 1970): what was taken off.
  UnixSeconds rebased_by = 0;
  TraceCounts counts;
};

struct TraceOptions {
  std::uint32_t orgs = 1;  // organisations to split a trace without an org column into
  std::uint64_t seed = 1;
  Ppm supply_scale = kPpmOne;       // nodes kept (below 1) or copied (above 1)
  Ppm time_scale = kPpmOne;         // submit times and durations are divided by it
  std::optional<UnixSeconds> from;  // jobs submitted before it are left out (original seconds)
  std::optional<UnixSeconds> to;    // jobs submitted at or after it are left out
};

struct TraceError {
  std::string message;  // names the file, the line and the problem
};

// Reads the three CSV texts (the map may be empty). An error only when a file
// cannot be a trace at all (no header, a required column missing).
std::variant<Trace, TraceError> parse_trace(const engine::Catalog& catalog,
                                            const engine::TariffBook& tariffs,
                                            std::string_view jobs_csv, std::string_view nodes_csv,
                                            std::string_view model_map_csv,
                                            const TraceOptions& options);

// The seeded synthetic trace (spotgrid-tracegen): diurnal demand, heavy-tailed
// durations, gang jobs of 1-8 cards, several models and organisations with
// imbalanced load. Returns {jobs.csv, nodes.csv}.
struct SyntheticOptions {
  std::uint32_t jobs = 10'000;
  std::uint32_t nodes = 100;
  std::uint32_t cards_per_node = 8;
  std::uint32_t days = 7;
  std::uint32_t orgs = 4;
  std::uint64_t seed = 1;
  Ppm load = 700'000;  // offered card-seconds / available card-seconds
};
struct SyntheticTrace {
  std::string jobs_csv;
  std::string nodes_csv;
};
SyntheticTrace synthetic_trace(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                               const SyntheticOptions& options);

}  // namespace spotgrid::replay
