#include "spotgrid/engine/catalog.hpp"

#include <algorithm>

namespace spotgrid::engine {

Catalog::Catalog(std::vector<GpuModel> models) : models_(std::move(models)) {
  for (const GpuModel& model : models_) {
    auto vendor = find_vendor(model.vendor);
    if (!vendor) {
      vendors_.push_back(model.vendor);
      vendor = static_cast<std::uint8_t>(vendors_.size() - 1);
    }
    vendor_of_pool_.push_back(*vendor);
  }
}

std::optional<PoolIndex> Catalog::find_pool(std::string_view model) const {
  for (std::size_t i = 0; i < models_.size(); ++i) {
    if (models_[i].model == model) return static_cast<PoolIndex>(i);
  }
  return std::nullopt;
}

std::optional<std::uint8_t> Catalog::find_vendor(std::string_view vendor) const {
  const auto it = std::find(vendors_.begin(), vendors_.end(), vendor);
  if (it == vendors_.end()) return std::nullopt;
  return static_cast<std::uint8_t>(it - vendors_.begin());
}

PoolMask Catalog::pools_matching(std::uint32_t min_memory_gib, MilliCu min_cu,
                                 VendorMask vendors) const {
  PoolMask mask = 0;
  for (std::size_t i = 0; i < models_.size(); ++i) {
    const bool vendor_ok = vendors == 0 || (vendors >> vendor_of_pool_[i]) & 1u;
    if (vendor_ok && models_[i].memory_gib >= min_memory_gib &&
        models_[i].compute_units >= min_cu) {
      mask |= PoolMask{1} << i;
    }
  }
  return mask;
}

PoolMask Catalog::all_pools() const {
  return models_.size() >= 64 ? ~PoolMask{0} : (PoolMask{1} << models_.size()) - 1;
}

}  // namespace spotgrid::engine
