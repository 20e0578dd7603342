#pragma once
// The GPU catalog: one pool (order book) per model. Compute units (CU) make
// heterogeneous cards comparable; class orders price per CU-hour.
//
// A catalog only grows (AddGpuModel): models and vendors are appended, never
// changed. Storage is fixed (limits::kMaxPools models), so one thread may
// append while others read: a reader sees a model only after it is complete
// (the counts are published with release, read with acquire).

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
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

  bool operator==(const GpuModel&) const = default;
};

// Why a model cannot join a catalog: the field at fault and the problem.
struct CatalogRefusal {
  const char* field;
  const char* problem;
};

class Catalog {
 public:
  Catalog() = default;
  // Models must be valid (see config.hpp); vendors are numbered in order of appearance.
  explicit Catalog(const std::vector<GpuModel>& models);
  // Copies are taken while nobody appends (at start-up, on the engine thread).
  Catalog(const Catalog& other);
  Catalog& operator=(const Catalog& other);

  std::size_t pool_count() const { return pools_.load(std::memory_order_acquire); }
  const GpuModel& model(PoolIndex pool) const { return models_[pool]; }
  // A pool's model name, or "" for a pool this catalog does not hold (yet): for
  // indices read from storage or another thread.
  std::string_view pool_name(PoolIndex pool) const {
    return pool < pool_count() ? std::string_view(models_[pool].model) : std::string_view();
  }
  std::vector<GpuModel> models() const;
  std::optional<PoolIndex> find_pool(std::string_view model) const;
  std::optional<std::uint8_t> find_vendor(std::string_view vendor) const;
  std::uint8_t vendor_of(PoolIndex pool) const { return vendor_of_pool_[pool]; }
  std::span<const std::string> vendors() const {
    return {vendors_.data(), vendor_count_.load(std::memory_order_acquire)};
  }

  // Pools whose model satisfies a class: memory >= min, CU >= min, vendor in set (0 = any).
  PoolMask pools_matching(std::uint32_t min_memory_gib, MilliCu min_cu, VendorMask vendors) const;
  PoolMask all_pools() const;

  // Why `model` cannot join this catalog, or nullopt: a name of 1 to 48 of
  // [A-Za-z0-9._-] (not dots alone) not taken, a vendor of 1 to 32 so, at most limits::kMaxVendors
  // vendors and kMaxPools models, and each figure within the bounds
  // config/gpus.json has.
  std::optional<CatalogRefusal> refusal(const GpuModel& model) const;
  // The catalog of `models` in order, each accepted where it joins; nullopt when one is not.
  static std::optional<Catalog> of(const std::vector<GpuModel>& models);
  // Appends a model `refusal` accepted: the next pool. One appender at a time.
  PoolIndex add(const GpuModel& model);
  // Whether this catalog's models are the first models of `market`.
  bool leads(const Catalog& market) const;
  // Appends the models `market` has beyond this catalog's; false (and nothing
  // appended) when this catalog does not lead `market`.
  bool extend_to(const Catalog& market);

 private:
  std::array<GpuModel, limits::kMaxPools> models_{};
  std::array<std::uint8_t, limits::kMaxPools> vendor_of_pool_{};
  std::array<std::string, limits::kMaxVendors> vendors_{};
  std::atomic<std::size_t> pools_{0};
  std::atomic<std::size_t> vendor_count_{0};
};

}  // namespace spotgrid::engine
