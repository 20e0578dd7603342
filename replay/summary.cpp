// What both runs share: how a job is read (strategy, deadline), hourly
// card-second buckets, and the figures of a run over the measurement window.

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/replay/replay.hpp"

namespace spotgrid::replay {

using engine::Strategy;

engine::EngineConfig replay_engine_config(const Trace& trace) {
  engine::EngineConfig config;
  const auto room = [](std::size_t wanted, std::uint32_t most) {
    return static_cast<std::uint32_t>(
        std::min<std::size_t>(std::bit_ceil(std::max<std::size_t>(wanted, 1'024)), most));
  };
  config.max_nodes = room(trace.nodes.size() + 1, limits::kMaxNodes);
  // Listings: one per node, plus one per repair or re-listing that may be open at once.
  config.max_listings = room(trace.nodes.size() * 8 + 1, limits::kMaxListings);
  config.max_orders = room(trace.jobs.size() * 2 + 1, limits::kMaxOrders);
  config.max_leases = room(trace.jobs.size() * 2 + 1, limits::kMaxLeases);
  return config;
}

GangRule::GangRule(const Trace& trace) {
  for (const Node& node : trace.nodes) {
    largest_by_pool_[node.pool] = std::max<std::uint32_t>(largest_by_pool_[node.pool], node.cards);
    largest_any_ = std::max<std::uint32_t>(largest_any_, node.cards);
  }
}

std::uint32_t GangRule::slice(const Job& job) const {
  const std::uint32_t largest =
      job.pool ? std::max<std::uint32_t>(largest_by_pool_[*job.pool], 1) : largest_any_;
  for (std::uint32_t slice = std::min(job.cards, largest); slice > 1; --slice) {
    if (job.cards % slice == 0) return slice;
  }
  return 1;
}

std::optional<UnixSeconds> fault_time(std::mt19937_64& rng, const ReplayOptions& options,
                                      std::uint32_t cards, UnixSeconds start, Seconds duration) {
  if (options.fault_rate_per_card_hour <= 0) return std::nullopt;
  const double rate_per_second =
      static_cast<double>(options.fault_rate_per_card_hour) * cards / kPpmOne / kSecondsPerHour;
  const double uniform = (static_cast<double>(rng() >> 11) + 0.5) / 9'007'199'254'740'992.0;
  const double wait = -std::log(uniform) / rate_per_second;
  if (wait >= static_cast<double>(duration - 1)) return std::nullopt;  // it finishes first
  return start + 1 + static_cast<Seconds>(wait);
}

Strategy strategy_of(const Job& job, std::size_t index, const ReplayOptions& options) {
  if (job.strategy) return *job.strategy;
  // A draw per job that depends only on the seed and the job's place in the trace.
  const std::uint64_t draw = std::mt19937_64(options.seed * 0x9E37'79B9'7F4A'7C15ull + index)();
  return static_cast<Ppm>(draw % kPpmOne) < options.cost_first_share ? Strategy::kCostFirst
                                                                     : Strategy::kTimeFirst;
}

Seconds deadline_of(const Job& job, const ReplayOptions& options) {
  return job.deadline.value_or(options.deadline_slack);
}

void add_card_seconds(std::vector<std::int64_t>& per_hour, UnixSeconds from, UnixSeconds to,
                      std::int64_t cards) {
  if (to <= from || from < 0) return;
  const auto last_hour = static_cast<std::size_t>((to - 1) / kSecondsPerHour);
  if (per_hour.size() <= last_hour) per_hour.resize(last_hour + 1, 0);
  for (UnixSeconds at = from; at < to;) {
    const UnixSeconds hour_end = (at / kSecondsPerHour + 1) * kSecondsPerHour;
    const UnixSeconds until = std::min(to, hour_end);
    per_hour[static_cast<std::size_t>(at / kSecondsPerHour)] += (until - at) * cards;
    at = until;
  }
}

std::vector<std::vector<std::int64_t>> available_per_org_hour(const Trace& trace,
                                                              std::size_t hours) {
  std::vector<std::vector<std::int64_t>> available(trace.orgs.size(),
                                                   std::vector<std::int64_t>(hours, 0));
  const auto end = static_cast<UnixSeconds>(hours) * kSecondsPerHour;
  for (const Node& node : trace.nodes) {
    const UnixSeconds until = node.available_until ? std::min(*node.available_until, end) : end;
    add_card_seconds(available[node.org], node.available_from, until, node.cards);
    available[node.org].resize(hours);
  }
  return available;
}

std::pair<UnixSeconds, UnixSeconds> measurement_window(const Trace& trace,
                                                       const std::vector<const RunResult*>& runs) {
  if (trace.jobs.empty()) return {0, 0};
  const UnixSeconds from = trace.jobs.front().submit / kSecondsPerHour * kSecondsPerHour;
  UnixSeconds to = (trace.jobs.back().submit / kSecondsPerHour + 1) * kSecondsPerHour;
  if (to - from <= kSecondsPerHour) {  // a batch: up to the last job's end in either run
    for (const RunResult* run : runs) {
      for (const JobResult& job : run->jobs)
        to = std::max(to, (job.end / kSecondsPerHour + 1) * kSecondsPerHour);
    }
  }
  return {from, to};
}

Micros per_card_hour(Micros money, std::int64_t card_seconds) {
  if (card_seconds <= 0) return 0;
  return static_cast<Micros>(Int128{money} * kSecondsPerHour / card_seconds);
}

Micros StrategyCost::per_card_hour() const {
  return replay::per_card_hour(paid, card_seconds);
}

namespace {

BasisPoints ratio_bp(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return 0;
  return static_cast<BasisPoints>(static_cast<Int128>(part) * kBasisPointsOne / whole);
}

// Nearest-rank percentiles of the waits of the jobs that started.
Percentiles percentiles(std::vector<Seconds> waits) {
  Percentiles out;
  out.count = waits.size();
  if (waits.empty()) return out;
  std::sort(waits.begin(), waits.end());
  const auto rank = [&](std::uint64_t per_thousand) {
    const std::uint64_t index = (per_thousand * waits.size() + 999) / 1'000;
    return waits[std::max<std::uint64_t>(index, 1) - 1];
  };
  out.p50 = rank(500);
  out.p90 = rank(900);
  out.p99 = rank(990);
  out.max = waits.back();
  return out;
}

void summarise_costs(const engine::Catalog& catalog, const Trace& trace, const RunResult& run,
                     Summary& summary) {
  for (std::size_t index = 0; index < trace.jobs.size(); ++index) {
    const Job& job = trace.jobs[index];
    const JobResult& result = run.jobs[index];
    if (result.card_seconds == 0) continue;
    const std::string target = job.pool ? catalog.model(*job.pool).model : "any";
    for (std::size_t strategy = 0; strategy < 2; ++strategy) {
      for (StrategyCost* cost :
           {&summary.cost_by_target[target][strategy], &summary.cost_by_strategy[strategy]}) {
        cost->paid += result.paid[strategy];
        cost->card_seconds += result.card_seconds_by_strategy[strategy];
      }
    }
  }
  // What cost-first buyers would have paid at time-first rates, target by target.
  Int128 at_time_first_rates = 0;
  Int128 paid = 0;
  for (const auto& [target, costs] : summary.cost_by_target) {
    const StrategyCost& time_first = costs[static_cast<std::size_t>(Strategy::kTimeFirst)];
    const StrategyCost& cost_first = costs[static_cast<std::size_t>(Strategy::kCostFirst)];
    if (time_first.card_seconds == 0 || cost_first.card_seconds == 0) continue;
    at_time_first_rates +=
        static_cast<Int128>(time_first.paid) * cost_first.card_seconds / time_first.card_seconds;
    paid += cost_first.paid;
  }
  if (at_time_first_rates > 0) {
    summary.cost_first_saving_bp = static_cast<BasisPoints>((at_time_first_rates - paid) *
                                                            kBasisPointsOne / at_time_first_rates);
  }
}

}  // namespace

Summary summarise(const engine::Catalog& catalog, const Trace& trace, const ReplayOptions& options,
                  const RunResult& run, UnixSeconds window_from, UnixSeconds window_to) {
  Summary summary;
  summary.window_from = window_from;
  summary.window_to = window_to;
  const auto hours = static_cast<std::size_t>(window_to / kSecondsPerHour);
  const auto available = available_per_org_hour(trace, hours);
  for (std::size_t org = 0; org < trace.orgs.size(); ++org) {
    std::int64_t org_available = 0;
    std::int64_t org_busy = 0;
    for (auto hour = static_cast<std::size_t>(window_from / kSecondsPerHour); hour < hours;
         ++hour) {
      org_available += available[org][hour];
      const auto& busy = run.busy_per_org_hour[org];
      org_busy += hour < busy.size() ? busy[hour] : 0;
    }
    summary.available_card_seconds += org_available;
    summary.busy_card_seconds += org_busy;
    summary.utilisation_by_org_bp.push_back(ratio_bp(org_busy, org_available));
  }
  summary.utilisation_bp = ratio_bp(summary.busy_card_seconds, summary.available_card_seconds);

  std::vector<Seconds> waits;
  std::map<std::uint32_t, std::vector<Seconds>> waits_by_gang;
  std::uint64_t within_deadline = 0;
  for (std::size_t index = 0; index < trace.jobs.size(); ++index) {
    const Job& job = trace.jobs[index];
    const JobResult& result = run.jobs[index];
    summary.card_seconds_run += result.card_seconds;
    summary.makespan_end = std::max(summary.makespan_end, result.end);
    if (result.start < 0) {
      // Censored: a job that never started has waited at least until the run's end.
      ++summary.never_started[result.reason.empty() ? "unknown" : result.reason];
      waits.push_back(std::max<Seconds>(run.last_activity - job.submit, 0));
      continue;
    }
    waits.push_back(result.start - job.submit);
    waits_by_gang[job.cards].push_back(result.start - job.submit);
    within_deadline += result.start - job.submit <= deadline_of(job, options) ? 1 : 0;
    if (result.reason.empty()) {
      ++summary.jobs_completed;
    } else {
      ++summary.jobs_started_unfinished;
    }
  }
  summary.wait = percentiles(std::move(waits));
  for (auto& [cards, gang_waits] : waits_by_gang)
    summary.wait_by_gang[cards] = percentiles(std::move(gang_waits));
  summary.started_within_deadline_bp = ratio_bp(static_cast<std::int64_t>(within_deadline),
                                                static_cast<std::int64_t>(trace.jobs.size()));
  summarise_costs(catalog, trace, run, summary);

  // Supplier revenue over the whole run: per card-hour leased, and per card-hour available.
  const auto run_hours = static_cast<std::size_t>(run.last_activity / kSecondsPerHour + 1);
  std::int64_t available_total = 0;
  for (const auto& org : available_per_org_hour(trace, run_hours)) {
    for (const std::int64_t seconds : org)
      available_total += seconds;
  }
  summary.supplier_revenue_per_leased_card_hour =
      per_card_hour(run.supplier_revenue, summary.card_seconds_run);
  summary.supplier_revenue_per_available_card_hour =
      per_card_hour(run.supplier_revenue, available_total);
  return summary;
}

}  // namespace spotgrid::replay
