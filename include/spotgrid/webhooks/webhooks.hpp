#pragma once
// Webhook delivery (docs/architecture.md "Webhooks"): the dispatcher sends
// the outbox's deliveries (sql/010_webhooks.sql), signed, each until its
// endpoint answers 2xx or the retry window closes; and the store an account
// manages its endpoints through (the gateway's ReadStore pages the log).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spotgrid/ledger/durable_market.hpp"

namespace spotgrid::webhooks {

// Limits on what an account registers.
inline constexpr std::size_t kMaxEndpointsPerAccount = 16;
inline constexpr std::size_t kMaxUrlBytes = 2'048;
inline constexpr std::size_t kMaxErrorBytes = 512;  // of a failed attempt, as logged

// The Spotgrid-Signature header: "t=<unix seconds>,v1=<hex HMAC-SHA256 under
// the endpoint's secret of "<unix seconds>.<body>">".
std::string signature_header(std::string_view secret, std::int64_t timestamp,
                             std::string_view body);

// Why `url` cannot be an endpoint, or nothing. Endpoints are https:// unless
// `insecure_targets` (development and tests: http:// and private addresses).
std::optional<std::string> url_problem(std::string_view url, bool insecure_targets);

struct DispatcherOptions {
  std::string conninfo;
  unsigned senders = 2;              // threads, each with its connection; a slow endpoint holds one
  std::chrono::seconds timeout{10};  // connect, TLS, send and answer, each
  // After n failed probes in a row an endpoint waits base × 2^(n−1), at most cap.
  std::int64_t retry_base_seconds = 10;
  std::int64_t retry_cap_seconds = 3'600;
  std::int64_t give_up_after_seconds = std::int64_t{3} * 86'400;  // after the event: failed
  bool insecure_targets = false;
  std::string ca_file;               // "": the system's trust store
  std::int64_t retention_days = 30;  // delivered and failed deliveries, then deleted
  std::chrono::milliseconds idle_poll{250};
  // Whether to send yet (the market has recovered, so the schema is there).
  std::function<bool()> ready = [] { return true; };
};

// Delivery threads; stopped and joined by the destructor. Several processes
// may run one against the same database: a delivery is claimed by moving its
// next attempt past the time the attempt can take (so one that dies mid-way is
// sent again, at least once), and rows are taken SKIP LOCKED.
class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  struct Counts {
    std::uint64_t delivered = 0;
    std::uint64_t failed_attempts = 0;
    std::uint64_t given_up = 0;
  };
  Counts counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct EndpointInfo {
  std::int64_t endpoint_id = 0;
  std::string url;
  std::vector<std::string> events;
  std::int64_t balance_low_micros = 0;
  std::int64_t created_at = 0;
  std::int64_t consecutive_failures = 0;
};

// An account's endpoints, in PostgreSQL (each call one statement or
// transaction; it throws when PostgreSQL fails). Runs on threads that may block.
class WebhookStore {
 public:
  explicit WebhookStore(std::string conninfo);
  ~WebhookStore();
  WebhookStore(const WebhookStore&) = delete;
  WebhookStore& operator=(const WebhookStore&) = delete;

  // Nothing when the account has kMaxEndpointsPerAccount active endpoints.
  // With `request_key`, the request's Idempotency-Key and `answer` commit with
  // the endpoint.
  std::optional<EndpointInfo> create(
      std::int64_t account, const std::string& url, const std::vector<std::string>& events,
      std::int64_t balance_low_micros, const std::string& secret, std::int64_t now,
      const ledger::RequestKey* request_key,
      const std::function<ledger::StoredAnswer(const EndpointInfo&)>& answer);
  std::vector<EndpointInfo> active(std::int64_t account);
  // Disables the endpoint if it is the account's and active; its pending
  // deliveries fail ("endpoint deleted"). Whether it did.
  bool disable(std::int64_t account, std::int64_t endpoint, std::int64_t now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::webhooks
