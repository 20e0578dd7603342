// A seeded synthetic trace with the shape of real GPU cluster traces (Philly,
// Helios): demand that follows the working day and the week, heavy-tailed
// (log-normal) durations, gangs of 1-8 cards, several models, and
// organisations whose demand is Zipf-imbalanced while their nodes are equal.
// Durations are scaled so offered card-seconds are `load` of the available.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "spotgrid/replay/trace.hpp"

namespace spotgrid::replay {
namespace {

constexpr Seconds kMinDuration = 60;
constexpr Seconds kMaxDuration = Seconds{7} * 24 * 3'600;

struct DraftJob {
  UnixSeconds submit = 0;
  Seconds duration = 0;
  std::uint32_t cards = 1;
  std::string model;  // empty: any
  bool fractional = false;
  std::uint32_t org = 0;
};

// Demand relative to its peak at trace second t (trace second 0 is a Monday
// 00:00 UTC): high in working hours, low at night and at weekends.
double demand_at(UnixSeconds t) {
  const double hour = static_cast<double>(t % 86'400) / 3'600.0;
  const bool weekend = (t / 86'400) % 7 >= 5;
  const double daily = 0.55 + 0.45 * std::sin((hour - 8.0) / 24.0 * 2.0 * std::numbers::pi);
  return (weekend ? 0.5 : 1.0) * std::max(daily, 0.1);
}

template <typename Rng>
std::size_t pick(Rng& rng, const std::vector<double>& weights) {
  return std::discrete_distribution<std::size_t>(weights.begin(), weights.end())(rng);
}

}  // namespace

SyntheticTrace synthetic_trace(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                               const SyntheticOptions& options) {
  std::mt19937_64 rng(options.seed);
  const std::size_t models = std::min<std::size_t>(4, catalog.pool_count());
  const std::vector<double> model_weights = {3, 4, 2, 1};
  const std::vector<double> weights(model_weights.begin(),
                                    model_weights.begin() + static_cast<std::ptrdiff_t>(models));
  const std::uint32_t orgs = std::max(1u, options.orgs);

  SyntheticTrace out;
  out.nodes_csv = "node_id,gpu_model,gpus,org,region\n";
  for (std::uint32_t node = 0; node < options.nodes; ++node) {
    const auto pool = static_cast<PoolIndex>(pick(rng, weights));
    out.nodes_csv +=
        "n" + std::to_string(node) + "," + catalog.model(pool).model + "," +
        std::to_string(options.cards_per_node) + ",org-" + std::to_string(node % orgs) + "," +
        tariffs.region_name(static_cast<RegionIndex>(node % tariffs.region_count())) + "\n";
  }

  const UnixSeconds span = UnixSeconds{options.days} * 86'400;
  std::vector<double> org_weights;
  for (std::uint32_t org = 0; org < orgs; ++org)
    org_weights.push_back(1.0 / (org + 1));
  std::uniform_int_distribution<UnixSeconds> when(0, std::max<UnixSeconds>(span - 1, 0));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::lognormal_distribution<double> duration(std::log(3'600.0), 1.5);
  const std::vector<double> gang_weights = {45, 20, 20, 15};
  std::vector<DraftJob> jobs;
  double offered = 0;
  while (jobs.size() < options.jobs) {
    const UnixSeconds submit = when(rng);
    if (unit(rng) > demand_at(submit)) continue;  // thinning: the diurnal rate
    DraftJob job;
    job.submit = submit;
    job.duration = static_cast<Seconds>(std::clamp(duration(rng), 60.0, 7.0 * 86'400));
    job.cards = 1u << pick(rng, gang_weights);
    const double roll = unit(rng);
    if (roll >= 0.10) job.model = catalog.model(static_cast<PoolIndex>(pick(rng, weights))).model;
    job.fractional = job.cards == 1 && roll < 0.15 && roll >= 0.10;
    job.org = static_cast<std::uint32_t>(pick(rng, org_weights));
    offered += static_cast<double>(job.duration) * job.cards;
    jobs.push_back(std::move(job));
  }
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const DraftJob& a, const DraftJob& b) { return a.submit < b.submit; });

  const double available =
      static_cast<double>(options.nodes) * options.cards_per_node * static_cast<double>(span);
  const double scale = offered > 0 ? static_cast<double>(options.load) /
                                         static_cast<double>(kPpmOne) * available / offered
                                   : 1.0;
  out.jobs_csv = "job_id,submit_s,duration_s,gpus,gpu_model,gpu_share,org\n";
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const DraftJob& job = jobs[i];
    const auto seconds = static_cast<Seconds>(std::clamp(static_cast<double>(job.duration) * scale,
                                                         static_cast<double>(kMinDuration),
                                                         static_cast<double>(kMaxDuration)));
    out.jobs_csv += "j" + std::to_string(i) + "," + std::to_string(job.submit) + "," +
                    std::to_string(seconds) + "," + std::to_string(job.cards) + "," + job.model +
                    "," + (job.fractional ? "0.5" : "1") + ",org-" + std::to_string(job.org) + "\n";
  }
  return out;
}

}  // namespace spotgrid::replay
