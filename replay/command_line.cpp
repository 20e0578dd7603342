// Flags to options, files to texts, and the runs to a report.

#include "spotgrid/replay/command_line.hpp"

#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "spotgrid/engine/config.hpp"

namespace spotgrid::replay {
namespace {

constexpr const char* kReplayUsage =
    "usage: spotgrid-replay --config DIR --jobs jobs.csv --nodes nodes.csv [--model-map FILE]\n"
    "  [--orgs N] [--supply-scale X] [--time-scale X] [--cost-first-share P]\n"
    "  [--deadline-slack SECONDS] [--fault-rate PER_CARD_HOUR] [--repair SECONDS] [--seed N]\n"
    "  [--from S] [--to S] [--epoch UNIX_SECONDS] [--shared-fifo] [--json] [--report DIR]\n"
    "  [--timing]\n";
constexpr const char* kTracegenUsage =
    "usage: spotgrid-tracegen --config DIR --out DIR [--jobs N] [--nodes N] [--cards-per-node N]\n"
    "  [--days N] [--orgs N] [--load X] [--seed N]\n";

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 30;  // per trace file

// A regular file of at most 1 GiB; nullopt for anything else.
std::optional<std::string> read_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error) ||
      std::filesystem::file_size(path, error) > kMaxFileBytes || error) {
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
bool parse_whole(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

bool parse_fraction(std::string_view text, Ppm& value) {
  const auto parsed = parse_ppm(text);
  if (parsed) value = *parsed;
  return parsed.has_value();
}

struct ReplayArgs {
  std::string config = "config";
  std::string jobs, nodes, model_map, report_dir;
  bool json = false, timing = false;
  TraceOptions trace;
  ReplayOptions replay;
};

// Each flag that takes a value, and how it is read.
using Setter = std::function<bool(std::string_view)>;
std::map<std::string_view, Setter> replay_flags(ReplayArgs& a) {
  const auto text = [](std::string& target) {
    return [&target](std::string_view v) { return target.assign(v), !v.empty(); };
  };
  return {
      {"--config", text(a.config)},
      {"--jobs", text(a.jobs)},
      {"--nodes", text(a.nodes)},
      {"--model-map", text(a.model_map)},
      {"--report", text(a.report_dir)},
      {"--orgs",
       [&](std::string_view v) {
         return parse_whole(v, a.trace.orgs) && a.trace.orgs > 0 && a.trace.orgs <= kMaxOrgs;
       }},
      {"--supply-scale",
       [&](std::string_view v) { return parse_fraction(v, a.trace.supply_scale); }},
      {"--time-scale",
       [&](std::string_view v) {
         return parse_fraction(v, a.trace.time_scale) && a.trace.time_scale > 0;
       }},
      {"--cost-first-share",
       [&](std::string_view v) {
         return parse_fraction(v, a.replay.cost_first_share) &&
                a.replay.cost_first_share <= kPpmOne;
       }},
      {"--deadline-slack",
       [&](std::string_view v) {
         return parse_whole(v, a.replay.deadline_slack) && a.replay.deadline_slack >= 0 &&
                a.replay.deadline_slack <= kMaxTraceSeconds;
       }},
      {"--fault-rate",
       [&](std::string_view v) {  // at most one per card-hour: every lease still progresses
         return parse_fraction(v, a.replay.fault_rate_per_card_hour) &&
                a.replay.fault_rate_per_card_hour <= kPpmOne;
       }},
      {"--repair",
       [&](std::string_view v) {
         return parse_whole(v, a.replay.repair) && a.replay.repair >= 0 &&
                a.replay.repair <= kMaxTraceSeconds;
       }},
      {"--seed",
       [&](std::string_view v) {
         return parse_whole(v, a.replay.seed) && parse_whole(v, a.trace.seed);
       }},
      {"--from", [&](std::string_view v) { return parse_whole(v, a.trace.from.emplace()); }},
      {"--to", [&](std::string_view v) { return parse_whole(v, a.trace.to.emplace()); }},
      // On an hour, so that the hourly samples fall on tariff hours.
      {"--epoch",
       [&](std::string_view v) {
         return parse_whole(v, a.replay.epoch) && a.replay.epoch >= 0 &&
                a.replay.epoch % kSecondsPerHour == 0 && a.replay.epoch < (Seconds{1} << 40);
       }},
  };
}

bool parse_replay_args(const std::vector<std::string_view>& args, ReplayArgs& a) {
  auto flags = replay_flags(a);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      a.json = true;
    } else if (args[i] == "--timing") {
      a.timing = true;
    } else if (args[i] == "--shared-fifo") {
      a.replay.shared_fifo = true;
    } else if (const auto flag = flags.find(args[i]); flag != flags.end() && i + 1 < args.size()) {
      if (!flag->second(args[++i])) return false;
    } else {
      return false;
    }
  }
  return !a.jobs.empty() && !a.nodes.empty();
}

struct Config {
  engine::Catalog catalog;
  engine::TariffBook tariffs;
};
std::optional<Config> load_config(const std::string& dir, std::ostream& err) {
  auto catalog = engine::load_catalog_file(dir + "/gpus.json");
  auto tariffs = engine::load_tariffs_file(dir + "/tariffs.json");
  if (!catalog || !tariffs) {
    err << (!catalog ? catalog.error() : tariffs.error()).message() << "\n";
    return std::nullopt;
  }
  return Config{std::move(catalog).value(), std::move(tariffs).value()};
}

}  // namespace

