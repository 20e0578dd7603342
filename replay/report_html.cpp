// The HTML report: one self-contained page (inline SVG, no script, no
// external files) with the charts a researcher looks at first: utilisation
// over time, the distribution of waits, the index and the tariffs over time,
// and what each strategy paid per card-hour.

#include <algorithm>

#include "spotgrid/replay/replay.hpp"
#include "spotgrid/util/utc.hpp"

namespace spotgrid::replay {
namespace {

constexpr int kWidth = 760;
constexpr int kHeight = 240;
constexpr int kLeft = 60;
constexpr int kBottom = 30;
constexpr int kTop = 24;
constexpr const char* kColours[] = {"#1f6feb", "#d1242f", "#2da44e",
                                    "#9a6700", "#8250df", "#bf3989"};

struct Series {
  std::string name;
  std::vector<std::int64_t> values;  // one per x step
};

std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

void legend(std::string& svg, const std::vector<Series>& series) {
  for (std::size_t i = 0; i < series.size(); ++i) {
    const int x = kLeft + static_cast<int>(i) * 150;
    svg += "<rect x='" + std::to_string(x) + "' y='4' width='10' height='10' fill='" +
           kColours[i % 6] + "'/><text x='" + std::to_string(x + 14) + "' y='13'>" +
           escaped(series[i].name) + "</text>";
  }
}

// Lines over a shared x axis; `unit` divides the y labels (e.g. 100 for bp → %).
std::string line_chart(const std::string& title, const std::vector<Series>& series,
                       std::int64_t unit, const std::string& y_label, const std::string& x_label) {
  std::size_t steps = 1;
  std::int64_t top = 1;
  for (const Series& s : series) {
    steps = std::max(steps, s.values.size());
    for (const std::int64_t v : s.values)
      top = std::max(top, v);
  }
  const int plot_w = kWidth - kLeft - 10;
  const int plot_h = kHeight - kBottom - kTop;
  std::string svg = "<h3>" + escaped(title) + "</h3><svg viewBox='0 0 " + std::to_string(kWidth) +
                    " " + std::to_string(kHeight) + "' width='" + std::to_string(kWidth) + "'>";
  legend(svg, series);
  svg += "<line x1='" + std::to_string(kLeft) + "' y1='" + std::to_string(kTop + plot_h) +
         "' x2='" + std::to_string(kLeft + plot_w) + "' y2='" + std::to_string(kTop + plot_h) +
         "' stroke='#888'/><text x='4' y='" + std::to_string(kTop + 10) + "'>" +
         std::to_string(top / unit) + "</text><text x='4' y='" + std::to_string(kTop + plot_h) +
         "'>0</text><text x='4' y='" + std::to_string(kTop + plot_h / 2) + "'>" + escaped(y_label) +
         "</text><text x='" + std::to_string(kLeft + plot_w - 160) + "' y='" +
         std::to_string(kHeight - 6) + "'>" + escaped(x_label) + ": " + std::to_string(steps) +
         "</text>";
  for (std::size_t i = 0; i < series.size(); ++i) {
    svg += "<polyline fill='none' stroke-width='1.5' stroke='" + std::string(kColours[i % 6]) +
           "' points='";
    const auto& values = series[i].values;
    for (std::size_t x = 0; x < values.size(); ++x) {
      const auto px =
          kLeft + static_cast<std::int64_t>(x) * plot_w / static_cast<std::int64_t>(steps);
      const auto py = kTop + plot_h - values[x] * plot_h / top;
      svg += std::to_string(px) + "," + std::to_string(py) + " ";
    }
    svg += "'/>";
  }
  return svg + "</svg>";
}

// Grouped bars: one group per category, one bar per series.
std::string bar_chart(const std::string& title, const std::vector<std::string>& categories,
                      const std::vector<Series>& series, std::int64_t unit,
                      const std::string& y_label) {
  std::int64_t top = 1;
  for (const Series& s : series) {
    for (const std::int64_t v : s.values)
      top = std::max(top, v);
  }
  const int plot_w = kWidth - kLeft - 10;
  const int plot_h = kHeight - kBottom - kTop;
  const int group = plot_w / std::max<int>(1, static_cast<int>(categories.size()));
  const int bar = std::max(2, (group - 10) / std::max<int>(1, static_cast<int>(series.size())));
  std::string svg = "<h3>" + escaped(title) + "</h3><svg viewBox='0 0 " + std::to_string(kWidth) +
                    " " + std::to_string(kHeight) + "' width='" + std::to_string(kWidth) + "'>";
  legend(svg, series);
  svg += "<text x='4' y='" + std::to_string(kTop + 10) + "'>" + std::to_string(top / unit) +
         "</text><text x='4' y='" + std::to_string(kTop + plot_h / 2) + "'>" + escaped(y_label) +
         "</text>";
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const int x0 = kLeft + static_cast<int>(c) * group;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const std::int64_t value = c < series[s].values.size() ? series[s].values[c] : 0;
      const auto h = value * plot_h / top;
      svg += "<rect x='" + std::to_string(x0 + static_cast<int>(s) * bar) + "' y='" +
             std::to_string(kTop + plot_h - h) + "' width='" + std::to_string(bar - 1) +
             "' height='" + std::to_string(h) + "' fill='" + kColours[s % 6] + "'><title>" +
             std::to_string(value / unit) + "</title></rect>";
    }
    svg += "<text x='" + std::to_string(x0) + "' y='" + std::to_string(kHeight - 6) + "'>" +
           escaped(categories[c]) + "</text>";
  }
  return svg + "</svg>";
}

