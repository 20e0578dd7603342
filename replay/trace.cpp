// Reading a trace: each row becomes a job or a node, or is counted with the
// reason it could not (TraceCounts); the two CSVs share organisation names.

#include <algorithm>
#include <charconv>
#include <random>

#include "csv_reader.hpp"
#include "spotgrid/engine/limits.hpp"
#include "spotgrid/replay/trace.hpp"

namespace spotgrid::replay {
namespace {

using engine::Catalog;
using engine::TariffBook;
using Row = std::vector<std::string_view>;

constexpr std::size_t kSkippedExamples = 10;

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Seconds, whole or with a fraction ("3600.0", kept to the whole second),
// from 0 to kMaxTraceSeconds.
std::optional<std::int64_t> parse_seconds(std::string_view text) {
  const auto ppm = parse_ppm(text);
  if (!ppm || *ppm / kPpmOne > kMaxTraceSeconds) return std::nullopt;
  return *ppm / kPpmOne;
}

// Names that reach the report: printable ASCII, anything else as '?'.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, limits::kMaxTextBytes));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

// value × 1/scale, rounded down; scale > 0.
std::int64_t scaled_down(std::int64_t value, Ppm scale) {
  return static_cast<std::int64_t>(static_cast<Int128>(value) * kPpmOne / scale);
}

// FNV-1a: a hash that is the same in every build, for the seeded org split.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14'695'981'039'346'656'037ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1'099'511'628'211ull;
  }
  return hash;
}

// Joins pieces into one string (GCC 12 warns falsely on "literal" + std::string).
std::string joined(std::initializer_list<std::string_view> pieces) {
  std::string out;
  for (const std::string_view piece : pieces)
    out.append(piece);
  return out;
}

bool header_has(std::string_view csv_text, const std::string& column) {
  CsvReader csv(csv_text);
  Row header;
  return csv.next(header) && CsvColumns(header).has(column);
}

struct ModelTarget {
  PoolIndex pool = 0;
  Ppm cu_scale = kPpmOne;  // a job's duration on the catalog model, per second in the trace
};
using ModelMap = std::unordered_map<std::string, ModelTarget>;

class Reader {
 public:
  Reader(const Catalog& catalog, const TariffBook& tariffs, const TraceOptions& options,
         bool has_org_column)
      : catalog_(catalog),
        tariffs_(tariffs),
        options_(options),
        rng_(options.seed),
        has_org_column_(has_org_column) {}

  std::optional<TraceError> read_model_map(std::string_view text);
  std::optional<TraceError> read_nodes(std::string_view text);
  std::optional<TraceError> read_jobs(std::string_view text);
  void finish();
  Trace take() { return std::move(trace_); }

 private:
  void skip(std::map<std::string, std::uint64_t>& reasons, std::string_view file, std::size_t line,
            const std::string& reason) {
    ++reasons[reason];
    if (trace_.counts.first_skipped.size() < kSkippedExamples) {
      trace_.counts.first_skipped.push_back(
          joined({file, ":", std::to_string(line), ": ", reason}));
    }
  }
  // The catalog model a trace's name means, mapped or not; nullopt when unknown.
  std::optional<ModelTarget> model(std::string_view name, bool& mapped) const {
    mapped = false;
    if (const auto pool = catalog_.find_pool(name)) return ModelTarget{*pool, kPpmOne};
    const auto found = map_.find(std::string(name));
    if (found == map_.end()) return std::nullopt;
    mapped = true;
    return found->second;
  }
  std::uint32_t org_of(std::string_view name, const std::string& fallback_key) {
    if (name.empty() && !has_org_column_) {
      // No org column: a seeded split, stable for a given id and seed.
      return static_cast<std::uint32_t>(std::mt19937_64(fnv1a(fallback_key) ^ options_.seed)() %
                                        std::max(1u, options_.orgs));
    }
    const std::string key = name.empty() ? std::string("default") : printable(name);
    const auto [it, added] =
        org_index_.emplace(key, static_cast<std::uint32_t>(trace_.orgs.size()));
    if (added) trace_.orgs.push_back(key);
    return it->second;
  }
  std::optional<std::string> read_node(const CsvColumns& columns, const Row& row);
  std::optional<std::string> read_job(const CsvColumns& columns, const Row& row);
  void add_node(const Node& node);

  const Catalog& catalog_;
  const TariffBook& tariffs_;
  const TraceOptions& options_;
  std::mt19937_64 rng_;
  ModelMap map_;
  Trace trace_;
  std::unordered_map<std::string, std::uint32_t> org_index_;
  bool has_org_column_;              // in either file: orgs by name, else the seeded split
  std::uint64_t node_sequence_ = 0;  // for the round-robin region of nodes without one
};

