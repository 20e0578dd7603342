// Benchmark of spotgrid-replay (issue 15's figure): a month of a 1,000-node,
// 8,000-card cluster with 100,000 jobs, generated in memory, replayed through
// the engine and the baseline. Prints one JSON line per run and one with the
// medians: wall time (trace parsing and both runs), the engine's events/s
// inside Engine::submit, and peak memory.
//
// Usage: spotgrid-bench-replay [--config DIR] [--jobs N] [--nodes N] [--days N] [--runs R]

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/config.hpp"
#include "spotgrid/replay/command_line.hpp"

namespace {

using namespace spotgrid;
using namespace spotgrid::replay;

struct Figures {
  std::int64_t wall_ms = 0;
  std::int64_t events_per_s = 0;
  std::uint64_t events = 0;
  BasisPoints market_utilisation_bp = 0;
  BasisPoints baseline_utilisation_bp = 0;
};

Figures run_once(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                 const SyntheticTrace& text, const ReplayOptions& options) {
  const auto began = std::chrono::steady_clock::now();
  auto parsed = parse_trace(catalog, tariffs, text.jobs_csv, text.nodes_csv, "", TraceOptions{});
  const Trace& trace = std::get<Trace>(parsed);
  const std::vector<RunResult> runs = replay_all(catalog, tariffs, trace, options);
  Figures figures;
  figures.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count();
  const RunResult& market = runs[0];
  figures.events = market.events;
  figures.events_per_s =
      market.engine_nanoseconds == 0
          ? 0
          : static_cast<std::int64_t>(static_cast<double>(market.events) * 1e9 /
                                      static_cast<double>(market.engine_nanoseconds));
  const std::vector<const RunResult*> both = {&runs[0], &runs[1]};
  const auto [from, to] = measurement_window(trace, both);
  figures.market_utilisation_bp =
      summarise(catalog, trace, options, runs[0], from, to).utilisation_bp;
  figures.baseline_utilisation_bp =
      summarise(catalog, trace, options, runs[1], from, to).utilisation_bp;
  return figures;
}

template <typename T>
T median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

bool parse(std::string_view text, std::uint32_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size() && value > 0;
}

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): a bench that runs out of memory should die loudly
int main(int argc, char** argv) {
  std::string config_dir = "config";
  SyntheticOptions synthetic;
  synthetic.jobs = 100'000;
  synthetic.nodes = 1'000;
  synthetic.cards_per_node = 8;
  synthetic.days = 30;
  synthetic.orgs = 8;
  std::uint32_t runs = 3;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string_view value = i + 1 < argc ? argv[i + 1] : "";
    const bool ok = i + 1 < argc && (flag == "--config"  ? (config_dir = std::string(value), true)
                                     : flag == "--jobs"  ? parse(value, synthetic.jobs)
                                     : flag == "--nodes" ? parse(value, synthetic.nodes)
                                     : flag == "--days"  ? parse(value, synthetic.days)
                                     : flag == "--runs"  ? parse(value, runs)
                                                         : false);
    if (!ok) {
      std::fprintf(stderr,
                   "usage: spotgrid-bench-replay [--config DIR] [--jobs N] [--nodes N] [--days N] "
                   "[--runs R]\n");
      return 2;
    }
  }
  const auto catalog = engine::load_catalog_file(config_dir + "/gpus.json");
  const auto tariffs = engine::load_tariffs_file(config_dir + "/tariffs.json");
  if (!catalog || !tariffs) {
    std::fprintf(stderr, "spotgrid-bench-replay: %s\n",
                 (!catalog ? catalog.error() : tariffs.error()).message().c_str());
    return 1;
  }
  const SyntheticTrace text = synthetic_trace(catalog.value(), tariffs.value(), synthetic);
  ReplayOptions options;
  options.cost_first_share = 300'000;
  options.fault_rate_per_card_hour = 500;  // 0.0005 per card-hour
  std::vector<Figures> all;
  for (std::uint32_t run = 0; run < runs; ++run) {
    all.push_back(run_once(catalog.value(), tariffs.value(), text, options));
    const Figures& f = all.back();
    std::printf(
        "{\"bench\":\"replay\",\"run\":%u,\"jobs\":%u,\"nodes\":%u,\"cards\":%u,\"days\":%u,"
        "\"wall_ms\":%lld,\"engine_events\":%llu,\"engine_events_per_s\":%lld,"
        "\"market_utilisation_bp\":%d,\"baseline_utilisation_bp\":%d}\n",
        run + 1, synthetic.jobs, synthetic.nodes, synthetic.nodes * synthetic.cards_per_node,
        synthetic.days, static_cast<long long>(f.wall_ms),
        static_cast<unsigned long long>(f.events), static_cast<long long>(f.events_per_s),
        f.market_utilisation_bp, f.baseline_utilisation_bp);
  }
  std::vector<std::int64_t> walls;
  std::vector<std::int64_t> rates;
  for (const Figures& f : all) {
    walls.push_back(f.wall_ms);
    rates.push_back(f.events_per_s);
  }
  std::printf(
      "{\"bench\":\"replay\",\"median_wall_ms\":%lld,\"median_engine_events_per_s\":%lld,"
      "\"peak_rss_kib\":%lld,\"runs\":%u}\n",
      static_cast<long long>(median(walls)), static_cast<long long>(median(rates)),
      static_cast<long long>(peak_rss_kib()), runs);
  return 0;
}
