#pragma once
// What /metrics says (Prometheus text format 0.0.4): latency per route, the
// pools' books and index, and the metering counters. Service composes them
// with its own gauges and counters.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/ingest/ingest.hpp"
#include "spotgrid/ledger/read_model.hpp"

namespace spotgrid::gateway {

// Request latency per route for /metrics: a Prometheus histogram, in seconds.
constexpr std::array<double, 11> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0};
struct RouteStats {
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size()> buckets{};  // not cumulative
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_micros{0};

  void record(std::chrono::microseconds elapsed) {
    const double seconds = static_cast<double>(elapsed.count()) / 1e6;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      if (seconds <= kLatencyBuckets[i]) {
        ++buckets[i];
        break;
      }
    }
    ++count;
    sum_micros += static_cast<std::uint64_t>(elapsed.count());
  }
};

// A latency histogram per served route ("METHOD /path/{param}", from the one
// list served_routes() gives), and one for whatever matched none.
class RouteMetrics {
 public:
  RouteMetrics();
  // The label of a route served outside the /v1 table (health, metrics,
  // sessions, metering, streams), if the request is for one.
  std::optional<std::size_t> fixed_label_of(std::string_view method, std::string_view path) const;
  // The label of match_v1's route (none: "unmatched").
  std::size_t v1_label_of(std::optional<std::size_t> v1) const {
    return v1 ? first_v1_ + *v1 : labels_.size() - 1;
  }
  const std::string& label(std::size_t index) const { return labels_[index]; }
  void record(std::size_t label, std::chrono::microseconds elapsed) {
    stats_[label].record(elapsed);
  }
  void write(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> routes_;  // served_routes()
  std::vector<std::string> labels_;                          // the same, then "unmatched"
  std::unique_ptr<RouteStats[]> stats_;
  std::size_t first_v1_ = 0;  // the /v1 routes come last in served_routes()
};

// Cards on each side of each pool's book (best 20 levels) and its index price.
void write_pool_metrics(const ledger::ReadModel& model, const engine::Catalog& catalog,
                        std::ostream& out);

// Each card heard from in the last minute, under the names operators know
// from NVIDIA's dcgm-exporter: DCGM_FI_DEV_GPU_UTIL (%), DCGM_FI_DEV_POWER_USAGE
// (W) and DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ, since this process started
// hearing the card), labelled node, gpu (its index), UUID and lease.
void write_card_metrics(const std::vector<ingest::CardReading>& cards, std::ostream& out);

template <typename Metric>
void write_metering_metrics(const ingest::IngestCounters& c, const Metric& metric) {
  metric("spotgrid_metering_batches_stored_total", "counter", "Sample batches stored.",
         c.batches_stored);
  metric("spotgrid_metering_samples_stored_total", "counter", "Samples stored.", c.samples_stored);
  metric("spotgrid_metering_batches_duplicate_total", "counter",
         "Re-sent batches acknowledged without storing them again.", c.batches_duplicate);
  metric("spotgrid_metering_rejected_bad_signature_total", "counter",
         "Batches refused: not signed with their node's key.", c.rejected_bad_signature);
  metric("spotgrid_metering_rejected_unknown_node_total", "counter",
         "Batches refused: the node does not exist.", c.rejected_unknown_node);
  metric("spotgrid_metering_rejected_foreign_card_total", "counter",
         "Batches refused: a card the node does not own.", c.rejected_foreign_card);
  metric("spotgrid_metering_rejected_invalid_total", "counter",
         "Batches refused: malformed or out of range.", c.rejected_invalid);
  metric("spotgrid_metering_rejected_overloaded_total", "counter",
         "Batches refused: the ingest queue was full.", c.rejected_overloaded);
  metric("spotgrid_metering_storage_failures_total", "counter",
         "Ingest commits or meter reads that failed.", c.storage_failures);
  metric("spotgrid_metering_late_samples_total", "counter",
         "Samples kept but not billed: their seconds were decided or their lease had ended.",
         c.meter.late_samples);
  metric("spotgrid_metering_settlements_total", "counter", "SettleLease commands sent.",
         c.meter.settlements);
  metric("spotgrid_metering_interruptions_total", "counter",
         "Leases interrupted: heartbeat lost or fatal XID.", c.meter.interruptions);
  metric("spotgrid_metering_commands_rejected_total", "counter",
         "Metering commands the market refused or did not apply.", c.commands_rejected);
}

}  // namespace spotgrid::gateway
