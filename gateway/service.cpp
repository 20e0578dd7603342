#include "spotgrid/gateway/service.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <atomic>
#include <sstream>
#include <thread>

#include "api.hpp"
#include "spotgrid/engine/config.hpp"
#include "spotgrid/gateway/auth.hpp"
#include "spotgrid/gateway/http.hpp"

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
  return {std::move(catalog).value(), std::move(tariffs).value(), config};
}

ServerOptions server_options(const Settings& settings) {
  ServerOptions options;
  options.address = settings.listen_address;
  options.port = settings.listen_port;
  options.threads = settings.listen_threads;
  options.body_limit = settings.body_limit;
  options.header_limit = settings.header_limit;
  options.request_timeout = settings.request_timeout;
  options.max_connections = settings.max_connections;
  return options;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
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

// The operational routes; counted per route for /metrics.
enum class Route : std::uint8_t { kHealth, kReady, kMetrics, kV1, kOther, kCount };
constexpr std::array<std::string_view, static_cast<std::size_t>(Route::kCount)> kRouteNames = {
    "/healthz", "/readyz", "/metrics", "/v1", "other"};

}  // namespace

struct Service::Impl {
  explicit Impl(const Settings& s)
      : settings(s),
        setup(market_setup(s)),
        market([&] {
          ledger::MarketOptions options;
          options.conninfo = s.postgres_conninfo;
          options.setup = setup;
          options.snapshot_every_commands = s.snapshot_every_commands;
          return options;
        }()),
        keys(s.postgres_conninfo, operator_key(s)),
        reads(s.postgres_conninfo),
        server(server_options(s), [this](HttpRequest&& request, Respond respond) {
          handle(std::move(request), std::move(respond));
        }) {}

  Settings settings;
  ledger::MarketSetup setup;
  ledger::DurableMarket market;
  KeyStore keys;
  ReadStore reads;
  Api api{market, keys, setup, reads};
  HttpServer server;
  std::atomic<int> in_flight{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Route::kCount)> requests{};

  void handle(HttpRequest&& request, Respond respond) {
    ++in_flight;
    Respond done = [this, respond = std::move(respond)](HttpResponse response) {
      respond(std::move(response));
      --in_flight;
    };
    const std::string_view path = path_of(request.target);
    const Route route = path == "/healthz"            ? Route::kHealth
                        : path == "/readyz"           ? Route::kReady
                        : path == "/metrics"          ? Route::kMetrics
                        : path.substr(0, 4) == "/v1/" ? Route::kV1
                                                      : Route::kOther;
    ++requests[static_cast<std::size_t>(route)];
    if (route == Route::kV1) return authenticated(std::move(request), path, std::move(done));
    if (route == Route::kOther) {
      return done(error_response(404, "not_found", "no route for " + std::string(path), "path"));
    }
    if (request.method != "GET") {
      HttpResponse refused =
          error_response(405, "method_not_allowed", "only GET is served here", "method");
      refused.headers.emplace_back("Allow", "GET");
      return done(std::move(refused));
    }
    switch (route) {
      case Route::kHealth:
        return done(HttpResponse{200, R"({"status":"ok"})", "application/json", {}});
      case Route::kReady:
        return done(readiness());
      default:
        return done(metrics());
    }
  }

  void authenticated(HttpRequest&& request, std::string_view path, Respond done) {
    const auto caller = keys.authenticate(request.header("Authorization"));
    if (const auto* failure = std::get_if<AuthFailure>(&caller)) {
      if (*failure == AuthFailure::kUnavailable)
        return done(error_response(503, "unavailable", "cannot check the API key now"));
      HttpResponse refused =
          error_response(401, "unauthorized",
                         *failure == AuthFailure::kMissing ? "send Authorization: Bearer <API key>"
                                                           : "the API key is not valid",
                         "Authorization");
      refused.headers.emplace_back("WWW-Authenticate", "Bearer");
      return done(std::move(refused));
    }
    handle_v1(api, std::get<Principal>(caller), std::move(request), path, std::move(done));
  }

  HttpResponse readiness() const {
    const ledger::MarketStatus status = market.status();
    if (!status.ready) {
      const std::string why = !status.fatal_error.empty()  ? status.fatal_error
                              : !status.last_error.empty() ? status.last_error
                                                           : "recovering from PostgreSQL";
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
    return HttpResponse{200, buffer.GetString(), "application/json", {}};
  }

  // Prometheus text format 0.0.4.
  HttpResponse metrics() const {
    const ledger::MarketStatus status = market.status();
    std::ostringstream out;
    const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
      out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
          << name << ' ' << value << '\n';
    };
    out << "# HELP spotgrid_http_requests_total HTTP requests by route.\n"
           "# TYPE spotgrid_http_requests_total counter\n";
    for (std::size_t i = 0; i < kRouteNames.size(); ++i) {
      out << "spotgrid_http_requests_total{route=\"" << kRouteNames[i] << "\"} "
          << requests[i].load() << '\n';
    }
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
    metric("spotgrid_recoveries_total", "counter", "Rebuilds of the engine from PostgreSQL.",
           status.recoveries);
    return HttpResponse{200, out.str(), "text/plain; version=0.0.4", {}};
  }
};

std::vector<std::pair<std::string, std::string>> served_routes() {
  std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}};
  for (auto& route : v1_routes())
    routes.push_back(std::move(route));
  return routes;
}

Service::Service(const Settings& settings) : impl_(std::make_unique<Impl>(settings)) {}

Service::~Service() {
  drain_and_stop();
}

void Service::start() {
  impl_->server.start();
  impl_->market.start();
}

std::uint16_t Service::port() const {
  return impl_->server.port();
}

ledger::MarketStatus Service::market_status() const {
  return impl_->market.status();
}

void Service::drain_and_stop() {
  impl_->server.stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() + impl_->settings.drain_timeout;
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  impl_->market.stop();  // commits what the engine applied; answers the rest `stopping`
  impl_->server.stop();
}

}  // namespace spotgrid::gateway
