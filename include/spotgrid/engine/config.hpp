#pragma once
// Loading the GPU catalog and the tariff book from JSON files in config/.
// A bad file is refused with an error that names the file, the field and the problem.

#include <string>
#include <string_view>
#include <variant>

#include "spotgrid/engine/catalog.hpp"
#include "spotgrid/engine/tariff.hpp"

namespace spotgrid::engine {

struct ConfigError {
  std::string file;
  std::string field;  // JSON path, e.g. "gpus[2].memory_gib"
  std::string problem;
  std::string message() const { return file + ": " + field + ": " + problem; }
};

// A value or the error that prevented it; the shape of std::expected (C++23).
template <typename T>
class Loaded {
 public:
  Loaded(T value) : state_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Loaded(ConfigError error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const ConfigError& error() const { return std::get<ConfigError>(state_); }

 private:
  std::variant<T, ConfigError> state_;
};

// `source_name` is only used in error messages (the file path when read from disk).
Loaded<Catalog> parse_catalog(std::string_view json, const std::string& source_name);
Loaded<TariffBook> parse_tariffs(std::string_view json, const std::string& source_name);
// One model of gpus.json's "gpus", as a document of its own (a model to add).
Loaded<GpuModel> parse_gpu_model(std::string_view json, const std::string& source_name);
// The "regions" array of a tariffs document (a schedule to publish).
Loaded<std::vector<TariffRegion>> parse_tariff_regions(std::string_view json,
                                                       const std::string& source_name);
Loaded<Catalog> load_catalog_file(const std::string& path);
Loaded<TariffBook> load_tariffs_file(const std::string& path);

}  // namespace spotgrid::engine
