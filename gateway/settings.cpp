#include "spotgrid/gateway/settings.hpp"

#include <rapidjson/document.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <vector>
#include "spotgrid/ledger/durable_market.hpp"  // kMaxCommitLanes
#include "spotgrid/util/json.hpp"

namespace spotgrid::gateway {
namespace {

using rapidjson::Value;

// One setting: where it lives, what it accepts, and where it goes.
struct Spec {
  const char* section;
  const char* name;
  bool is_text;
  std::int64_t min = 0;  // integers: the range; text: the length
  std::int64_t max = 0;
  void (*apply_int)(Settings&, std::int64_t) = nullptr;
  void (*apply_text)(Settings&, std::string) = nullptr;
};

using std::chrono::milliseconds;

// Every setting: where it is in the file, its range, and where it goes.
const Spec kSpecs[] = {
    {"listen", "address", true, 1, 255, nullptr,
     [](Settings& s, std::string v) { s.listen_address = std::move(v); }},
    {"listen", "port", false, 0, 65'535,
     [](Settings& s, std::int64_t v) { s.listen_port = static_cast<std::uint16_t>(v); }},
    {"listen", "threads", false, 1, 64,
     [](Settings& s, std::int64_t v) { s.listen_threads = static_cast<unsigned>(v); }},
    {"limits", "body_bytes", false, 1'024, static_cast<std::int64_t>(limits::kMaxJsonBytes),
     [](Settings& s, std::int64_t v) { s.body_limit = static_cast<std::size_t>(v); }},
    {"limits", "header_bytes", false, 1'024, 65'536,
     [](Settings& s, std::int64_t v) { s.header_limit = static_cast<std::size_t>(v); }},
    {"limits", "request_timeout_ms", false, 100, 600'000,
     [](Settings& s, std::int64_t v) { s.request_timeout = milliseconds(v); }},
    {"limits", "drain_timeout_ms", false, 0, 600'000,
     [](Settings& s, std::int64_t v) { s.drain_timeout = milliseconds(v); }},
    {"limits", "max_connections", false, 1, 1'000'000,
     [](Settings& s, std::int64_t v) { s.max_connections = static_cast<std::size_t>(v); }},
    {"limits", "worker_threads", false, 1, 64,
     [](Settings& s, std::int64_t v) { s.worker_threads = static_cast<unsigned>(v); }},
    {"limits", "worker_queue", false, 1, 1'000'000,
     [](Settings& s, std::int64_t v) { s.worker_queue = static_cast<std::size_t>(v); }},
    {"limits", "worker_jobs_per_caller", false, 1, 1'000,
     [](Settings& s, std::int64_t v) { s.worker_jobs_per_caller = static_cast<std::size_t>(v); }},
    {"limits", "max_connections_per_address", false, 0, 1'000'000,
     [](Settings& s, std::int64_t v) {
       s.max_connections_per_address = static_cast<std::size_t>(v);
     }},
    {"auth", "operator_key", true, 84, 84, nullptr,
     [](Settings& s, std::string v) { s.operator_key = std::move(v); }},
    {"postgres", "conninfo", true, 1, 1'024, nullptr,
     [](Settings& s, std::string v) { s.postgres_conninfo = std::move(v); }},
    {"market", "config_dir", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.market_config_dir = std::move(v); }},
    {"web", "root", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.web_root = std::move(v); }},
    {"market", "platform_fee_bp", false, 0, 5'000,
     [](Settings& s, std::int64_t v) { s.platform_fee_bp = v; }},
    {"redis", "host", true, 1, 255, nullptr,
     [](Settings& s, std::string v) { s.redis_host = std::move(v); }},
    {"redis", "port", false, 0, 65'535,
     [](Settings& s, std::int64_t v) { s.redis_port = static_cast<std::uint16_t>(v); }},
    {"redis", "timeout_ms", false, 1, 10'000,
     [](Settings& s, std::int64_t v) { s.redis_timeout = milliseconds(v); }},
    {"rate_limit", "per_second", false, 0, 10'000'000,
     [](Settings& s, std::int64_t v) { s.rate_per_second = static_cast<std::uint32_t>(v); }},
    {"rate_limit", "burst", false, 1, 100'000'000,
     [](Settings& s, std::int64_t v) { s.rate_burst = static_cast<std::uint32_t>(v); }},
    {"rate_limit", "per_address_per_second", false, 0, 10'000'000,
     [](Settings& s, std::int64_t v) {
       s.rate_per_address_per_second = static_cast<std::uint32_t>(v);
     }},
    {"rate_limit", "per_address_burst", false, 1, 100'000'000,
     [](Settings& s, std::int64_t v) { s.rate_per_address_burst = static_cast<std::uint32_t>(v); }},
    {"quotas", "open_orders", false, 0, 1'000'000,
     [](Settings& s, std::int64_t v) { s.quota_open_orders = static_cast<std::uint32_t>(v); }},
    {"quotas", "nodes", false, 0, 1'000'000,
     [](Settings& s, std::int64_t v) { s.quota_nodes = static_cast<std::uint32_t>(v); }},
    {"quotas", "listings", false, 0, 1'000'000,
     [](Settings& s, std::int64_t v) { s.quota_listings = static_cast<std::uint32_t>(v); }},
    {"quotas", "streams", false, 0, 1'000'000,
     [](Settings& s, std::int64_t v) { s.quota_streams = static_cast<std::uint32_t>(v); }},
    {"quotas", "min_order_hold_micros", false, 0, 1'000'000'000,
     [](Settings& s, std::int64_t v) { s.min_order_hold_micros = v; }},
    {"idempotency", "ttl_seconds", false, 60, 604'800,
     [](Settings& s, std::int64_t v) { s.idempotency_ttl = std::chrono::seconds(v); }},
    {"tls", "certificate_file", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.tls_certificate_file = std::move(v); }},
    {"tls", "private_key_file", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.tls_private_key_file = std::move(v); }},
    {"stream", "send_buffer_bytes", false, 4'096, 64 << 20,
     [](Settings& s, std::int64_t v) { s.stream_send_buffer = static_cast<std::size_t>(v); }},
    {"stream", "idle_timeout_ms", false, 1'000, 600'000,
     [](Settings& s, std::int64_t v) { s.stream_idle_timeout = milliseconds(v); }},
    {"metering", "secret", true, 16, 256, nullptr,
     [](Settings& s, std::string v) { s.metering_secret = std::move(v); }},
    {"metering", "heartbeat_timeout_seconds", false, 2, 3'600,
     [](Settings& s, std::int64_t v) { s.heartbeat_timeout_seconds = v; }},
    {"metering", "settle_every_seconds", false, 1, 3'600,
     [](Settings& s, std::int64_t v) { s.settle_every_seconds = v; }},
    {"metering", "node_kib_per_second", false, 0, 10'000'000,
     [](Settings& s,
        std::int64_t v) { s.metering_node_kib_per_second = static_cast<std::uint32_t>(v); }},
    {"metering", "node_kib_burst", false, 2'100, 100'000'000,
     [](Settings& s,
        std::int64_t v) { s.metering_node_kib_burst = static_cast<std::uint32_t>(v); }},
    {"billing", "max_export_days", false, 1, 3'660,
     [](Settings& s, std::int64_t v) { s.max_export_days = v; }},
    {"billing", "max_concurrent_exports", false, 1, 256,
     [](Settings& s, std::int64_t v) { s.max_concurrent_exports = v; }},
    {"webhooks", "senders", false, 0, 32,
     [](Settings& s, std::int64_t v) { s.webhook_senders = static_cast<unsigned>(v); }},
    {"webhooks", "timeout_seconds", false, 1, 60,
     [](Settings& s, std::int64_t v) { s.webhook_timeout_seconds = v; }},
    {"webhooks", "retry_base_seconds", false, 1, 3'600,
     [](Settings& s, std::int64_t v) { s.webhook_retry_base_seconds = v; }},
    {"webhooks", "retry_cap_seconds", false, 1, 86'400,
     [](Settings& s, std::int64_t v) { s.webhook_retry_cap_seconds = v; }},
    {"webhooks", "retention_days", false, 1, 3'660,
     [](Settings& s, std::int64_t v) { s.webhook_retention_days = v; }},
    {"webhooks", "give_up_after_seconds", false, 86'400, std::int64_t{30} * 86'400,
     [](Settings& s, std::int64_t v) { s.webhook_give_up_after_seconds = v; }},
    {"webhooks", "insecure_targets", false, 0, 1,
     [](Settings& s, std::int64_t v) { s.webhook_insecure_targets = v == 1; }},
    {"webhooks", "ca_file", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.webhook_ca_file = std::move(v); }},
    {"log", "level", true, 4, 5, nullptr,
     [](Settings& s, std::string v) { s.log_level = std::move(v); }},
    {"log", "file", true, 1, 4'096, nullptr,
     [](Settings& s, std::string v) { s.log_file = std::move(v); }},
    {"log", "access", false, 0, 1, [](Settings& s, std::int64_t v) { s.access_log = v == 1; }},
    {"market", "snapshot_every_commands", false, 1'000, 100'000'000,
     [](Settings& s, std::int64_t v) {
       s.snapshot_every_commands = static_cast<std::uint64_t>(v);
     }},
    {"market", "commit_lanes", false, 1, ledger::kMaxCommitLanes,
     [](Settings& s, std::int64_t v) { s.commit_lanes = static_cast<std::uint32_t>(v); }},
};

