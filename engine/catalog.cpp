#include "spotgrid/engine/catalog.hpp"

#include <algorithm>

#include "spotgrid/util/check.hpp"

namespace spotgrid::engine {
namespace {

// A name that is safe in a URL path and a stream channel ("book:<model>" in 64
// bytes): letters, digits, '.', '_' and '-', not dots alone.
bool valid_name(std::string_view name, std::size_t max_length) {
  return !name.empty() && name.size() <= max_length &&
         name.find_first_not_of('.') != std::string_view::npos &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

}  // namespace

Catalog::Catalog(const std::vector<GpuModel>& models) {
  SPOTGRID_CHECK(models.size() <= limits::kMaxPools);
  for (const GpuModel& model : models)
    add(model);
}

Catalog::Catalog(const Catalog& other) {
  *this = other;
}

Catalog& Catalog::operator=(const Catalog& other) {
  if (this == &other) return *this;
  models_ = other.models_;
  vendor_of_pool_ = other.vendor_of_pool_;
  vendors_ = other.vendors_;
  vendor_count_.store(other.vendor_count_.load(std::memory_order_acquire),
                      std::memory_order_release);
  pools_.store(other.pools_.load(std::memory_order_acquire), std::memory_order_release);
  return *this;
}

std::vector<GpuModel> Catalog::models() const {
  return {models_.begin(), models_.begin() + static_cast<std::ptrdiff_t>(pool_count())};
}

std::optional<PoolIndex> Catalog::find_pool(std::string_view model) const {
  const std::size_t count = pool_count();
  for (std::size_t i = 0; i < count; ++i) {
    if (models_[i].model == model) return static_cast<PoolIndex>(i);
  }
  return std::nullopt;
}

std::optional<std::uint8_t> Catalog::find_vendor(std::string_view vendor) const {
  const std::span<const std::string> known = vendors();
  const auto it = std::find(known.begin(), known.end(), vendor);
  if (it == known.end()) return std::nullopt;
  return static_cast<std::uint8_t>(it - known.begin());
}

PoolMask Catalog::pools_matching(std::uint32_t min_memory_gib, MilliCu min_cu,
                                 VendorMask vendors) const {
  PoolMask mask = 0;
  const std::size_t count = pool_count();
  for (std::size_t i = 0; i < count; ++i) {
    const bool vendor_ok = vendors == 0 || (vendors >> vendor_of_pool_[i]) & 1u;
    if (vendor_ok && models_[i].memory_gib >= min_memory_gib &&
        models_[i].compute_units >= min_cu) {
      mask |= PoolMask{1} << i;
    }
  }
  return mask;
}

PoolMask Catalog::all_pools() const {
  const std::size_t count = pool_count();
  return count >= 64 ? ~PoolMask{0} : (PoolMask{1} << count) - 1;
}

std::optional<CatalogRefusal> Catalog::refusal(const GpuModel& model) const {
  constexpr const char* kModelName = "must be 1 to 48 of A-Z a-z 0-9 . _ - (not dots alone)";
  constexpr const char* kVendorName = "must be 1 to 32 of A-Z a-z 0-9 . _ - (not dots alone)";
  if (pool_count() >= limits::kMaxPools)
    return CatalogRefusal{"model", "cannot be added: the catalog holds its 64 models"};
  if (!valid_name(model.model, 48)) return CatalogRefusal{"model", kModelName};
  if (find_pool(model.model)) return CatalogRefusal{"model", "is already in the catalog"};
  if (!valid_name(model.vendor, 32)) return CatalogRefusal{"vendor", kVendorName};
  if (!find_vendor(model.vendor) && vendors().size() >= limits::kMaxVendors)
    return CatalogRefusal{"vendor", "cannot be added: the catalog holds its 32 vendors"};
  if (model.memory_gib < 1 || model.memory_gib > limits::kMaxMemoryGib)
    return CatalogRefusal{"memory_gib", "must be 1 to 65536"};
  if (model.bf16_tflops < 1 || model.bf16_tflops > limits::kMaxModelFigure)
    return CatalogRefusal{"bf16_tflops", "must be 1 to 1000000"};
  if (model.memory_bandwidth_gbps < 1 || model.memory_bandwidth_gbps > limits::kMaxModelFigure)
    return CatalogRefusal{"memory_bandwidth_gbps", "must be 1 to 1000000"};
  if (model.compute_units < 1 || model.compute_units > limits::kMaxComputeUnitsMilli)
    return CatalogRefusal{"compute_units", "must be 0.001 to 100"};
  if (model.reference_price_micros_per_card_hour < 1 ||
      model.reference_price_micros_per_card_hour > limits::kMaxPriceMicrosPerHour)
    return CatalogRefusal{"reference_price_micros_per_card_hour", "is out of range"};
  return std::nullopt;
}

std::optional<Catalog> Catalog::of(const std::vector<GpuModel>& models) {
  if (models.size() > limits::kMaxPools) return std::nullopt;
  Catalog catalog;
  for (const GpuModel& model : models) {
    if (catalog.refusal(model)) return std::nullopt;
    catalog.add(model);
  }
  return catalog;
}

PoolIndex Catalog::add(const GpuModel& model) {
  const std::size_t pool = pool_count();
  SPOTGRID_CHECK(pool < limits::kMaxPools);
  auto vendor = find_vendor(model.vendor);
  if (!vendor) {
    const std::size_t next = vendors().size();
    SPOTGRID_CHECK(next < limits::kMaxVendors);
    vendors_[next] = model.vendor;
    vendor_count_.store(next + 1, std::memory_order_release);
    vendor = static_cast<std::uint8_t>(next);
  }
  models_[pool] = model;
  vendor_of_pool_[pool] = *vendor;
  pools_.store(pool + 1, std::memory_order_release);
  return static_cast<PoolIndex>(pool);
}

bool Catalog::leads(const Catalog& market) const {
  const std::size_t mine = pool_count();
  if (market.pool_count() < mine) return false;
  for (std::size_t pool = 0; pool < mine; ++pool) {
    if (!(models_[pool] == market.models_[pool])) return false;
  }
  return true;
}

bool Catalog::extend_to(const Catalog& market) {
  if (!leads(market)) return false;
  for (std::size_t pool = pool_count(); pool < market.pool_count(); ++pool)
    add(market.models_[pool]);
  return true;
}

}  // namespace spotgrid::engine