std::int64_t peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::vector<RunResult> replay_all(const engine::Catalog& catalog, const engine::TariffBook& tariffs,
                                  const Trace& trace, const ReplayOptions& options) {
  std::vector<RunResult> runs;
  runs.push_back(run_market(catalog, tariffs, trace, options));
  runs.push_back(run_baseline(catalog, trace, options, false));
  if (options.shared_fifo) runs.push_back(run_baseline(catalog, trace, options, true));
  return runs;
}

int replay_command(const std::vector<std::string_view>& args, std::ostream& out,
                   std::ostream& err) {
  const auto began = std::chrono::steady_clock::now();
  ReplayArgs a;
  if (!parse_replay_args(args, a)) {
    err << kReplayUsage;
    return 2;
  }
  const auto config = load_config(a.config, err);
  if (!config) return 1;
  const auto jobs = read_file(a.jobs);
  const auto nodes = read_file(a.nodes);
  const auto map = a.model_map.empty() ? std::optional<std::string>("") : read_file(a.model_map);
  if (!jobs || !nodes || !map) {
    err << "spotgrid-replay: cannot read "
        << (!jobs    ? a.jobs
            : !nodes ? a.nodes
                     : a.model_map)
        << " (a regular file of at most 1 GiB)\n";
    return 1;
  }
  auto parsed = parse_trace(config->catalog, config->tariffs, *jobs, *nodes, *map, a.trace);
  if (const auto* error = std::get_if<TraceError>(&parsed)) {
    err << "spotgrid-replay: " << error->message << "\n";
    return 1;
  }
  const Trace& trace = std::get<Trace>(parsed);
  const std::vector<RunResult> runs = replay_all(config->catalog, config->tariffs, trace, a.replay);
  Report report{&config->catalog, &config->tariffs, &trace, a.replay, {}, std::nullopt};
  for (const RunResult& run : runs)
    report.runs.push_back(&run);
  if (a.timing) {
    report.timing = RunTiming{std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - began)
                                  .count(),
                              peak_rss_kib()};
  }
  if (!a.report_dir.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(a.report_dir, ignored);
    std::ofstream html(a.report_dir + "/report.html", std::ios::binary);
    std::ofstream json(a.report_dir + "/report.json", std::ios::binary);
    html << report_html(report);
    json << report_json(report);
    if (!html || !json) {
      err << "spotgrid-replay: cannot write the report in " << a.report_dir << "\n";
      return 1;
    }
  }
  if (a.json || a.report_dir.empty()) out << report_json(report);
  return 0;
}

int tracegen_command(const std::vector<std::string_view>& args, std::ostream& out,
                     std::ostream& err) {
  std::string config_dir = "config";
  std::string out_dir;
  SyntheticOptions options;
  bool ok = true;
  for (std::size_t i = 0; ok && i < args.size(); i += 2) {
    const std::string_view flag = args[i];
    const std::string_view value = i + 1 < args.size() ? args[i + 1] : "";
    ok = i + 1 < args.size();
    if (flag == "--config")
      config_dir = value;
    else if (flag == "--out")
      out_dir = value;
    else if (flag == "--jobs")
      ok = ok && parse_whole(value, options.jobs) && options.jobs <= 10'000'000;
    else if (flag == "--nodes")
      ok = ok && parse_whole(value, options.nodes) && options.nodes <= 100'000;
    else if (flag == "--cards-per-node")
      ok = ok && parse_whole(value, options.cards_per_node) && options.cards_per_node >= 1 &&
           options.cards_per_node <= 64;
    else if (flag == "--days")
      ok = ok && parse_whole(value, options.days) && options.days > 0 && options.days <= 3'660;
    else if (flag == "--orgs")
      ok = ok && parse_whole(value, options.orgs) && options.orgs > 0 && options.orgs <= kMaxOrgs;
    else if (flag == "--load")
      ok = ok && parse_fraction(value, options.load) && options.load > 0 &&
           options.load <= 10 * kPpmOne;
    else if (flag == "--seed")
      ok = ok && parse_whole(value, options.seed);
    else
      ok = false;
  }
  if (!ok || out_dir.empty()) {
    err << kTracegenUsage;
    return 2;
  }
  const auto config = load_config(config_dir, err);
  if (!config) return 1;
  const SyntheticTrace trace = synthetic_trace(config->catalog, config->tariffs, options);
  std::error_code ignored;
  std::filesystem::create_directories(out_dir, ignored);
  std::ofstream jobs(out_dir + "/jobs.csv", std::ios::binary);
  std::ofstream nodes(out_dir + "/nodes.csv", std::ios::binary);
  jobs << trace.jobs_csv;
  nodes << trace.nodes_csv;
  if (!jobs || !nodes) {
    err << "spotgrid-tracegen: cannot write " << out_dir << "\n";
    return 1;
  }
  out << out_dir << "/jobs.csv: " << options.jobs << " jobs; " << out_dir
      << "/nodes.csv: " << options.nodes << " nodes\n";
  return 0;
}

}  // namespace spotgrid::replay