std::span<const Spec> specs() {
  return kSpecs;
}

std::string key_of(const Spec& spec) {
  return std::string(spec.section) + "." + spec.name;
}

std::string env_name_of(const Spec& spec) {
  std::string name = "SPOTGRID_" + key_of(spec);
  for (char& c : name)
    c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string range_problem(const Spec& spec) {
  return spec.is_text ? "must be a string of " + std::to_string(spec.min) + " to " +
                            std::to_string(spec.max) + " characters"
                      : "must be an integer in [" + std::to_string(spec.min) + ", " +
                            std::to_string(spec.max) + "]";
}

// Applies one value; a problem when it does not fit the spec.
std::optional<std::string> apply(const Spec& spec, const Value& value, Settings& settings) {
  if (spec.is_text) {
    if (!value.IsString() || value.GetStringLength() < static_cast<std::size_t>(spec.min) ||
        value.GetStringLength() > static_cast<std::size_t>(spec.max)) {
      return range_problem(spec);
    }
    spec.apply_text(settings, std::string(value.GetString(), value.GetStringLength()));
    return std::nullopt;
  }
  if (!value.IsInt64() || value.GetInt64() < spec.min || value.GetInt64() > spec.max)
    return range_problem(spec);
  spec.apply_int(settings, value.GetInt64());
  return std::nullopt;
}

std::optional<std::string> apply_env(const Spec& spec, std::string_view text, Settings& settings) {
  if (spec.is_text) {
    const Value value(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return apply(spec, value, settings);
  }
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size()) return range_problem(spec);
  return apply(spec, Value(number), settings);
}

}  // namespace