// Utilisation per hour (bp) of each run: busy over available on every node.
std::vector<Series> utilisation_series(const Report& report, std::size_t hours) {
  const auto available = available_per_org_hour(*report.trace, hours);
  std::vector<Series> out;
  for (const RunResult* run : report.runs) {
    Series series{run->name, std::vector<std::int64_t>(hours, 0)};
    for (std::size_t hour = 0; hour < hours; ++hour) {
      std::int64_t busy = 0;
      std::int64_t total = 0;
      for (std::size_t org = 0; org < available.size(); ++org) {
        total += available[org][hour];
        const auto& run_busy = run->busy_per_org_hour[org];
        busy += hour < run_busy.size() ? run_busy[hour] : 0;
      }
      series.values[hour] = total == 0 ? 0 : busy * kBasisPointsOne / total;
    }
    out.push_back(std::move(series));
  }
  return out;
}

// How many jobs waited how long, in buckets a scheduler's user thinks in.
std::string wait_chart(const Report& report) {
  const std::vector<std::pair<std::string, Seconds>> buckets = {
      {"0", 1},        {"<1m", 60},     {"<10m", 600},    {"<1h", 3'600},
      {"<6h", 21'600}, {"<1d", 86'400}, {"<7d", 604'800}, {">=7d", INT64_MAX}};
  std::vector<std::string> categories;
  categories.reserve(buckets.size() + 1);
  for (const auto& [name, limit] : buckets)
    categories.push_back(name);
  categories.emplace_back("never");
  std::vector<Series> series;
  for (const RunResult* run : report.runs) {
    Series s{run->name, std::vector<std::int64_t>(categories.size(), 0)};
    for (std::size_t index = 0; index < run->jobs.size(); ++index) {
      const JobResult& job = run->jobs[index];
      if (job.start < 0) {
        ++s.values.back();
        continue;
      }
      const Seconds wait = job.start - report.trace->jobs[index].submit;
      for (std::size_t b = 0; b < buckets.size(); ++b) {
        if (wait < buckets[b].second) {
          ++s.values[b];
          break;
        }
      }
    }
    series.push_back(std::move(s));
  }
  return bar_chart("Jobs by wait before their start", categories, series, 1, "jobs");
}

// Over the market's hours: the index is sampled on each hour's tick.
std::string price_charts(const Report& report) {
  const RunResult& market = *report.runs.front();
  std::vector<Series> index;
  for (std::size_t pool = 0; pool < report.catalog->pool_count(); ++pool) {
    bool supplied = false;
    for (const Node& node : report.trace->nodes)
      supplied = supplied || node.pool == pool;
    if (!supplied) continue;
    Series s{report.catalog->model(static_cast<PoolIndex>(pool)).model, {}};
    for (const auto& prices : market.index_per_hour)
      s.values.push_back(pool < prices.size() ? prices[pool] : 0);
    index.push_back(std::move(s));
  }
  std::vector<Series> tariffs;
  for (std::size_t number = 0; number < report.tariffs->region_count(); ++number) {
    const auto region = static_cast<RegionIndex>(number);
    Series s{report.tariffs->region_name(region), {}};
    for (std::size_t hour = 0; hour < market.index_per_hour.size(); ++hour) {
      s.values.push_back(report.tariffs->multiplier_bp(
          region, report.options.epoch + static_cast<UnixSeconds>(hour) * kSecondsPerHour));
    }
    tariffs.push_back(std::move(s));
  }
  return line_chart("Index price per pool (USD per card-hour)", index, 1'000'000, "USD", "hours") +
         line_chart("Tariff multiplier per region (%)", tariffs, 100, "%", "hours");
}

std::string cost_chart(const Summary& market) {
  std::vector<std::string> categories;
  Series time_first{"time_first", {}};
  Series cost_first{"cost_first", {}};
  for (const auto& [target, costs] : market.cost_by_target) {
    categories.push_back(target);
    time_first.values.push_back(costs[0].per_card_hour());
    cost_first.values.push_back(costs[1].per_card_hour());
  }
  return bar_chart("Paid per card-hour by strategy (micro-USD; hover for values)", categories,
                   {time_first, cost_first}, 1, "micro-USD");
}

std::string headline_table(const Report& report, const std::vector<Summary>& summaries) {
  std::string html =
      "<table><tr><th>run</th><th>utilisation</th><th>wait p50</th><th>wait "
      "p90</th><th>wait p99</th><th>started in deadline</th><th>completed</th>"
      "<th>never started</th></tr>";
  const auto percent = [](BasisPoints bp) {
    const BasisPoints magnitude = bp < 0 ? -bp : bp;
    return std::string(bp < 0 ? "-" : "") + std::to_string(magnitude / 100) + "." +
           std::to_string(magnitude % 100 / 10) + " %";
  };
  const auto hours = [](Seconds s) {
    return std::to_string(s / 3'600) + " h " + std::to_string(s % 3'600 / 60) + " m";
  };
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const Summary& s = summaries[i];
    std::uint64_t never = 0;
    for (const auto& [reason, count] : s.never_started)
      never += count;
    html += "<tr><td>" + escaped(report.runs[i]->name) + "</td><td>" + percent(s.utilisation_bp) +
            "</td><td>" + hours(s.wait.p50) + "</td><td>" + hours(s.wait.p90) + "</td><td>" +
            hours(s.wait.p99) + "</td><td>" + percent(s.started_within_deadline_bp) + "</td><td>" +
            std::to_string(s.jobs_completed) + "</td><td>" + std::to_string(never) + "</td></tr>";
  }
  html += "</table>";
  if (const auto saving = summaries.front().cost_first_saving_bp) {
    html += "<p>Cost-first buyers paid " + percent(*saving < 0 ? -*saving : *saving) +
            (*saving < 0 ? " more" : " less") +
            " per card-hour than time-first buyers of the same models.</p>";
  }
  return html;
}

}  // namespace

std::string report_html(const Report& report) {
  const auto [from, to] = measurement_window(*report.trace, report.runs);
  std::vector<Summary> summaries;
  UnixSeconds last = to;
  for (const RunResult* run : report.runs) {
    summaries.push_back(summarise(*report.catalog, *report.trace, report.options, *run, from, to));
    last = std::max(last, run->last_activity);
  }
  const auto hours = static_cast<std::size_t>(last / kSecondsPerHour + 1);
  std::string html =
      "<!doctype html><html><head><meta charset='utf-8'><title>spotgrid replay</title><style>"
      "body{font:14px system-ui,sans-serif;margin:24px;max-width:820px}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
      "svg text{font-size:11px}</style></head><body><h1>spotgrid market replay</h1><p>" +
      std::to_string(report.trace->jobs.size()) + " jobs on " +
      std::to_string(report.trace->nodes.size()) + " nodes; trace second 0 is " +
      util::format_utc(report.options.epoch) + "; measured over trace hours " +
      std::to_string(from / kSecondsPerHour) + " to " + std::to_string(to / kSecondsPerHour) +
      ".</p>";
  html += headline_table(report, summaries);
  html += line_chart("GPU utilisation per hour (%)", utilisation_series(report, hours), 100, "%",
                     "hours");
  html += wait_chart(report);
  html += price_charts(report);
  html += cost_chart(summaries.front());
  html += "</body></html>\n";
  return html;
}

}  // namespace spotgrid::replay
