// Market data: books, index, trades and index history
// (docs/architecture.md#market-data-and-streams).

#include "market_api.hpp"

#include <algorithm>

#include "api_support.hpp"
#include "spotgrid/util/clock.hpp"

namespace spotgrid::gateway {

namespace {

std::string book_body(const ledger::PoolRecord& record, std::string_view pool_name) {
  return json(200,
              [&](Writer& w) {
                field(w, "pool", pool_name);
                field(w, "index_micros_per_card_hour", record.index);
                write_depth(w, record.book);
              })
      .body;
}

}  // namespace

void pool_book(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(error_response(404, "not_found", "no such pool", "pool"));
  const ledger::ReadModel& model = api.market.committed();
  const std::uint64_t seq = model.committed_seq();
  const auto record = model.pool(*pool);
  if (!model.ready() || !record) return respond(recovering());
  const auto body = api.books.body(*pool, *record, pool_name, book_body);
  respond(as_of(seq, HttpResponse{200, *body, "application/json", {}, {}}));
}

namespace {

HttpResponse no_pool() {
  return error_response(404, "not_found", "no such pool", "pool");
}

}  // namespace

void pool_index(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const ledger::ReadModel& model = api.market.committed();
  const std::uint64_t seq = model.committed_seq();
  const auto record = model.pool(*pool);
  if (!model.ready() || !record) return respond(recovering());
  respond(as_of(seq, json(200, [&](Writer& w) {
                  field(w, "pool", pool_name);
                  field(w, "index_micros_per_card_hour", record->index);
                  field(w, "at", model.now());
                })));
}

void pool_history(Api& api, std::string_view pool_name, const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const UnixSeconds now = model.now();
  respond(from_store(api.market_reads.index_history(*pool, now - 86'400, 1'000)));
}

// GET /v1/market/pools: every pool with its model, index and best prices.
void market_pools(Api& api, const Respond& respond) {
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const std::uint64_t seq = model.committed_seq();
  const engine::Catalog& catalog = api.setup.catalog;
  respond(as_of(seq, json(200, [&](Writer& w) {
                  key(w, "pools");
                  w.StartArray();
                  for (std::size_t index = 0; index < catalog.pool_count(); ++index) {
                    const auto pool = static_cast<PoolIndex>(index);
                    const engine::GpuModel& gpu = catalog.model(pool);
                    const auto record = model.pool(pool);
                    w.StartObject();
                    field(w, "pool", gpu.model);
                    field(w, "vendor", gpu.vendor);
                    field(w, "memory_gib", gpu.memory_gib);
                    field(w, "compute_units_milli", gpu.compute_units);
                    field(w, "index_micros_per_card_hour", record ? record->index : 0);
                    field(w, "halted", record != nullptr && record->book.halted);
                    const bool asks = record && !record->book.asks.empty();
                    const bool bids = record && !record->book.bids.empty();
                    field(w, "best_ask_micros_per_hour",
                          asks ? record->book.asks.front().price_micros_per_hour : 0);
                    field(w, "best_bid_micros_per_hour",
                          bids ? record->book.bids.front().price_micros_per_hour : 0);
                    w.EndObject();
                  }
                  w.EndArray();
                })));
}

// GET /v1/market/tariffs?from=&hours=: each region's time-of-use multiplier,
// hour by hour (UTC) from the hour `from` falls in (default: the current one)
// for `hours` (1 to 168, default 24), as leases starting now are priced; and
// the schedules published, with the hour each takes effect.
void market_tariffs(Api& api, const HttpRequest& request, const Respond& respond) {
  const ledger::ReadModel& model = api.market.committed();
  const auto tariffs = model.tariffs();
  if (!model.ready() || !tariffs) return respond(recovering());
  constexpr UnixSeconds kHour = 3'600;
  constexpr UnixSeconds kYear = UnixSeconds{366} * 86'400;
  // A market that has committed nothing yet has no time of its own.
  const UnixSeconds now = std::max(model.now(), util::unix_now());
  UnixSeconds from = now;
  if (const auto text = query_value(request.target, "from")) {
    const auto at = parse_instant(*text);
    if (!at || *at < now - kYear || *at > now + kYear) {
      return respond(error_response(
          400, "invalid_query",
          "from must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ within a year of now",
          "from"));
    }
    from = *at;
  }
  from = from / kHour * kHour;
  int hours = 24;
  if (const auto text = query_value(request.target, "hours")) {
    const auto wanted = id_of<int>(*text);
    if (!wanted || *wanted > 168)
      return respond(error_response(400, "invalid_query", "hours must be 1 to 168", "hours"));
    hours = *wanted;
  }
  respond(json(200, [&](Writer& w) {
    field(w, "from", from);
    field(w, "hour_seconds", kHour);
    key(w, "regions");
    w.StartArray();
    for (std::size_t index = 0; index < tariffs->region_count(); ++index) {
      const auto region = static_cast<RegionIndex>(index);
      w.StartObject();
      field(w, "region", tariffs->region_name(region));
      key(w, "multiplier_bp");
      w.StartArray();
      for (UnixSeconds hour = 0; hour < hours; ++hour)
        w.Int64(tariffs->multiplier_bp(region, from + hour * kHour));
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    key(w, "schedules");
    w.StartArray();
    // The schedules kept: those no lease or coming hour is priced by are dropped.
    const std::vector<std::uint32_t> versions = tariffs->versions();
    const std::vector<engine::TariffSchedule> schedules = tariffs->schedules();
    for (std::size_t i = 0; i < schedules.size(); ++i) {
      w.StartObject();
      field(w, "version", std::uint64_t{versions[i]});
      key(w, "effective_from");
      if (versions[i] == 0) {
        w.Null();  // the market's first: in force from the beginning
      } else {
        w.Int64(schedules[i].effective_from);
      }
      w.EndObject();
    }
    w.EndArray();
  }));
}

namespace {

// The candle width a query names.
std::optional<UnixSeconds> interval_of(std::string_view name) {
  if (name == "1m") return 60;
  if (name == "1h") return 3'600;
  if (name == "1d") return 86'400;
  return std::nullopt;
}

// The time a query parameter names, if it is one (parse_instant).
std::optional<UnixSeconds> time_in(std::string_view target, std::string_view name) {
  const auto text = query_value(target, name);
  return text ? parse_instant(*text) : std::nullopt;
}

}  // namespace

namespace {

// The trade a cursor names: "<started_at>.<lease_id>", as next_cursor gives it.
std::optional<std::pair<UnixSeconds, std::uint64_t>> trade_cursor(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto at = id_of<std::int64_t>(text.substr(0, dot));
  const auto lease = id_of<std::int64_t>(text.substr(dot + 1));
  if (!at || !lease) return std::nullopt;
  return std::pair{*at, static_cast<std::uint64_t>(*lease)};
}

}  // namespace

// GET /v1/market/{pool}/trades?from=&to=&limit=&cursor=: newest first, 100 a
// page unless limit (1 to 500) says otherwise; from and to as exports read them.
void pool_trades(Api& api, std::string_view pool_name, const HttpRequest& request,
                 const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const auto refuse = [&](const char* name, const char* why) {
    respond(error_response(400, "invalid_query", why, name));
  };
  ReadStore::TradePage page;
  if (const auto text = query_value(request.target, "limit")) {
    const auto limit = id_of<int>(*text);
    if (!limit || *limit > 500) return refuse("limit", "limit must be 1 to 500");
    page.limit = *limit;
  }
  if (const auto text = query_value(request.target, "cursor")) {
    const auto cursor = trade_cursor(*text);
    if (!cursor) return refuse("cursor", "cursor must be the next_cursor of a page");
    std::tie(page.before_at, page.before_lease) = *cursor;
  }
  for (const char* name : {"from", "to"}) {
    if (!query_value(request.target, name)) continue;
    const auto at = time_in(request.target, name);
    if (!at)
      return refuse(name,
                    "from and to must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    (std::string_view(name) == "from" ? page.from : page.to) = *at;
  }
  if (page.to <= page.from) return refuse("to", "to must be after from");
  respond(from_store(api.market_reads.trades(*pool, page)));
}

// GET /v1/market/{pool}/candles?interval=1m|1h|1d[&from=&to=][&source=trades]:
// OHLC of the index (or of trades' prices, with their cards) per interval over [from, to) (unix
// seconds; default: the last 500 intervals to now, or 31 days), at most kMaxCandles over
// kMaxCandleSpan. from and to are read as exports read them (parse_instant).
void pool_candles(Api& api, std::string_view pool_name, const HttpRequest& request,
                  const Respond& respond) {
  const auto pool = api.setup.catalog.find_pool(pool_name);
  if (!pool) return respond(no_pool());
  const auto interval = interval_of(query_value(request.target, "interval").value_or("1h"));
  if (!interval) {
    return respond(
        error_response(400, "invalid_query", "interval must be 1m, 1h or 1d", "interval"));
  }
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const bool has_from = query_value(request.target, "from").has_value();
  const bool has_to = query_value(request.target, "to").has_value();
  const auto to = has_to ? time_in(request.target, "to") : model.now() + *interval;
  if (!to)
    return respond(
        error_response(400, "invalid_query",
                       "to must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", "to"));
  const auto from =
      has_from
          ? time_in(request.target, "from")
          : std::optional<UnixSeconds>(*to - std::min(kMaxCandles * *interval, kMaxCandleSpan));
  if (!from)
    return respond(error_response(
        400, "invalid_query", "from must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)",
        "from"));
  if (*to <= *from || (*to - *from) / *interval > kMaxCandles || *to - *from > kMaxCandleSpan) {
    return respond(error_response(
        400, "invalid_query",
        "from must be before to, at most 500 intervals and 31 days apart (use a wider interval "
        "or a shorter range)",
        "from"));
  }
  const auto source = query_value(request.target, "source").value_or("index");
  if (source != "index" && source != "trades") {
    return respond(
        error_response(400, "invalid_query", "source must be index or trades", "source"));
  }
  respond(from_store(api.market_reads.candles(*pool, *from, *to, *interval, source == "trades")));
}

}  // namespace spotgrid::gateway