std::optional<TraceError> Reader::read_model_map(std::string_view text) {
  CsvReader csv(text);
  Row row;
  while (csv.next(row)) {
    const auto name = CsvColumns::trimmed(row[0]);
    if (csv.line() == 1 && name == "trace_name") continue;  // an optional header
    const auto target = row.size() > 1 ? catalog_.find_pool(CsvColumns::trimmed(row[1]))
                                       : std::optional<PoolIndex>{};
    const auto scale = row.size() > 2 ? parse_ppm(CsvColumns::trimmed(row[2])) : Ppm{kPpmOne};
    if (name.empty() || !target || !scale || *scale == 0) {
      return TraceError{joined({"model map:", std::to_string(csv.line()),
                                ": expected trace_name,catalog_name[,cu_scale] with a catalog "
                                "model and a positive cu_scale"})};
    }
    map_[std::string(name)] = ModelTarget{*target, *scale};
  }
  return std::nullopt;
}

std::optional<TraceError> Reader::read_nodes(std::string_view text) {
  CsvReader csv(text);
  Row row;
  if (!csv.next(row))
    return TraceError{"nodes.csv: empty; expected the header node_id,gpu_model,gpus"};
  const CsvColumns columns(row);
  for (const char* required : {"node_id", "gpu_model", "gpus"}) {
    if (!columns.has(required))
      return TraceError{joined({"nodes.csv:1: the header has no column ", required})};
  }
  while (csv.next(row)) {
    ++trace_.counts.node_rows;
    if (auto reason = read_node(columns, row))
      skip(trace_.counts.node_rows_skipped, "nodes.csv", csv.line(), *reason);
  }
  return std::nullopt;
}

std::optional<std::string> Reader::read_node(const CsvColumns& columns, const Row& row) {
  if (trace_.nodes.size() >= kMaxTraceNodes) return "more nodes than a replay takes (1,000,000)";
  Node node;
  node.id = std::string(columns.get(row, "node_id"));
  bool mapped = false;
  const auto target = model(columns.get(row, "gpu_model"), mapped);
  if (!target) return "unknown gpu_model (add it to --model-map)";
  node.pool = target->pool;
  trace_.counts.nodes_model_mapped += mapped ? 1 : 0;
  const auto cards = parse_integer(columns.get(row, "gpus"));
  if (!cards || *cards <= 0 || *cards > 1'000'000) return "gpus is not a positive whole number";
  node.org = org_of(columns.get(row, "org"), node.id);
  const auto region_name = columns.get(row, "region");
  const auto region = tariffs_.find_region(region_name);
  if (!region) ++trace_.counts.nodes_region_assigned;
  node.region =
      region ? *region : static_cast<RegionIndex>(node_sequence_ % tariffs_.region_count());
  ++node_sequence_;
  if (const auto reserve = columns.get(row, "reserve_micros_per_card_hour"); !reserve.empty()) {
    const auto value = parse_integer(reserve);
    if (!value || *value <= 0 || *value > limits::kMaxPriceMicrosPerHour)
      return "reserve_micros_per_card_hour is not a price";
    node.reserve_micros_per_card_hour = *value;
  }
  if (const auto from = columns.get(row, "available_from_s"); !from.empty()) {
    const auto value = parse_seconds(from);
    if (!value) return "available_from_s is not a time";
    node.available_from = scaled_down(*value, options_.time_scale);
    if (node.available_from > kMaxTraceSeconds) return "available_from_s is beyond 10 years";
  }
  if (const auto until = columns.get(row, "available_until_s"); !until.empty()) {
    const auto value = parse_seconds(until);
    if (!value || scaled_down(*value, options_.time_scale) <= node.available_from)
      return "available_until_s is not after available_from_s";
    node.available_until = scaled_down(*value, options_.time_scale);
  }
  // A node with more cards than one node may have becomes several.
  std::int64_t left = *cards;
  trace_.counts.nodes_split += left > limits::kMaxCardsPerNode ? 1 : 0;
  for (std::uint32_t part = 0; left > 0; ++part) {
    Node piece = node;
    piece.cards =
        static_cast<std::uint16_t>(std::min<std::int64_t>(left, limits::kMaxCardsPerNode));
    left -= piece.cards;
    if (part > 0) piece.id = joined({piece.id, "#", std::to_string(part)});
    add_node(piece);
  }
  return std::nullopt;
}

