#pragma once
// spotgridd's configuration: a JSON file of sections (config/spotgridd.json),
// each setting overridable from the environment as SPOTGRID_<SECTION>_<NAME>
// (listen.port: SPOTGRID_LISTEN_PORT). Unknown settings, wrong types and
// out-of-range values are refused with a message naming the setting.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>

namespace spotgrid::gateway {

struct Settings {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  unsigned listen_threads = 2;
  std::size_t body_limit = 65'536;
  std::size_t header_limit = 8'192;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds drain_timeout{10'000};
  std::size_t max_connections = 4'096;
  std::size_t max_connections_per_address = 0;  // 0: no cap
  // The pool that runs routes waiting on PostgreSQL (never the I/O threads).
  unsigned worker_threads = 2;
  std::size_t worker_queue = 256;          // beyond: 503 busy
  std::size_t worker_jobs_per_caller = 4;  // queued or running; beyond: 429
  std::string postgres_conninfo;           // required
  std::string operator_key;                // "sg_<16 hex>_<64 hex>"; empty: no operator access
  std::string market_config_dir = "config";
  // The web console's files; "": console/ beside the executable's directory.
  std::string web_root;
  std::int64_t platform_fee_bp = 500;
  std::uint64_t snapshot_every_commands = 250'000;
  std::uint32_t commit_lanes = 2;  // batches in flight (ledger::MarketOptions::commit_lanes)
  std::string redis_host = "127.0.0.1";
  std::uint16_t redis_port = 0;  // 0: no Redis (no rate limit; idempotency in PostgreSQL)
  std::chrono::milliseconds redis_timeout{100};
  std::uint32_t rate_per_second = 0;  // per API key; 0: no limit
  std::uint32_t rate_burst = 1;
  // Per client address, before the key is looked up; 0: no limit. One address
  // may be a NAT of many clients: generous, it stops floods, not users.
  std::uint32_t rate_per_address_per_second = 0;
  std::uint32_t rate_per_address_burst = 1;
  // Per account (EngineConfig's quotas; 0: none). Beyond one: 422 naming it.
  std::uint32_t quota_open_orders = 0;
  std::uint32_t quota_nodes = 0;
  std::uint32_t quota_listings = 0;
  std::uint32_t quota_streams = 0;  // open /v1/stream connections (64 channels each)
  std::int64_t min_order_hold_micros = 0;
  std::chrono::seconds idempotency_ttl{86'400};
  std::string tls_certificate_file;  // PEM; both set: HTTPS and WSS only
  std::string tls_private_key_file;
  std::size_t stream_send_buffer = 1 << 20;  // per WebSocket; beyond: a slow consumer, closed
  std::chrono::milliseconds stream_idle_timeout{30'000};
  std::string metering_secret;  // node agent keys derive from it; empty: batches refused
  std::int64_t heartbeat_timeout_seconds = 10;  // a leased card silent this long: interrupted
  std::int64_t settle_every_seconds = 5;        // how often metered seconds reach the ledger
  // What one node may send, in KiB: a 64-card node at 1 Hz sends ~30 KiB/s and
  // catching up at 256 batches/s ~8 MiB/s; the burst holds the largest batch.
  std::uint32_t metering_node_kib_per_second = 8'192;
  std::uint32_t metering_node_kib_burst = 32'768;
  std::int64_t max_export_days = 366;       // the longest range one billing export covers
  std::int64_t max_concurrent_exports = 4;  // beyond: 503, retry later
  // Webhooks (docs/architecture.md "Webhooks"): sender threads (0: this
  // process sends none; another gateway may), each attempt's timeouts, the
  // first retry's delay (it doubles, at most the cap), and how long after its
  // event a delivery is retried before it fails (at least a day).
  unsigned webhook_senders = 2;
  std::int64_t webhook_timeout_seconds = 10;
  std::int64_t webhook_retry_base_seconds = 10;
  std::int64_t webhook_retry_cap_seconds = 3'600;
  std::int64_t webhook_retention_days = 30;  // delivered and failed deliveries kept
  std::int64_t webhook_give_up_after_seconds = std::int64_t{3} * 86'400;
  // http:// endpoints and private addresses: development and tests only.
  bool webhook_insecure_targets = false;
  std::string webhook_ca_file;     // "": the system's trust store
  std::string log_level = "info";  // debug, info, warn or error
  std::string log_file;            // empty: standard error
  bool access_log = false;         // one line per request (no bodies, no keys)
};

struct SettingsError {
  std::string source;   // the file, or the environment variable
  std::string setting;  // e.g. "listen.port"
  std::string problem;
  std::string message() const { return source + ": " + setting + ": " + problem; }
};

// Reads `path` (which must exist), then applies the environment.
std::variant<Settings, SettingsError> load_settings(const std::string& path);
// The same from a JSON text and an environment lookup (for tests).
std::variant<Settings, SettingsError> parse_settings(
    const std::string& json, const std::string& source_name,
    const std::function<const char*(const char*)>& getenv);

}  // namespace spotgrid::gateway
