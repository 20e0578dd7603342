#pragma once
// The GPU catalog: one pool (order book) per model. Compute units (CU) make
// heterogeneous cards comparable; class orders price per CU-hour.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/engine/limits.hpp"
#include "spotgrid/engine/types.hpp"

namespace spotgrid::engine {

struct GpuModel {
  std::string model;   // e.g. "H100-SXM-80G"
  std::string vendor;  // e.g. "nvidia"
  std::uint32_t memory_gib = 0;
  std::uint32_t bf16_tflops = 0;
  std::uint32_t memory_bandwidth_gbps = 0;
  MilliCu compute_units = 0;
  Micros reference_price_micros_per_card_hour = 0;  // centre of the index band
};

class Catalog {
 public:
  Catalog() = default;
  // Models must be valid (see config.hpp); vendors are numbered in order of appearance.
  explicit Catalog(std::vector<GpuModel> models);

  std::size_t pool_count() const { return models_.size(); }
  const GpuModel& model(PoolIndex pool) const { return models_[pool]; }
  std::optional<PoolIndex> find_pool(std::string_view model) const;
  std::optional<std::uint8_t> find_vendor(std::string_view vendor) const;
  std::uint8_t vendor_of(PoolIndex pool) const { return vendor_of_pool_[pool]; }
  const std::vector<std::string>& vendors() const { return vendors_; }

  // Pools whose model satisfies a class: memory >= min, CU >= min, vendor in set (0 = any).
  PoolMask pools_matching(std::uint32_t min_memory_gib, MilliCu min_cu, VendorMask vendors) const;
  PoolMask all_pools() const;

 private:
  std::vector<GpuModel> models_;
  std::vector<std::string> vendors_;
  std::vector<std::uint8_t> vendor_of_pool_;
};

}  // namespace spotgrid::engine