// --supply-scale: each node kept with probability `scale` below 1, copied
// floor(scale) times (plus one with the fraction's probability) above.
void Reader::add_node(const Node& node) {
  const Ppm whole = options_.supply_scale / kPpmOne;
  const Ppm fraction = options_.supply_scale % kPpmOne;
  const std::uint64_t copies =
      static_cast<std::uint64_t>(whole) +
      (fraction > 0 && static_cast<Ppm>(rng_() % kPpmOne) < fraction ? 1 : 0);
  if (copies == 0) ++trace_.counts.nodes_scaled_out;
  for (std::uint64_t copy = 0; copy < copies; ++copy) {
    if (trace_.nodes.size() >= kMaxTraceNodes) {
      ++trace_.counts.nodes_over_capacity;
      continue;
    }
    Node out = node;
    if (copy > 0) {
      out.id = joined({out.id, "*", std::to_string(copy)});
      ++trace_.counts.nodes_scaled_in;
    }
    trace_.nodes.push_back(std::move(out));
  }
}

std::optional<TraceError> Reader::read_jobs(std::string_view text) {
  CsvReader csv(text);
  Row row;
  if (!csv.next(row))
    return TraceError{
        "jobs.csv: empty; expected the header job_id,submit_s,duration_s,gpus,gpu_model,gpu_share"};
  const CsvColumns columns(row);
  for (const char* required :
       {"job_id", "submit_s", "duration_s", "gpus", "gpu_model", "gpu_share"}) {
    if (!columns.has(required))
      return TraceError{joined({"jobs.csv:1: the header has no column ", required})};
  }
  while (csv.next(row)) {
    ++trace_.counts.job_rows;
    if (auto reason = read_job(columns, row))
      skip(trace_.counts.job_rows_skipped, "jobs.csv", csv.line(), *reason);
  }
  return std::nullopt;
}

std::optional<std::string> Reader::read_job(const CsvColumns& columns, const Row& row) {
  Job job;
  job.id = std::string(columns.get(row, "job_id"));
  const auto submit = parse_seconds(columns.get(row, "submit_s"));
  if (!submit) return "submit_s is not a time";
  const auto duration = parse_seconds(columns.get(row, "duration_s"));
  if (!duration || *duration <= 0) return "duration_s is not a positive number of seconds";
  const auto gpus = parse_integer(columns.get(row, "gpus"));
  const auto share_text = columns.get(row, "gpu_share");
  const auto share = share_text.empty() ? Ppm{kPpmOne} : parse_ppm(share_text);
  if (!share || *share == 0) return "gpu_share is not a positive fraction";
  if (!gpus || *gpus < 0 || *gpus > 1'000'000 || (*gpus == 0 && *share >= kPpmOne))
    return "gpus is not a whole number of cards";
  if ((options_.from && *submit < *options_.from) || (options_.to && *submit >= *options_.to)) {
    ++trace_.counts.jobs_outside_window;
    return std::nullopt;  // counted, by request
  }
  job.fractional = *share < kPpmOne;
  job.cards = static_cast<std::uint32_t>(std::max<std::int64_t>(*gpus, 1));
  Ppm cu_scale = kPpmOne;
  if (const auto name = columns.get(row, "gpu_model"); name.empty()) {
    ++trace_.counts.jobs_any_model;
  } else {
    bool mapped = false;
    if (const auto target = model(name, mapped)) {
      job.pool = target->pool;
      cu_scale = target->cu_scale;
      trace_.counts.jobs_model_mapped += mapped ? 1 : 0;
    } else {
      job.unknown_model = true;
      ++trace_.counts.jobs_unknown_model;
    }
  }
  job.submit = scaled_down(*submit, options_.time_scale);
  if (job.submit > kMaxTraceSeconds) return "submit_s after --time-scale is beyond 10 years";
  const std::int64_t scaled =
      scaled_down(static_cast<std::int64_t>(static_cast<Int128>(*duration) * cu_scale / kPpmOne),
                  options_.time_scale);
  job.duration = std::max<std::int64_t>(scaled, 1);
  if (job.duration > kMaxTraceSeconds) return "duration_s after --time-scale is beyond 10 years";
  trace_.counts.jobs_fractional += job.fractional ? 1 : 0;
  job.org = org_of(columns.get(row, "org"), job.id);
  const auto strategy = columns.get(row, "strategy");
  if (strategy == "time_first") job.strategy = engine::Strategy::kTimeFirst;
  if (strategy == "cost_first") job.strategy = engine::Strategy::kCostFirst;
  if (!strategy.empty() && !job.strategy) return "strategy is neither time_first nor cost_first";
  if (const auto limit = columns.get(row, "limit_micros_per_card_hour"); !limit.empty()) {
    const auto value = parse_integer(limit);
    if (!value || *value <= 0 || *value > limits::kMaxPriceMicrosPerHour)
      return "limit_micros_per_card_hour is not a price";
    job.limit_micros_per_card_hour = *value;
  }
  if (const auto deadline = columns.get(row, "deadline_s"); !deadline.empty()) {
    const auto value = parse_seconds(deadline);
    if (!value) return "deadline_s is not a number of seconds";
    job.deadline = scaled_down(*value, options_.time_scale);
  }
  trace_.counts.jobs_longer_than_max_lease += job.duration > limits::kMaxLeaseDuration ? 1 : 0;
  trace_.jobs.push_back(std::move(job));
  return std::nullopt;
}