std::variant<Settings, SettingsError> parse_settings(
    const std::string& json, const std::string& source_name,
    const std::function<const char*(const char*)>& getenv) {
  Settings settings;
  rapidjson::Document document;
  if (auto error = util::parse_json(document, json, limits::kMaxJsonBytes))
    return SettingsError{source_name, "(file)", "not valid JSON: " + *error};
  if (!document.IsObject()) return SettingsError{source_name, "(file)", "must be a JSON object"};
  const Value& root =
      document;  // const iterators: RapidJSON 1.1's mutable ones are ambiguous in C++20
  for (auto section = root.MemberBegin(); section != root.MemberEnd(); ++section) {
    const std::string section_name = section->name.GetString();
    if (!section->value.IsObject())
      return SettingsError{source_name, section_name, "must be an object of settings"};
    for (auto field = section->value.MemberBegin(); field != section->value.MemberEnd(); ++field) {
      const std::string key = section_name + "." + field->name.GetString();
      const Spec* spec = nullptr;
      for (const Spec& candidate : specs())
        spec = key_of(candidate) == key ? &candidate : spec;
      if (spec == nullptr) return SettingsError{source_name, key, "unknown setting"};
      if (auto problem = apply(*spec, field->value, settings))
        return SettingsError{source_name, key, *problem};
    }
  }
  for (const Spec& spec : specs()) {
    const std::string env = env_name_of(spec);
    if (const char* text = getenv(env.c_str())) {
      if (auto problem = apply_env(spec, text, settings))
        return SettingsError{"environment " + env, key_of(spec), *problem};
    }
  }
  if (settings.tls_certificate_file.empty() != settings.tls_private_key_file.empty()) {
    return SettingsError{source_name, "tls.private_key_file",
                         "tls.certificate_file and tls.private_key_file go together"};
  }
  if (settings.log_level != "debug" && settings.log_level != "info" &&
      settings.log_level != "warn" && settings.log_level != "error") {
    return SettingsError{source_name, "log.level", "must be debug, info, warn or error"};
  }
  if (settings.postgres_conninfo.empty()) {
    return SettingsError{source_name, "postgres.conninfo",
                         "must be set (or SPOTGRID_POSTGRES_CONNINFO)"};
  }
  return settings;
}

std::variant<Settings, SettingsError> load_settings(const std::string& path) {
  std::ifstream file(path);
  if (!file) return SettingsError{path, "(file)", "cannot be opened"};
  std::stringstream text;
  text << file.rdbuf();
  return parse_settings(text.str(), path, [](const char* name) { return std::getenv(name); });
}

}  // namespace spotgrid::gateway
