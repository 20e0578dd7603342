#include "api.hpp"

#include "api_support.hpp"
#include "orders_api.hpp"
#include "spotgrid/engine/limits.hpp"
#include "supply_api.hpp"

namespace spotgrid::gateway {

namespace {

// POST /v1/accounts (operator): a new account and its first API key.
void create_account(Api& api, const Principal& caller, const HttpRequest& request,
                    const Respond& respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"name", "role"});
  const auto name = body.text("name", 128);
  const auto role_name = body.text("role", 16);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto role = role_from(*role_name);
  if (!role || *role == Role::kOperator) {
    return respond(error_response(400, "invalid_field",
                                  "role must be buyer, supplier, finance or agent", "role"));
  }
  try {
    const auto created = api.keys.create_account(*name, *role);
    respond(json(201, [&](Writer& w) {
      field(w, "account_id", created.first);
      field(w, "name", *name);
      field(w, "role", to_string(*role));
      field(w, "api_key", created.second.token());  // shown once; only its hash is stored
    }));
  } catch (const std::exception&) {
    respond(error_response(503, "unavailable", "storage is unavailable: nothing was created"));
  }
}

// POST /v1/accounts/{id}/deposits (operator): credits cash, once committed.
void deposit(Api& api, const Principal& caller, const HttpRequest& request, AccountId account,
             Respond respond) {
  if (caller.role != Role::kOperator) return respond(forbidden());
  JsonBody body(request.body);
  body.only({"amount_micros"});
  const auto amount = body.integer("amount_micros", 1, limits::kMaxAccountBalance);
  if (body.problem()) return respond(bad_request(*body.problem()));
  const auto exists = api.keys.account_exists(account);
  if (!exists) return respond(error_response(503, "unavailable", "storage is unavailable"));
  if (!*exists) return respond(error_response(404, "not_found", "no such account", "account_id"));
  submit_then(api.market, engine::Deposit{account, *amount}, std::move(respond),
              "the market refused the deposit", [account](const ledger::Completion& done) {
                const auto* moved = first_event<engine::FundsMoved>(done);
                return json(201, [&](Writer& w) {
                  field(w, "account_id", account);
                  field(w, "command_seq", done.command_seq);
                  field(w, "cash_micros", moved == nullptr ? 0 : moved->cash_after);
                });
              });
}

// GET /v1/account: the caller's own balances.
void own_account(Api& api, const Principal& caller, const Respond& respond) {
  if (is_platform_role(caller.role)) return respond(forbidden());
  engine::AccountView view;
  if (!api.market.read(
          [&](const engine::Engine& engine) { view = engine.account(caller.account); }))
    return respond(error_response(503, "unavailable", "the market is recovering"));
  respond(json(200, [&](Writer& w) {
    field(w, "account_id", caller.account);
    field(w, "role", to_string(caller.role));
    field(w, "cash_micros", view.cash);
    field(w, "hold_micros", view.hold);
    field(w, "receivable_micros", view.receivable);
  }));
}

}  // namespace

void handle_v1(Api& api, const Principal& caller, HttpRequest&& request, std::string_view path,
               Respond respond) {
  const auto method_not_allowed = [&](const char* allow) {
    HttpResponse refused =
        error_response(405, "method_not_allowed", std::string("allowed: ") + allow, "method");
    refused.headers.emplace_back("Allow", allow);
    respond(std::move(refused));
  };
  if (path == "/v1/accounts") {
    if (request.method != "POST") return method_not_allowed("POST");
    return create_account(api, caller, request, respond);
  }
  if (path == "/v1/account") {
    if (request.method != "GET") return method_not_allowed("GET");
    return own_account(api, caller, respond);
  }
  if (path == "/v1/orders") {
    if (request.method != "POST") return method_not_allowed("POST");
    return place_order(api, caller, request, std::move(respond));
  }
  if (path == "/v1/quotes") {
    if (request.method != "POST") return method_not_allowed("POST");
    return quote_order(api, caller, request, respond);
  }
  if (const auto order = id_between<OrderId>(path, "/v1/orders/", "")) {
    if (request.method == "GET") return get_order(api, caller, *order, respond);
    if (request.method == "DELETE") return cancel_order(api, caller, *order, std::move(respond));
    return method_not_allowed("GET, DELETE");
  }
  if (path == "/v1/nodes") {
    if (request.method != "POST") return method_not_allowed("POST");
    return register_node(api, caller, request, std::move(respond));
  }
  if (path == "/v1/listings") {
    if (request.method != "POST") return method_not_allowed("POST");
    return add_listing(api, caller, request, std::move(respond));
  }
  if (const auto listing = id_between<ListingId>(path, "/v1/listings/", "")) {
    if (request.method != "DELETE") return method_not_allowed("DELETE");
    return withdraw_listing(api, caller, *listing, std::move(respond));
  }
  if (const auto lease = id_between<LeaseId>(path, "/v1/leases/", "/stop")) {
    if (request.method != "POST") return method_not_allowed("POST");
    return stop_lease(api, caller, *lease, std::move(respond));
  }
  if (const auto lease = id_between<LeaseId>(path, "/v1/leases/", "/reclaim")) {
    if (request.method != "POST") return method_not_allowed("POST");
    return reclaim_lease(api, caller, *lease, std::move(respond));
  }
  if (path.substr(0, 11) == "/v1/market/" && path.size() > 16 &&
      path.substr(path.size() - 5) == "/book") {
    if (request.method != "GET") return method_not_allowed("GET");
    return pool_book(api, path.substr(11, path.size() - 16), respond);
  }
  if (const auto account = id_between(path, "/v1/accounts/", "/deposits")) {
    if (request.method != "POST") return method_not_allowed("POST");
    return deposit(api, caller, request, *account, std::move(respond));
  }
  respond(error_response(404, "not_found", "no route for " + std::string(path), "path"));
}

}  // namespace spotgrid::gateway