// Jobs by submit time (file order breaks ties), rebased to the first
// submit's hour, and what no node can serve.
void Reader::finish() {
  std::stable_sort(trace_.jobs.begin(), trace_.jobs.end(),
                   [](const Job& a, const Job& b) { return a.submit < b.submit; });
  if (!trace_.jobs.empty()) {
    trace_.rebased_by = trace_.jobs.front().submit / kSecondsPerHour * kSecondsPerHour;
    for (Job& job : trace_.jobs)
      job.submit -= trace_.rebased_by;
    for (Node& node : trace_.nodes) {
      node.available_from = std::max<UnixSeconds>(node.available_from - trace_.rebased_by, 0);
      if (node.available_until) *node.available_until -= trace_.rebased_by;
    }
    // A node gone before the trace begins offers nothing.
    trace_.counts.nodes_gone_before_first_submit =
        std::erase_if(trace_.nodes, [](const Node& node) {
          return node.available_until && *node.available_until <= node.available_from;
        });
  }
  std::vector<bool> supplied(catalog_.pool_count(), false);
  Seconds longest_window = 0;
  for (const Node& node : trace_.nodes) {
    supplied[node.pool] = true;
    longest_window =
        std::max(longest_window, node.available_until ? *node.available_until - node.available_from
                                                      : limits::kMaxListingWindow);
  }
  for (const Job& job : trace_.jobs) {
    if (job.pool && !supplied[*job.pool]) ++trace_.counts.jobs_model_not_supplied;
    const Seconds needed = std::min(job.duration, limits::kMaxLeaseDuration);
    if (!job.unknown_model && needed > longest_window) ++trace_.counts.jobs_longer_than_any_window;
  }
  if (!has_org_column_) {
    trace_.counts.orgs_assigned = true;
    trace_.orgs.clear();
    for (std::uint32_t org = 0; org < std::max(1u, options_.orgs); ++org)
      trace_.orgs.push_back(joined({"org-", std::to_string(org)}));
  }
}

}  // namespace

std::optional<Ppm> parse_ppm(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if ((whole.empty() && fraction.empty()) || fraction.size() > 6 || whole.size() > 12)
    return std::nullopt;
  const auto digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(fraction)) return std::nullopt;
  Ppm value = 0;
  for (const char c : whole)
    value = value * 10 + (c - '0');
  value *= kPpmOne;
  Ppm unit = kPpmOne / 10;
  for (const char c : fraction) {
    value += (c - '0') * unit;
    unit /= 10;
  }
  return value;
}

std::variant<Trace, TraceError> parse_trace(const Catalog& catalog, const TariffBook& tariffs,
                                            std::string_view jobs_csv, std::string_view nodes_csv,
                                            std::string_view model_map_csv,
                                            const TraceOptions& options) {
  if (options.supply_scale < 0 || options.time_scale <= 0)
    return TraceError{"--supply-scale must be at least 0 and --time-scale above 0"};
  if (options.supply_scale > kMaxSupplyScale || options.orgs == 0 || options.orgs > kMaxOrgs)
    return TraceError{"--supply-scale is at most 100 and --orgs from 1 to 1000"};
  const bool jobs_have_orgs = header_has(jobs_csv, "org");
  if (jobs_have_orgs != header_has(nodes_csv, "org")) {
    return TraceError{
        "an org column in one of jobs.csv and nodes.csv but not the other: give both (jobs "
        "and nodes of the same organisations) or neither (--orgs N splits both)"};
  }
  Reader reader(catalog, tariffs, options, jobs_have_orgs);
  if (auto error = reader.read_model_map(model_map_csv)) return *error;
  if (auto error = reader.read_nodes(nodes_csv)) return *error;
  if (auto error = reader.read_jobs(jobs_csv)) return *error;
  reader.finish();
  Trace trace = reader.take();
  if (trace.orgs.size() > kMaxOrgs)
    return TraceError{"more than 1000 organisations in the org column"};
  return trace;
}

}  // namespace spotgrid::replay
