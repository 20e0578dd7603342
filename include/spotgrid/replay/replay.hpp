#pragma once
// Market replay (README "Market replay"): a trace run through the real engine
// in virtual time (the same commands spotgridd sends, no clock, no sleeping),
// and the same trace under the baseline most labs use today: each
// organisation's jobs on its own nodes, first come first served. Both give a
// RunResult; summarise() turns one into the figures the report prints.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/engine.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/engine/tariff.hpp"
#include "spotgrid/replay/trace.hpp"

namespace spotgrid::replay {

struct ReplayOptions {
  UnixSeconds epoch = 1'767'571'200;  // where trace second 0 falls: Monday 2026-01-05 00:00 UTC
  std::uint64_t seed = 1;
  Ppm cost_first_share = 0;  // of the jobs whose strategy the trace leaves open
  Seconds deadline_slack =
      Seconds{6} * 3'600;            // latest start after submit, for jobs without deadline_s
  Ppm fault_rate_per_card_hour = 0;  // a leased node slice fails at this rate (exponential)
  Seconds repair = 3'600;            // a failed node's cards come back after this
  BasisPoints limit_over_reference_bp = 20'000;  // a buyer's default limit: 2x the reference
  bool shared_fifo = false;  // also run one FIFO queue over every node, without prices
};

// How one job went in one run. Times are trace seconds; -1 when it did not happen.
struct JobResult {
  UnixSeconds start = -1;         // when its whole gang first held cards
  UnixSeconds end = -1;           // when its last card-second ran
  std::int64_t card_seconds = 0;  // run, over every lease or allocation
  // The market only, by the strategy of the order each lease came from (a
  // job's requeued remainder and later segments are time-first orders).
  std::array<Micros, 2> paid{};
  std::array<std::int64_t, 2> card_seconds_by_strategy{};
  std::string reason;  // why it never started or did not finish; empty when done
};

struct RunResult {
  std::string name;             // "market", "baseline", "shared_fifo"
  std::vector<JobResult> jobs;  // as trace.jobs
  // Busy card-seconds on each org's nodes, per trace hour from hour 0: [org][hour].
  std::vector<std::vector<std::int64_t>> busy_per_org_hour;
  std::uint64_t leases = 0;  // allocations, for the baseline
  std::uint64_t faults = 0;
  std::uint64_t requeues = 0;
  std::uint64_t jobs_gang_split = 0;  // a gang whose slices started at different times
  // The market only.
  Micros paid = 0;
  Micros supplier_revenue = 0;
  Micros platform_fees = 0;
  std::vector<std::vector<Micros>> index_per_hour;  // [hour][pool], sampled on each hour's tick
  std::uint64_t commands = 0;
  std::uint64_t events = 0;
  std::uint64_t rejected_commands = 0;
  std::int64_t engine_nanoseconds = 0;  // inside Engine::submit
  std::vector<std::string> invariant_failures;
  Micros deposited = 0;                   // as the engine's FundsMoved events say
  Micros balances_at_end = 0;             // cash + hold + receivable + platform revenue
  Micros earned_in_engine = 0;            // suppliers' receivables + platform revenue
  Micros charges_for_leased_seconds = 0;  // the price rule applied to every leased second
  UnixSeconds last_activity = 0;
};

// The engine's configuration sized for the trace (slab capacities).
engine::EngineConfig replay_engine_config(const Trace& trace);

RunResult run_market(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                     const Trace& trace, const ReplayOptions& options);
// shared: one queue over every node (the "shared FIFO" variant) instead of one per org.
RunResult run_baseline(const engine::Catalog& catalog, const Trace& trace,
                       const ReplayOptions& options, bool shared);

// How a gang is placed, in both runs: in one slice when a node of the job's
// model (of any model, for an any-model job) can hold it, else in the largest
// equal slices such nodes hold (a prime count: one card each).
class GangRule {
 public:
  explicit GangRule(const Trace& trace);
  std::uint32_t slice(const Job& job) const;

