// JSON config loading through RapidJSON. Every check names the file, the JSON
// path of the field and what is wrong with it; unknown fields are refused so a
// typo cannot silently fall back to a default.

#include "spotgrid/engine/config.hpp"

#include <rapidjson/document.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include "spotgrid/util/json.hpp"

namespace spotgrid::engine {
namespace {

using rapidjson::Value;

// Reads typed fields of one JSON object, remembering the first error.
class Fields {
 public:
  Fields(const Value& object, std::string path, const std::string& file)
      : object_(object), path_(std::move(path)), file_(file) {}

  // Refuses a field not in `allowed`, and one given twice (which would count?).
  std::optional<ConfigError> only(std::initializer_list<const char*> allowed) const {
    for (auto it = object_.MemberBegin(); it != object_.MemberEnd(); ++it) {
      const std::string_view given(it->name.GetString(), it->name.GetStringLength());
      bool known = false;
      for (const char* name : allowed)
        known = known || std::string_view(name) == given;
      if (!known) return error(std::string(given), "unknown field");
    }
    if (const auto twice = util::repeated_name(object_))
      return error(std::string(*twice), "is given twice");
    return std::nullopt;
  }

  std::optional<std::string> text(const char* name, std::optional<ConfigError>& failed) const {
    const Value* value = member(name, failed);
    if (!value) return std::nullopt;
    if (!value->IsString() || value->GetStringLength() == 0 || value->GetStringLength() > 64) {
      return fail(failed, name, "must be a non-empty string of at most 64 characters");
    }
    return std::string(value->GetString(), value->GetStringLength());
  }

