#include "metrics.hpp"

#include <iomanip>

#include "api.hpp"
#include "spotgrid/gateway/service.hpp"

namespace spotgrid::gateway {

namespace {

// A label value in the text format: backslash, quote and newline escaped.
std::string label_value(std::string_view text) {
  std::string escaped;
  for (const char c : text) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped.push_back(c);
  }
  return escaped;
}

}  // namespace

RouteMetrics::RouteMetrics() : routes_(served_routes()) {
  for (const auto& [method, path] : routes_) {
    std::string label = method;
    label += ' ';
    label += path;
    labels_.push_back(std::move(label));
  }
  labels_.emplace_back("unmatched");
  first_v1_ = routes_.size() - v1_routes().size();
  stats_ = std::make_unique<RouteStats[]>(labels_.size());
}

std::optional<std::size_t> RouteMetrics::fixed_label_of(std::string_view method,
                                                        std::string_view path) const {
  // The /v1 routes come last in served_routes(), in v1_routes()' order.
  for (std::size_t i = 0; i < first_v1_; ++i) {
    if (routes_[i].first == method && routes_[i].second == path) return i;
  }
  return std::nullopt;
}

void RouteMetrics::write(std::ostream& out) const {
  out << "# HELP spotgrid_http_request_duration_seconds Time to answer, by route.\n"
         "# TYPE spotgrid_http_request_duration_seconds histogram\n";
  for (std::size_t route = 0; route < labels_.size(); ++route) {
    const RouteStats& s = stats_[route];
    const std::string label = "route=\"" + labels_[route] + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += s.buckets[i].load();
      out << "spotgrid_http_request_duration_seconds_bucket{" << label << ",le=\""
          << kLatencyBuckets[i] << "\"} " << cumulative << '\n';
    }
    const std::uint64_t count = s.count.load();
    out << "spotgrid_http_request_duration_seconds_bucket{" << label << ",le=\"+Inf\"} " << count
        << '\n'
        << "spotgrid_http_request_duration_seconds_sum{" << label << "} "
        << static_cast<double>(s.sum_micros.load()) / 1e6 << '\n'
        << "spotgrid_http_request_duration_seconds_count{" << label << "} " << count << '\n';
  }
}

// Cards on each side of each pool's book (best 20 levels) and its index price.
void write_pool_metrics(const ledger::ReadModel& model, const engine::Catalog& catalog,
                        std::ostream& out) {
  const std::size_t pools = catalog.pool_count();
  if (!model.ready()) return;  // recovering: no book to describe
  std::vector<engine::BookView> views(pools);
  std::vector<Micros> index(pools);
  for (std::size_t pool = 0; pool < pools; ++pool) {
    if (const auto record = model.pool(static_cast<PoolIndex>(pool))) {
      views[pool] = record->book;
      index[pool] = record->index;
    }
  }
  const auto cards = [](const std::vector<engine::BookLevel>& levels) {
    std::uint64_t total = 0;
    for (const engine::BookLevel& level : levels)
      total += level.cards;
    return total;
  };
  out << "# HELP spotgrid_book_cards Cards in the best 20 levels of a pool's book.\n"
         "# TYPE spotgrid_book_cards gauge\n";
  for (std::size_t pool = 0; pool < pools; ++pool) {
    const std::string& name = catalog.model(static_cast<PoolIndex>(pool)).model;
    out << "spotgrid_book_cards{pool=\"" << label_value(name) << "\",side=\"ask\"} "
        << cards(views[pool].asks) << "\nspotgrid_book_cards{pool=\"" << label_value(name)
        << "\",side=\"bid\"} " << cards(views[pool].bids) << '\n';
  }
  out << "# HELP spotgrid_index_price_micros A pool's index price per card-hour.\n"
         "# TYPE spotgrid_index_price_micros gauge\n";
  for (std::size_t pool = 0; pool < pools; ++pool) {
    out << "spotgrid_index_price_micros{pool=\""
        << label_value(catalog.model(static_cast<PoolIndex>(pool)).model) << "\"} " << index[pool]
        << '\n';
  }
}

void write_card_metrics(const std::vector<ingest::CardReading>& cards, std::ostream& out) {
  const auto labels = [](const ingest::CardReading& card) {
    return "{node=\"" + std::to_string(card.node) + "\",gpu=\"" + std::to_string(card.card_index) +
           "\",UUID=\"" + label_value(card.card_uuid) + "\",lease=\"" + std::to_string(card.lease) +
           "\"}";
  };
  out << "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %), as the node agent last reported.\n"
         "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n";
  for (const auto& card : cards)
    out << "DCGM_FI_DEV_GPU_UTIL" << labels(card) << ' ' << card.utilization_pct << '\n';
  out << "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W), as the node agent last reported.\n"
         "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n";
  for (const auto& card : cards) {
    out << "DCGM_FI_DEV_POWER_USAGE" << labels(card) << ' ' << card.power_mw / 1'000 << '.'
        << std::setw(3) << std::setfill('0') << card.power_mw % 1'000 << std::setfill(' ') << '\n';
  }
  out << "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Energy (in mJ) the card delivered since this "
         "process started hearing it.\n"
         "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n";
  // Without the lease: a counter's series must not restart with each lease.
  for (const auto& card : cards) {
    out << "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{node=\"" << card.node << "\",gpu=\""
        << card.card_index << "\",UUID=\"" << label_value(card.card_uuid) << "\"} "
        << card.energy_mj_total << '\n';
  }
}

}  // namespace spotgrid::gateway