 private:
  std::array<std::uint32_t, limits::kMaxPools> largest_by_pool_{};
  std::uint32_t largest_any_ = 1;
};

// When a leased slice of `cards` fails, if it does before its `duration`
// ends: exponential at the per-card rate; at least one second of progress.
std::optional<UnixSeconds> fault_time(std::mt19937_64& rng, const ReplayOptions& options,
                                      std::uint32_t cards, UnixSeconds start, Seconds duration);
inline std::int64_t card_seconds_needed(const Job& job) {
  return std::int64_t{job.duration} * job.cards;
}

// The strategy a job runs with: the trace's, else a seeded draw at cost_first_share.
engine::Strategy strategy_of(const Job& job, std::size_t index, const ReplayOptions& options);
Seconds deadline_of(const Job& job, const ReplayOptions& options);

// Figures of one run over the measurement window [from, to) in trace seconds.
struct Percentiles {
  Seconds p50 = 0, p90 = 0, p99 = 0, max = 0;
  std::uint64_t count = 0;
};
struct StrategyCost {
  Micros paid = 0;
  std::int64_t card_seconds = 0;
  Micros per_card_hour() const;  // 0 when nothing ran
};
struct Summary {
  UnixSeconds window_from = 0, window_to = 0;
  std::int64_t available_card_seconds = 0;  // in the window
  std::int64_t busy_card_seconds = 0;       // in the window
  BasisPoints utilisation_bp = 0;
  std::vector<BasisPoints> utilisation_by_org_bp;
  Percentiles wait;
  std::map<std::uint32_t, Percentiles> wait_by_gang;  // by cards per job (gangs wait longest)
  std::uint64_t jobs_completed = 0;
  std::uint64_t jobs_started_unfinished = 0;
  std::map<std::string, std::uint64_t> never_started;  // reason → jobs
  BasisPoints started_within_deadline_bp = 0;
  UnixSeconds makespan_end = 0;  // the last job's end
  std::int64_t card_seconds_run = 0;
  // The market only: [pool or "any"][strategy].
  std::map<std::string, std::array<StrategyCost, 2>> cost_by_target;
  std::array<StrategyCost, 2> cost_by_strategy{};
  std::optional<BasisPoints> cost_first_saving_bp;  // against time-first on the same targets
  Micros supplier_revenue_per_available_card_hour = 0;
  Micros supplier_revenue_per_leased_card_hour = 0;
};

// The window both runs are measured over, in whole hours: the demand period
// [first submit, last submit], or up to the later run's last job end when
// every job arrives within one hour.
std::pair<UnixSeconds, UnixSeconds> measurement_window(const Trace& trace,
                                                       const std::vector<const RunResult*>& runs);
Summary summarise(const engine::Catalog& catalog, const Trace& trace, const ReplayOptions& options,
                  const RunResult& run, UnixSeconds window_from, UnixSeconds window_to);
// Card-seconds available on each org's nodes per trace hour: [org][hour].
std::vector<std::vector<std::int64_t>> available_per_org_hour(const Trace& trace,
                                                              std::size_t hours);
// Adds `cards` busy over [from, to) to hourly buckets, growing them as needed.
void add_card_seconds(std::vector<std::int64_t>& per_hour, UnixSeconds from, UnixSeconds to,
                      std::int64_t cards);

// The report: JSON (deterministic: no wall-clock figures unless `timing` is
// given) and a self-contained HTML page with SVG charts.
struct RunTiming {
  std::int64_t wall_milliseconds = 0;
  std::int64_t peak_rss_kib = 0;
};
struct Report {
  const engine::Catalog* catalog = nullptr;
  const engine::TariffBook* tariffs = nullptr;
  const Trace* trace = nullptr;
  ReplayOptions options;
  std::vector<const RunResult*> runs;  // market first, then the baselines
  std::optional<RunTiming> timing;
};
std::string report_json(const Report& report);
std::string report_html(const Report& report);

}  // namespace spotgrid::replay
