#pragma once
// spotgridd's service: the durable market behind the HTTP server, with the
// operational routes (/healthz, /readyz, /metrics) and a drain for SIGTERM.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "spotgrid/gateway/settings.hpp"
#include "spotgrid/ledger/durable_market.hpp"

namespace spotgrid::gateway {

// Every route spotgridd serves, as (method, path pattern with {parameters}):
// the set the OpenAPI document must list.
std::vector<std::pair<std::string, std::string>> served_routes();

class Service {
 public:
  // Loads the market's catalog and tariffs; throws std::runtime_error naming
  // the file and field when they are invalid.
  explicit Service(const Settings& settings);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void start();  // binds (throws if the address is unusable) and starts recovery
  std::uint16_t port() const;
  ledger::MarketStatus market_status() const;
  // Stops accepting, lets requests in flight finish (up to the drain timeout),
  // commits what the engine applied, then closes everything.
  void drain_and_stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotgrid::gateway
