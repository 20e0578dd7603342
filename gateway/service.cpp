#include "spotgrid/gateway/service.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "api.hpp"
#include "front_door.hpp"
#include "market_feed.hpp"
#include "metering_routes.hpp"
#include "metrics.hpp"
#include "request_guards.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/http.hpp"
#include "spotgrid/ingest/ingest.hpp"
#include "spotgrid/metering/sample.hpp"
#include "spotgrid/util/clock.hpp"
#include "spotgrid/util/log.hpp"
#include "static_files.hpp"
#include "stream_hub.hpp"

namespace spotgrid::gateway {

namespace {

using std::chrono::milliseconds;

ledger::MarketSetup market_setup(const Settings& settings) {
  auto catalog = engine::load_catalog_file(settings.market_config_dir + "/gpus.json");
  if (!catalog) throw std::runtime_error(catalog.error().message());
  auto tariffs = engine::load_tariffs_file(settings.market_config_dir + "/tariffs.json");
  if (!tariffs) throw std::runtime_error(tariffs.error().message());
  engine::EngineConfig config;
  config.platform_fee_bp = static_cast<BasisPoints>(settings.platform_fee_bp);
  config.max_orders_per_account = settings.quota_open_orders;
  config.max_nodes_per_account = settings.quota_nodes;
  config.max_listings_per_account = settings.quota_listings;
  config.min_order_hold = settings.min_order_hold_micros;
  return {std::move(catalog).value(), std::move(tariffs).value(), config};
}

ServerOptions server_options(const Settings& settings, StreamOpener stream_opener) {
  ServerOptions options;
  options.tls_certificate_file = settings.tls_certificate_file;
  options.tls_private_key_file = settings.tls_private_key_file;
  options.stream_opener = std::move(stream_opener);
  options.stream_send_buffer = settings.stream_send_buffer;
  options.stream_idle_timeout = settings.stream_idle_timeout;
  options.address = settings.listen_address;
  options.port = settings.listen_port;
  options.threads = settings.listen_threads;
  options.body_limit = settings.body_limit;
  options.header_limit = settings.header_limit;
  options.request_timeout = settings.request_timeout;
  options.max_connections = settings.max_connections;
  options.max_connections_per_address = settings.max_connections_per_address;
  return options;
}

RedisOptions redis_options(const Settings& settings) {
  RedisOptions options;
  options.host = settings.redis_host;
  options.port = settings.redis_port;
  options.timeout = settings.redis_timeout;
  options.connections = settings.listen_threads + 1;
  return options;
}

webhooks::DispatcherOptions webhook_options(const Settings& settings) {
  webhooks::DispatcherOptions options;
  options.conninfo = settings.postgres_conninfo;
  options.senders = settings.webhook_senders;
  options.timeout = std::chrono::seconds(settings.webhook_timeout_seconds);
  options.retry_base_seconds = settings.webhook_retry_base_seconds;
  options.retry_cap_seconds = settings.webhook_retry_cap_seconds;
  options.retention_days = settings.webhook_retention_days;
  options.give_up_after_seconds = settings.webhook_give_up_after_seconds;
  options.insecure_targets = settings.webhook_insecure_targets;
  options.ca_file = settings.webhook_ca_file;
  return options;
}

std::optional<ApiKey> operator_key(const Settings& settings) {
  if (settings.operator_key.empty()) return std::nullopt;
  auto key = parse_api_key(settings.operator_key);
  if (!key) {
    throw std::runtime_error(
        "auth.operator_key: must look like sg_<16 hex digits>_<64 hex digits>");
  }
  return key;
}

}  // namespace

struct Service::Impl {
  explicit Impl(const Settings& s)
      : settings(s),
        setup(market_setup(s)),
        hub(setup.catalog),
        feed(
            hub,
            [&] {
              RedisOptions options = redis_options(s);
              options.connections = 1;  // one publisher thread
              return options;
            }(),
            setup.catalog),
        market([&] {
          ledger::MarketOptions options;
          options.conninfo = s.postgres_conninfo;
          options.setup = setup;
          options.published_catalog = &setup.catalog;  // the pools' names, as models are added
          options.snapshot_every_commands = s.snapshot_every_commands;
          options.commit_lanes = s.commit_lanes;
          options.on_committed = [this](std::span<const engine::Event> events) {
            feed.on_committed(events);
          };
          return options;
        }()),
        ingest(
            [&] {
              ingest::IngestOptions options;
              options.conninfo = s.postgres_conninfo;
              options.server_secret = s.metering_secret;
              options.meter.heartbeat_timeout = s.heartbeat_timeout_seconds;
              options.meter.settle_every = s.settle_every_seconds;
              options.admit = [this](NodeId node, std::size_t bytes) {
                const auto kib = static_cast<std::uint32_t>(bytes / 1'024 + 1);
                return node_bytes.take(std::to_string(node), kib) == 0;
              };
              return options;
            }(),
            market),
        keys(s.postgres_conninfo, operator_key(s)),
        redis(redis_options(s)),
        rate_limiter(redis, s.rate_per_second, s.rate_burst),
        address_limiter(s.rate_per_address_per_second, s.rate_per_address_burst),
        node_bytes(s.metering_node_kib_per_second, s.metering_node_kib_burst),
        idempotency(s.postgres_conninfo, s.idempotency_ttl),
        reads(s.postgres_conninfo),
        server(server_options(
                   s,
                   [this](const HttpRequest& request, const std::shared_ptr<StreamPeer>& peer,
                          const std::function<void(StreamDecision)>& decide) {
                     open_stream(request, peer, decide);
                   }),
               [this](HttpRequest&& request, Respond respond) {
                 handle(std::move(request), std::move(respond));
               }) {}

  Settings settings;
  ledger::MarketSetup setup;
  StreamHub hub;
  MarketFeed feed;
  BookCache books{limits::kMaxPools};  // pools may be added
  ledger::DurableMarket market;
  ingest::Ingest ingest;
  KeyStore keys;
  Redis redis;
  RateLimiter rate_limiter;
  LocalBuckets address_limiter;
  LocalBuckets node_bytes;  // KiB a node's agent may send, after its signature checked
  IdempotencyStore idempotency;
  ReadStore reads;
  WorkerPool workers{settings.worker_threads, settings.worker_queue,
                     settings.worker_jobs_per_caller};
  // API keys the cache does not know, looked up apart from the routes' pool:
  // a flood of made-up keys fills this one, not the one orders and reads use.
  // A thread per export that may run at once: their pages (a FETCH can take
  // seconds) never wait behind, nor hold up, the routes' workers.
  WorkerPool export_pages{static_cast<unsigned>(settings.max_concurrent_exports),
                          static_cast<std::size_t>(4 * settings.max_concurrent_exports),
                          std::size_t{2}};
  // Lookups are one indexed query each: an address (a NAT, say) may have more
  // of them queued than of the routes' slow jobs.
  static constexpr std::size_t kKeyLookupsPerAddress = 16;
  WorkerPool key_lookups{1, settings.worker_queue, kKeyLookupsPerAddress};
  // Market data: one thread, one connection, queries cut off after 2 s.
  static constexpr std::chrono::milliseconds kMarketQueryLimit{2'000};
  ReadStore market_reads{settings.postgres_conninfo, kMarketQueryLimit};
  WorkerPool market_workers{1, settings.worker_queue, settings.worker_jobs_per_caller};
  webhooks::WebhookStore webhook_endpoints{settings.postgres_conninfo};
  // Sends the outbox's deliveries; none when webhooks.senders is 0.
  std::unique_ptr<webhooks::Dispatcher> webhook_sender =
      settings.webhook_senders == 0 ? nullptr : std::make_unique<webhooks::Dispatcher>([this] {
        auto options = webhook_options(settings);
        options.ready = [this] { return market.status().ready; };
        return options;
      }());
  Api api{market,
          keys,
          setup,
          reads,
          market_reads,
          books,
          settings,
          workers,
          export_pages,
          market_workers,
          webhook_endpoints,
          std::make_shared<std::atomic<int>>(0),
          nullptr};
  BrowserSessions sessions;
  FrontDoor front_door{{keys, address_limiter, rate_limiter, idempotency, workers, key_lookups, api,
                        sessions, !settings.tls_certificate_file.empty()}};
  StaticFiles console{settings.web_root.empty() ? default_web_root() : settings.web_root};
  HttpServer server;
  std::atomic<int> in_flight{0};
  std::atomic<std::uint64_t> requests_seen{0};
  const unsigned request_id_prefix = std::random_device{}();
  RouteMetrics route_metrics;

  void handle(HttpRequest&& request, Respond respond) {
    ++in_flight;
    const std::string_view path = path_of(request.target);
    // A /v1 route is matched once: its label, the scope check and the dispatch
    // all use the match. Fixed routes (metering, sessions, streams) need none.
    const bool v1 = path.starts_with("/v1/");
    V1Match match;
    const std::optional<std::size_t> fixed = route_metrics.fixed_label_of(request.method, path);
    if (!fixed && v1) match = match_v1(request.method, path);
    const std::size_t label = fixed ? *fixed : route_metrics.v1_label_of(match.route);
    Respond done = [this, label, id = request_id_of(request), address = request.client_address,
                    started = std::chrono::steady_clock::now(),
                    respond = std::move(respond)](HttpResponse response) {
      const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      const unsigned status = response.status;
      response.headers.emplace_back("X-Request-Id", id);
      respond(std::move(response));
      route_metrics.record(label, elapsed);
      log_answer(id, label, address, status, elapsed);
      --in_flight;
    };
    if (path == "/v1/stream" || path == kMeteringStreamPath) {
      HttpResponse upgrade = error_response(
          426, "upgrade_required", std::string(path) + " is a WebSocket: send an upgrade request");
      upgrade.headers.emplace_back("Upgrade", "websocket");
      return done(std::move(upgrade));
    }
    // A table route reads the query it lists, a fixed one (metering, sessions) none.
    const auto query_read = match.route ? std::optional(v1_route_query(*match.route))
                            : fixed     ? std::optional(std::string_view{})
                                        : std::nullopt;
    if (auto refusal = v1 ? FrontDoor::request_refusal(request, query_read) : std::nullopt)
      return done(std::move(*refusal));
    if (path == kMeteringPath) {
      if (const std::uint32_t wait_ms = address_limiter.take(request.client_address); wait_ms > 0)
        return done(front_door.limited(wait_ms, "too many requests from this address"));
      return metering_batch(ingest, settings, std::move(request), std::move(done));
    }
    if (path == "/v1/session" || path == "/v1/session/ticket") {
      if (const std::uint32_t wait_ms = address_limiter.take(request.client_address); wait_ms > 0)
        return done(front_door.limited(wait_ms, "too many requests from this address"));
      return front_door.session(std::move(request), path, std::move(done));
    }
    if (v1) return front_door.authenticated(std::move(request), match, std::move(done));
    const bool operational = path == "/healthz" || path == "/readyz" || path == "/metrics";
    if (!operational) return done(console_file(request, path));
    if (request.method != "GET") {
      HttpResponse refused =
          error_response(405, "method_not_allowed", "only GET is served here", "method");
      refused.headers.emplace_back("Allow", "GET");
      return done(std::move(refused));
    }
    if (path == "/healthz")
      return done(HttpResponse{200, R"({"status":"ok"})", "application/json", {}, {}});
    if (path == "/readyz") return done(readiness());
    done(metrics());
  }

  // A file of the web console, or 404.
  HttpResponse console_file(const HttpRequest& request, std::string_view path) const {
    if (request.method == "GET") {
      if (auto file = console.serve(path, request.header("If-None-Match"))) return *file;
    }
    if (path == "/" && console.files() == 0) {
      return error_response(404, "not_found",
                            "the web console is not built here: run scripts/build-web.sh", "path");
    }
    return error_response(404, "not_found", "no route for " + std::string(path), "path");
  }

  // The client's X-Request-Id when it is a plain token (1 to 64 of
  // [A-Za-z0-9._-]), else one made here: it goes back on the answer and on
  // every log line the request causes.
  std::string request_id_of(const HttpRequest& request) {
    const std::string_view given = request.header("X-Request-Id");
    const bool plain =
        !given.empty() && given.size() <= 64 && std::all_of(given.begin(), given.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                 c == '-';
        });
    if (plain) return std::string(given);
    // "%08x-%012llx" of the prefix and the count, without printf's cost per request.
    std::string made(8 + 1 + 12, '0');
    const auto hex_into = [&made](std::size_t end, std::size_t width, std::uint64_t value) {
      char digits[16];
      const auto written = std::to_chars(std::begin(digits), std::end(digits), value, 16).ptr;
      const auto length = static_cast<std::size_t>(written - digits);
      const std::size_t shown = std::min(length, width);
      made.replace(end - shown, shown, written - shown, shown);
    };
    hex_into(8, 8, request_id_prefix);
    made[8] = '-';
    hex_into(made.size(), 12, ++requests_seen);
    return made;
  }

  // A 500 always (a bug or an unexpected failure); every answer with
  // log.access. 503s (busy, recovering, storage down) are counted in
  // /metrics, not logged one by one: a flood of them must not push the lines
  // that explain an outage out of the log's queue. The route's pattern (no
  // ids, no query), never a key or a body.
  void log_answer(const std::string& id, std::size_t label, const std::string& address,
                  unsigned status, std::chrono::microseconds elapsed) {
    const bool failed = status == 500;
    if (!failed && !settings.access_log) return;
    const util::log::Level level = failed ? util::log::Level::kWarn : util::log::Level::kInfo;
    util::log::write(level, failed ? "request_failed" : "request",
                     {{"request_id", id},
                      {"route", route_metrics.label(label)},
                      {"status", static_cast<std::uint64_t>(status)},
                      {"micros", static_cast<std::int64_t>(elapsed.count())},
                      {"client", address}});
  }

  // Console sessions signed out or expired lose their open streams (1008),
  // first: that needs no database, which may be slow. Revoked keys lose their
  // cached entry and their open streams too.
  void recheck_keys() {
    hub.close_sessions(all_but(hub.browser_sessions(), [&](const std::vector<std::string>& some) {
      return sessions.live_among(some);
    }));
    keys.recheck_cached();
    hub.close_keys(all_but(hub.key_ids(), [&](const std::vector<std::string>& some) {
      return keys.valid_among(some);
    }));
  }
  // Those of `asked` that `keep` does not return (none when it cannot say).
  template <typename Keep>
  static std::unordered_set<std::string> all_but(const std::vector<std::string>& asked, Keep keep) {
    std::unordered_set<std::string> gone;
    if (asked.empty()) return gone;
    const std::optional<std::unordered_set<std::string>> kept = keep(asked);
    if (!kept) return gone;
    for (const std::string& one : asked) {
      if (!kept->contains(one)) gone.insert(one);
    }
    return gone;
  }

  // Background: shares the rate limit through Redis (every 100 ms); confirms
  // cached API keys and closes streams opened with a key revoked since, or
  // through a console session since ended (every 500 ms; REST calls see the
  // revocation through the key cache, and the session's end at once).
  std::thread housekeeping;
  std::mutex housekeeping_mutex;
  std::condition_variable housekeeping_wake;
  bool housekeeping_stopping = false;

  void keep_house() {
    std::unique_lock lock(housekeeping_mutex);
    for (std::uint64_t round = 1; !housekeeping_wake.wait_for(
             lock, RateLimiter::kShareEvery, [this] { return housekeeping_stopping; });
         ++round) {
      lock.unlock();
      // A task that throws (out of memory, an unexpected storage error) is
      // tried again next round; the thread goes on.
      try {
        rate_limiter.share_through_redis();
      } catch (const std::exception& error) {
        util::log::error("rate_limit_share_failed", {{"cause", error.what()}});
      }
      if (round % 5 == 0) {
        try {
          recheck_keys();
        } catch (const std::exception& error) {
          util::log::error("key_recheck_failed", {{"cause", error.what()}});
        }
      }
      lock.lock();
    }
  }

  // A WebSocket upgrade: a node agent's (proved by HMAC at the upgrade) or a
  // client's on /v1/stream (its key from memory, else looked up on a worker).
  void open_stream(const HttpRequest& request, const std::shared_ptr<StreamPeer>& peer,
                   const std::function<void(StreamDecision)>& decide) {
    const bool client_stream = path_of(request.target) == "/v1/stream";
    if (auto refusal =
            FrontDoor::request_refusal(request, client_stream ? FrontDoor::kStreamTicket : ""))
      return decide(std::move(*refusal));
    if (path_of(request.target) == kMeteringStreamPath)
      return decide(open_agent_stream(ingest, settings, request, peer));
    if (path_of(request.target) != "/v1/stream")
      return decide(
          error_response(404, "not_found", "WebSockets are served at /v1/stream", "path"));
    if (const std::uint32_t wait_ms = address_limiter.take(request.client_address); wait_ms > 0)
      return decide(front_door.limited(wait_ms, "too many requests from this address"));
    FrontDoor::StreamCaller caller = front_door.stream_caller(request);
    if (caller.authorization.empty())
      return decide(open_client_stream(public_caller(request.client_address), peer, {}));
    if (auto known = keys.authenticate_from_memory(caller.authorization))
      return decide(open_client_stream(*known, peer, std::move(caller.browser_session)));
    run_on_worker(
        key_lookups, address_owner(request.client_address),
        [this, caller = std::move(caller), peer, decide](const Respond&) {
          decide(open_client_stream(keys.authenticate(caller.authorization), peer,
                                    caller.browser_session));
        },
        [decide](HttpResponse refusal) { decide(std::move(refusal)); });
  }

  StreamDecision open_client_stream(const std::variant<Principal, AuthFailure>& caller,
                                    const std::shared_ptr<StreamPeer>& peer,
                                    std::string browser_session) {
    if (const auto* failure = std::get_if<AuthFailure>(&caller))
      return FrontDoor::refused(*failure);
    auto session = hub.open(std::get<Principal>(caller), peer, settings.quota_streams,
                            std::move(browser_session));
    if (session) return session;
    if (hub.closed())
      return error_response(503, "stopping", "the server is stopping: open the stream again");
    return error_response(429, "stream_quota_exceeded",
                          "this account has as many streams open as it may (quotas.streams)");
  }

  HttpResponse readiness() const {
    const ledger::MarketStatus status = market.status();
    if (!status.ready) {
      // A reason code only: storage errors name hosts, users and tables, which
      // the public has no need of (spotgridd logs them; /metrics counts them).
      const char* why = !status.fatal_error.empty()  ? "fatal_storage_error"
                        : !status.last_error.empty() ? "storage_unavailable"
                                                     : "recovering";
      return error_response(503, "not_ready", why);
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("ready");
    writer.Bool(true);
    writer.Key("committed_seq");
    writer.Uint64(status.committed_seq);
    writer.EndObject();
    return HttpResponse{200, buffer.GetString(), "application/json", {}, {}};
  }

  // Prometheus text format 0.0.4.
  HttpResponse metrics() {
    const ledger::MarketStatus status = market.status();
    std::ostringstream out;
    const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
      out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
          << name << ' ' << value << '\n';
    };
    route_metrics.write(out);
    metric("spotgrid_market_ready", "gauge", "1 when recovered and PostgreSQL answers.",
           status.ready ? 1 : 0);
    metric("spotgrid_committed_seq", "gauge", "The last committed command sequence.",
           status.committed_seq);
    metric("spotgrid_commands_committed_total", "counter", "Commands committed.",
           status.commands_committed);
    metric("spotgrid_persister_batches_total", "counter", "Group commits.",
           status.batches_committed);
    metric("spotgrid_persister_last_batch_commands", "gauge", "Commands in the last commit.",
           status.last_batch_commands);
    metric("spotgrid_persister_last_commit_seconds", "gauge", "Duration of the last commit.",
           static_cast<double>(status.last_commit_micros) / 1e6);
    metric("spotgrid_engine_queue_depth", "gauge", "Commands waiting for the engine.",
           status.inbound_depth);
    metric("spotgrid_persister_queue_depth", "gauge", "Applied commands waiting for a commit.",
           status.persist_depth);
    metric("spotgrid_storage_failures_total", "counter", "Failed commits.",
           status.storage_failures);
    metric("spotgrid_rate_limited_total", "counter", "Requests refused with 429 by the rate limit.",
           front_door.rate_limited());
    metric("spotgrid_rate_limit_local_fallbacks_total", "counter",
           "Requests limited by this process's own bucket because Redis did not answer.",
           rate_limiter.local_fallbacks());
    metric("spotgrid_commands_refused_total", "counter",
           "Commands whose content PostgreSQL refused (answered 400; the rest of their batch "
           "was applied again).",
           status.commands_refused);
    metric("spotgrid_redis_failures_total", "counter", "Redis commands that failed or timed out.",
           redis.failures());
    const webhooks::Dispatcher::Counts hooks =
        webhook_sender ? webhook_sender->counts() : webhooks::Dispatcher::Counts{};
    metric("spotgrid_webhook_deliveries_total", "counter",
           "Webhook deliveries this process's senders saw acknowledged (2xx).", hooks.delivered);
    metric("spotgrid_webhook_failed_attempts_total", "counter",
           "Webhook attempts that failed (another status, no connection, a timeout).",
           hooks.failed_attempts);
    metric("spotgrid_webhook_given_up_total", "counter",
           "Webhook deliveries failed for good: the retry window closed.", hooks.given_up);
    metric("spotgrid_stream_connections", "gauge", "Open WebSocket streams.", hub.connections());
    metric("spotgrid_browser_sessions", "gauge", "Console sessions signed in on this gateway.",
           sessions.live());
    metric("spotgrid_stream_messages_sent_total", "counter", "Stream messages queued to clients.",
           hub.delivered());
    metric("spotgrid_stream_messages_dropped_total", "counter",
           "Stream messages not sent: the connection was closing or too slow (then closed).",
           hub.dropped());
    metric("spotgrid_feed_events_dropped_total", "counter",
           "Committed events the market feed had no room for.", feed.dropped_events());
    metric("spotgrid_feed_redis_subscribed", "gauge",
           "1 when market data fans out through Redis pub/sub.", feed.redis_connected() ? 1 : 0);
    write_metering_metrics(ingest.counters(), metric);
    write_card_metrics(ingest.card_readings(), out);
    write_pool_metrics(market.committed(), setup.catalog, out);
    metric("spotgrid_recoveries_total", "counter", "Rebuilds of the engine from PostgreSQL.",
           status.recoveries);
    return HttpResponse{200, out.str(), "text/plain; version=0.0.4", {}, {}};
  }
};

std::vector<std::pair<std::string, std::string>> served_routes() {
  std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/healthz"},
      {"GET", "/readyz"},
      {"GET", "/metrics"},
      {"GET", "/v1/stream"},
      {"POST", "/v1/session"},
      {"GET", "/v1/session"},
      {"DELETE", "/v1/session"},
      {"POST", "/v1/session/ticket"},
      {"POST", std::string(kMeteringPath)},
      {"GET", std::string(kMeteringStreamPath)}};
  for (auto& route : v1_routes())
    routes.push_back(std::move(route));
  return routes;
}

Service::Service(const Settings& settings) : impl_(std::make_unique<Impl>(settings)) {}

Service::~Service() {
  drain_and_stop();
}

void Service::start() {
  impl_->housekeeping = std::thread([this] { impl_->keep_house(); });
  impl_->server.start();
  impl_->market.start();
  impl_->ingest.start();
  impl_->feed.start(impl_->market.committed());
}

std::uint16_t Service::port() const {
  return impl_->server.port();
}

ledger::MarketStatus Service::market_status() const {
  return impl_->market.status();
}

void Service::drain_and_stop() {
  {
    std::lock_guard lock(impl_->housekeeping_mutex);
    impl_->housekeeping_stopping = true;
  }
  impl_->housekeeping_wake.notify_all();
  if (impl_->housekeeping.joinable()) impl_->housekeeping.join();
  impl_->server.stop_accepting();
  impl_->hub.close_all();
  const auto deadline = std::chrono::steady_clock::now() + impl_->settings.drain_timeout;
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  impl_->key_lookups.stop();
  impl_->export_pages.stop();
  impl_->market_workers.stop();
  impl_->workers.stop();  // answers what has not started 503, lets the rest finish
  impl_->ingest.stop();   // answers what it queued before the market goes
  impl_->market.stop();   // commits what the engine applied; answers the rest `stopping`
  impl_->feed.stop();
  impl_->server.stop();
}

}  // namespace spotgrid::gateway
