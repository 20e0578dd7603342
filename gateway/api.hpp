#pragma once
// The /v1 routes (docs/architecture.md#interfaces). Each answers through
// `respond`, possibly after a commit, from a market thread.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "book_cache.hpp"
#include "read_store.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/http.hpp"
#include "spotgrid/gateway/settings.hpp"
#include "spotgrid/ledger/durable_market.hpp"
#include "spotgrid/webhooks/webhooks.hpp"
#include "worker_pool.hpp"

namespace spotgrid::gateway {

// The Idempotency-Key of the request being handled: the command its route
// submits commits the key and the answer (ledger::RequestKey).
struct IdempotentRequest {
  std::string scope;
  std::string key;
  std::string fingerprint;
  std::int64_t lifetime_seconds = 0;
};

struct Api {
  ledger::DurableMarket& market;
  KeyStore& keys;
  const ledger::MarketSetup& setup;  // names of pools, vendors and regions
  ReadStore& reads;                  // what PostgreSQL committed, for accounts
  // Market data anyone may ask for, on a connection and a worker of its own
  // with a statement timeout: the public cannot hold up accounts' reads.
  ReadStore& market_reads;
  BookCache& books;
  const Settings& settings;
  WorkerPool& workers;               // where routes that wait on PostgreSQL run
  WorkerPool& export_pages;          // export pages, apart: a long FETCH holds no route's worker
  WorkerPool& market_workers;        // market-data queries (trades, history, candles)
  webhooks::WebhookStore& webhooks;  // accounts' endpoints and delivery logs
  // Exports streaming now: each holds a PostgreSQL connection and snapshot.
  std::shared_ptr<std::atomic<int>> exports_running = std::make_shared<std::atomic<int>>(0);
  // Set on a copy of this for one request that carries an Idempotency-Key.
  std::shared_ptr<const IdempotentRequest> idempotency;
};

// Every /v1 route the server serves, as (method, path pattern).
std::vector<std::pair<std::string, std::string>> v1_routes();
// The query parameters the route at `route` in v1_routes() reads, space-separated.
std::string_view v1_route_query(std::size_t route);

// A /v1 request's route, found once per request (metrics, scope, dispatch).
struct V1Match {
  std::optional<std::size_t> route;  // its index in v1_routes()
  std::string allowed;  // no route for the method: the methods the path has ("": not found)
};
// `path` is the target without its query.
V1Match match_v1(std::string_view method, std::string_view path);

// 403 when the caller's key scope (full, read, billing) does not reach the
// route; checked before anything else about the request (idempotency included).
std::optional<HttpResponse> scope_refusal(const Principal& caller, const V1Match& match);
// The caller has authenticated; `match` is match_v1's for the request.
void handle_v1(Api& api, const Principal& caller, HttpRequest&& request, const V1Match& match,
               Respond respond);

}  // namespace spotgrid::gateway