  std::optional<std::int64_t> integer(const char* name, std::int64_t min, std::int64_t max,
                                      std::optional<ConfigError>& failed) const {
    const Value* value = member(name, failed);
    if (!value) return std::nullopt;
    if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
      return fail(
          failed, name,
          "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return value->GetInt64();
  }

  // A decimal such as 0.80 or 3.2, returned scaled (x `scale`, rounded to nearest).
  std::optional<std::int64_t> scaled(const char* name, std::int64_t scale, std::int64_t min,
                                     std::int64_t max, std::optional<ConfigError>& failed) const {
    const Value* value = member(name, failed);
    if (!value) return std::nullopt;
    return scaled_value(*value, name, scale, min, max, failed);
  }

  std::optional<std::int64_t> scaled_value(const Value& value, const std::string& name,
                                           std::int64_t scale, std::int64_t min, std::int64_t max,
                                           std::optional<ConfigError>& failed) const {
    const std::string range =
        "must be a number in [" + decimal(min, scale) + ", " + decimal(max, scale) + "]";
    if (!value.IsNumber()) return fail(failed, name, range);
    const double raw = value.GetDouble() * static_cast<double>(scale);
    if (!std::isfinite(raw) || raw < static_cast<double>(min) || raw > static_cast<double>(max)) {
      return fail(failed, name, range);
    }
    return std::llround(raw);
  }

  const Value* member(const char* name, std::optional<ConfigError>& failed) const {
    const auto it = object_.FindMember(name);
    if (it == object_.MemberEnd()) {
      fail(failed, name, "is required");
      return nullptr;
    }
    return &it->value;
  }

  ConfigError error(const std::string& name, std::string problem) const {
    return ConfigError{file_, path_.empty() ? name : path_ + "." + name, std::move(problem)};
  }

 private:
  static std::string decimal(std::int64_t value, std::int64_t scale) {
    std::ostringstream out;
    out << static_cast<double>(value) / static_cast<double>(scale);
    return out.str();
  }
  std::nullopt_t fail(std::optional<ConfigError>& failed, const std::string& name,
                      std::string problem) const {
    if (!failed) failed = error(name, std::move(problem));
    return std::nullopt;
  }

  const Value& object_;
  std::string path_;
  const std::string& file_;
};

// Parses the document and returns the array under `key`, or an error.
std::variant<const Value*, ConfigError> top_array(rapidjson::Document& document,
                                                  std::string_view json, const char* key,
                                                  const std::string& file) {
  if (auto error = util::parse_json(document, json, limits::kMaxJsonBytes))
    return ConfigError{file, "(document)", "invalid JSON: " + *error};
  if (!document.IsObject()) return ConfigError{file, "(document)", "must be a JSON object"};
  if (!document.HasMember(key) || !document[key].IsArray() || document[key].Empty()) {
    return ConfigError{file, key, "is required and must be a non-empty array"};
  }
  return &document[key];
}

std::string item_path(const char* key, rapidjson::SizeType index) {
  return std::string(key) + "[" + std::to_string(index) + "]";
}

std::optional<ConfigError> parse_model(const Fields& fields, GpuModel& model) {
  if (auto unknown =
          fields.only({"model", "vendor", "memory_gib", "bf16_tflops", "memory_bandwidth_gbps",
                       "compute_units", "reference_price_micros_per_card_hour"})) {
    return unknown;
  }
  std::optional<ConfigError> failed;
  model.model = fields.text("model", failed).value_or("");
  model.vendor = fields.text("vendor", failed).value_or("");
  model.memory_gib = static_cast<std::uint32_t>(
      fields.integer("memory_gib", 1, limits::kMaxMemoryGib, failed).value_or(0));
  model.bf16_tflops = static_cast<std::uint32_t>(
      fields.integer("bf16_tflops", 1, limits::kMaxModelFigure, failed).value_or(0));
  model.memory_bandwidth_gbps = static_cast<std::uint32_t>(
      fields.integer("memory_bandwidth_gbps", 1, limits::kMaxModelFigure, failed).value_or(0));
  model.compute_units = static_cast<MilliCu>(
      fields.scaled("compute_units", kMilliCuOne, 1, limits::kMaxComputeUnitsMilli, failed)
          .value_or(0));
  model.reference_price_micros_per_card_hour =
      fields
          .integer("reference_price_micros_per_card_hour", 1, limits::kMaxPriceMicrosPerHour,
                   failed)
          .value_or(0);
  return failed;
}

std::optional<ConfigError> parse_day(const Fields& fields, const char* day, TariffRegion& region,
                                     int first_day, int day_count) {
  std::optional<ConfigError> failed;
  const Value* hours = fields.member(day, failed);
  if (!hours) return failed;
  if (!hours->IsArray() || hours->Size() != 24) {
    return fields.error(day, "must be an array of 24 hourly multipliers (local hour 0 first)");
  }
  for (rapidjson::SizeType hour = 0; hour < 24; ++hour) {
    const std::string name = std::string(day) + "[" + std::to_string(hour) + "]";
    const auto bp = fields.scaled_value((*hours)[hour], name, kBasisPointsOne, 1,
                                        limits::kMaxTariffMultiplier, failed);
    if (!bp) return failed;
    for (int d = first_day; d < first_day + day_count; ++d) {
      region.week_bp[static_cast<std::size_t>(d) * 24 + hour] = static_cast<BasisPoints>(*bp);
    }
  }
  return std::nullopt;
}

std::optional<ConfigError> parse_region(const Fields& fields, TariffRegion& region) {
  if (auto unknown = fields.only({"region", "utc_offset_minutes", "weekday", "weekend"})) {
    return unknown;
  }
  std::optional<ConfigError> failed;
  region.region = fields.text("region", failed).value_or("");
  region.utc_offset_seconds = static_cast<std::int32_t>(
      fields
          .integer("utc_offset_minutes", -limits::kMaxUtcOffsetSeconds / 60,
                   limits::kMaxUtcOffsetSeconds / 60, failed)
          .value_or(0) *
      std::int64_t{60});
  if (failed) return failed;
  if (auto bad = parse_day(fields, "weekday", region, 0, 5)) return bad;
  return parse_day(fields, "weekend", region, 5, 2);
}

std::variant<std::string, ConfigError> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError{path, "(file)", "cannot be opened"};
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Parses every object of the top-level array `key` with `parse_item`, refusing
// more than `max_items` and duplicate names (`name_field` of each item).
template <typename Item, typename ParseItem, typename NameOf>
std::variant<std::vector<Item>, ConfigError> parse_items(std::string_view json,
                                                         const std::string& file, const char* key,
                                                         std::size_t max_items,
                                                         const char* name_field,
                                                         ParseItem parse_item, NameOf name_of) {
  rapidjson::Document document;
  auto array = top_array(document, json, key, file);
  if (auto* error = std::get_if<ConfigError>(&array)) return *error;
  const Value& values = *std::get<const Value*>(array);
  if (values.Size() > max_items) {
    return ConfigError{file, key, "at most " + std::to_string(max_items) + " items"};
  }
  std::vector<Item> items;
  std::set<std::string> seen;
  for (rapidjson::SizeType i = 0; i < values.Size(); ++i) {
    const std::string path = item_path(key, i);
    if (!values[i].IsObject()) return ConfigError{file, path, "must be an object"};
    Item item;
    if (auto error = parse_item(Fields(values[i], path, file), item)) return *error;
    if (!seen.insert(name_of(item)).second) {
      return ConfigError{file, path + "." + name_field, "duplicate \"" + name_of(item) + "\""};
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

Loaded<Catalog> parse_catalog(std::string_view json, const std::string& source_name) {
  auto models =
      parse_items<GpuModel>(json, source_name, "gpus", limits::kMaxPools, "model", parse_model,
                            [](const GpuModel& model) { return model.model; });
  if (auto* error = std::get_if<ConfigError>(&models)) return *error;
  // The rules a model added later meets (names safe in URLs, at most 32
  // vendors): a pinned catalog is read back under them.
  Catalog catalog;
  const auto& list = std::get<std::vector<GpuModel>>(models);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (const auto refused = catalog.refusal(list[i])) {
      return ConfigError{
          source_name,
          item_path("gpus", static_cast<rapidjson::SizeType>(i)) + "." + refused->field,
          refused->problem};
    }
    catalog.add(list[i]);
  }
  return catalog;
}

Loaded<GpuModel> parse_gpu_model(std::string_view json, const std::string& source_name) {
  rapidjson::Document document;
  if (auto error = util::parse_json(document, json, limits::kMaxJsonBytes))
    return ConfigError{source_name, "(document)", "invalid JSON: " + *error};
  if (!document.IsObject()) return ConfigError{source_name, "(document)", "must be a JSON object"};
  GpuModel model;
  if (auto error = parse_model(Fields(document, "", source_name), model)) return *error;
  return model;
}

Loaded<std::vector<TariffRegion>> parse_tariff_regions(std::string_view json,
                                                       const std::string& source_name) {
  auto regions = parse_items<TariffRegion>(
      json, source_name, "regions", limits::kMaxRegions, "region", parse_region,
      [](const TariffRegion& region) { return region.region; });
  if (auto* error = std::get_if<ConfigError>(&regions)) return *error;
  return std::get<std::vector<TariffRegion>>(std::move(regions));
}

Loaded<TariffBook> parse_tariffs(std::string_view json, const std::string& source_name) {
  auto regions = parse_tariff_regions(json, source_name);
  if (!regions) return regions.error();
  return TariffBook(std::move(regions).value());
}

Loaded<Catalog> load_catalog_file(const std::string& path) {
  auto contents = read_file(path);
  if (auto* error = std::get_if<ConfigError>(&contents)) return *error;
  return parse_catalog(std::get<std::string>(contents), path);
}

Loaded<TariffBook> load_tariffs_file(const std::string& path) {
  auto contents = read_file(path);
  if (auto* error = std::get_if<ConfigError>(&contents)) return *error;
  return parse_tariffs(std::get<std::string>(contents), path);
}

}  // namespace spotgrid::engine
