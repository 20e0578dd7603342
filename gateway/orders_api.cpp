// Buyer routes: place, quote, read and cancel orders (docs/architecture.md#matching, #interfaces).

#include "orders_api.hpp"

#include "api_support.hpp"
#include "spotgrid/engine/limits.hpp"

namespace spotgrid::gateway {

namespace {

using engine::OrderSpec;

HttpResponse invalid_field(const char* field, const std::string& message) {
  return error_response(400, "invalid_field", std::string(field) + " " + message, field);
}

// What an order buys: a model ("pool") or a class; the 400 it deserves, if any.
std::optional<HttpResponse> read_target(const Api& api, JsonBody& body, engine::Target& target) {
  if (body.has("pool")) {
    const auto pool_name = body.text("pool", 64);
    if (pool_name) {
      const auto pool = api.setup.catalog.find_pool(*pool_name);
      if (!pool) return invalid_field("pool", "is not a GPU model of the catalog");
      target.pool = *pool;
    }
  } else if (body.has("min_memory_gib") || body.has("min_cu_milli") || body.has("vendors")) {
    target.kind = engine::TargetKind::kClass;
    if (body.has("min_memory_gib"))
      target.min_memory_gib =
          static_cast<std::uint32_t>(body.integer("min_memory_gib", 0, 65'536).value_or(0));
    if (body.has("min_cu_milli"))
      target.min_cu = static_cast<MilliCu>(body.integer("min_cu_milli", 0, 1'000'000).value_or(0));
    if (body.has("vendors")) {
      for (const std::string& vendor :
           body.texts("vendors", limits::kMaxVendors, 32).value_or(std::vector<std::string>{})) {
        const auto index = api.setup.catalog.find_vendor(vendor);
        if (!index) return invalid_field("vendors", "names an unknown vendor: " + vendor);
        target.vendors |= VendorMask{1} << *index;
      }
    }
  } else if (!body.problem()) {
    return invalid_field("pool", "is required (or a class: min_memory_gib, min_cu_milli, vendors)");
  }
  return std::nullopt;
}

// The order a body describes, or the 400 it deserves.
std::variant<OrderSpec, HttpResponse> read_order(const Api& api, const Principal& caller,
                                                 std::string_view text) {
  JsonBody body(text);
  body.only({"pool", "min_memory_gib", "min_cu_milli", "vendors", "cards", "cards_per_node",
             "duration_seconds", "limit_micros_per_hour", "strategy", "regions", "latest_start",
             "min_reliability_bp", "immediate_or_cancel", "client_order_id"});
  OrderSpec spec;
  spec.buyer = caller.account;
  const auto cards = body.integer("cards", 1, limits::kMaxCardsPerOrder);
  const auto duration = body.integer("duration_seconds", 1, limits::kMaxLeaseDuration);
  const auto limit = body.integer("limit_micros_per_hour", 1, limits::kMaxPriceMicrosPerHour);
  if (auto refused = read_target(api, body, spec.target)) return std::move(*refused);
  if (body.has("cards_per_node"))
    spec.cards_per_node = static_cast<std::uint32_t>(
        body.integer("cards_per_node", 0, limits::kMaxCardsPerNode).value_or(0));
  if (body.has("strategy")) {
    const auto strategy = body.text("strategy", 16);
    if (strategy && *strategy != "time_first" && *strategy != "cost_first")
      return invalid_field("strategy", "must be time_first or cost_first");
    if (strategy == "cost_first") spec.strategy = engine::Strategy::kCostFirst;
  }
  if (body.has("regions")) {
    for (const std::string& region :
         body.texts("regions", limits::kMaxRegions, 64).value_or(std::vector<std::string>{})) {
      const auto index = api.setup.tariffs.find_region(region);
      if (!index) return invalid_field("regions", "names an unknown region: " + region);
      spec.regions |= RegionMask{1} << *index;
    }
  }
  if (body.has("latest_start"))
    spec.latest_start = body.integer("latest_start", 0, 1LL << 40).value_or(0);
  if (body.has("min_reliability_bp"))
    spec.min_reliability = static_cast<BasisPoints>(
        body.integer("min_reliability_bp", 0, kBasisPointsOne).value_or(0));
  if (body.has("immediate_or_cancel"))
    spec.immediate_or_cancel = body.boolean("immediate_or_cancel").value_or(false);
  if (body.has("client_order_id")) {
    const auto id = body.text("client_order_id", spec.client_order_id.bytes.size());
    if (id) {
      std::copy(id->begin(), id->end(), spec.client_order_id.bytes.begin());
      spec.client_order_id.length = static_cast<std::uint8_t>(id->size());
    }
  }
  if (body.problem()) return bad_request(*body.problem());
  spec.cards = static_cast<std::uint32_t>(*cards);
  spec.duration = *duration;
  spec.limit_micros_per_hour = *limit;
  return spec;
}

// What placing an order did, from its committed events.
HttpResponse placed(const ledger::Completion& done) {
  return json(201, [&](Writer& w) {
    std::string_view status = "accepted";
    std::uint32_t cards_open = 0;
    std::string_view reason = "none";
    for (const engine::Event& event : done.events) {
      std::visit(
          [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, engine::OrderAccepted>) {
              field(w, "order_id", body.order);
              field(w, "hold_micros", body.hold);
              field(w, "expected_cost_micros", body.expected_cost);
              field(w, "expected_start", body.expected_start);
            } else if constexpr (std::is_same_v<T, engine::OrderResting>) {
              status = "resting";
              cards_open = body.cards_open;
              reason = to_string(body.reason);
            } else if constexpr (std::is_same_v<T, engine::OrderDeferred>) {
              status = "deferred";
              reason = to_string(engine::UnfilledReason::kWaitingForCheaperTariff);
            } else if constexpr (std::is_same_v<T, engine::OrderFilled>) {
              status = "filled";
            } else if constexpr (std::is_same_v<T, engine::OrderCancelled>) {
              status = "cancelled";
            }
          },
          event.body);
    }
    field(w, "status", status);
    field(w, "cards_open", cards_open);
    field(w, "unfilled_reason", reason);
    write_leases(w, done);
    field(w, "command_seq", done.command_seq);
  });
}

std::string_view state_name(engine::OrderState state) {
  switch (state) {
    case engine::OrderState::kDeferred:
      return "deferred";
    case engine::OrderState::kResting:
      return "resting";
    case engine::OrderState::kWorking:
      return "working";
  }
  return "unknown";
}

HttpResponse quote_answer(const ledger::MarketSetup& setup, const engine::Quote& quote) {
  if (quote.rejected) return rejected(*quote.rejected, "the order is not valid");
  return json(200, [&](Writer& w) {
    field(w, "cards_fillable", quote.cards_fillable);
    field(w, "cost_micros", quote.cost);
    field(w, "hold_micros", quote.hold);
    field(w, "expected_start", quote.expected_start);
    field(w, "remainder_reason", to_string(quote.remainder_reason));
    key(w, "legs");
    w.StartArray();
    for (const engine::QuoteLeg& leg : quote.legs) {
      w.StartObject();
      field(w, "node_id", leg.node);
      field(w, "pool", setup.catalog.model(leg.pool).model);
      field(w, "region", setup.tariffs.region_name(leg.region));
      field(w, "cards", leg.cards);
      field(w, "price_micros_per_card_hour", leg.price_micros_per_card_hour);
      field(w, "cost_micros", leg.cost);
      w.EndObject();
    }
    w.EndArray();
  });
}

}  // namespace

void place_order(Api& api, const Principal& caller, const HttpRequest& request, Respond respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  auto read = read_order(api, caller, request.body);
  if (auto* error = std::get_if<HttpResponse>(&read)) return respond(std::move(*error));
  submit_then(api, engine::PlaceOrder{std::get<OrderSpec>(read)}, std::move(respond),
              "the market refused the order", placed);
}

void quote_order(Api& api, const Principal& caller, const HttpRequest& request,
                 const Respond& respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  auto read = read_order(api, caller, request.body);
  if (auto* error = std::get_if<HttpResponse>(&read)) return respond(std::move(*error));
  // Only the live engine can plan; the engine thread computes the quote and
  // this thread is not held waiting for it.
  const std::optional<ledger::Outcome> refused =
      api.market.query([spec = std::get<OrderSpec>(read), &setup = api.setup,
                        respond](const engine::Engine* engine) {
        if (engine == nullptr) return respond(recovering());
        respond(quote_answer(setup, engine->quote(spec)));
      });
  if (refused) respond(not_committed(*refused));
}

namespace {

HttpResponse no_such_order() {
  return error_response(404, "not_found", "no such order", "order_id");
}

// An order the read model no longer keeps (finished long ago, or before a
// restart): from the orders table, on a worker.
void order_from_store(const Api& api, const Principal& caller, OrderId id, const Respond& respond) {
  run_on_worker(
      api.workers, "account-" + std::to_string(caller.account),
      [&reads = api.reads, id, buyer = caller.account](const Respond& answer) {
        const auto body = reads.order(id, buyer);
        if (!body) return answer(error_response(503, "unavailable", "storage is unavailable"));
        if (*body == "{}") return answer(no_such_order());
        answer(HttpResponse{200, *body, "application/json", {}, {}});
      },
      respond);
}

}  // namespace

void get_order(Api& api, const Principal& caller, OrderId id, const Respond& respond) {
  const ledger::ReadModel& model = api.market.committed();
  if (!model.ready()) return respond(recovering());
  const std::uint64_t seq = model.committed_seq();
  const std::optional<ledger::OrderRecord> record = model.order(id);
  // Someone else's order does not exist, as far as the caller can tell.
  if (is_platform_role(caller.role) || (record && record->view.spec.buyer != caller.account))
    return respond(no_such_order());
  if (!record) return order_from_store(api, caller, id, respond);
  const engine::OrderView& order = record->view;
  respond(as_of(seq, json(200, [&](Writer& w) {
                  field(w, "order_id", order.id);
                  field(w, "state",
                        record->end == ledger::OrderEnd::kOpen ? state_name(order.state)
                                                               : to_string(record->end));
                  field(w, "cards", order.spec.cards);
                  field(w, "cards_open", order.cards_open);
                  field(w, "leases_open", order.leases_open);
                  field(w, "limit_micros_per_hour", order.limit_micros_per_hour);
                  field(w, "hold_micros", order.hold);
                  field(w, "start_at", order.start_at);
                  field(w, "unfilled_reason", to_string(order.unfilled_reason));
                })));
}

void cancel_order(Api& api, const Principal& caller, OrderId id, Respond respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  submit_then(api, engine::CancelOrder{caller.account, id}, std::move(respond),
              "the order cannot be cancelled", [id](const ledger::Completion& done) {
                const auto* cancelled = first_event<engine::OrderCancelled>(done);
                return json(200, [&](Writer& w) {
                  field(w, "order_id", id);
                  field(w, "cards_cancelled",
                        cancelled == nullptr ? 0 : cancelled->cards_cancelled);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

// POST /v1/orders/{id}/amend {cards?, limit_micros_per_hour?}: fewer cards or
// a new limit for what is still open (at least one; the other unchanged).
void amend_order(Api& api, const Principal& caller, OrderId id, const HttpRequest& request,
                 Respond respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"cards", "limit_micros_per_hour"});
  const bool has_cards = body.has("cards");
  const bool has_limit = body.has("limit_micros_per_hour");
  const auto cards = has_cards ? body.integer("cards", 1, limits::kMaxCardsPerOrder) : 0;
  const auto limit =
      has_limit ? body.integer("limit_micros_per_hour", 1, limits::kMaxPriceMicrosPerHour) : 0;
  if (body.problem()) return respond(bad_request(*body.problem()));
  if (!has_cards && !has_limit) {
    return respond(error_response(400, "invalid_field",
                                  "send cards (fewer), limit_micros_per_hour, or both", "cards"));
  }
  // 0 tells the engine "unchanged": it decides from the order as it is then.
  const engine::AmendOrder amend{caller.account, id, static_cast<std::uint32_t>(cards.value_or(0)),
                                 limit.value_or(0)};
  submit_then(api, amend, std::move(respond), "the order cannot be amended",
              [id](const ledger::Completion& done) {
                const auto* amended = first_event<engine::OrderAmended>(done);
                return json(200, [&](Writer& w) {
                  field(w, "order_id", id);
                  field(w, "cards_open", amended == nullptr ? 0 : amended->cards_open);
                  field(w, "limit_micros_per_hour", amended == nullptr ? 0 : amended->limit);
                  key(w, "lost_priority");
                  w.Bool(amended != nullptr && amended->lost_priority);
                  field(w, "command_seq", done.command_seq);
                });
              });
}

std::optional<HistoryPage> history_page(const Api& api, const HttpRequest& request,
                                        const Respond& respond,
                                        std::span<const StateWords> states) {
  constexpr int kMaxPage = 500;
  HistoryPage page;
  const auto refuse = [&](const char* name, const std::string& why) {
    respond(error_response(400, "invalid_query", why, name));
    return std::nullopt;
  };
  if (const auto text = query_value(request.target, "limit")) {
    const auto limit = id_of<int>(*text);
    if (!limit || *limit > kMaxPage) return refuse("limit", "limit must be 1 to 500");
    page.limit = *limit;
  }
  if (const auto text = query_value(request.target, "cursor")) {
    // Ids are at most 2^63 - 1: PostgreSQL's bigint.
    const auto cursor = id_of<std::int64_t>(*text);
    if (!cursor) return refuse("cursor", "cursor must be the next_cursor of a page");
    page.before = static_cast<std::uint64_t>(*cursor);
  }
  if (const auto pool = query_value(request.target, "pool")) {
    const auto index = api.setup.catalog.find_pool(*pool);
    if (!index) return refuse("pool", "no such pool; GET /v1/market/pools lists them");
    page.pool = *index;
  }
  if (const auto state = query_value(request.target, "state")) {
    const auto known = std::find_if(states.begin(), states.end(),
                                    [&](const StateWords& s) { return s.state == *state; });
    if (known == states.end()) {
      std::string offered;
      for (const StateWords& s : states)
        offered += (offered.empty() ? "" : ", ") + std::string(s.state);
      return refuse("state", "state must be one of: " + offered);
    }
    page.statuses = known->statuses;
  }
  for (const char* name : {"from", "to"}) {
    const auto text = query_value(request.target, name);
    if (!text) continue;
    const auto at = parse_instant(*text);
    if (!at) {
      return refuse(name, std::string(name) +
                              " must be Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    }
    (std::string_view(name) == "from" ? page.from : page.to) = *at;
  }
  if (page.to <= page.from) return refuse("to", "to must be after from");
  return page;
}

void own_orders(Api& api, const Principal& caller, const HttpRequest& request,
                const Respond& respond) {
  if (caller.role != Role::kBuyer) return respond(forbidden());
  static constexpr StateWords kStates[] = {
      {"open", "accepted,deferred,resting"}, {"completed", "filled"}, {"cancelled", "cancelled"}};
  const auto page = history_page(api, request, respond, kStates);
  if (!page) return;
  respond(from_store(api.reads.orders(caller.account, *page)));
}

}  // namespace spotgrid::gateway
